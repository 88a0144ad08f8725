// The stateful proxy core (RFC 3261 §16): response contexts bound to the incoming request's top
// Via, CANCEL propagation, parallel and sequential forking with §16.7 response aggregation,
// Record-Route / Path, Max-Forwards and loop detection. Contexts are released on every path.
import { EventEmitter } from 'node:events';
import type { StackOptions } from '@sipts/core';
import type { Remote, RouteAddr, SipMessage, SipRequest, SipResponse, SipUri, Via } from '@sipts/message';
import { aggregate, makeLocalResponse } from './aggregate.js';
import { SipProxyError } from './errors.js';
import {
  type LocalIdentity,
  isLocalUri,
  localIdentity,
  localRouteEntry,
  loopHash,
  nextMaxForwards,
  preprocessRoute,
  viaBelowOurs,
} from './routing.js';
import type { ProxyStack, RequestHandler, ResponseCallback, StackFactory } from './stack.js';

/** How `fork` tries its targets. */
export type ForkMode = 'parallel' | 'sequential';

export interface ForkOptions {
  /** Default 'parallel'. */
  mode?: ForkMode;
  /**
   * Per-branch limit in ms (the role of Timer C, §16.8): a branch with no final response by then
   * is cancelled (if it rang) or counted as 408 (if it never answered). Default: none.
   */
  timeout?: number;
}

/** A fork target: a URI, or a URI with Route entries to reach it (e.g. an outbound flow). */
export type ForkTarget = string | SipUri | { uri: string | SipUri; route?: RouteAddr[] };

/** The logger hook, as in `sip`'s options. */
export interface ProxyLogger {
  error?(error: unknown): void;
}

/** The proxy's own options; the rest of the object is passed to the stack factory unchanged. */
export interface ProxyOwnOptions<O = StackOptions> {
  /** Builds the stack to run on (tests inject a fake one). Default: `create` of @sipts/core. */
  stack?: StackFactory<O>;
  /** Insert Record-Route (with `lr`) into forwarded dialog-creating requests. Default false. */
  recordRoute?: boolean;
  /** RFC 3327: insert Path into forwarded REGISTERs that say `Supported: path`. Default false. */
  path?: boolean;
  /** Host put into Record-Route and Path. Default publicAddress, address, then stack.hostname(). */
  recordRouteHost?: string;
  /** Other host names or addresses by which this proxy is addressed (Route, strict routing, loops). */
  aliases?: string[];
  /** RFC 3261 §16.2: answer INVITE with 100 Trying at once. Default true. */
  trying?: boolean;
  /** Max-Forwards set on forwarded requests that carry none (§16.6 step 3). Default 70. */
  maxForwards?: number;
  /** RFC 3261 §16.3 step 4 / §16.6 step 8 loop detection (482). Default true. */
  loopDetection?: boolean;
  /** §9.1: ms to wait for a final response after sending CANCEL before giving the branch up. Default 32000 (64*T1). */
  cancelTimeout?: number;
  /** Longest life of a context with no final response sent (its pending branches get cancelled, the caller 408). Default 190000 (Timer C). */
  contextTimeout?: number;
  logger?: ProxyLogger;
  port?: number | undefined;
  tls_port?: number | undefined;
  address?: string | undefined;
  publicAddress?: string | undefined;
  hostname?: string | undefined;
}

export type ProxyOptions<O = StackOptions> = ProxyOwnOptions<O> & O;

/** What 'contextReleased' reports. */
export interface ContextReleasedEvent {
  callId: string;
  method: string;
  /** 'final': a final response went upstream; 'cancelled'; 'timeout'; 'error'; 'stopped'. */
  reason: 'final' | 'cancelled' | 'timeout' | 'error' | 'stopped';
  status: number | undefined;
}

export interface ProxyEvents {
  error: [error: Error];
  contextReleased: [event: ContextReleasedEvent];
}

const TWO_XX_CLASS = 2;
const DEFAULT_CANCEL_TIMEOUT = 32000;
const DEFAULT_CONTEXT_TIMEOUT = 190000;
const SWEEP_INTERVAL = 1000;

interface ProxyNames {
  recordRouteHost: string | undefined;
  hosts: (string | undefined)[];
  port: number | undefined;
  tlsPort: number | undefined;
}

interface PendingTarget {
  template: SipRequest;
  target: ForkTarget;
  timeout: number | undefined;
}

