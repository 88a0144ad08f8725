// The stack: transports + transaction layer + RFC 3263 resolver behind the API of `sip@0.0.6`
// (`send(message, callback)`, `onRequest(request, remote)`, flow URIs, `destroy()`), plus a
// typed promise API (`request()`, `cancel()`, events) on the same object.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  makeResponse,
  parseCSeq,
  parseRoute,
  parseUri,
  stringify,
} from '@sipts/message';
import type { Remote, RouteAddr, SipMessage, SipRequest, SipResponse, SipUri, Via } from '@sipts/message';
import { TransactionLayer, generateBranch } from '@sipts/transaction';
import type { ClientTransaction, ServerTransaction, Transport } from '@sipts/transaction';
import { SipCoreError } from './errors.js';
import { FlowTokenCodec, type Flow } from './flow.js';
import { holdStreamFlows } from './flow-holds.js';
import {
  enabledProtocols,
  hostForUri,
  isWildcard,
  normalizeOptions,
  pickSentByAddress,
  stripBrackets,
  type NormalizedOptions,
  type StackOptions,
} from './options.js';
import { createResolver, unbracketHost, type Resolver, type TargetProtocol } from './resolver.js';
import { listenTransports } from './transports.js';

/** `sip`'s request handler: every new request (and every ACK for a 2xx) with where it came from. */
export type RequestHandler = (request: SipRequest, remote: Remote) => void;

/** `sip`'s response callback: every response to a request sent with `send`. */
export type ResponseCallback = (response: SipResponse, remote?: Remote) => void;

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

/** Where a transport of the stack listens. */
export interface ListeningAddress {
  protocol: TargetProtocol;
  address: string;
  port: number;
}

export interface StackEvents {
  /** A new request (not a retransmission), or an ACK for a 2xx. */
  request: [request: SipRequest, remote: Remote];
  /** Every transport is listening. */
  listening: [addresses: ListeningAddress[]];
  /** A stream or WebSocket connection opened / closed (`remote.local` names the flow). */
  connectionOpen: [remote: Remote];
  connectionClose: [remote: Remote];
  /** Something went wrong without a caller to tell (also passed to `logger.error`). */
  error: [error: Error];
  /** The stack was destroyed and every socket is closed. */
  close: [];
}

/** One `send(request, callback)` in flight: the targets it tries in order (RFC 3263 §4.3). */
interface Outgoing {
  /** Dropped once the final response is delivered (RFC 6026 keeps INVITEs 32 s: keep them small). */
  request: SipRequest | undefined;
  callback: ResponseCallback;
  targets: Remote[];
  next: number;
  /** The request went to a flow (a connection named by a flow token): failure is 430. */
  viaFlow: boolean;
  lastResponse: SipResponse | undefined;
  transaction: ClientTransaction | undefined;
  finalDelivered: boolean;
  cancelRequested: boolean;
  cancelCallback: ResponseCallback | undefined;
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isInviteClient(tx: ClientTransaction | undefined): tx is ClientTransaction & { cancel(cb?: ResponseCallback): void } {
  return tx !== undefined && typeof (tx as { cancel?: unknown }).cancel === 'function';
}

export class SipStack extends EventEmitter<StackEvents> {
  // Private: it holds the flow secret and the TLS keys.
  readonly #options: Readonly<NormalizedOptions>;
  readonly #resolver: Resolver;
  readonly #flows: FlowTokenCodec;
  readonly #layer: TransactionLayer;
  readonly #transports = new Map<TargetProtocol, Transport>();
  readonly #ports = new Map<TargetProtocol, number>();
  readonly #outgoing = new WeakMap<SipRequest, Outgoing>();
  /** Pending outgoing INVITEs by `Call-ID CSeq`, for a CANCEL built without a Via (as sip users do). */
  readonly #pendingInvites = new Map<string, Outgoing>();
  readonly #pendingPromises = new Set<(error: Error) => void>();
  readonly #ready: Promise<ListeningAddress[]>;
  #sentBy = '127.0.0.1';
  #hostname: string;
  #localHosts = new Set<string>();
  #destroyed = false;
  #closing: Promise<void> | undefined;

