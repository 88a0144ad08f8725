// The stateful proxy (RFC 3261 §16) on one stack: what arrives (a new request, a CANCEL, a loop,
// Max-Forwards 0, §16.3/§16.4/§16.10) and the public API (`send`, `fork`, `forwardStateless`,
// `stop`, `stats`). The response contexts are kept and driven by contexts.ts; their model is
// context.ts; the options are options.ts.
import { EventEmitter } from 'node:events';
import { makeResponse, stringifyUri } from '@sipts/message';
import type { Remote, SipMessage, SipRequest, SipResponse, SipUri } from '@sipts/message';
import { contextKey, messageKey, type BranchOutcome, type ContextReleasedEvent, type ProxyContext, type ProxyReply, type ReleaseReason } from './context.js';
import { ContextTable } from './contexts.js';
import { RecordRouter, StackFlows } from './edge.js';
import { SipProxyError } from './errors.js';
import { ProxyIdentity } from './identity.js';
import { normalizeProxyOptions, stackOptions, type ForkOptions, type ForkTarget, type NormalizedProxyOptions, type ProxyOptions } from './options.js';
import { isLocalUri, loopHash, nextMaxForwards, preprocessRoute, viaBelowOurs, type FlowAddress, type LocalIdentity } from './routing.js';
import { newCounters, type ProxyCounters, type ProxyStats } from './stats.js';
import type { ProxyStack, ResponseCallback, StackFactory, StackReply } from './stack.js';
import { checkTargets } from './targets.js';

/**
 * The application's request handler: every request outside a transaction (CANCEL excepted), with
 * where it came from and the reply handle of its context (see ProxyReply). `sip/proxy` handlers
 * take the first two arguments only.
 */
export type RequestHandler = (request: SipRequest, remote: Remote, reply: ProxyReply) => void;

/** What 'branchLimit' reports, once per context. */
export interface BranchLimitEvent {
  callId: string;
  method: string;
  maxBranches: number;
  /** Fork targets dropped and branches refused in this context so far. */
  overLimit: number;
}

/** What 'branchStart' reports: a forwarded copy handed to the stack (one client transaction). */
export interface BranchStartEvent {
  callId: string;
  /** Unique per branch of this proxy (`b1`, `b2`...). */
  branch: string;
  method: string;
  /** The Request-URI the branch was sent to. */
  target: string;
}

/** What 'branchEnd' reports: the branch's final status and why it ended. */
export interface BranchEndEvent {
  callId: string;
  branch: string;
  /** The final status (408 for a timeout the proxy made up, 487 after CANCEL...). */
  status: number;
  reason: BranchOutcome;
}

export interface ProxyEvents {
  error: [error: Error];
  contextReleased: [event: ContextReleasedEvent];
  branchLimit: [event: BranchLimitEvent];
  /** Emitted only while someone listens (tracing): free otherwise. */
  branchStart: [event: BranchStartEvent];
  branchEnd: [event: BranchEndEvent];
}

/** The handle that comes with an ACK: it has no transaction and is never answered (§17.1.1.3). */
const NO_REPLY: ProxyReply = Object.freeze({ reply: (): boolean => false, finalSent: true, cancelled: false });

/** A stateful proxy on one stack; several can coexist in a process. */
export class SipProxy extends EventEmitter<ProxyEvents> {
  readonly stack: ProxyStack;
  readonly #options: NormalizedProxyOptions;
  readonly #identity: ProxyIdentity;
  readonly #flows: StackFlows;
  readonly #contexts: ContextTable;
  readonly #counters: ProxyCounters = newCounters();
  readonly #handler: RequestHandler;
  /** Requests handed to the application that have no context (ACK): forwarded statelessly. */
  readonly #contextless = new WeakSet<SipRequest>();
  /** The copy handed to the application, to its context (found even after it was released). */
  readonly #handedOut = new WeakMap<SipRequest, ProxyContext>();
  #stopped = false;

