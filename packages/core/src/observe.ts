// What the stack offers to observers (@sipts/metrics, @sipts/hep, @sipts/otel,
// @sipts/observability), without depending on any of them: message counters by method and status
// class (the one source of truth that `stats()` and a metrics exporter both read), and
// `stack.observe()`, which hands an observer the transaction layer's events, the messages in and
// out, and the raw bytes of every transport. Nothing here runs unless an observer is attached,
// except the counters: a Map lookup and an array increment per message.
import { isSipParseError } from '@sipts/message';
import type { Remote, SipMessage, SipRequest } from '@sipts/message';
import type { RetransmitReason, TimerName, Transaction, TransactionKind, TransactionLayer, TransactionState, Transport } from '@sipts/transaction';

/** Methods counted by name; any other is counted as 'other', so label sets stay bounded. */
export const COUNTED_METHODS = [
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'REGISTER',
  'OPTIONS',
  'INFO',
  'UPDATE',
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
  'other',
] as const;
export type CountedMethod = (typeof COUNTED_METHODS)[number];

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export const TRANSACTION_KINDS: readonly TransactionKind[] = ['invite-client', 'non-invite-client', 'invite-server', 'non-invite-server'];

/** What `stats()` reports of the messages themselves (see README "Observability"). */
export interface MessageStats {
  /** Requests received by method, retransmissions included (before transaction matching). */
  requestsReceived: Record<CountedMethod, number>;
  /** Requests sent by method: one per client transaction (CANCELs included), ACKs and stateless requests; retransmissions not counted. */
  requestsSent: Record<CountedMethod, number>;
  /** Responses received by CSeq method and status class, retransmissions included. */
  responsesReceived: Record<CountedMethod, Record<StatusClass, number>>;
  /** Responses sent by CSeq method and status class (by the application, statelessly, and the stack's own 503/408/487); retransmissions and the automatic 100 Trying not counted. */
  responsesSent: Record<CountedMethod, Record<StatusClass, number>>;
  /** Live transactions by kind (a gauge). */
  transactionsLive: Record<TransactionKind, number>;
  /** Timeouts by timer name (B, F, H, ringTimeLimit, ...). */
  timeoutsByTimer: Partial<Record<TimerName, number>>;
  /** Messages the transports refused to parse, by the parser's code (ERR_START_LINE, ...). */
  parseErrors: Record<string, number>;
}

const METHOD_INDEX = new Map<string, number>(COUNTED_METHODS.map((m, i) => [m, i]));
const OTHER = COUNTED_METHODS.length - 1;
const CLASSES = STATUS_CLASSES.length;
/** Parse error codes are a closed union in @sipts/message; the cap only guards against a foreign one. */
const MAX_PARSE_CODES = 32;

function methodIndex(method: unknown): number {
  return typeof method === 'string' ? (METHOD_INDEX.get(method) ?? OTHER) : OTHER;
}

function classIndex(status: number): number {
  const c = ((status / 100) | 0) - 1;
  return c >= 0 && c < CLASSES ? c : CLASSES - 1;
}

/** The per-message counters of one stack. */
export class MessageCounters {
  readonly #requestsReceived = new Array<number>(COUNTED_METHODS.length).fill(0);
  readonly #requestsSent = new Array<number>(COUNTED_METHODS.length).fill(0);
  readonly #responsesReceived = new Array<number>(COUNTED_METHODS.length * CLASSES).fill(0);
  readonly #responsesSent = new Array<number>(COUNTED_METHODS.length * CLASSES).fill(0);
  readonly #live = new Map<TransactionKind, number>(TRANSACTION_KINDS.map((k) => [k, 0]));
  readonly #timeouts = new Map<TimerName, number>();
  readonly #parseErrors = new Map<string, number>();

  received(message: SipMessage): void {
    if ('method' in message) this.#requestsReceived[methodIndex(message.method)]!++;
    else this.#responsesReceived[methodIndex(message.headers.cseq?.method) * CLASSES + classIndex(message.status)]!++;
  }

  requestSent(method: string): void {
    this.#requestsSent[methodIndex(method)]!++;
  }

  responseSent(method: unknown, status: number): void {
    this.#responsesSent[methodIndex(method) * CLASSES + classIndex(status)]!++;
  }

