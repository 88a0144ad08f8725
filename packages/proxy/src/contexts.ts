// The response contexts of one proxy and everything that happens to them after receipt (in
// Kamailio's tm terms: the hash table, t_fwd, t_reply and t_cancel in one place, because they
// call each other): forwarding on branches (RFC 3261 §16.6), response processing and the one
// place a context's outcome is decided (§16.7), CANCEL of pending branches through the stack's
// client transactions (§16.10, §9.1), branch and context timers (§16.8), and release on every
// path.
import { detachString, makeResponse } from '@sipts/message';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import { aggregate } from './aggregate.js';
import {
  Branch,
  ProxyContext,
  RELEASED_REQUEST,
  type BranchReport,
  type ContextResponder,
  type ReleaseReason,
} from './context.js';
import { SipProxyError } from './errors.js';
import type { RecordRouter } from './edge.js';
import type { ProxyIdentity } from './identity.js';
import type { ForkOptions, ForkTarget, NormalizedProxyOptions } from './options.js';
import type { ProxyCounters } from './stats.js';
import type { ProxyStack, ResponseCallback, StackReply } from './stack.js';
import { branchCopy, supportsPath, targetAlternates } from './targets.js';

/** How often expired contexts are looked for (they expire in creation order: one timer for all). */
const SWEEP_INTERVAL = 1000;

/** What the table tells the proxy that owns it. */
export interface ContextEvents {
  report(error: Error): void;
  released(context: ProxyContext, reason: ReleaseReason): void;
  /** A context hit `maxBranches` for the first time. */
  overLimit(context: ProxyContext): void;
  /** A branch was handed to the stack / got its final response (or was given up). Optional: free when absent. */
  branchStart?: ((branch: Branch, request: SipRequest) => void) | undefined;
  branchEnd?: ((branch: Branch, status: number) => void) | undefined;
}

/**
 * RFC 5626 §5.3: the flow is gone: a 430 Flow Failed (from the stack, whose flow is closed, or
 * from the next hop holding it), or a 503 the stack made up for a transport error.
 */
function isFlowFailure(status: number, remote: Remote | undefined, fromStack: boolean): boolean {
  return status === 430 || (status === 503 && fromStack && remote === undefined);
}