  constructor(
    options: ProxyOptions<Record<string, unknown>>,
    onRequest: RequestHandler,
    defaultFactory?: StackFactory<Record<string, unknown>>,
  ) {
    super();
    if (typeof onRequest !== 'function') throw new SipProxyError('ERR_INVALID_OPTION', 'onRequest must be a function');
    this.#handler = onRequest;
    this.#options = normalizeProxyOptions(options);
    const factory = options.stack ?? defaultFactory;
    if (typeof factory !== 'function') throw new SipProxyError('ERR_INVALID_OPTION', 'options.stack must be a stack factory');
    const stack = factory(stackOptions(options), (rq, remote, reply) => this.#onStackRequest(rq, remote, reply));
    if (typeof stack !== 'object' || stack === null || typeof stack.send !== 'function' || typeof stack.cancel !== 'function') {
      // RFC 3261 §9.1: a CANCEL goes through the INVITE's own client transaction, so the stack
      // must offer cancel(request) (sip@0.0.6's create() does not).
      if (typeof stack?.destroy === 'function') void stack.destroy();
      throw new SipProxyError('ERR_INVALID_OPTION', 'options.stack must build a stack with send(message, callback) and cancel(request)');
    }
    this.stack = stack;
    this.#identity = new ProxyIdentity(stack, this.#options);
    this.#flows = new StackFlows(stack);
    const recordRouter = new RecordRouter(this.#identity, this.#flows, this.#options.doubleRecordRoute);
    this.#contexts = new ContextTable(stack, this.#options, this.#identity, recordRouter, this.#counters, {
      report: (error) => this.#report(error),
      released: (ctx, reason) => this.#released(ctx, reason),
      overLimit: (ctx) => this.#overLimit(ctx),
      branchStart: (branch, rq) => {
        if (this.listenerCount('branchStart') === 0) return;
        this.emit('branchStart', { callId: String(rq.headers['call-id'] ?? ''), branch: branch.id, method: rq.method, target: stringifyUri(rq.uri) });
      },
      branchEnd: (branch, status) => {
        if (this.listenerCount('branchEnd') === 0) return;
        this.emit('branchEnd', { callId: branch.callId, branch: branch.id, status, reason: branch.outcome ?? 'response' });
      },
    });
  }

