// The stack: transports + transaction layer + RFC 3263 resolver behind the API of `sip@0.0.6`
// (`send(message, callback)`, `onRequest(request, remote)`, flow URIs, `destroy()`), plus a
// typed promise API (`request()`, `cancel()`, reply handles, events) on the same object.
// The parts live beside it: who the stack is (identity.ts), where a request goes
// (next-hop.ts), the outgoing path (outgoing.ts), the wire (wire.ts), reply handles (reply.ts).
import { EventEmitter } from 'node:events';
import { bracketHost, makeResponse, parseUri } from '@sipts/message';
import type { Remote, SipMessage, SipRequest, SipResponse, SipUri } from '@sipts/message';
import { TransactionLayer, realClock } from '@sipts/transaction';
import type { ServerTransaction, TransactionStats, Transport } from '@sipts/transaction';
import { SipCoreError } from './errors.js';
import { DeadTargetCache } from './dead-targets.js';
import { FlowTokenCodec, type Flow } from './flow.js';
import { holdStreamFlows } from './flow-holds.js';
import { StackIdentity, type ListeningAddress } from './identity.js';
import { resolveOptionsFor, resolveTargets, type NextHop } from './next-hop.js';
import { MessageCounters, Observers, type MessageStats, type StackObserver } from './observe.js';
import { normalizeOptions, type NormalizedOptions, type StackClock, type StackOptions } from './options.js';
import { OutgoingRequests, type ResponseCallback } from './outgoing.js';
import { LoadSampler, OverloadController, type OverloadStats, type ReceiveDelaySource } from './overload.js';
import { SourceRateLimiter, type RateLimitStats } from './rate-limit.js';
import { ACK_REPLY, TransactionReply, ensureToTag, type ServerReply } from './reply.js';
import { createResolver, type ResolveOptions, type Resolver, type TargetProtocol } from './resolver.js';
import { listenTransports } from './transports.js';
import { Wire, type WireStats } from './wire.js';

export type { ListeningAddress } from './identity.js';
export type { ResponseCallback } from './outgoing.js';
export type { ServerReply } from './reply.js';

/**
 * The request handler: every new request (and every ACK for a 2xx) with where it came from and
 * the handle of its server transaction. `sip` handlers take the first two arguments only.
 */
export type RequestHandler = (request: SipRequest, remote: Remote, reply: ServerReply) => void;

export interface RequestOptions {
  /**
   * Give up on the request. For an INVITE this sends a CANCEL (RFC 3261 §9.1: once a
   * provisional response has arrived) and the promise still settles with the final response,
   * normally 487; for other methods the promise rejects with `ERR_ABORTED`.
   */
  signal?: AbortSignal | undefined;
  /** Every provisional (1xx) response. */
  onProvisional?: ((response: SipResponse, remote: Remote | undefined) => void) | undefined;
}

export interface StackEvents {
  /** A new request (not a retransmission), or an ACK for a 2xx, with its reply handle. */
  request: [request: SipRequest, remote: Remote, reply: ServerReply];
  /** Every transport is listening. */
  listening: [addresses: ListeningAddress[]];
  /** A stream or WebSocket connection opened / closed (`remote.local` names the flow). */
  connectionOpen: [remote: Remote];
  connectionClose: [remote: Remote];
  /** Something went wrong without a caller to tell (also passed to `logger.error`). */
  error: [error: Error];
  /** Load shedding started ('shedding', 'dropping') or ended ('normal'); see README "Overload". */
  overload: [stats: OverloadStats];
  /** The stack was destroyed and every socket is closed. */
  close: [];
}

