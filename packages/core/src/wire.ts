// The stack's transports and the last step of every outgoing message: the logger hook, one
// serialisation, the transport's send, and errors reported instead of thrown. Responses with no
// transaction go back by their top Via here (RFC 3261 §18.2.2).
import { stringify, unbracket } from '@sipts/message';
import type { Remote, SipMessage, SipResponse } from '@sipts/message';
import type { SendOptions, Transport } from '@sipts/transaction';
import type { MessageCounters, Observers } from './observe.js';
import type { StackLogger } from './options.js';
import type { TargetProtocol } from './resolver.js';

const encoder = new TextEncoder();

/** Counters of the outgoing path that no transaction sees. */
export interface WireStats {
  /** Messages sent without a transaction (stateless responses and requests, ACKs for 2xx). */
  statelessSent: number;
  /** Requests not sent because their next hop was this stack itself (would loop). */
  selfLoopsRefused: number;
  /** Responses matching no transaction that were not forwarded (not a Via of ours, or a forged one). */
  strayResponsesDropped: number;
}

export class Wire {
  readonly transports = new Map<TargetProtocol, Transport>();
  readonly stats: WireStats = { statelessSent: 0, selfLoopsRefused: 0, strayResponsesDropped: 0 };
  readonly #logger: StackLogger;
  readonly #report: (error: unknown) => void;
  readonly #counters: MessageCounters;
  /** Set by the stack once its transaction layer exists. */
  observers: Observers | undefined;

  constructor(logger: StackLogger, report: (error: unknown) => void, counters: MessageCounters) {
    this.#logger = logger;
    this.#report = report;
    this.#counters = counters;
  }

  /** Each transport's own counters (`stats()` of those that have one), by protocol. */
  transportStats(): Partial<Record<TargetProtocol, Readonly<Record<string, number>>>> {
    const out: Partial<Record<TargetProtocol, Readonly<Record<string, number>>>> = {};
    for (const [protocol, transport] of this.transports) {
      const stats = (transport as Transport & { stats?: () => Record<string, number> }).stats;
      if (typeof stats === 'function') out[protocol] = stats.call(transport);
    }
    return out;
  }

  transport(protocol: string): Transport | undefined {
    return this.transports.get(protocol.toUpperCase() as TargetProtocol);
  }

  /** `sip`'s `logger.send(message, target)`; a throwing logger never breaks the stack. */
  logSend(message: SipMessage, target: Remote): void {
    // Requests are counted by their client transaction (or in write()), responses here.
    if (!('method' in message)) this.#counters.responseSent(message.headers.cseq?.method, message.status);
    if (this.observers?.messages !== undefined) this.observers.sent(message, target);
    const send = this.#logger.send;
    if (send === undefined) return;
    try {
      send.call(this.#logger, message, target);
    } catch {
      // a broken logger must not break the stack
    }
  }

  /** Serialise `message` once and send it without a transaction. */
  write(transport: Transport, message: SipMessage, target: Remote, options?: SendOptions): void {
    this.logSend(message, target);
    let bytes: Uint8Array;
    try {
      bytes = encoder.encode(stringify(message));
    } catch (e) {
      this.#report(e);
      return;
    }
    this.stats.statelessSent++;
    if ('method' in message) this.#counters.requestSent(message.method);
    let sent: Promise<void>;
    try {
      sent = transport.send(bytes, target, options);
    } catch (e) {
      sent = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    sent.catch(this.#report);
  }

  /**
   * RFC 3261 §18.2.2: a response without a transaction goes to `received` (or sent-by) and
   * `rport` (or the Via port) of its top Via, over the transport the Via names.
   */
  sendStatelessResponse(response: SipResponse, options?: SendOptions): void {
    const vias = response.headers.via;
    const via = Array.isArray(vias) ? vias[0] : undefined;
    if (typeof via !== 'object' || via === null || typeof via.protocol !== 'string' || typeof via.host !== 'string' || typeof via.params !== 'object') return;
    const protocol = via.protocol.toUpperCase() as TargetProtocol;
    const transport = this.transports.get(protocol);
    if (transport === undefined) return;
    const received = via.params.received;
    const rport = via.params.rport;
    const target: Remote = {
      protocol,
      address: typeof received === 'string' && received !== '' ? received : unbracket(via.host),
      port: typeof rport === 'string' && isPortText(rport) ? Number(rport) : via.port ?? (protocol === 'TLS' ? 5061 : 5060),
    };
    // Responses go back the way the request came, whatever their size (§18.2.2).
    this.write(transport, response, target, { allowOversize: true, ...options });
  }
}

function isPortText(s: string): boolean {
  if (s.length === 0 || s.length > 5) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(s) <= 65535;
}