  /** Does `uri` name this proxy (one of its hosts and ports)? E.g. "is this request for my domain". */
  isLocalUri(uri: string | SipUri): boolean {
    return isLocalUri(uri, this.#identity.local);
  }

  /** Resolves when the stack listens (immediately for stacks that cannot tell). */
  async ready(): Promise<void> {
    await this.stack.ready?.();
  }

  /** Contexts (incoming requests with no final response forwarded yet). */
  get contextCount(): number {
    return this.#contexts.size;
  }

  /** Live contexts and the counters of every limit and defense (see the README's table). */
  stats(): ProxyStats {
    return { contexts: this.#contexts.size, ...this.#counters };
  }

  /**
   * `sip/proxy`'s send: a request inside the context of an incoming request (the copy the
   * handler got, or one with its top Via) becomes a new branch; `callback` gets every response
   * with our Via still on top, the default aggregates per §16.7 and forwards. A response inside a
   * context goes upstream, as through the reply handle. Anything else goes to the stack as is.
   */
  send(message: SipMessage, callback?: ResponseCallback): void {
    if (this.#stopped) return;
    if ('method' in message && typeof message.method === 'string') {
      const handed = this.#handedOut.get(message);
      // Its context ended (cancelled, answered, expired): forwarding now would make an orphan branch.
      if (handed !== undefined && handed.state === 'released') return;
      const ctx = handed ?? this.#contexts.get(messageKey(message));
      if (ctx !== undefined && message.method !== 'ACK' && message.method !== 'CANCEL') {
        this.#contexts.forward(ctx, message, callback, undefined, false);
      } else if (this.#contextless.has(message)) {
        this.#forwardContextless(message);
      } else {
        this.stack.send(message, callback);
      }
      return;
    }
    const rs = message as SipResponse;
    const ctx = this.#contexts.get(messageKey(rs));
    if (ctx === undefined) this.stack.send(rs);
    else this.#contexts.respond(ctx, rs);
  }

  /**
   * Fork `rq` (a request handed to the handler, possibly modified) to `targets`: every target
   * at once ('parallel') or one after the other ('sequential', the next when the previous ends
   * without 2xx or 6xx). Responses are aggregated per §16.7 and the best one goes upstream.
   * `maxBranches` keeps the first targets that fit, in the order given.
   */
  fork(rq: SipRequest, targets: readonly ForkTarget[], options: ForkOptions = {}): void {
    if (this.#stopped) throw new SipProxyError('ERR_STOPPED', 'the proxy is stopped');
    const ctx = this.#handedOut.get(rq) ?? this.#contexts.get(messageKey(rq));
    if (ctx === undefined) throw new SipProxyError('ERR_NO_CONTEXT', 'fork: the request has no proxy context');
    checkTargets(targets);
    const { timeout, mode } = options;
    if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
      throw new SipProxyError('ERR_INVALID_OPTION', 'fork: timeout must be a positive number of ms');
    }
    if (mode !== undefined && mode !== 'parallel' && mode !== 'sequential') {
      throw new SipProxyError('ERR_INVALID_OPTION', "fork: mode must be 'parallel' or 'sequential'");
    }
    // A context that ended while the application was deciding (CANCEL, expiry) forks nothing.
    this.#contexts.fork(ctx, rq, targets, options);
  }

  /**
   * Forward `rq` without keeping a proxy context (RFC 3261 §16.11), for load balancing: its
   * Max-Forwards is decremented and it goes to its Request-URI / Route. On a stack with
   * `sendStateless` (@sipts/core has it: no client transaction either) the proxy adds its own
   * Via and responses find their way back by Via alone; on a stack without it the stack keeps
   * its client transaction and the responses are relayed without a proxy context.
   */
  forwardStateless(rq: SipRequest): void {
    if (this.#stopped) throw new SipProxyError('ERR_STOPPED', 'the proxy is stopped');
    const ctx = this.#handedOut.get(rq) ?? this.#contexts.get(messageKey(rq));
    let reply: StackReply | undefined;
    if (ctx !== undefined && ctx.state !== 'released') {
      // The context made on receipt is not needed: nothing is kept for a stateless request.
      reply = ctx.upstream;
      this.#contexts.discard(ctx);
    }
    const mf = nextMaxForwards(rq, this.#options.maxForwards);
    if (mf < 0) {
      if (rq.method !== 'ACK') {
        this.#counters.tooManyHops++;
        this.#respondTo(reply, makeResponse(rq, 483, undefined, { toTag: true }));
      }
      return;
    }
    rq.headers['max-forwards'] = mf;
    this.#counters.statelessForwarded++;
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
    this.stack.send(rq, rq.method === 'ACK' ? undefined : (rs) => this.#relay(rs));
  }

  /** Stop the proxy and its stack; pending contexts are dropped and every timer cleared. */
  stop(): void | Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#contexts.stop();
    return this.stack.close !== undefined ? this.stack.close() : this.stack.destroy();
  }

  // ---- incoming requests ----

  #onStackRequest(rq: SipRequest, remote: Remote, reply: StackReply | undefined): void {
    if (this.#stopped) return;
    if (rq.method === 'CANCEL') {
      this.#onCancel(rq, reply);
      return;
    }
    const local = this.#identity.local;
    const arrivedOb = preprocessRoute(rq, local, this.#flowOf, this.#canonicalFlow, remote);
    if (rq.method === 'ACK') {
      // An ACK for a 2xx is its own transaction-less request: no context (sip/proxy kept one
      // for every ACK and never freed it); the application forwards it statelessly.
      this.#contextless.add(rq);
      this.#callHandler(rq, remote, undefined, NO_REPLY);
      return;
    }
    const key = messageKey(rq);
    if (key === undefined) return;
    if (this.#contexts.get(key) !== undefined) return; // a retransmission the stack let through
    const loopDetection = this.#options.loopDetection;
    if (loopDetection && this.#isLoop(rq, local)) {
      this.#counters.loopsDetected++;
      this.#respondTo(reply, makeResponse(rq, 482, undefined, { toTag: true }));
      return;
    }
    const mf = nextMaxForwards(rq, this.#options.maxForwards);
    const ctx = this.#contexts.open(key, rq, mf, loopDetection ? loopHash(rq) : undefined, reply, remote, arrivedOb);
    // §16.2: an INVITE is answered 100 at once, or the caller retransmits while we work.
    if (this.#options.trying && rq.method === 'INVITE') this.#contexts.respond(ctx, makeResponse(rq, 100));
    // The application gets its own copy of the header table and Via list, so it may edit them.
    const copy: SipRequest = { ...rq, headers: { ...rq.headers, via: rq.headers.via?.slice() } };
    this.#handedOut.set(copy, ctx);
    this.#callHandler(copy, remote, ctx, ctx);
  }

  /** RFC 3261 §16.10: CANCEL is answered 200 and sent on every pending branch; 481 without a context. */
  #onCancel(rq: SipRequest, reply: StackReply | undefined): void {
    const ctx = this.#contexts.get(messageKey(rq));
    if (ctx === undefined) {
      this.#counters.cancelsUnmatched++;
      this.#respondTo(reply, makeResponse(rq, 481, undefined, { toTag: true }));
      return;
    }
    this.#counters.cancelsReceived++;
    this.#respondTo(reply, makeResponse(rq, 200, undefined, { toTag: true }));
    this.#contexts.cancel(ctx);
  }

  /**
   * §16.3 step 4: the request carries our Via, and the request we forwarded then (found by the
   * Via below ours, Call-ID and CSeq) had the same loop hash: it came back unchanged. A request
   * that comes back changed (new Request-URI, Route...) is a spiral and is served normally.
   */
  #isLoop(rq: SipRequest, local: LocalIdentity): boolean {
    const below = viaBelowOurs(rq, local);
    if (below === undefined) return false;
    const earlier = this.#contexts.get(contextKey(below, rq.headers['call-id'], rq.headers.cseq?.seq));
    return earlier !== undefined && earlier.loopHash === loopHash(rq);
  }

  #forwardContextless(rq: SipRequest): void {
    // A forwarded ACK (for a 2xx): Max-Forwards, then the stack. An ACK is never answered
    // (§17.1.1.3): at Max-Forwards 0 it is just not forwarded.
    const mf = nextMaxForwards(rq, this.#options.maxForwards);
    if (mf < 0) return;
    rq.headers['max-forwards'] = mf;
    this.#contextless.delete(rq);
    this.#counters.statelessForwarded++;
    this.stack.send(rq);
  }

  /** A response to a stateless-forwarded request (stack without sendStateless): our Via off, then upstream by Via. */
  #relay(rs: SipResponse): void {
    if (this.#stopped) return;
    const vias = rs.headers.via;
    if (vias === undefined || vias.length < 2) return;
    vias.shift();
    if (rs.status === 100) return;
    this.stack.send(rs);
  }

  #callHandler(rq: SipRequest, remote: Remote, ctx: ProxyContext | undefined, reply: ProxyReply): void {
    try {
      this.#handler(rq, remote, reply);
    } catch (e) {
      this.#contexts.fail(ctx, e, 'the request handler');
    }
  }

  /** A response to a request that has no context: on its server transaction if the stack gave a handle. */
  #respondTo(reply: StackReply | undefined, rs: SipResponse): void {
    if (reply !== undefined) reply.reply(rs);
    else this.stack.send(rs);
  }

  #report(error: Error): void {
    try {
      this.#options.logger?.error?.(error);
    } catch {
      // A throwing logger must not break the proxy.
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #released(ctx: ProxyContext, reason: ReleaseReason): void {
    if (this.listenerCount('contextReleased') === 0) return;
    this.emit('contextReleased', {
      callId: String(ctx.request.headers['call-id'] ?? ''),
      method: ctx.method,
      reason,
      status: ctx.finalStatus,
    });
  }

  #overLimit(ctx: ProxyContext): void {
    const callId = String(ctx.request.headers['call-id'] ?? '');
    const maxBranches = this.#options.maxBranches;
    try {
      this.#options.logger?.warn?.(
        `@sipts/proxy: maxBranches (${maxBranches}) reached for ${ctx.method} ${callId}: ${ctx.overLimit} fork target(s) dropped or branch(es) refused`,
      );
    } catch {
      // A throwing logger must not break the proxy.
    }
    if (this.listenerCount('branchLimit') > 0) this.emit('branchLimit', { callId, method: ctx.method, maxBranches, overLimit: ctx.overLimit });
  }

  // Shared by every request (no closure per message).
  readonly #flowOf = (uri: SipUri): FlowAddress | undefined => this.#flows.flowOf(uri);
  readonly #canonicalFlow = (uri: SipUri): SipUri => this.#flows.canonical(uri.user ?? '');
}