/** The transaction layer's counters plus those of the stateless path. */
export type StackStats = TransactionStats &
  WireStats &
  MessageStats & {
    /** Each transport's own `stats()` (messages, bytes, connections, defenses), by protocol. */
    transports: Partial<Record<TargetProtocol, Readonly<Record<string, number>>>>;
    overload: OverloadStats | undefined;
    rateLimit: RateLimitStats | undefined;
    /** Targets tried last now (RFC 3263 §4.3), and how many times one was marked so. */
    deadTargets: number;
    deadTargetsMarked: number;
  };

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export class SipStack extends EventEmitter<StackEvents> {
  // Private: it holds the flow secret and the TLS keys.
  readonly #options: Readonly<NormalizedOptions>;
  readonly #resolver: Resolver;
  readonly #flows: FlowTokenCodec;
  readonly #layer: TransactionLayer;
  readonly #identity: StackIdentity;
  readonly #wire: Wire;
  readonly #counters = new MessageCounters();
  readonly #observers: Observers;
  readonly #outgoing: OutgoingRequests;
  readonly #deadTargets: DeadTargetCache;
  readonly #overload: OverloadController | undefined;
  readonly #rateLimit: SourceRateLimiter | undefined;
  readonly #now: () => number;
  #sampler: LoadSampler | undefined;
  readonly #pendingPromises = new Set<(error: Error) => void>();
  readonly #ready: Promise<ListeningAddress[]>;
  /** The transports and IP families targets are resolved for: set once the transports listen. */
  #resolveOptions: ResolveOptions | undefined;
  readonly #report = (error: unknown): void => this.#reportError(error);
  #destroyed = false;
  #closing: Promise<void> | undefined;

  constructor(options: StackOptions = {}, onRequest?: RequestHandler) {
    super();
    this.#options = normalizeOptions(options);
    const o = this.#options;
    this.#resolver = o.resolver ?? createResolver();
    this.#flows = new FlowTokenCodec(o.flowSecret);
    this.#identity = new StackIdentity(o);
    this.#wire = new Wire(o.logger, this.#report, this.#counters);
    if (onRequest !== undefined) {
      if (typeof onRequest !== 'function') throw new SipCoreError('ERR_INVALID_OPTION', 'onRequest must be a function');
      this.on('request', onRequest);
    }
    this.#now = o.clock !== undefined ? () => (o.clock as NonNullable<typeof o.clock>).now() : () => performance.now();
    this.#rateLimit =
      o.rateLimit === false
        ? undefined
        : new SourceRateLimiter(o.rateLimit, (address, until) =>
            this.#warn(`rate limit: ${address} banned for ${Math.round(until - this.#now())} ms (over ${String((o.rateLimit as { requestsPerSecond?: number }).requestsPerSecond ?? 200)} requests/s)`),
          );
    this.#overload =
      o.overload === false || o.overload.enabled === false
        ? undefined
        : new OverloadController(o.overload, (_state, stats) => this.#overloadChanged(stats));
    const overload = this.#overload;
    this.#layer = new TransactionLayer({
      admit: overload === undefined ? undefined : () => overload.admit(),
      retryAfter: o.retryAfter,
      t1: o.t1,
      t2: o.t2,
      t4: o.t4,
      ringTimeLimit: o.ringTimeLimit,
      clock: o.clock,
      maxServerTransactions: o.maxServerTransactions,
      onRequest: (request, remote, transaction) => this.#onRequest(request, remote, transaction),
      onAck: (ack, remote) => this.#emitRequest(ack, remote, ACK_REPLY),
      onStrayResponse: (response) => this.#outgoing.forwardStrayResponse(response),
    });
    this.#layer.on('tuError', this.#report);
    this.#counters.attach(this.#layer);
    this.#observers = new Observers(this.#layer, this.#report);
    this.#wire.observers = this.#observers;
    holdStreamFlows(this.#layer);
    this.#deadTargets = new DeadTargetCache(o.deadTargetTtl, this.#now);
    this.#outgoing = new OutgoingRequests({
      deadTargets: this.#deadTargets,
      options: o,
      identity: this.#identity,
      flows: this.#flows,
      layer: this.#layer,
      wire: this.#wire,
      targets: (hop) => this.#targets(hop),
      destroyed: () => this.#destroyed,
      report: this.#report,
    });
    // The sip-compatible methods work detached (`const { send } = stack`), as sip's did.
    this.send = this.send.bind(this);
    this.destroy = this.destroy.bind(this);
    this.encodeFlowUri = this.encodeFlowUri.bind(this);
    this.decodeFlowUri = this.decodeFlowUri.bind(this);
    this.isFlowUri = this.isFlowUri.bind(this);
    this.hostname = this.hostname.bind(this);
    this.#ready = this.#listen();
    // Nobody may be waiting on ready(): the failure is reported through 'error'/logger instead.
    this.#ready.catch(() => {});
  }

  // ---------------------------------------------------------------- the sip API

  /**
   * `sip`'s send. A response goes through its server transaction, found again by Via, Call-ID
   * and CSeq (a reply handle skips that lookup); a response nobody asked for is sent statelessly
   * to the Via (RFC 3261 §18.2.2). An ACK is sent directly. Any other request gets a new top
   * Via, is resolved (RFC 3263) and sent in a client transaction; `callback` receives every
   * response, a 408 on timeout, a 503 on transport failure (the next resolved target is tried
   * first), 430 when a flow is gone, 482 when the next hop is this stack itself.
   * Throws `SipCoreError` `ERR_INVALID_MESSAGE` for a message missing mandatory parts.
   */
  send(message: SipMessage, callback?: ResponseCallback): void {
    if (typeof message !== 'object' || message === null || typeof message.headers !== 'object' || message.headers === null) {
      throw new SipCoreError('ERR_INVALID_MESSAGE', 'send() needs a SIP message object with headers');
    }
    if ('method' in message && typeof message.method === 'string') this.#outgoing.send(message, callback ?? noop);
    else this.#sendResponse(message as SipResponse);
  }

  /** A URI whose user part is a signed token naming `flow` (see `decodeFlowUri`). */
  encodeFlowUri(flow: Remote): SipUri {
    return {
      schema: flow.protocol.toUpperCase() === 'TLS' || flow.protocol.toUpperCase() === 'WSS' ? 'sips' : 'sip',
      user: this.#flows.encode(flow),
      host: bracketHost(this.#identity.hostname),
      params: {},
      headers: {},
    };
  }

  /** The flow a URI made by `encodeFlowUri` names, or undefined (not ours, forged, another port). */
  decodeFlowUri(uri: string | SipUri | undefined): Flow | undefined {
    const parsed = uri === undefined ? undefined : parseUri(uri);
    if (parsed === undefined || !this.#identity.isLocalUri(parsed)) return undefined;
    return this.#flows.decode(parsed.user);
  }

  isFlowUri(uri: string | SipUri | undefined): boolean {
    return this.decodeFlowUri(uri) !== undefined;
  }

  /** The name this stack uses in flow URIs: publicAddress, else the bound address, else hostname. */
  hostname(): string {
    return this.#identity.hostname;
  }

  /** `sip`'s destroy: stop listening, end every transaction; the process can then exit. */
  destroy(): void {
    void this.close();
  }

  // ---------------------------------------------------------------- the typed API

  /** Resolves when every transport listens, with their addresses; rejects with `ERR_LISTEN`. */
  ready(): Promise<ListeningAddress[]> {
    return this.#ready;
  }

  /** Where the transports listen (empty until ready). */
  addresses(): ListeningAddress[] {
    const out: ListeningAddress[] = [];
    for (const [protocol, transport] of this.#wire.transports) {
      const bound = transport.address();
      if (bound) out.push({ protocol, address: bound.address, port: bound.port });
    }
    return out;
  }

  /**
   * Does `uri` name this stack: its host is one of the stack's names or addresses, and it has no
   * port or one of the stack's ports. (A proxy uses it to tell requests for itself from others.)
   */
  isLocalUri(uri: string | SipUri): boolean {
    const parsed = parseUri(uri);
    return parsed !== undefined && this.#identity.isLocalUri(parsed);
  }

  /**
   * A URI naming this stack, for Contact, Record-Route or Path: the Via sent-by address (never a
   * host name that may not resolve), the port of the `protocol` transport (default the first one
   * listening), `transport=` unless UDP, `sips:` for TLS/WSS, and `lr` when asked (routes).
   */
  localUri(options: { user?: string; protocol?: TargetProtocol; lr?: boolean } = {}): SipUri {
    return this.#identity.localUri(options);
  }

  /**
   * The clock and RFC 3261 timer values the stack's transactions run on, so a layer above (a
   * dialog's 2xx retransmissions, session timers) uses the same time and the same T1/T2.
   */
  get timers(): { readonly clock: StackClock; readonly t1: number; readonly t2: number; readonly t4: number } {
    const o = this.#options;
    return { clock: o.clock ?? realClock, t1: o.t1 ?? 500, t2: o.t2 ?? 4000, t4: o.t4 ?? 5000 };
  }

  /** The address in Via sent-by: `publicAddress`, else the bound address, else an interface address. */
  sentBy(): string {
    return this.#identity.sentBy;
  }

  /**
   * Sends a request and resolves with its final response (any status: a 486 is a result, not an
   * error). Rejects with `ERR_ABORTED` (non-INVITE aborted), `ERR_STOPPED` (stack destroyed) or
   * `ERR_INVALID_MESSAGE`.
   */
  request(request: SipRequest, options: RequestOptions = {}): Promise<SipResponse> {
    const { signal, onProvisional } = options;
    return new Promise<SipResponse>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new SipCoreError('ERR_ABORTED', 'the request was aborted before it was sent', { cause: signal.reason }));
        return;
      }
      let settled = false;
      const finish = (): void => {
        settled = true;
        this.#pendingPromises.delete(onStop);
        signal?.removeEventListener('abort', onAbort);
      };
      const onStop = (error: Error): void => {
        if (settled) return;
        finish();
        reject(error);
      };
      const onAbort = (): void => {
        if (settled) return;
        if (request.method === 'INVITE') {
          this.cancel(request);
          return;
        }
        finish();
        reject(new SipCoreError('ERR_ABORTED', `the ${request.method} was aborted`, { cause: signal?.reason }));
      };
      this.#pendingPromises.add(onStop);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.send(request, (response, remote) => {
          if (settled) return;
          if (response.status < 200) {
            if (onProvisional) {
              try {
                onProvisional(response, remote);
              } catch (e) {
                this.#reportError(e);
              }
            }
            return;
          }
          finish();
          resolve(response);
        });
      } catch (e) {
        finish();
        reject(e);
      }
    });
  }

  /**
   * Cancels an INVITE sent by this stack (RFC 3261 §9.1): its client transaction sends a CANCEL
   * with the INVITE's branch to the same target once a provisional response has arrived.
   * `callback` gets the CANCEL's response. Returns false when the INVITE is unknown or already
   * answered finally.
   */
  cancel(invite: SipRequest, callback?: ResponseCallback): boolean {
    return this.#outgoing.cancel(invite, callback);
  }

  /**
   * Sends without a transaction (a stateless proxy, RFC 3261 §16.11): a response goes to its top
   * Via (§18.2.2); a request keeps the Via list it carries (the caller adds its own Via, with no
   * branch to have one computed) and goes to the first resolved target of its Route /
   * Request-URI. A top Via naming this stack gets the protocol and port of the transport chosen.
   */
  sendStateless(message: SipMessage): void {
    if (this.#destroyed) throw new SipCoreError('ERR_STOPPED', 'the stack is destroyed');
    if ('method' in message && typeof message.method === 'string') this.#outgoing.sendStateless(message);
    else this.#wire.sendStatelessResponse(message as SipResponse);
  }

  /**
   * Keeps the stream connection (TCP/TLS flow) named by `remote` open past the idle timeout, for
   * as long as something needs to reach its peer over it: a registrar holding an outbound or
   * NATed binding (RFC 5626 §4.4). Returns the release function (idempotent). A flow that is not
   * a held stream connection (UDP, WebSocket, gone) gets a release that does nothing.
   */
  holdFlow(remote: Remote): () => void {
    const transport = this.#wire.transport(remote.protocol) as (Transport & { ref?(flow: Remote): boolean; unref?(flow: Remote): boolean }) | undefined;
    if (transport?.ref === undefined || transport.unref === undefined || !transport.ref(remote)) return noop;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      transport.unref?.(remote);
    };
  }

  /**
   * Sends a keep-alive to `remote` (RFC 5626 §4.4.1 style CRLFCRLF): what a registrar sends to a
   * NATed UDP binding so the NAT keeps its mapping, or to a stream flow to test it. Resolves when
   * the transport took it; rejects with the transport's error (a closed flow, say).
   */
  sendKeepAlive(remote: Remote): Promise<void> {
    const transport = this.#wire.transport(remote.protocol);
    if (transport === undefined) return Promise.reject(new SipCoreError('ERR_INVALID_MESSAGE', `no ${remote.protocol} transport`));
    return transport.send('\r\n\r\n', remote, { allowOversize: true, connect: false });
  }

  /** Transaction table sizes and counters (see @sipts/transaction), and the stateless path's. */
  stats(): StackStats {
    return {
      ...this.#layer.stats(),
      ...this.#wire.stats,
      ...this.#counters.snapshot(),
      transports: this.#wire.transportStats(),
      overload: this.#overload?.stats(),
      rateLimit: this.#rateLimit?.stats(this.#now()),
      ...this.#deadTargets.stats(),
    };
  }

  /**
   * Attach an observer (metrics, HEP capture, logs, traces): the transaction layer's events,
   * every message in and out, and the raw bytes of every transport. Returns the function that
   * detaches it. With no observer attached, none of this costs more than a check per message.
   */
  observe(observer: StackObserver): () => void {
    if (typeof observer !== 'object' || observer === null) throw new SipCoreError('ERR_INVALID_OPTION', 'observe() needs an observer object');
    return this.#observers.add(observer);
  }

  /** Destroys the stack and resolves when every socket is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  // ---------------------------------------------------------------- listening

  async #listen(): Promise<ListeningAddress[]> {
    const counters = this.#counters;
    const logger = {
      error: (error: unknown) => {
        counters.transportError(error);
        this.#report(error);
      },
      warn: (message: string) => this.#warn(message),
    };
    try {
      await listenTransports(this.#options, logger, (protocol, transport) => this.#attach(protocol, transport));
    } catch (e) {
      // A bind that failed because close() closed the transport under it is a stop, not a fault.
      if (this.#destroyed) throw new SipCoreError('ERR_STOPPED', 'the stack was destroyed while starting', { cause: e });
      const error = new SipCoreError('ERR_LISTEN', `cannot listen: ${toError(e).message}`, { cause: e });
      this.#reportError(error);
      await this.close();
      throw error;
    }
    if (this.#destroyed) {
      // close() ran while binding: transports attached after it are closed here, not leaked.
      await Promise.all([...this.#wire.transports.values()].map((t) => t.close().catch(this.#report)));
      throw new SipCoreError('ERR_STOPPED', 'the stack was destroyed while starting');
    }
    const addresses = this.addresses();
    this.#identity.bind(addresses);
    this.#resolveOptions = resolveOptionsFor(this.#options, addresses);
    if (this.#overload !== undefined) {
      this.#sampler = new LoadSampler(this.#overload, receiveDelaySource(this.#wire.transport('UDP')));
      this.#sampler.start();
    }
    this.emit('listening', addresses);
    return addresses;
  }

  #attach(protocol: TargetProtocol, transport: Transport): void {
    this.#wire.transports.set(protocol, transport);
    this.#observers.transport(transport);
    transport.on('message', (message, remote) => this.#receive(message, remote, transport));
    transport.on('error', this.#report);
    transport.on('connectionOpen', (remote) => this.emit('connectionOpen', remote));
    transport.on('connectionClose', (remote) => this.emit('connectionClose', remote));
  }

  #targets(hop: NextHop): Promise<Remote[]> {
    const resolveOptions = this.#resolveOptions;
    if (resolveOptions !== undefined) return resolveTargets(hop, this.#resolver, resolveOptions);
    return this.#ready.then(() => resolveTargets(hop, this.#resolver, this.#resolveOptions ?? resolveOptionsFor(this.#options, this.addresses())));
  }

  // ---------------------------------------------------------------- incoming

  #receive(message: SipMessage, remote: Remote, transport: Transport): void {
    const limiter = this.#rateLimit;
    // Kamailio's pike: every request but ACK counts against its source; a banned source is not
    // answered at all. Responses are matched to our own transactions and never counted.
    if (limiter !== undefined && 'method' in message && message.method !== 'ACK' && !limiter.allow(remote.address, this.#now())) return;
    this.#counters.received(message);
    if (this.#observers.messages !== undefined) this.#observers.received(message, remote);
    const logger = this.#options.logger;
    if (logger.recv) {
      try {
        logger.recv(message, remote);
      } catch {
        // a broken logger must not break the stack
      }
    }
    this.#layer.receive(message, remote, transport);
  }

  #onRequest(request: SipRequest, remote: Remote, transaction: ServerTransaction): void {
    if (this.listenerCount('request') === 0) {
      // Nobody to answer: say so instead of letting the peer retransmit for 32 s.
      this.#counters.responseSent(request.method, 500);
      transaction.send(makeResponse(request, 500, 'No Request Handler', { toTag: true }));
      return;
    }
    // A throw propagates to the layer, which answers 500 and reports it ('tuError').
    this.emit('request', request, remote, new TransactionReply(transaction, this.#wire, this.#report));
  }

  #emitRequest(request: SipRequest, remote: Remote, reply: ServerReply): void {
    this.emit('request', request, remote, reply);
  }

  #reportError(error: unknown): void {
    const logger = this.#options.logger;
    if (logger.error) {
      try {
        logger.error(error);
      } catch {
        // ignore
      }
    }
    if (this.listenerCount('error') > 0) this.emit('error', toError(error));
  }

  // ---------------------------------------------------------------- responses

  /** `send(response)` of `sip`: matched to its server transaction again (see ServerReply). */
  #sendResponse(response: SipResponse): void {
    // RFC 3261 §17: an ACK is never answered.
    if (response.headers.cseq?.method === 'ACK') return;
    ensureToTag(response, undefined);
    const tx = this.#layer.findServerTransaction(response);
    if (tx === undefined) {
      this.#wire.sendStatelessResponse(response);
      return;
    }
    this.#wire.logSend(response, tx.remote);
    try {
      tx.send(response);
    } catch (e) {
      this.#reportError(e);
    }
  }

  // ---------------------------------------------------------------- shutdown

  #overloadChanged(stats: OverloadStats): void {
    const warn = this.#options.logger.warn;
    if (warn !== undefined) {
      try {
        warn.call(this.#options.logger, `overload: ${stats.state} (event-loop delay ${stats.delayMs} ms, UDP receive delay ${stats.queueDelayMs} ms)`);
      } catch {
        // a broken logger must not break the stack
      }
    }
    this.emit('overload', stats);
  }

  /**
   * A notice from a transport (the UDP receive buffer granted smaller than asked): to
   * `logger.warn`, else once as a process warning, since it decides whether the kernel drops
   * datagrams under load.
   */
  #warn(message: string): void {
    const logger = this.#options.logger;
    if (logger.warn === undefined) {
      process.emitWarning(message, { code: 'SIPTS_TRANSPORT' });
      return;
    }
    try {
      logger.warn.call(logger, message);
    } catch {
      // a broken logger must not break the stack
    }
  }

  async #close(): Promise<void> {
    this.#destroyed = true;
    this.#sampler?.stop();
    this.#layer.shutdown();
    const stopped = new SipCoreError('ERR_STOPPED', 'the stack was destroyed');
    for (const reject of [...this.#pendingPromises]) reject(stopped);
    this.#pendingPromises.clear();
    this.#outgoing.clear();
    await Promise.all([...this.#wire.transports.values()].map((t) => t.close().catch(this.#report)));
    this.emit('close');
  }
}

function noop(): void {}

/** The receive-delay probe of the UDP transport, by shape. */
function receiveDelaySource(transport: Transport | undefined): ReceiveDelaySource | undefined {
  const udp = transport as (Transport & Partial<ReceiveDelaySource>) | undefined;
  return udp !== undefined && typeof udp.receiveDelay === 'function' ? (udp as Transport & ReceiveDelaySource) : undefined;
}

/** `sip`'s create: a new, independent stack. */
export function create(options: StackOptions = {}, onRequest?: RequestHandler): SipStack {
  return new SipStack(options, onRequest);
}