  constructor(options: StackOptions = {}, onRequest?: RequestHandler) {
    super();
    this.#options = normalizeOptions(options);
    this.#resolver = this.#options.resolver ?? createResolver();
    this.#flows = new FlowTokenCodec(this.#options.flowSecret);
    this.#hostname = this.#options.publicAddress ?? (isWildcard(this.#options.address) ? undefined : this.#options.address) ?? this.#options.hostname ?? '127.0.0.1';
    if (onRequest !== undefined) {
      if (typeof onRequest !== 'function') throw new SipCoreError('ERR_INVALID_OPTION', 'onRequest must be a function');
      this.on('request', onRequest);
    }
    const o = this.#options;
    this.#layer = new TransactionLayer({
      ...(o.t1 !== undefined ? { t1: o.t1 } : {}),
      ...(o.t2 !== undefined ? { t2: o.t2 } : {}),
      ...(o.t4 !== undefined ? { t4: o.t4 } : {}),
      ...(o.ringTimeLimit !== undefined ? { ringTimeLimit: o.ringTimeLimit } : {}),
      ...(o.clock !== undefined ? { clock: o.clock } : {}),
      ...(o.maxServerTransactions !== undefined ? { maxServerTransactions: o.maxServerTransactions } : {}),
      onRequest: (request, remote, transaction) => this.#onRequest(request, remote, transaction),
      onAck: (ack, remote) => this.#dispatch(ack, remote),
      onStrayResponse: (response) => this.#onStrayResponse(response),
    });
    this.#layer.on('tuError', (error) => this.#reportError(error));
    holdStreamFlows(this.#layer);
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
   * `sip`'s send. A response goes through its server transaction (a response nobody asked for
   * is sent statelessly to the Via, RFC 3261 §18.2.2). An ACK is sent directly. Any other
   * request gets a new top Via, is resolved (RFC 3263) and sent in a client transaction;
   * `callback` receives every response, a 408 on timeout, a 503 on transport failure (the
   * next resolved target is tried first), 430 when a flow is gone.
   * Throws `SipCoreError` `ERR_INVALID_MESSAGE` for a message missing mandatory parts.
   */
  send(message: SipMessage, callback?: ResponseCallback): void {
    if (typeof message !== 'object' || message === null || typeof message.headers !== 'object' || message.headers === null) {
      throw new SipCoreError('ERR_INVALID_MESSAGE', 'send() needs a SIP message object with headers');
    }
    if ('method' in message && typeof message.method === 'string') this.#sendRequest(message, callback ?? noop);
    else this.#sendResponse(message as SipResponse);
  }