  /** A message handed to the wire without a transaction, or a response sent by the application. */
  sent(message: SipMessage): void {
    if ('method' in message) this.requestSent(message.method);
    else this.responseSent(message.headers.cseq?.method, message.status);
  }

  /** An error a transport reported: counted when it was caused by a parse error. */
  transportError(error: unknown): void {
    const cause = (error as { cause?: unknown } | null)?.cause;
    const parse = isSipParseError(error) ? error : isSipParseError(cause) ? cause : undefined;
    if (parse === undefined) return;
    const code = String(parse.code);
    const n = this.#parseErrors.get(code);
    if (n !== undefined) this.#parseErrors.set(code, n + 1);
    else if (this.#parseErrors.size < MAX_PARSE_CODES) this.#parseErrors.set(code, 1);
  }

  /** Listens to the transaction layer for what only it sees. */
  attach(layer: TransactionLayer): void {
    layer.on('created', (tx) => {
      this.#live.set(tx.kind, (this.#live.get(tx.kind) ?? 0) + 1);
      // One request per client transaction: the stack's own CANCELs (§9.1, ring limit) too.
      if (tx.kind === 'invite-client' || tx.kind === 'non-invite-client') this.requestSent(tx.method);
    });
    layer.on('state', (tx, _from, to) => {
      if (to === 'terminated') this.#live.set(tx.kind, (this.#live.get(tx.kind) ?? 1) - 1);
    });
    layer.on('timeout', (tx, timer) => {
      this.#timeouts.set(timer, (this.#timeouts.get(timer) ?? 0) + 1);
      // The server transaction answers these itself (RFC 3261 §9.2 and the answer limit).
      if (timer === 'answerTimeLimit') this.responseSent(tx.method, 408);
      else if (timer === 'cancelAnswer') this.responseSent(tx.method, 487);
    });
    layer.on('overload', (request, _remote, decision) => {
      if (decision === 'reject') this.responseSent(request.method, 503);
    });
  }

  snapshot(): MessageStats {
    return {
      requestsReceived: byMethod(this.#requestsReceived),
      requestsSent: byMethod(this.#requestsSent),
      responsesReceived: byMethodAndClass(this.#responsesReceived),
      responsesSent: byMethodAndClass(this.#responsesSent),
      transactionsLive: Object.fromEntries(this.#live) as Record<TransactionKind, number>,
      timeoutsByTimer: Object.fromEntries(this.#timeouts) as Partial<Record<TimerName, number>>,
      parseErrors: Object.fromEntries(this.#parseErrors),
    };
  }
}

function byMethod(counts: readonly number[]): Record<CountedMethod, number> {
  const out = {} as Record<CountedMethod, number>;
  for (let i = 0; i < COUNTED_METHODS.length; i++) out[COUNTED_METHODS[i]!] = counts[i]!;
  return out;
}

function byMethodAndClass(counts: readonly number[]): Record<CountedMethod, Record<StatusClass, number>> {
  const out = {} as Record<CountedMethod, Record<StatusClass, number>>;
  for (let i = 0; i < COUNTED_METHODS.length; i++) {
    const row = {} as Record<StatusClass, number>;
    for (let c = 0; c < CLASSES; c++) row[STATUS_CLASSES[c]!] = counts[i * CLASSES + c]!;
    out[COUNTED_METHODS[i]!] = row;
  }
  return out;
}

/** Raw bytes of one SIP message in or out of a transport; `remote.local` is our end when known. */
export type WireCapture = (direction: 'in' | 'out', data: Uint8Array, remote: Remote) => void;

/**
 * What an observer may listen to; every member optional. Exceptions thrown by an observer are
 * caught and reported through `logger.error`, never into the stack.
 */
export interface StackObserver {
  /** A message arrived (after rate limiting, before transaction matching; retransmissions too). */
  received?(message: SipMessage, remote: Remote): void;
  /** The application or the stack sent a message (first transmission, as `logger.send` sees it). */
  sent?(message: SipMessage, target: Remote): void;
  /** Raw bytes of every message a transport receives or sends (HEP capture). */
  capture?: WireCapture | undefined;
  /** A transaction was created (client: before its request is sent; server: before the request event). */
  transactionCreated?(transaction: Transaction): void;
  /** Every transaction state change, Terminated included. */
  transactionState?(transaction: Transaction, from: TransactionState, to: TransactionState): void;
  retransmit?(transaction: Transaction, reason: RetransmitReason): void;
  timeout?(transaction: Transaction, timer: TimerName): void;
  transportError?(error: Error, transaction: Transaction | undefined): void;
  /** A new request shed without a transaction: answered 503 ('reject') or dropped. */
  overload?(request: SipRequest, remote: Remote, decision: 'reject' | 'drop'): void;
}

/** A transport that accepts a capture hook (all four of ours do). */
interface Capturable {
  setCapture(hook: WireCapture | undefined): void;
}

function capturable(transport: Transport): Capturable | undefined {
  const t = transport as Transport & Partial<Capturable>;
  return typeof t.setCapture === 'function' ? (t as Transport & Capturable) : undefined;
}

/** The observers of one stack and the fan-out the stack's hot paths call when any is attached. */
export class Observers {
  /** Observers with `received` / `sent`; the stack checks `messages` before calling. */
  messages: StackObserver[] | undefined;
  readonly #captures: WireCapture[] = [];
  readonly #transports: Transport[] = [];
  readonly #layer: TransactionLayer;
  readonly #report: (error: unknown) => void;

  constructor(layer: TransactionLayer, report: (error: unknown) => void) {
    this.#layer = layer;
    this.#report = report;
  }

  /** A transport was attached: give it the current capture hook. */
  transport(transport: Transport): void {
    this.#transports.push(transport);
    if (this.#captures.length > 0) capturable(transport)?.setCapture(this.#fanOut);
  }

  received(message: SipMessage, remote: Remote): void {
    for (const o of this.messages ?? []) {
      try {
        o.received?.(message, remote);
      } catch (e) {
        this.#report(e);
      }
    }
  }

  sent(message: SipMessage, target: Remote): void {
    for (const o of this.messages ?? []) {
      try {
        o.sent?.(message, target);
      } catch (e) {
        this.#report(e);
      }
    }
  }

  /** Attach `observer`; returns the function that detaches it. */
  add(observer: StackObserver): () => void {
    const layer = this.#layer;
    const report = this.#report;
    const detach: (() => void)[] = [];
    const on = <E extends 'created' | 'state' | 'retransmit' | 'timeout' | 'transportError' | 'overload'>(
      event: E,
      fn: ((...args: never[]) => void) | undefined,
    ): void => {
      if (fn === undefined) return;
      const listener = (...args: unknown[]): void => {
        try {
          (fn as (...a: unknown[]) => void).apply(observer, args);
        } catch (e) {
          report(e);
        }
      };
      layer.on(event, listener as never);
      detach.push(() => layer.off(event, listener as never));
    };
    on('created', observer.transactionCreated);
    on('state', observer.transactionState);
    on('retransmit', observer.retransmit);
    on('timeout', observer.timeout);
    on('transportError', observer.transportError);
    on('overload', observer.overload);
    if (observer.received !== undefined || observer.sent !== undefined) {
      this.messages = [...(this.messages ?? []), observer];
      detach.push(() => {
        const rest = (this.messages ?? []).filter((o) => o !== observer);
        this.messages = rest.length > 0 ? rest : undefined;
      });
    }
    const capture = observer.capture;
    if (capture !== undefined) {
      if (typeof capture !== 'function') throw new TypeError('observer.capture must be a function');
      this.#captures.push(capture);
      if (this.#captures.length === 1) this.#setCapture(this.#fanOut);
      detach.push(() => {
        const i = this.#captures.indexOf(capture);
        if (i >= 0) this.#captures.splice(i, 1);
        if (this.#captures.length === 0) this.#setCapture(undefined);
      });
    }
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      for (const d of detach) d();
    };
  }

  #setCapture(hook: WireCapture | undefined): void {
    for (const t of this.#transports) capturable(t)?.setCapture(hook);
  }

  readonly #fanOut: WireCapture = (direction, data, remote) => {
    const captures = this.#captures;
    for (let i = 0; i < captures.length; i++) {
      try {
        captures[i]!(direction, data, remote);
      } catch (e) {
        this.#report(e);
      }
    }
  };
}