/** One response context (§16.7): the incoming request and every branch forwarded for it. */
class ProxyContext {
  /** The incoming request; replaced by a stub on release, so late branches keep no message alive. */
  request: SipRequest;
  readonly method: string;
  readonly expiresAt: number;
  /** Max-Forwards the forwarded copies carry, or -1 when the request must not be forwarded. */
  readonly maxForwards: number;
  readonly loopHash: string | undefined;
  /** Branches without a final response. */
  pending = 0;
  /** Branches whose responses the proxy aggregates (no application callback). */
  aggregated = 0;
  branches: Branch[] = [];
  responses: SipResponse[] = [];
  queue: PendingTarget[] | undefined;
  finalSent = false;
  finalStatus: number | undefined;
  tryingSent = false;
  cancelled = false;
  /** A 6xx arrived (§16.7 step 10): no new branches. */
  closed = false;
  released = false;

  constructor(
    public key: string,
    request: SipRequest,
    now: number,
    lifetime: number,
    maxForwards: number,
    hash: string | undefined,
  ) {
    this.request = request;
    this.method = request.method;
    this.expiresAt = now + lifetime;
    this.maxForwards = maxForwards;
    this.loopHash = hash;
  }
}

/** One forwarded copy of a request (a client transaction in the stack). */
class Branch {
  /** What the CANCEL copies (§9.1): Request-URI and Route as handed to the stack, From, To, Call-ID, CSeq. */
  uri: string | SipUri;
  route: RouteAddr[] | undefined;
  from: SipRequest['headers']['from'];
  to: SipRequest['headers']['to'];
  callId: string | undefined;
  readonly seq: number;
  /** Our Via, learnt from the first response (the stack adds it when it sends). */
  via: Via | undefined;
  provisional = false;
  done = false;
  cancelRequested = false;
  cancelSent = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The copy the proxy made (fork) and handed to the stack; emptied once its final response is in. */
  sent: SipRequest | undefined;
  readonly onResponse: ResponseCallback;

  constructor(
    readonly proxy: SipProxy,
    readonly ctx: ProxyContext,
    request: SipRequest,
    readonly callback: ResponseCallback | undefined,
    owned: boolean,
  ) {
    this.sent = owned ? request : undefined;
    // Only what a CANCEL needs is kept: the stack holds the branch callback as long as its client
    // transaction lives (32 s after a 2xx, RFC 6026), so the request itself must not be held here.
    const h = request.headers;
    this.uri = request.uri;
    this.route = h.route === undefined ? undefined : h.route.slice();
    this.from = h.from;
    this.to = h.to;
    this.callId = h['call-id'];
    this.seq = h.cseq?.seq ?? 1;
    // One bound function per branch: the stack keeps it for the life of the client transaction.
    this.onResponse = (rs, remote) => proxy.branchResponse(this, rs, remote, true);
  }
}

/** The key of a context: the incoming request's top Via plus Call-ID and CSeq number (as `sip/proxy`). */
function contextKey(msg: SipMessage): string | undefined {
  const h = msg.headers;
  const via = h.via?.[0];
  if (via === undefined) return undefined;
  const branch = via.params['branch'];
  return `${branch ?? ''}\u0000${via.protocol}\u0000${via.host}\u0000${via.port ?? ''}\u0000${h['call-id'] ?? ''}\u0000${h.cseq?.seq ?? ''}`;
}

function statusClass(status: number): number {
  return Math.floor(status / 100);
}

function supportsPath(rq: SipRequest): boolean {
  const supported = rq.headers['supported'];
  if (typeof supported !== 'string') return false;
  for (const token of supported.split(',')) if (token.trim().toLowerCase() === 'path') return true;
  return false;
}

function targetUri(target: ForkTarget): string | SipUri {
  if (typeof target === 'string') return target;
  if ('uri' in target && (typeof target.uri === 'string' || typeof target.uri === 'object') && !('host' in target)) {
    return target.uri;
  }
  return target as SipUri;
}

function targetRoute(target: ForkTarget): RouteAddr[] | undefined {
  if (typeof target === 'string' || 'host' in target) return undefined;
  return target.route;
}