function isTwoXx(status: number): boolean {
  return status >= 200 && status < 300;
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export class ContextTable {
  readonly #contexts = new Map<string, ProxyContext>();
  /** Branches with a running timer (fork timeout or CANCEL wait), cleared on stop(). */
  readonly #timed = new Set<Branch>();
  readonly #stack: ProxyStack;
  readonly #options: NormalizedProxyOptions;
  readonly #identity: ProxyIdentity;
  readonly #counters: ProxyCounters;
  readonly #events: ContextEvents;
  readonly #recordRouter: RecordRouter;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #branchSeq = 0;
  // Shared by every branch and context: no closure per message.
  readonly #onBranchResponse: BranchReport = (branch, response, remote) => this.#branchResponse(branch, response, remote, true);
  readonly #onBranchTimer = (branch: Branch): void => this.#branchTimer(branch);
  readonly #respond: ContextResponder = (context, response) => this.respond(context, response);
  readonly #sweep = (): void => this.#expire();

  constructor(
    stack: ProxyStack,
    options: NormalizedProxyOptions,
    identity: ProxyIdentity,
    recordRouter: RecordRouter,
    counters: ProxyCounters,
    events: ContextEvents,
  ) {
    this.#stack = stack;
    this.#recordRouter = recordRouter;
    this.#options = options;
    this.#identity = identity;
    this.#counters = counters;
    this.#events = events;
  }

  get size(): number {
    return this.#contexts.size;
  }

  get(key: string | undefined): ProxyContext | undefined {
    return key === undefined ? undefined : this.#contexts.get(key);
  }

  /**
   * A new context for `rq` (its `reply` handle, if the stack gave one, carries every response
   * upstream); `arrival` is where it came from, `arrivedOb` whether it came through a Route
   * entry of ours with `ob` (the side its Record-Route entry faces, RFC 5658 / RFC 5626 §5.3).
   */
  open(
    key: string,
    rq: SipRequest,
    maxForwards: number,
    hash: string | undefined,
    reply: StackReply | undefined,
    arrival: Remote,
    arrivedOb: boolean,
  ): ProxyContext {
    const ctx = new ProxyContext(key, rq, wholeMs() + this.#options.contextTimeout, maxForwards, hash, reply, this.#respond);
    ctx.arrival = arrival;
    ctx.arrivedOb = arrivedOb;
    this.#contexts.set(key, ctx);
    this.#counters.contextsCreated++;
    if (this.#sweepTimer === undefined) {
      this.#sweepTimer = setInterval(this.#sweep, SWEEP_INTERVAL);
      this.#sweepTimer.unref();
    }
    return ctx;
  }

  /**
   * A response the application sends in `ctx` (`proxy.send(response)` or the reply handle):
   * upstream (100 at most once, one final, every 2xx to an INVITE), and a final one releases
   * the context. Returns whether it went upstream.
   */
  respond(ctx: ProxyContext, rs: SipResponse): boolean {
    if (rs.status < 200 || ctx.state === 'released') return this.#upstream(ctx, rs);
    return this.#finish(ctx, rs, 'final');
  }

  /**
   * A new branch for `rq` (RFC 3261 §16.6): Max-Forwards, Record-Route or Path, then the stack.
   * Without `callback` its responses are aggregated (§16.7); with one, they go to it.
   * `alternates` (with the `template` to copy them from) are tried in turn should this branch
   * fail with 430 or a transport error (RFC 5626 §5.3).
   */
  forward(
    ctx: ProxyContext,
    rq: SipRequest,
    callback: ResponseCallback | undefined,
    timeout: number | undefined,
    owned: boolean,
    template?: SipRequest,
    alternates?: readonly ForkTarget[],
  ): void {
    if (ctx.state === 'released') return;
    if (!ctx.open) {
      // §16.10: no new branches once cancelled; §16.7 step 10: none after a 6xx.
      this.#settle(ctx);
      return;
    }
    if (ctx.maxForwards < 0) {
      // §16.3 step 3.
      this.#counters.tooManyHops++;
      this.#finish(ctx, makeResponse(ctx.request, 483, undefined, { toTag: true }), 'final');
      return;
    }
    const refused = ctx.forwarded >= this.#options.maxBranches;
    const branch = new Branch(ctx, refused ? undefined : rq, callback, owned, this.#onBranchResponse);
    ctx.pending++;
    if (callback === undefined) ctx.aggregated++;
    if (refused) {
      // Past the cap a branch is never handed to the stack: it ends here, a clear refusal that
      // a callback sees and the aggregation weighs like any other final response.
      this.#counters.branchesRefused++;
      this.#overLimit(ctx, 1);
      this.#synthesize(branch, 500, 'Too Many Branches');
      return;
    }
    const h = rq.headers;
    h['max-forwards'] = ctx.maxForwards;
    if (rq.method === 'REGISTER') {
      // RFC 3327 §5.1: our Path entry goes first.
      if (this.#options.path && supportsPath(ctx.request)) h.path = [this.#identity.routeEntry(), ...(h.path ?? [])];
    } else if (this.#options.recordRoute) {
      // §16.6 step 4: our Record-Route goes on top, one entry per side when they differ (RFC 5658).
      const arrival = ctx.arrival;
      if (ctx.inboundSide === undefined && arrival !== undefined && this.#recordRouter.perSide) {
        ctx.inboundSide = this.#recordRouter.inbound(arrival, ctx.request, ctx.arrivedOb);
      }
      this.#recordRouter.insert(rq, ctx.inboundSide);
    }
    if (alternates !== undefined && alternates.length > 0) {
      branch.alternates = alternates;
      branch.template = template;
      branch.timeout = timeout;
    }
    ctx.forwarded++;
    ctx.branches.push(branch);
    this.#counters.branches++;
    if (timeout !== undefined) this.#setTimer(branch, timeout);
    branch.id = `b${++this.#branchSeq}`;
    // A copy: a slice of the received text would keep the whole request alive as long as the
    // branch lives (the stack's INVITE transaction holds it 32 s, RFC 6026 Timer M).
    branch.callId = detachString(String(rq.headers['call-id'] ?? ''));
    this.#events.branchStart?.(branch, rq);
    try {
      this.#stack.send(rq, branch.onResponse);
    } catch (e) {
      branch.request = undefined;
      this.#events.report(toError(e));
      this.#synthesize(branch, 503);
    }
  }

  /**
   * `fork` (targets already checked): at once ('parallel') or one after the other
   * ('sequential'); `maxBranches` keeps the first targets that fit, in the order given.
   */
  fork(ctx: ProxyContext, rq: SipRequest, targets: readonly ForkTarget[], options: ForkOptions): void {
    if (ctx.state === 'released') return;
    if (targets.length === 0) {
      // §16.5: no target at all.
      this.#finish(ctx, makeResponse(ctx.request, 480, undefined, { toTag: true }), 'final');
      return;
    }
    // With no room left the first target is still tried, so that forward() refuses it visibly.
    const room = Math.max(this.#options.maxBranches - ctx.forwarded, 1);
    let list = targets;
    if (targets.length > room) {
      list = targets.slice(0, room);
      this.#counters.forksTruncated++;
      this.#counters.forkTargetsDropped += targets.length - room;
      this.#overLimit(ctx, targets.length - room);
    }
    const timeout = options.timeout;
    if (options.mode === 'sequential') {
      ctx.queue = list.slice(1).map((target) => ({ template: rq, target, timeout }));
      const first = list[0] as ForkTarget;
      this.forward(ctx, branchCopy(rq, first), undefined, timeout, true, rq, targetAlternates(first));
      return;
    }
    for (const target of list) {
      if (!ctx.open) break;
      this.forward(ctx, branchCopy(rq, target), undefined, timeout, true, rq, targetAlternates(target));
    }
  }

  /** RFC 3261 §16.10: a CANCEL matched `ctx` (already answered 200): every pending branch is cancelled. */
  cancel(ctx: ProxyContext): void {
    if (ctx.method !== 'INVITE' || (!ctx.open && ctx.state !== 'closed')) return;
    ctx.state = 'cancelled';
    ctx.queue = undefined;
    this.#cancelPending(ctx);
    if (ctx.pending === 0) {
      // No branch to wait for (the application had not forwarded yet): we end it as a UAS would.
      this.#finish(ctx, makeResponse(ctx.request, 487, undefined, { toTag: true }), 'cancelled');
    }
  }

  /** The handler or a callback threw: 500 upstream if nothing final went yet, then release. */
  fail(ctx: ProxyContext | undefined, cause: unknown, what: string): void {
    this.#events.report(new SipProxyError('ERR_HANDLER', `${what} threw`, { cause }));
    if (ctx === undefined || ctx.state === 'released') return;
    this.#finish(ctx, makeResponse(ctx.request, 500, undefined, { toTag: true }), 'error');
  }

  /** Drops `ctx` without a response or an event (the request is forwarded statelessly instead). */
  discard(ctx: ProxyContext): void {
    this.#release(ctx, undefined);
  }

  /** Every context released ('stopped'), every timer cleared; late responses are ignored. */
  stop(): void {
    this.#stopped = true;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const b of this.#timed) if (b.timer !== undefined) clearTimeout(b.timer);
    this.#timed.clear();
    for (const ctx of this.#contexts.values()) this.#release(ctx, 'stopped');
    this.#contexts.clear();
  }

  // ---- responses ----

  /** Every response of a branch: from the stack (Branch.onResponse) or made up by the proxy. */
  #branchResponse(b: Branch, rs: SipResponse, remote: Remote | undefined, fromStack: boolean): void {
    if (this.#stopped) return;
    const ctx = b.context;
    const status = rs.status;
    if (status < 200) {
      if (!b.pending) return; // a branch given up: the stack's transaction CANCELs it (§9.1)
      if (b.state === 'calling') b.state = 'proceeding';
    } else {
      if (fromStack) b.dropRequest();
      if (b.pending) {
        b.outcome ??= b.state === 'cancelling' && status === 487 ? 'cancelled' : fromStack && remote !== undefined ? 'response' : status === 408 ? 'timeout' : 'error';
        b.state = 'completed';
        ctx.pending--;
        this.#clearTimer(b);
        if (b.id !== '') this.#events.branchEnd?.(b, status);
        if (b.alternates !== undefined) {
          if (isFlowFailure(status, remote, fromStack) && this.#failover(b)) return;
          // The stack keeps this branch (its callback) for up to 32 s: not the request too.
          b.alternates = undefined;
          b.template = undefined;
        }
      } else if (!isTwoXx(status) || ctx.method !== 'INVITE') {
        // A late final after the branch was given up: only a 2xx to an INVITE still matters.
        return;
      }
    }
    if (b.callback !== undefined) {
      try {
        b.callback(rs, remote);
      } catch (e) {
        this.fail(ctx, e, 'a response callback');
        return;
      }
      if (status >= 200) this.#settle(ctx);
      return;
    }
    this.#aggregate(ctx, b, rs);
  }

  /**
   * RFC 5626 §5.3: the flow of this branch failed; the next flow of the same instance gets a
   * new branch (with the remaining alternates) and this failure is not weighed (§16.7). False
   * when there is none to try or the context takes no new branches.
   */
  #failover(b: Branch): boolean {
    const ctx = b.context;
    const alternates = b.alternates;
    const template = b.template;
    b.alternates = undefined;
    b.template = undefined;
    if (alternates === undefined || template === undefined || alternates.length === 0 || !ctx.open) return false;
    this.#counters.flowFailovers++;
    const next = alternates[0] as ForkTarget;
    this.forward(ctx, branchCopy(template, next), b.callback, b.timeout, true, template, alternates.slice(1));
    return true;
  }

  /** §16.7 for a branch without an application callback. */
  #aggregate(ctx: ProxyContext, b: Branch, rs: SipResponse): void {
    const status = rs.status;
    const vias = rs.headers.via;
    // §16.7 step 3: our Via comes off; with none left the response was for this proxy itself.
    if (vias !== undefined && vias.length > 0) vias.shift();
    const upstreamPossible = vias !== undefined && vias.length > 0;
    if (status < 200) {
      // §16.7 step 5: 100 is never forwarded; other provisional responses are.
      if (status !== 100 && upstreamPossible) this.#upstream(ctx, rs);
      return;
    }
    if (isTwoXx(status)) {
      // §16.7 step 5: a 2xx goes upstream at once (every one, for an INVITE).
      if (upstreamPossible) {
        if (ctx.state !== 'released') {
          this.#finish(ctx, rs, 'final');
          return;
        }
        this.#upstream(ctx, rs);
      }
    } else {
      if (ctx.state === 'released') return;
      ctx.responses.push(rs);
      if (status >= 600 && ctx.state !== 'cancelled') {
        // §16.7 step 10: a 6xx ends the search.
        ctx.state = 'closed';
        ctx.queue = undefined;
        this.#cancelPending(ctx, b);
      }
    }
    this.#settle(ctx);
  }

  /**
   * After any change: start the next sequential target, or, once nothing is pending, send the
   * best response (§16.7 step 6) when the proxy aggregates, which releases the context.
   */
  #settle(ctx: ProxyContext): void {
    if (ctx.state === 'released') return;
    const queue = ctx.queue;
    if (ctx.pending === 0 && queue !== undefined && queue.length > 0 && ctx.open) {
      const next = queue.shift();
      if (next !== undefined) {
        this.forward(ctx, branchCopy(next.template, next.target), undefined, next.timeout, true, next.template, targetAlternates(next.target));
      }
      return;
    }
    if (ctx.pending > 0) return;
    if (ctx.aggregated === 0 && ctx.state !== 'cancelled') return; // the application owns the outcome
    const best =
      ctx.state === 'cancelled' && ctx.responses.length === 0
        ? makeResponse(ctx.request, 487, undefined, { toTag: true })
        : aggregate(ctx.request, ctx.responses);
    this.#finish(ctx, best, 'final');
  }

  /** A provisional response upstream, or a final one after the release (only 2xx to INVITE pass). */
  #upstream(ctx: ProxyContext, rs: SipResponse): boolean {
    const status = rs.status;
    if (ctx.state === 'released') {
      // Every 2xx to an INVITE goes upstream (forking, RFC 6026); anything else is absorbed.
      return isTwoXx(status) && ctx.method === 'INVITE' ? this.#send(ctx, rs) : false;
    }
    if (status >= 200) return this.#finish(ctx, rs, 'final');
    if (status === 100 && ctx.state !== 'calling') return false; // 100 Trying at most once
    if (ctx.state === 'calling') ctx.state = 'proceeding';
    return this.#send(ctx, rs);
  }

  /** The final response of `ctx` goes upstream, the pending branches are cancelled (§16.7 step 10), and it is released. */
  #finish(ctx: ProxyContext, rs: SipResponse, reason: ReleaseReason): boolean {
    ctx.finalStatus = rs.status;
    ctx.queue = undefined;
    const sent = this.#send(ctx, rs);
    this.#cancelPending(ctx);
    this.#release(ctx, reason === 'final' && ctx.state === 'cancelled' ? 'cancelled' : reason);
    return sent;
  }

  /** Upstream on the request's server transaction: its reply handle, else the stack's lookup by Via. */
  #send(ctx: ProxyContext, rs: SipResponse): boolean {
    const reply = ctx.upstream;
    if (reply !== undefined) return reply.reply(rs);
    this.#stack.send(rs);
    return true;
  }

  /** `reason` undefined: dropped quietly (stateless forwarding). */
  #release(ctx: ProxyContext, reason: ReleaseReason | undefined): void {
    if (ctx.state === 'released') return;
    ctx.state = 'released';
    ctx.outcome = reason;
    this.#contexts.delete(ctx.key);
    if (this.#contexts.size === 0 && this.#sweepTimer !== undefined) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
    if (reason !== undefined) this.#events.released(ctx, reason);
    // Branches still pending (being cancelled, or a late 2xx) keep `ctx` alive through the
    // stack's callbacks: drop every message. The server transaction is still needed after a 2xx
    // to an INVITE (later 2xx pass through it for 32 s, RFC 6026 §7.1), never otherwise.
    ctx.request = RELEASED_REQUEST;
    ctx.key = '';
    ctx.arrival = undefined;
    ctx.inboundSide = undefined;
    ctx.responses.length = 0;
    ctx.branches.length = 0;
    ctx.queue = undefined;
    if (ctx.method !== 'INVITE' || !isTwoXx(ctx.finalStatus ?? 0)) ctx.upstream = undefined;
  }

  // ---- cancellation and timers ----

  #cancelPending(ctx: ProxyContext, except?: Branch): void {
    if (ctx.method !== 'INVITE') return; // §9.1: CANCEL only means something for INVITE
    for (const b of ctx.branches) {
      if (b !== except && (b.state === 'calling' || b.state === 'proceeding')) this.#cancelBranch(b);
    }
  }

  /** §9.1: the stack's INVITE transaction sends the CANCEL (after a provisional); 64*T1 later the branch is given up. */
  #cancelBranch(b: Branch): void {
    b.state = 'cancelling';
    this.#askCancel(b);
    this.#setTimer(b, this.#options.cancelTimeout);
  }

  #askCancel(b: Branch): void {
    const rq = b.request;
    if (rq === undefined) return;
    this.#counters.branchesCancelled++;
    try {
      this.#stack.cancel(rq);
    } catch (e) {
      this.#events.report(toError(e));
    }
  }

  #setTimer(b: Branch, ms: number): void {
    if (b.timer !== undefined) clearTimeout(b.timer);
    b.timer = setTimeout(this.#onBranchTimer, ms, b);
    b.timer.unref();
    this.#timed.add(b);
  }

  #clearTimer(b: Branch): void {
    if (b.timer === undefined) return;
    clearTimeout(b.timer);
    b.timer = undefined;
    this.#timed.delete(b);
  }

  /** A branch's fork `timeout` (§16.8, Timer C's role) or its CANCEL wait (§9.1) ran out. */
  #branchTimer(b: Branch): void {
    b.timer = undefined;
    this.#timed.delete(b);
    const invite = b.context.method === 'INVITE';
    switch (b.state) {
      case 'completed':
        return;
      case 'cancelling':
        // No final response 64*T1 after the CANCEL: the branch counts as 487.
        this.#counters.branchesTimedOut++;
        this.#synthesize(b, 487);
        return;
      case 'proceeding':
        if (invite) {
          // It rang: CANCEL it and wait for its 487 (bounded by cancelTimeout).
          this.#cancelBranch(b);
          return;
        }
        break;
      case 'calling':
        // It never answered: it counts as 408; the stack's transaction still CANCELs it should
        // a provisional response come late (§9.1).
        if (invite) this.#askCancel(b);
        break;
    }
    this.#counters.branchesTimedOut++;
    this.#synthesize(b, 408);
  }

  /** A final response the proxy makes up for a branch (timeout, refusal, the stack threw). */
  #synthesize(b: Branch, status: number, reason?: string): void {
    const ctx = b.context;
    if (ctx.state === 'released') {
      // Nobody upstream waits for this branch any more: just account for it.
      if (b.pending) {
        b.outcome ??= status === 408 ? 'timeout' : 'error';
        b.state = 'completed';
        b.alternates = undefined;
        b.template = undefined;
        ctx.pending--;
        this.#clearTimer(b);
        if (b.id !== '') this.#events.branchEnd?.(b, status);
      }
      return;
    }
    if (b.outcome === undefined) b.outcome = status === 408 ? 'timeout' : 'error';
    const rs = makeResponse(ctx.request, status, reason, { toTag: true });
    // With our Via on top, as a response from downstream would be (a callback removes it).
    (rs.headers.via ??= []).unshift(this.#identity.via());
    this.#branchResponse(b, rs, undefined, false);
  }

  #overLimit(ctx: ProxyContext, count: number): void {
    const first = ctx.overLimit === 0;
    ctx.overLimit += count;
    if (first) this.#events.overLimit(ctx);
  }

  /** Context expiry (`contextTimeout`, Timer C for the whole context): in creation order. */
  #expire(): void {
    const now = wholeMs();
    for (const ctx of this.#contexts.values()) {
      if (ctx.expiresAt > now) break;
      this.#counters.contextsTimedOut++;
      this.#finish(ctx, makeResponse(ctx.request, ctx.state === 'cancelled' ? 487 : 408, undefined, { toTag: true }), 'timeout');
    }
  }
}

/**
 * Milliseconds since the process started, whole: a context lives 32 s past its release (its
 * client transactions' Timer M keep it), and a small integer is stored in it, where Date.now()
 * would cost a heap number per context for the GC to mark and move (for the first 12 days).
 */
function wholeMs(): number {
  return Math.floor(performance.now());
}