  /** A URI whose user part is a signed token naming `flow` (see `decodeFlowUri`). */
  encodeFlowUri(flow: Remote): SipUri {
    return {
      schema: flow.protocol.toUpperCase() === 'TLS' || flow.protocol.toUpperCase() === 'WSS' ? 'sips' : 'sip',
      user: this.#flows.encode(flow),
      host: hostForUri(this.#hostname),
      params: {},
      headers: {},
    };
  }

  /** The flow a URI made by `encodeFlowUri` names, or undefined (not ours, forged, another port). */
  decodeFlowUri(uri: string | SipUri | undefined): Flow | undefined {
    const parsed = uri === undefined ? undefined : parseUri(uri);
    if (parsed === undefined || !this.#isLocalUri(parsed)) return undefined;
    return this.#flows.decode(parsed.user);
  }

  isFlowUri(uri: string | SipUri | undefined): boolean {
    return this.decodeFlowUri(uri) !== undefined;
  }

  /** The name this stack uses in flow URIs: publicAddress, else the bound address, else hostname. */
  hostname(): string {
    return this.#hostname;
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
    for (const [protocol, transport] of this.#transports) {
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
    return parsed !== undefined && this.#isLocalUri(parsed);
  }

  /**
   * A URI naming this stack, for Contact, Record-Route or Path: the Via sent-by address (never a
   * host name that may not resolve), the port of the `protocol` transport (default the first one
   * listening), `transport=` unless UDP, `sips:` for TLS/WSS, and `lr` when asked (routes).
   */
  localUri(options: { user?: string; protocol?: TargetProtocol; lr?: boolean } = {}): SipUri {
    const protocol = options.protocol ?? [...this.#ports.keys()][0] ?? 'UDP';
    const params: SipUri['params'] = {};
    if (protocol !== 'UDP') params.transport = protocol === 'TLS' ? 'tcp' : protocol === 'WSS' ? 'ws' : protocol.toLowerCase();
    if (options.lr) params.lr = null;
    return {
      schema: protocol === 'TLS' || protocol === 'WSS' ? 'sips' : 'sip',
      ...(options.user !== undefined ? { user: options.user } : {}),
      host: this.#sentBy,
      ...(this.#ports.has(protocol) ? { port: this.#ports.get(protocol) } : {}),
      params,
      headers: {},
    };
  }

  /** The address in Via sent-by: `publicAddress`, else the bound address, else an interface address. */
  sentBy(): string {
    return this.#sentBy;
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
   * Cancels an INVITE sent by this stack (RFC 3261 §9.1): a CANCEL with the INVITE's branch goes
   * to the same target once a provisional response has arrived. `callback` gets the CANCEL's
   * response. Returns false when the INVITE is unknown or already answered finally.
   */
  cancel(invite: SipRequest, callback?: ResponseCallback): boolean {
    const out = this.#outgoing.get(invite);
    if (out === undefined || out.finalDelivered || out.request?.method !== 'INVITE') return false;
    if (out.cancelRequested) return true;
    out.cancelRequested = true;
    out.cancelCallback = callback;
    const tx = out.transaction;
    if (isInviteClient(tx)) tx.cancel(callback ?? noop);
    return true;
  }

  /**
   * Sends without a transaction (a stateless proxy, RFC 3261 §16.11): a response goes to its top
   * Via (§18.2.2); a request keeps the Via list it carries (the caller adds its own Via) and goes
   * to the first resolved target of its Route / Request-URI. A top Via naming this stack gets
   * the protocol and port of the transport chosen.
   */
  sendStateless(message: SipMessage): void {
    if (this.#destroyed) throw new SipCoreError('ERR_STOPPED', 'the stack is destroyed');
    if (!('method' in message && typeof message.method === 'string')) {
      this.#sendStatelessResponse(message as SipResponse);
      return;
    }
    const rq = message;
    this.#checkRequest(rq);
    const hop = this.#nextHop(rq);
    this.#ready
      .then(() => this.#targets(hop))
      .then((targets) => {
        const target = targets[0];
        if (target === undefined) {
          this.#reportError(new SipCoreError('ERR_INVALID_MESSAGE', `cannot resolve ${String(hop.uri.host)}`));
          return;
        }
        const protocol = target.protocol.toUpperCase() as TargetProtocol;
        const transport = this.#transports.get(protocol);
        if (transport === undefined) return;
        const via = rq.headers.via?.[0];
        if (via !== undefined && this.#isOwnVia(via)) {
          via.protocol = protocol;
          const port = this.#ports.get(protocol);
          if (port !== undefined) via.port = port;
        }
        this.#write(transport, rq, { ...target, protocol }, true);
      })
      .catch((e: unknown) => this.#reportError(e));
  }

  /** Transaction table sizes and counters (see @sipts/transaction). */
  stats(): ReturnType<TransactionLayer['stats']> {
    return this.#layer.stats();
  }

  /** Destroys the stack and resolves when every socket is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  // ---------------------------------------------------------------- listening

  async #listen(): Promise<ListeningAddress[]> {
    const o = this.#options;
    try {
      await listenTransports(o, (protocol, transport) => this.#attach(protocol, transport));
    } catch (e) {
      const error = new SipCoreError('ERR_LISTEN', `cannot listen: ${toError(e).message}`, { cause: e });
      this.#reportError(error);
      await this.close();
      throw error;
    }
    if (this.#destroyed) throw new SipCoreError('ERR_STOPPED', 'the stack was destroyed while starting');
    const addresses = this.addresses();
    for (const a of addresses) this.#ports.set(a.protocol, a.port);
    const firstBound = addresses[0]?.address;
    this.#sentBy = pickSentByAddress(o.publicAddress, o.address ?? (firstBound !== undefined && !isWildcard(firstBound) ? firstBound : undefined));
    if (o.publicAddress === undefined && isWildcard(o.address) && o.hostname === undefined) this.#hostname = stripBrackets(this.#sentBy);
    this.#collectLocalHosts(addresses);
    this.emit('listening', addresses);
    return addresses;
  }

  #attach(protocol: TargetProtocol, transport: Transport): void {
    this.#transports.set(protocol, transport);
    transport.on('message', (message, remote) => this.#receive(message, remote, transport));
    transport.on('error', (error) => this.#reportError(error));
    transport.on('connectionOpen', (remote) => this.emit('connectionOpen', remote));
    transport.on('connectionClose', (remote) => this.emit('connectionClose', remote));
  }

  #collectLocalHosts(addresses: ListeningAddress[]): void {
    const hosts = this.#localHosts;
    const add = (h: string | undefined): void => {
      if (h !== undefined && h !== '') hosts.add(stripBrackets(h).toLowerCase());
    };
    add(this.#hostname);
    add(this.#sentBy);
    add(this.#options.publicAddress);
    add(this.#options.hostname);
    for (const a of addresses) if (!isWildcard(a.address)) add(a.address);
    if (isWildcard(this.#options.address)) {
      for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) add(info.address);
    }
  }

  /** Is `uri` this stack: one of its host names or addresses, and no port or one of its ports. */
  #isLocalUri(uri: SipUri): boolean {
    if (!this.#localHosts.has(unbracketHost(uri.host).toLowerCase())) {
      // Before listening completes only the configured names are known.
      if (stripBrackets(uri.host).toLowerCase() !== stripBrackets(this.#hostname).toLowerCase()) return false;
    }
    if (!uri.port) return true;
    for (const port of this.#ports.values()) if (port === uri.port) return true;
    return false;
  }

  // ---------------------------------------------------------------- incoming

  #receive(message: SipMessage, remote: Remote, transport: Transport): void {
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
      transaction.send(makeResponse(request, 500, 'No Request Handler'));
      return;
    }
    // A throw propagates to the layer, which answers 500 and reports it ('tuError').
    this.emit('request', request, remote);
  }

  /**
   * RFC 3261 §16.7 step 1 / §16.11: a response matching no client transaction whose top Via is
   * ours (a request we forwarded statelessly, or a 2xx retransmission after the transaction
   * ended) loses that Via and goes on to the next one. A response for us alone is dropped.
   */
  #onStrayResponse(response: SipResponse): void {
    const vias = response.headers.via;
    if (vias === undefined || vias.length < 2 || !this.#isOwnVia(vias[0] as Via)) return;
    vias.shift();
    this.#sendStatelessResponse(response);
  }

  #isOwnVia(via: Via): boolean {
    if (stripBrackets(via.host).toLowerCase() !== stripBrackets(this.#sentBy).toLowerCase()) return false;
    if (via.port === undefined) return true;
    for (const port of this.#ports.values()) if (port === via.port) return true;
    return false;
  }

  #dispatch(request: SipRequest, remote: Remote): void {
    this.emit('request', request, remote);
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

  #logSend(message: SipMessage, target: Remote): void {
    const logger = this.#options.logger;
    if (!logger.send) return;
    try {
      logger.send(message, target);
    } catch {
      // ignore
    }
  }

  // ---------------------------------------------------------------- responses

  #sendResponse(response: SipResponse): void {
    // RFC 3261 §17: an ACK is never answered.
    if (response.headers.cseq?.method === 'ACK') return;
    // RFC 3261 §8.2.6.2: a response other than 100 carries a To tag; add one if the TU did not.
    const to = response.headers.to;
    if (response.status > 100 && typeof to === 'object' && to !== null && typeof to.params?.tag !== 'string') {
      response.headers.to = { ...to, params: { ...to.params, tag: randomBytes(8).toString('hex') } };
    }
    const tx = this.#layer.findServerTransaction(response);
    if (tx !== undefined) {
      this.#logSend(response, tx.remote);
      try {
        tx.send(response);
      } catch (e) {
        this.#reportError(e);
      }
      return;
    }
    this.#sendStatelessResponse(response);
  }

  /** RFC 3261 §18.2.2: to `received` (or sent-by) and `rport` (or the Via port). */
  #sendStatelessResponse(response: SipResponse): void {
    const vias = response.headers.via;
    const via = Array.isArray(vias) ? vias[0] : undefined;
    if (typeof via !== 'object' || via === null || typeof via.protocol !== 'string' || typeof via.host !== 'string' || typeof via.params !== 'object') return;
    const protocol = via.protocol.toUpperCase() as TargetProtocol;
    const transport = this.#transports.get(protocol);
    if (transport === undefined) return;
    const received = via.params.received;
    const rport = via.params.rport;
    const target: Remote = {
      protocol,
      address: typeof received === 'string' && received !== '' ? received : unbracketHost(via.host),
      port: typeof rport === 'string' && /^\d+$/.test(rport) ? Number(rport) : via.port ?? (protocol === 'TLS' ? 5061 : 5060),
    };
    this.#write(transport, response, target, true);
  }

  #write(transport: Transport, message: SipMessage, target: Remote, allowOversize: boolean): void {
    this.#logSend(message, target);
    let data: string;
    try {
      data = stringify(message);
    } catch (e) {
      this.#reportError(e);
      return;
    }
    let sent: Promise<void>;
    try {
      sent = transport.send(data, target, { allowOversize });
    } catch (e) {
      sent = Promise.reject(toError(e));
    }
    sent.catch((e: unknown) => this.#reportError(e));
  }

  // ---------------------------------------------------------------- requests

  #checkRequest(rq: SipRequest): void {
    const h = rq.headers;
    if (typeof rq.method !== 'string' || rq.method === '') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no method');
    if (rq.uri === undefined || parseUri(rq.uri) === undefined) {
      throw new SipCoreError('ERR_INVALID_MESSAGE', `the Request-URI ${String(rq.uri)} is not a URI`);
    }
    if (typeof h.cseq === 'string') h.cseq = parseCSeq(h.cseq);
    if (h.cseq === undefined || typeof h.cseq.seq !== 'number') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no CSeq');
    if (typeof h['call-id'] !== 'string') throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no Call-ID');
    if (h.from === undefined || h.to === undefined) throw new SipCoreError('ERR_INVALID_MESSAGE', 'the request has no From or To');
    // A Via that is not a list of Via objects (a string from a hand-built message) is dropped:
    // the stack puts its own on top anyway.
    if (h.via !== undefined && (!Array.isArray(h.via) || h.via.some((v) => typeof v !== 'object' || v === null || typeof v.params !== 'object'))) {
      delete h.via;
    }
    // RFC 3261 §8.1.1.6: every request carries Max-Forwards.
    if (h['max-forwards'] === undefined) h['max-forwards'] = this.#options.maxForwards;
    if (typeof h.route === 'string') {
      try {
        h.route = parseRoute(h.route);
      } catch {
        delete h.route;
      }
    }
  }

  /**
   * The next hop (RFC 3261 §8.1.2 and §16.12): the first Route entry, else the Request-URI.
   * Route entries naming this stack are removed; one carrying a valid flow token names the
   * connection to use. A strict router (no `lr`) gets the Request-URI rewritten (§16.6 step 6).
   */
  #nextHop(rq: SipRequest): { uri: SipUri; flow: Flow | undefined } {
    const routes = rq.headers.route as RouteAddr[] | undefined;
    while (routes !== undefined && routes.length > 0) {
      const first = routes[0] as RouteAddr;
      const uri = parseUri(first.uri);
      if (uri === undefined) {
        routes.shift();
        continue;
      }
      if (this.#isLocalUri(uri)) {
        routes.shift();
        const flow = this.#flows.decode(uri.user);
        if (flow !== undefined) return { uri, flow };
        continue;
      }
      if (uri.params.lr === undefined) {
        routes.shift();
        routes.push({ uri: parseUri(rq.uri) as SipUri, params: {} });
        rq.uri = uri;
      }
      if (routes.length === 0) delete rq.headers.route;
      return { uri, flow: undefined };
    }
    if (routes !== undefined && routes.length === 0) delete rq.headers.route;
    const uri = parseUri(rq.uri) as SipUri;
    const flow = this.#isLocalUri(uri) ? this.#flows.decode(uri.user) : undefined;
    return { uri, flow };
  }

  async #targets(hop: { uri: SipUri; flow: Flow | undefined }): Promise<Remote[]> {
    if (!isSipScheme(hop.uri)) return [];
    if (hop.flow !== undefined) {
      const protocol = hop.flow.protocol.toUpperCase();
      return [{ protocol, address: hop.flow.address, port: hop.flow.port, local: hop.flow.local }];
    }
    const families: (4 | 6)[] = [];
    const addresses = this.addresses();
    for (const a of addresses) {
      if (isWildcard(a.address)) {
        // A wildcard IPv6 socket is dual-stack; a wildcard IPv4 one reaches IPv4 only.
        if (a.address === '::') families.push(4, 6);
        else families.push(4);
      } else families.push(isIP(a.address) === 6 ? 6 : 4);
    }
    const list = await this.#resolver.resolve(hop.uri, {
      protocols: enabledProtocols(this.#options),
      families: families.length > 0 ? [...new Set(families)] : [4, 6],
    });
    // RFC 5922 §7.2: a TLS peer is checked against the SIP domain of the URI, not the address
    // (or SRV target) it resolved to; WSS dials the URL with that host name for the same reason.
    const domain = isIP(unbracketHost(hop.uri.host)) === 0 ? hop.uri.host : undefined;
    return list.map((t) => {
      const remote: Remote & { servername?: string; url?: string } = { protocol: t.protocol, address: t.address, port: t.port };
      if (domain !== undefined && t.protocol === 'TLS') remote.servername = domain;
      if (domain !== undefined && t.protocol === 'WSS') remote.url = `wss://${domain}:${t.port}`;
      return remote;
    });
  }

  #newVia(protocol: string): Via {
    const params: Via['params'] = {};
    const port = this.#ports.get(protocol as TargetProtocol);
    // RFC 3581 §3: ask for rport on UDP (the option `rport: false` turns it off, as in sip).
    if (protocol === 'UDP' && this.#options.rport) params.rport = null;
    return { version: '2.0', protocol, host: this.#sentBy, ...(port !== undefined ? { port } : {}), params };
  }

  #sendRequest(rq: SipRequest, callback: ResponseCallback): void {
    if (this.#destroyed) throw new SipCoreError('ERR_STOPPED', 'the stack is destroyed');
    this.#checkRequest(rq);
    if (rq.method === 'ACK') {
      this.#sendAck(rq);
      return;
    }
    if (rq.method === 'CANCEL' && this.#cancelFromSipApi(rq, callback)) return;
    const keepVia = rq.method === 'CANCEL' && typeof rq.headers.via?.[0]?.params.branch === 'string';
    if (!keepVia) {
      // sip pushes a Via for every request it sends; the stack fills it in per target.
      if (!Array.isArray(rq.headers.via)) rq.headers.via = [];
      rq.headers.via.unshift(this.#newVia('UDP'));
    }
    const out: Outgoing = {
      request: rq,
      callback,
      targets: [],
      next: 0,
      viaFlow: false,
      lastResponse: undefined,
      transaction: undefined,
      finalDelivered: false,
      cancelRequested: false,
      cancelCallback: undefined,
    };
    this.#outgoing.set(rq, out);
    const inviteKey = rq.method === 'INVITE' ? `${rq.headers['call-id']} ${rq.headers.cseq?.seq}` : undefined;
    if (inviteKey !== undefined) this.#pendingInvites.set(inviteKey, out);
    const hop = this.#nextHop(rq);
    out.viaFlow = hop.flow !== undefined;
    if (!isSipScheme(hop.uri)) {
      // RFC 3261 §8.1.2: only a sip:/sips: next hop can be resolved; say so like a UAS would.
      queueMicrotask(() => this.#finish(out, makeResponse(rq, 416, 'Unsupported URI Scheme'), undefined));
      return;
    }
    this.#ready
      .then(() => this.#targets(hop))
      .then(
        (targets) => {
          out.targets = targets;
          this.#tryNext(out, keepVia);
        },
        (e: unknown) => {
          this.#reportError(e);
          this.#finish(out, makeResponse(rq, 503), undefined);
        },
      );
  }

  /** Try the next target, or report the outcome when none is left (sip: last status, else 404). */
  #tryNext(out: Outgoing, keepVia: boolean): void {
    const rq = out.request;
    if (this.#destroyed || rq === undefined) return;
    if (out.cancelRequested && out.next > 0) {
      this.#finish(out, makeResponse(rq, 487), undefined);
      return;
    }
    const target = out.targets[out.next++];
    if (target === undefined) {
      const status = out.lastResponse?.status ?? (out.targets.length === 0 ? 404 : 503);
      this.#finish(out, out.lastResponse ?? makeResponse(rq, status), undefined);
      return;
    }
    let protocol = target.protocol.toUpperCase() as TargetProtocol;
    let transport = this.#transports.get(protocol);
    if (transport === undefined) {
      out.lastResponse = makeResponse(rq, 503);
      this.#tryNext(out, keepVia);
      return;
    }
    const allowOversize = true;
    const via = rq.headers.via?.[0] as Via;
    if (!keepVia) {
      const fresh = this.#newVia(protocol);
      via.protocol = fresh.protocol;
      via.host = fresh.host;
      via.port = fresh.port;
      via.params = fresh.params;
      // RFC 3261 §18.1.1: a request over the MTU allowance goes over TCP when we have it.
      if (protocol === 'UDP' && target.local === undefined) {
        const tcp = this.#transports.get('TCP');
        const size = Buffer.byteLength(stringify(rq)) + 48; // + ';branch=z9hG4bK' and 32 hex digits
        if (size > this.#options.mtuAllowance && tcp !== undefined) {
          protocol = 'TCP';
          transport = tcp;
          const tcpVia = this.#newVia('TCP');
          via.protocol = 'TCP';
          via.port = tcpVia.port;
          via.params = tcpVia.params;
        }
      }
    }
    const remote: Remote = { ...target, protocol };
    this.#logSend(rq, remote);
    let tx: ClientTransaction;
    try {
      tx = this.#layer.sendRequest(rq, transport, remote, (response, from) => this.#onResponse(out, response, from, keepVia), {
        allowOversize,
      });
    } catch (e) {
      this.#reportError(e);
      out.lastResponse = makeResponse(rq, 503);
      this.#tryNext(out, keepVia);
      return;
    }
    out.transaction = tx;
    if (out.cancelRequested && isInviteClient(tx)) tx.cancel(out.cancelCallback ?? noop);
  }

  #onResponse(out: Outgoing, response: SipResponse, remote: Remote | undefined, keepVia: boolean): void {
    if (out.finalDelivered) {
      // RFC 6026: further 2xx (retransmissions, forks) go to the caller, who ACKs them.
      if (response.status >= 200 && response.status < 300) this.#deliver(out, response, remote);
      return;
    }
    if (response.status === 503 && !out.cancelRequested && out.next < out.targets.length) {
      // RFC 3263 §4.3: a 503 or a transport failure moves on to the next target.
      out.lastResponse = response;
      this.#tryNext(out, keepVia);
      return;
    }
    if (response.status === 503 && remote === undefined && out.viaFlow && out.request !== undefined) {
      // RFC 5626 §5.3: the flow is gone.
      response = makeResponse(out.request, 430, 'Flow Failed');
    }
    if (response.status >= 200) this.#finish(out, response, remote);
    else this.#deliver(out, response, remote);
  }

  #finish(out: Outgoing, response: SipResponse, remote: Remote | undefined): void {
    out.finalDelivered = true;
    const rq = out.request;
    if (rq !== undefined && rq.method === 'INVITE') {
      const key = `${rq.headers['call-id']} ${rq.headers.cseq?.seq}`;
      if (this.#pendingInvites.get(key) === out) this.#pendingInvites.delete(key);
    }
    // Only the callback is needed from now on (2xx retransmissions and forks of an INVITE).
    out.request = undefined;
    out.targets = [];
    out.lastResponse = undefined;
    out.transaction = undefined;
    out.cancelCallback = undefined;
    this.#deliver(out, response, remote);
  }

  #deliver(out: Outgoing, response: SipResponse, remote: Remote | undefined): void {
    try {
      out.callback(response, remote);
    } catch (e) {
      this.#reportError(e);
    }
  }

  /**
   * A CANCEL built by a `sip` user: when it names an INVITE this stack is sending (by the
   * branch of its Via, else by Call-ID and CSeq), the INVITE transaction sends the CANCEL
   * (RFC 3261 §9.1: same branch, same target, after a provisional). Otherwise the CANCEL is
   * sent as an ordinary request.
   */
  #cancelFromSipApi(rq: SipRequest, callback: ResponseCallback): boolean {
    const branch = rq.headers.via?.[0]?.params.branch;
    let out: Outgoing | undefined;
    if (typeof branch === 'string') {
      const tx = this.#layer.findClientTransaction(branch, 'INVITE');
      if (tx !== undefined) {
        for (const candidate of this.#pendingInvites.values()) if (candidate.transaction === tx) out = candidate;
        if (out === undefined && isInviteClient(tx) && (tx.state === 'calling' || tx.state === 'proceeding')) {
          tx.cancel(callback);
          return true;
        }
      }
    } else {
      out = this.#pendingInvites.get(`${rq.headers['call-id']} ${rq.headers.cseq?.seq}`);
    }
    if (out === undefined || out.finalDelivered || out.request === undefined) return false;
    return this.cancel(out.request, callback);
  }

  /**
   * ACK (for a 2xx: RFC 3261 §13.2.2.4) is sent without a transaction: Route honoured, a new
   * top Via with a new branch, to the first resolved target.
   */
  #sendAck(ack: SipRequest): void {
    if (!Array.isArray(ack.headers.via)) ack.headers.via = [];
    const via = this.#newVia('UDP');
    via.params.branch = generateBranch();
    ack.headers.via.unshift(via);
    const hop = this.#nextHop(ack);
    this.#ready
      .then(() => this.#targets(hop))
      .then((targets) => {
        const target = targets[0];
        if (target === undefined) {
          this.#reportError(new SipCoreError('ERR_INVALID_MESSAGE', `ACK: cannot resolve ${String(hop.uri.host)}`));
          return;
        }
        const protocol = target.protocol.toUpperCase() as TargetProtocol;
        const transport = this.#transports.get(protocol);
        if (transport === undefined) return;
        const fresh = this.#newVia(protocol);
        via.protocol = protocol;
        via.port = fresh.port;
        via.params = { ...fresh.params, branch: via.params.branch };
        this.#write(transport, ack, { ...target, protocol }, true);
      })
      .catch((e: unknown) => this.#reportError(e));
  }

  // ---------------------------------------------------------------- shutdown

  async #close(): Promise<void> {
    this.#destroyed = true;
    this.#layer.shutdown();
    const stopped = new SipCoreError('ERR_STOPPED', 'the stack was destroyed');
    for (const reject of [...this.#pendingPromises]) reject(stopped);
    this.#pendingPromises.clear();
    this.#pendingInvites.clear();
    await Promise.all([...this.#transports.values()].map((t) => t.close().catch((e: unknown) => this.#reportError(e))));
    this.emit('close');
  }
}

function noop(): void {}

function isSipScheme(uri: SipUri): boolean {
  const scheme = uri.schema.toLowerCase();
  return (scheme === 'sip' || scheme === 'sips') && uri.host !== '';
}

/** `sip`'s create: a new, independent stack. */
export function create(options: StackOptions = {}, onRequest?: RequestHandler): SipStack {
  return new SipStack(options, onRequest);
}