/** A stateful proxy on one stack; several can coexist in a process. */
export class SipProxy extends EventEmitter<ProxyEvents> {
  readonly stack: ProxyStack;
  private readonly contexts = new Map<string, ProxyContext>();
  /** Branches with a running timer (fork timeout or CANCEL wait), cleared on stop(). */
  private readonly timed = new Set<Branch>();
  /** Requests handed to the application that have no context (ACK): forwarded statelessly. */
  private readonly contextless = new WeakSet<SipRequest>();
  /** The copy handed to the application, to its context (found even after it was released). */
  private readonly handedOut = new WeakMap<SipRequest, ProxyContext>();
  private readonly handler: RequestHandler;
  private readonly names: ProxyNames;
  /** Who we are, once the stack knows its ports (port 0 binds late). */
  private identity: { local: LocalIdentity; routeHost: string; routePort: number; final: boolean } | undefined;
  private readonly recordRoute: boolean;
  private readonly path: boolean;
  private readonly trying: boolean;
  private readonly defaultMaxForwards: number;
  private readonly loopDetection: boolean;
  private readonly cancelTimeout: number;
  private readonly contextTimeout: number;
  private readonly logger: ProxyLogger | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(options: ProxyOptions<Record<string, unknown>>, onRequest: RequestHandler, defaultFactory?: StackFactory<Record<string, unknown>>) {
    super();
    if (typeof onRequest !== 'function') {
      throw new SipProxyError('ERR_INVALID_OPTION', 'onRequest must be a function');
    }
    this.handler = onRequest;
    this.recordRoute = options.recordRoute === true;
    this.path = options.path === true;
    this.trying = options.trying !== false;
    this.defaultMaxForwards = positiveInteger(options.maxForwards, 'maxForwards', 70);
    this.loopDetection = options.loopDetection !== false;
    this.cancelTimeout = positiveInteger(options.cancelTimeout, 'cancelTimeout', DEFAULT_CANCEL_TIMEOUT);
    this.contextTimeout = positiveInteger(options.contextTimeout, 'contextTimeout', DEFAULT_CONTEXT_TIMEOUT);
    this.logger = options.logger;

    const onStackRequest: RequestHandler = (rq, remote) => this.onStackRequest(rq, remote);
    const factory = options.stack ?? defaultFactory;
    if (typeof factory !== 'function') throw new SipProxyError('ERR_INVALID_OPTION', 'options.stack must be a stack factory');
    this.stack = factory(stackOptions(options), onStackRequest);

    this.names = {
      recordRouteHost: options.recordRouteHost,
      hosts: [options.publicAddress, options.address, options.hostname, options.recordRouteHost, ...(options.aliases ?? [])],
      port: options.port,
      tlsPort: options.tls_port,
    };
  }

  /** This proxy's names and ports: from the options and, once it listens, from the stack. */
  private get self(): { local: LocalIdentity; routeHost: string; routePort: number } {
    if (this.identity?.final) return this.identity;
    const stack = this.stack;
    const bound = stack.addresses?.() ?? [];
    const sentBy = stack.sentBy?.();
    const stackHost = stack.hostname?.();
    const ports: number[] = bound.map((a) => a.port);
    if (bound.length === 0) {
      ports.push(typeof this.names.port === 'number' && this.names.port > 0 ? this.names.port : 5060);
      if (typeof this.names.tlsPort === 'number') ports.push(this.names.tlsPort);
    }
    const udp = bound.find((a) => a.protocol === 'UDP') ?? bound[0];
    const routeHost = this.names.recordRouteHost ?? sentBy ?? this.names.hosts[0] ?? this.names.hosts[1] ?? stackHost ?? '127.0.0.1';
    this.identity = {
      local: localIdentity([...this.names.hosts, sentBy, stackHost, ...bound.map((a) => a.address)], ports),
      routeHost,
      routePort: udp?.port ?? ports[0] ?? 5060,
      final: bound.length > 0,
    };
    return this.identity;
  }

  /** Does `uri` name this proxy (one of its hosts and ports)? E.g. "is this request for my domain". */
  isLocalUri(uri: string | SipUri): boolean {
    return isLocalUri(uri, this.self.local);
  }

  /** Resolves when the stack listens (immediately for stacks that cannot tell). */
  async ready(): Promise<void> {
    await this.stack.ready?.();
  }

  /** Contexts (incoming requests with no final response forwarded yet). */
  get contextCount(): number {
    return this.contexts.size;
  }

  /**
   * `sip/proxy`'s send: a request inside the context of an incoming request (found through its
   * top Via) becomes a new branch; `callback` gets every response with our Via still on top, the
   * default aggregates per §16.7 and forwards. A response inside a context goes upstream (100
   * Trying at most once, one final, every 2xx to INVITE). Anything else goes to the stack as is.
   */
  send(message: SipMessage, callback?: ResponseCallback): void {
    if (this.stopped) return;
    const key = contextKey(message);
    const ctx = key === undefined ? undefined : this.contexts.get(key);
    if ('method' in message && typeof message.method === 'string') {
      const handed = this.handedOut.get(message);
      if (handed !== undefined && handed.released) {
        // Its context ended (cancelled, answered, expired): forwarding it now would make an orphan branch.
        return;
      }
      const own = handed ?? ctx;
      if (own !== undefined && message.method !== 'ACK' && message.method !== 'CANCEL') {
        this.forward(own, message, callback, undefined);
      } else if (this.contextless.has(message)) {
        this.forwardContextless(message);
      } else {
        this.stack.send(message, callback);
      }
      return;
    }
    const rs = message as SipResponse;
    if (ctx === undefined) {
      this.stack.send(rs);
      return;
    }
    this.upstream(ctx, rs);
    this.settle(ctx);
  }

  /**
   * Fork `rq` (a request handed to the handler, possibly modified) to `targets`: every target
   * at once ('parallel') or one after the other ('sequential', the next when the previous ends
   * without 2xx or 6xx). Responses are aggregated per §16.7 and the best one goes upstream.
   */
  fork(rq: SipRequest, targets: readonly ForkTarget[], options: ForkOptions = {}): void {
    if (this.stopped) throw new SipProxyError('ERR_STOPPED', 'the proxy is stopped');
    const key = contextKey(rq);
    const ctx = this.handedOut.get(rq) ?? (key === undefined ? undefined : this.contexts.get(key));
    if (ctx === undefined) throw new SipProxyError('ERR_NO_CONTEXT', 'fork: the request has no proxy context');
    // The context ended while the application was deciding (CANCEL, expiry): nothing to fork.
    if (ctx.released) return;
    for (const t of targets) {
      const uri = targetUri(t);
      if (typeof uri !== 'string' && (typeof uri !== 'object' || uri === null || typeof uri.host !== 'string')) {
        throw new SipProxyError('ERR_INVALID_TARGET', 'fork: a target is not a SIP URI');
      }
    }
    const timeout = options.timeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
      throw new SipProxyError('ERR_INVALID_OPTION', 'fork: timeout must be a positive number of ms');
    }
    if (targets.length === 0) {
      // §16.5: no target at all.
      this.upstream(ctx, makeLocalResponse(ctx.request, 480, 'Temporarily Unavailable'));
      this.settle(ctx);
      return;
    }
    if (options.mode === 'sequential') {
      const [first, ...rest] = targets;
      ctx.queue = rest.map((target) => ({ template: rq, target, timeout }));
      this.forward(ctx, branchCopy(rq, first as ForkTarget), undefined, timeout, true);
    } else {
      for (const target of targets) {
        if (ctx.released || ctx.finalSent) break;
        this.forward(ctx, branchCopy(rq, target), undefined, timeout, true);
      }
    }
  }

  /**
   * Forward `rq` without keeping a proxy context (RFC 3261 §16.11), for load balancing: its
   * Max-Forwards is decremented and it goes to its Request-URI / Route. On a stack with
   * `sendStateless` (@sipts/core has it: no client transaction either) the proxy adds its own
   * Via and responses find their way back by Via alone; on a stack without it the stack keeps
   * its client transaction and the responses are relayed without a proxy context.
   */
  forwardStateless(rq: SipRequest): void {
    if (this.stopped) throw new SipProxyError('ERR_STOPPED', 'the proxy is stopped');
    const key = contextKey(rq);
    const ctx = this.handedOut.get(rq) ?? (key === undefined ? undefined : this.contexts.get(key));
    if (ctx !== undefined && !ctx.released) {
      // The context made on receipt is not needed: nothing is kept for a stateless request.
      ctx.released = true;
      this.contexts.delete(ctx.key);
    }
    const mf = nextMaxForwards(rq, this.defaultMaxForwards);
    if (mf < 0) {
      if (rq.method !== 'ACK') this.stack.send(makeLocalResponse(rq, 483));
      return;
    }
    rq.headers['max-forwards'] = mf;
    const sentBy = this.stack.sentBy?.() ?? this.stack.hostname?.();
    if (this.stack.sendStateless !== undefined && sentBy !== undefined) {
      // RFC 3261 §16.11 / §16.6 step 8: a stateless proxy still adds its Via. The stack fills in
      // its transport and port once the target is resolved, and its branch: computed from the
      // request (the same for a retransmission) and signed, so that only a response to a request
      // we really forwarded is relayed back by Via.
      rq.headers.via = [{ version: '2.0', protocol: 'UDP', host: sentBy, params: {} }, ...(rq.headers.via ?? [])];
      this.stack.sendStateless(rq);
      return;
    }
    this.stack.send(rq, rq.method === 'ACK' ? undefined : (rs) => this.relay(rs));
  }

  /** A response to a stateless-forwarded request: our Via off, then upstream by Via. */
  private relay(rs: SipResponse): void {
    if (this.stopped) return;
    const vias = rs.headers.via;
    if (vias === undefined || vias.length < 2) return;
    vias.shift();
    if (rs.status === 100) return;
    this.stack.send(rs);
  }

  /** Stop the proxy and its stack; pending contexts are dropped and every timer cleared. */
  stop(): void | Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const b of this.timed) if (b.timer !== undefined) clearTimeout(b.timer);
    this.timed.clear();
    for (const ctx of this.contexts.values()) this.release(ctx, 'stopped');
    this.contexts.clear();
    return this.stack.close !== undefined ? this.stack.close() : this.stack.destroy();
  }

  // ---- incoming requests ----

  private onStackRequest(rq: SipRequest, remote: Remote): void {
    if (this.stopped) return;
    if (rq.method === 'CANCEL') {
      this.onCancel(rq);
      return;
    }
    preprocessRoute(rq, this.self.local, this.isFlow);
    if (rq.method === 'ACK') {
      // An ACK for a 2xx is its own transaction-less request: no context (sip/proxy kept one
      // for every ACK and never freed it); the application forwards it statelessly.
      this.contextless.add(rq);
      this.callHandler(rq, remote, undefined);
      return;
    }
    const key = contextKey(rq);
    if (key === undefined) return;
    if (this.contexts.has(key)) return; // a retransmission the stack let through
    if (this.loopDetection && this.isLoop(rq)) {
      this.stack.send(makeLocalResponse(rq, 482));
      return;
    }
    const mf = nextMaxForwards(rq, this.defaultMaxForwards);
    const ctx = new ProxyContext(
      key,
      rq,
      Date.now(),
      this.contextTimeout,
      mf,
      this.loopDetection ? loopHash(rq) : undefined,
    );
    this.contexts.set(key, ctx);
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL);
      this.sweepTimer.unref();
    }
    if (this.trying && rq.method === 'INVITE') {
      // §16.2: an INVITE is answered 100 at once, or the caller retransmits while we work.
      ctx.tryingSent = true;
      this.stack.send(makeLocalResponse(rq, 100));
    }
    // The application gets its own copy of the header table and Via list, so it may edit them.
    const copy: SipRequest = { ...rq, headers: { ...rq.headers, via: rq.headers.via?.slice() } };
    this.handedOut.set(copy, ctx);
    this.callHandler(copy, remote, ctx);
  }

  /**
   * §16.3 step 4: the request carries our Via, and the request we forwarded then (found by the
   * Via below ours, Call-ID and CSeq) had the same loop hash: it came back unchanged. A request
   * that comes back changed (new Request-URI, Route...) is a spiral and is served normally.
   */
  private isLoop(rq: SipRequest): boolean {
    const below = viaBelowOurs(rq, this.self.local);
    if (below === undefined) return false;
    const key = contextKey({ ...rq, headers: { ...rq.headers, via: [below] } });
    const earlier = key === undefined ? undefined : this.contexts.get(key);
    return earlier !== undefined && earlier.loopHash === loopHash(rq);
  }

  private callHandler(rq: SipRequest, remote: Remote, ctx: ProxyContext | undefined): void {
    try {
      this.handler(rq, remote);
    } catch (e) {
      this.failed(ctx, e);
    }
  }

  /** The handler or a callback threw: 500 upstream if nothing final went yet, then release. */
  private failed(ctx: ProxyContext | undefined, cause: unknown): void {
    const error = new SipProxyError('ERR_HANDLER', 'the request handler threw', { cause });
    this.report(error);
    if (ctx === undefined || ctx.released) return;
    if (!ctx.finalSent) this.upstream(ctx, makeLocalResponse(ctx.request, 500));
    this.cancelPending(ctx);
    this.release(ctx, 'error');
  }

  private report(error: Error): void {
    try {
      this.logger?.error?.(error);
    } catch {
      // A throwing logger must not break the proxy.
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private readonly isFlow = (uri: SipUri): boolean => {
    const decode = this.stack.decodeFlowUri;
    if (decode === undefined) return false;
    try {
      return decode.call(this.stack, uri) !== undefined;
    } catch {
      return false;
    }
  };

  /** RFC 3261 §16.10: CANCEL is answered 200 and sent on every pending branch; 481 without a context. */
  private onCancel(rq: SipRequest): void {
    const key = contextKey(rq);
    const ctx = key === undefined ? undefined : this.contexts.get(key);
    if (ctx === undefined) {
      this.stack.send(makeLocalResponse(rq, 481));
      return;
    }
    this.stack.send(makeLocalResponse(rq, 200));
    if (ctx.method !== 'INVITE' || ctx.finalSent) return;
    ctx.cancelled = true;
    ctx.queue = undefined;
    this.cancelPending(ctx);
    if (ctx.pending === 0) {
      // No branch to wait for (the application had not forwarded yet): we end it as a UAS would.
      this.upstream(ctx, makeLocalResponse(ctx.request, 487));
      this.settle(ctx);
    }
  }

  // ---- forwarding ----

  private forward(
    ctx: ProxyContext,
    rq: SipRequest,
    callback: ResponseCallback | undefined,
    timeout: number | undefined,
    owned = false,
  ): void {
    if (ctx.released) return;
    if (ctx.cancelled || ctx.closed || (ctx.finalSent && statusClass(ctx.finalStatus ?? 0) !== TWO_XX_CLASS)) {
      // §16.10: no new branches once cancelled; none after a final non-2xx response either.
      this.settle(ctx);
      return;
    }
    if (ctx.maxForwards < 0) {
      // §16.3 step 3.
      this.upstream(ctx, makeLocalResponse(ctx.request, 483));
      this.settle(ctx);
      return;
    }
    const h = rq.headers;
    h['max-forwards'] = ctx.maxForwards;
    if (rq.method === 'REGISTER') {
      if (this.path && supportsPath(ctx.request)) {
        // RFC 3327 §5.1: our Path entry goes first.
        h.path = [localRouteEntry(this.self.routeHost, this.self.routePort), ...(h.path ?? [])];
      }
    } else if (this.recordRoute) {
      // §16.6 step 4: our Record-Route goes on top.
      h['record-route'] = [localRouteEntry(this.self.routeHost, this.self.routePort), ...(h['record-route'] ?? [])];
    }
    const branch = new Branch(this, ctx, rq, callback, owned);
    ctx.branches.push(branch);
    ctx.pending++;
    if (callback === undefined) ctx.aggregated++;
    if (timeout !== undefined) {
      branch.timer = setTimeout(() => this.branchTimeout(branch), timeout);
      branch.timer.unref();
      this.timed.add(branch);
    }
    try {
      this.stack.send(rq, branch.onResponse);
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)));
      this.synthesize(branch, 503);
    }
  }

  /** A forwarded ACK (for a 2xx) or other request that has no context: Max-Forwards, then the stack. */
  private forwardContextless(rq: SipRequest): void {
    const mf = nextMaxForwards(rq, this.defaultMaxForwards);
    if (mf < 0) return; // an ACK gets no response (§17.1.1.3); it is just not forwarded
    rq.headers['max-forwards'] = mf;
    this.contextless.delete(rq);
    this.stack.send(rq);
  }

  // ---- responses from branches ----

  /** Every response of a branch (called by the stack through Branch.onResponse). */
  branchResponse(b: Branch, rs: SipResponse, remote: Remote | undefined, fromStack: boolean): void {
    if (this.stopped) return;
    const ctx = b.ctx;
    const status = rs.status;
    if (fromStack && status >= 200) emptySent(b);
    if (status < 200) {
      if (b.via === undefined) b.via = rs.headers.via?.[0];
      b.provisional = true;
      // §9.1: a CANCEL waits for a provisional response.
      if (b.cancelRequested && !b.cancelSent) this.sendCancel(b);
      if (b.done) {
        forget(b);
        return;
      }
    } else {
      if (b.done) {
        // A late final response after we gave the branch up: only a 2xx to INVITE still
        // matters (§16.7 step 9); it goes upstream through the normal path.
        forget(b);
        if (statusClass(status) !== TWO_XX_CLASS || ctx.method !== 'INVITE') return;
      } else {
        b.done = true;
        ctx.pending--;
        if (!owesCancel(b)) forget(b);
        if (b.timer !== undefined) {
          clearTimeout(b.timer);
          b.timer = undefined;
          this.timed.delete(b);
        }
      }
    }
    if (b.callback !== undefined) {
      try {
        b.callback(rs, remote);
      } catch (e) {
        this.failed(ctx, e);
        return;
      }
      if (status >= 200) this.settle(ctx);
      return;
    }
    this.aggregateResponse(ctx, b, rs);
  }

  /** §16.7 for a branch without an application callback. */
  private aggregateResponse(ctx: ProxyContext, b: Branch, rs: SipResponse): void {
    const status = rs.status;
    const vias = rs.headers.via;
    // §16.7 step 9: our Via comes off; with none left the response was for this proxy itself.
    if (vias !== undefined && vias.length > 0) vias.shift();
    const upstreamPossible = vias !== undefined && vias.length > 0;
    if (status < 200) {
      // §16.7 step 5: 100 is never forwarded; other provisional responses are.
      if (status !== 100 && upstreamPossible) this.upstream(ctx, rs);
      return;
    }
    const klass = statusClass(status);
    if (klass === TWO_XX_CLASS) {
      if (upstreamPossible) this.upstream(ctx, rs);
    } else {
      ctx.responses.push(rs);
      if (klass === 6) {
        // §16.7 step 10: a 6xx ends the search.
        ctx.closed = true;
        ctx.queue = undefined;
        this.cancelPending(ctx, b);
      }
    }
    this.settle(ctx);
  }

  /**
   * After any change: start the next sequential target, or, once nothing is pending, send the
   * best response (when the proxy aggregates) and release the context.
   */
  private settle(ctx: ProxyContext): void {
    if (ctx.released) {
      return;
    }
    if (ctx.pending === 0 && ctx.queue !== undefined && ctx.queue.length > 0 && !ctx.finalSent && !ctx.cancelled && !ctx.closed) {
      const next = ctx.queue.shift() as PendingTarget;
      this.forward(ctx, branchCopy(next.template, next.target), undefined, next.timeout, true);
      return;
    }
    if (!ctx.finalSent) {
      if (ctx.pending > 0) return;
      if (ctx.aggregated === 0 && !ctx.cancelled) return; // the application owns the outcome
      this.upstream(ctx, ctx.cancelled && ctx.responses.length === 0 ? makeLocalResponse(ctx.request, 487) : aggregate(ctx.request, ctx.responses));
    }
    if (ctx.finalSent) this.release(ctx, ctx.cancelled ? 'cancelled' : 'final');
  }

  /** Send a response upstream on the server transaction of `ctx` (§16.7 steps 5, 9, 10). */
  private upstream(ctx: ProxyContext, rs: SipResponse): void {
    const status = rs.status;
    if (status < 200) {
      if (ctx.finalSent) return;
      if (status === 100) {
        if (ctx.tryingSent) return;
        ctx.tryingSent = true;
      }
      this.stack.send(rs);
      return;
    }
    const isInvite2xx = ctx.method === 'INVITE' && statusClass(status) === TWO_XX_CLASS;
    if (ctx.finalSent) {
      // Every 2xx to an INVITE goes upstream (forking); other late finals are absorbed.
      if (isInvite2xx) this.stack.send(rs);
      return;
    }
    ctx.finalSent = true;
    ctx.finalStatus = status;
    ctx.queue = undefined;
    this.stack.send(rs);
    // §16.7 step 10: a final response forwarded cancels the branches still pending.
    if (ctx.method === 'INVITE') this.cancelPending(ctx);
  }

  private release(ctx: ProxyContext, reason: ContextReleasedEvent['reason']): void {
    if (ctx.released) return;
    ctx.released = true;
    this.contexts.delete(ctx.key);
    if (this.contexts.size === 0 && this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    if (this.listenerCount('contextReleased') > 0) {
      this.emit('contextReleased', {
        callId: String(ctx.request.headers['call-id'] ?? ''),
        method: ctx.method,
        reason,
        status: ctx.finalStatus,
      });
    }
    // Branches still pending (being cancelled, or a late 2xx) keep `ctx` alive through the stack's
    // callbacks; they need none of the messages.
    ctx.request = RELEASED_REQUEST;
    ctx.key = '';
    ctx.responses = [];
    ctx.queue = undefined;
    ctx.branches = ctx.branches.filter((b) => !b.done);
  }

  // ---- cancellation and timers ----

  private cancelPending(ctx: ProxyContext, except?: Branch): void {
    if (ctx.method !== 'INVITE') return; // §9.1: CANCEL only means something for INVITE
    for (const b of ctx.branches) if (b !== except && !b.done) this.cancelBranch(b);
  }

  private cancelBranch(b: Branch): void {
    if (b.done || b.cancelRequested) return;
    b.cancelRequested = true;
    if (b.provisional) this.sendCancel(b);
    // §9.1: give up on the branch 64*T1 after the CANCEL if no final response comes; also bounds
    // a branch that never answered at all.
    this.setBranchTimer(b, this.cancelTimeout, 487);
  }

  private setBranchTimer(b: Branch, ms: number, status: number): void {
    if (b.timer !== undefined) clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      b.timer = undefined;
      this.timed.delete(b);
      if (!b.done) this.synthesize(b, status);
    }, ms);
    b.timer.unref();
    this.timed.add(b);
  }

  private sendCancel(b: Branch): void {
    const via = b.via;
    if (via === undefined) return;
    b.cancelSent = true;
    const params = { ...via.params };
    delete params['received'];
    if (params['rport'] !== undefined) params['rport'] = null;
    const cancel: SipRequest = {
      method: 'CANCEL',
      uri: b.uri,
      version: '2.0',
      headers: {
        via: [{ version: via.version, protocol: via.protocol, host: via.host, port: via.port, params }],
        from: b.from,
        to: b.to,
        'call-id': b.callId,
        cseq: { seq: b.seq, method: 'CANCEL' },
        'max-forwards': 70,
      },
      content: '',
    };
    if (b.route !== undefined && b.route.length > 0) cancel.headers.route = b.route.slice();
    try {
      this.stack.send(cancel, ignoreResponse);
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** The fork `timeout` of a branch fired (§16.8 Timer C). */
  private branchTimeout(b: Branch): void {
    b.timer = undefined;
    this.timed.delete(b);
    if (b.done) return;
    if (b.provisional) {
      // It rang: CANCEL it and wait for its 487 (bounded by cancelTimeout).
      this.cancelBranch(b);
    } else {
      // It never answered: as if it had returned 408; a late provisional still gets a CANCEL.
      b.cancelRequested = true;
      this.synthesize(b, 408);
    }
  }

  /** A final response the proxy makes up for a branch (timeout, transport failure). */
  private synthesize(b: Branch, status: number): void {
    const ctx = b.ctx;
    if (ctx.released) {
      // Nobody upstream waits for this branch any more: just account for it.
      if (!b.done) {
        b.done = true;
        ctx.pending--;
        if (!owesCancel(b)) forget(b);
      }
      return;
    }
    const rs = makeLocalResponse(ctx.request, status);
    const ours: Via = b.via ?? { version: '2.0', protocol: 'UDP', host: this.self.routeHost, port: this.self.routePort, params: {} };
    rs.headers.via = [ours, ...(ctx.request.headers.via ?? [])];
    this.branchResponse(b, rs, undefined, false);
  }

  /** Context expiry (Timer C for the whole context): contexts expire in creation order. */
  private sweep(): void {
    const now = Date.now();
    for (const ctx of this.contexts.values()) {
      if (ctx.expiresAt > now) break;
      ctx.queue = undefined;
      this.cancelPending(ctx);
      if (!ctx.finalSent) this.upstream(ctx, makeLocalResponse(ctx.request, ctx.cancelled ? 487 : 408));
      this.release(ctx, 'timeout');
    }
  }
}

const RELEASED_REQUEST: SipRequest = Object.freeze({ method: '', uri: '', headers: Object.freeze({}) }) as SipRequest;

/**
 * A finished branch lives on in the stack's callback (a late 2xx still goes upstream) for as long
 * as its client transaction does: drop every piece of the message, since parsed header strings
 * are often slices that keep the whole datagram text alive.
 */
/**
 * The stack delivered the branch's final response: its client transaction no longer reads the
 * request (the ACK for a non-2xx is built before delivery), yet keeps a reference to it for up
 * to 32 s (RFC 3261 Timer D, RFC 6026 Timer M). Emptying our own copy lets the message go.
 * Only copies the proxy made are touched, never an object the application passed to `send`.
 */
function emptySent(b: Branch): void {
  const rq = b.sent;
  if (rq === undefined) return;
  b.sent = undefined;
  const h = rq.headers;
  const top = h.via?.[0];
  rq.headers = { via: top === undefined ? [] : [top], 'call-id': h['call-id'], cseq: h.cseq };
  rq.content = '';
}

function forget(b: Branch): void {
  b.uri = '';
  b.route = undefined;
  b.from = undefined;
  b.to = undefined;
  b.callId = undefined;
  b.via = undefined;
}

/** A CANCEL was asked for before any provisional response: a late one still gets it (§9.1). */
function owesCancel(b: Branch): boolean {
  return b.cancelRequested && !b.cancelSent;
}

function ignoreResponse(): void {
  // Responses to our CANCELs need no handling (§9.1).
}

/** The part of the options the stack factory sees. */
function stackOptions(options: ProxyOptions<Record<string, unknown>>): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...options };
  for (const own of [
    'stack',
    'recordRoute',
    'path',
    'recordRouteHost',
    'aliases',
    'trying',
    'maxForwards',
    'loopDetection',
    'cancelTimeout',
    'contextTimeout',
  ]) {
    delete rest[own];
  }
  return rest;
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new SipProxyError('ERR_INVALID_OPTION', `options.${name} must be a positive integer`);
  }
  return value;
}

/** A branch's own copy of the request: the fields forwarding changes are copied (§16.6 step 1). */
function branchCopy(rq: SipRequest, target: ForkTarget): SipRequest {
  const h = rq.headers;
  const extra = targetRoute(target);
  const route = extra === undefined ? h.route?.slice() : [...extra, ...(h.route ?? [])];
  const headers = { ...h, via: h.via?.slice() ?? [] };
  if (route !== undefined) headers.route = route;
  else delete headers.route;
  if (h['record-route'] !== undefined) headers['record-route'] = h['record-route'].slice();
  if (h.path !== undefined) headers.path = h.path.slice();
  const copy: SipRequest = { method: rq.method, uri: targetUri(target), headers };
  if (rq.version !== undefined) copy.version = rq.version;
  if (rq.content !== undefined) copy.content = rq.content;
  return copy;
}
