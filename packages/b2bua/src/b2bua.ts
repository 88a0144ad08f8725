// The B2BUA: a dialog UA on a @sipts/core stack whose requests it takes first. New INVITEs are
// counted against maxCalls (503 + Retry-After before any call or dialog state) and authenticated, then become
// calls bridged to their targets (call.ts); in-dialog requests go to the dialog layer, a BYE is
// noted first so its Reason can be relayed. It keeps the call table, emits the leg and call
// events @sipts/otel reads, and the counters @sipts/metrics reads through stats().
import { EventEmitter } from 'node:events';
import type { ServerReply, SipStack } from '@sipts/core';
import { createUA, type DialogUA, type IncomingCall } from '@sipts/dialog';
import { makeResponse, parseUri } from '@sipts/message';
import type { Remote, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { Clock } from '@sipts/transaction';
import { realClock } from '@sipts/transaction';
import { B2buaCall } from './call.js';
import { B2buaError } from './errors.js';
import { reasonHeader, tagOf } from './headers.js';
import type { Leg } from './leg.js';
import { callOptions, normalizeB2buaOptions, type B2buaOptions, type BridgeOptions, type NormalizedB2buaOptions } from './options.js';
import type { CallHost } from './roles.js';
import type { B2buaEvents, B2buaStats, CallEndEvent, CallOutcome, CallView, TargetList } from './types.js';

const NOT_ALLOWED = new Set(['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'MESSAGE', 'REFER']);

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The targets of a call as a checked list; throws ERR_INVALID_TARGET. */
function targetList(targets: TargetList): readonly string[] {
  const list = typeof targets === 'string' ? [targets] : (targets ?? []);
  if (!Array.isArray(list) || list.length === 0) throw new B2buaError('ERR_INVALID_TARGET', 'bridge() needs at least one target');
  for (const t of list) {
    const parsed = typeof t === 'string' ? parseUri(t) : undefined;
    const scheme = parsed?.schema.toLowerCase();
    if (parsed === undefined || (scheme !== 'sip' && scheme !== 'sips') || parsed.host === '') {
      throw new B2buaError('ERR_INVALID_TARGET', `not a SIP URI: ${String(t)}`);
    }
  }
  return list as readonly string[];
}

export class B2bua extends EventEmitter<B2buaEvents> implements CallHost {
  readonly stack: SipStack;
  readonly ua: DialogUA;
  /** @internal */
  readonly clock: Clock;
  /** The options, checked and with their defaults. */
  readonly options: NormalizedB2buaOptions;
  /** @internal */
  readonly supportedWithout100rel: string | undefined;
  readonly #calls = new Map<string, B2buaCall>();
  /** B legs whose INVITE is out, by Call-ID: their 2xx is kept for the relay (see #observe). */
  readonly #pending = new Map<string, Leg>();
  /** Legs with a dialog, by dialog id: an incoming BYE is noted on its leg. */
  readonly #dialogs = new Map<string, Leg>();
  /** INVITEs counted against maxCalls while the authenticate hook runs. */
  #admitting = 0;
  /** INVITE server transactions waiting for the authenticate hook (a CANCEL may end them). */
  readonly #authenticating = new Map<object, { request: SipRequest; reply: ServerReply }>();
  #legs = 0;
  readonly #counters = {
    callsCreated: 0,
    overloadRejected: 0,
    authRejected: 0,
    legsCreated: 0,
    relayed: 0,
    transfers: 0,
    transfersRefused: 0,
    maxDurationReached: 0,
  };
  readonly #ended: Record<CallOutcome, number> = { answered: 0, cancelled: 0, busy: 0, 'no-answer': 0, rejected: 0, failed: 0 };
  readonly #listener = (rq: SipRequest, remote: Remote, reply: ServerReply): void => this.#onRequest(rq, remote, reply);
  readonly #stopObserving: () => void;
  #closed = false;
  readonly #closingByes: Promise<unknown>[] = [];

  constructor(stack: SipStack, options: B2buaOptions = {}) {
    super();
    if (typeof stack !== 'object' || stack === null || typeof stack.send !== 'function') {
      throw new B2buaError('ERR_INVALID_OPTION', 'createB2bua() needs a @sipts/core stack');
    }
    this.stack = stack;
    this.options = normalizeB2buaOptions(options);
    const target = this.options.target;
    if (target !== undefined && typeof target !== 'function') targetList(target);
    this.ua = createUA(stack, this.options.ua);
    this.clock = this.options.ua.clock ?? realClock;
    const supported = this.ua.supported
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== '100rel')
      .join(', ');
    this.supportedWithout100rel = supported === '' ? undefined : supported;
    this.ua.on('invite', (incoming) => this.#onInvite(incoming));
    this.ua.on('error', (e) => this.report(e));
    stack.on('request', this.#listener);
    // The 2xx of a B leg's INVITE, seen as it arrives: invite() resolves with the dialog only,
    // and the 2xx's reason phrase and relayed headers go to the caller.
    this.#stopObserving = stack.observe({ received: (m) => this.#observe(m) });
  }

  /** Calls in progress. */
  get size(): number {
    return this.#calls.size;
  }

  /** The call whose A leg has this Call-ID. */
  call(id: string): B2buaCall | undefined {
    return this.#calls.get(id);
  }

  calls(): IterableIterator<B2buaCall> {
    return this.#calls.values();
  }

  stats(): B2buaStats {
    return { calls: this.#calls.size, legs: this.#legs, callsEnded: { ...this.#ended }, ...this.#counters };
  }

  /**
   * Bridges `incoming` (from the `invite` event) to `targets`, tried one after the other. Returns
   * the call. Throws ERR_INVALID_TARGET, ERR_INVALID_OPTION, ERR_INVALID_STATE (the call has a final
   * response or a bridge), ERR_TOO_MANY_CALLS (the caller got 503), ERR_STOPPED.
   */
  bridge(incoming: IncomingCall, targets: TargetList, options?: BridgeOptions): B2buaCall {
    return this.#bridge(incoming, targetList(targets), options);
  }

  #bridge(incoming: IncomingCall, list: readonly string[], options: BridgeOptions | undefined): B2buaCall {
    if (this.#closed) throw new B2buaError('ERR_STOPPED', 'the B2BUA is closed');
    const normalized = options === undefined ? this.options.call : callOptions(this.options.call, options);
    if (incoming.state !== 'ringing' || incoming.request === undefined || this.#calls.has(incoming.callId)) {
      throw new B2buaError('ERR_INVALID_STATE', `the incoming call is ${incoming.state}${this.#calls.has(incoming.callId) ? ' and bridged' : ''}`);
    }
    if (this.#calls.size >= this.options.maxCalls) {
      this.#counters.overloadRejected++;
      incoming.reject(503, { headers: { 'retry-after': String(this.options.retryAfter) } });
      throw new B2buaError('ERR_TOO_MANY_CALLS', `maxCalls (${this.options.maxCalls}) reached`);
    }
    const call = new B2buaCall(this, incoming, normalized);
    this.#calls.set(call.id, call);
    this.#counters.callsCreated++;
    call.start(list);
    if (this.listenerCount('call') > 0) this.#emit('call', call);
    return call;
  }

  /**
   * Stops taking requests: calls in progress end (BYE with `Reason: SIP ;cause=503`, CANCEL,
   * 503 to callers still ringing), then the dialog UA closes. The stack is left running.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { request, reply } of this.#authenticating.values()) reply.reply(makeResponse(request, 503));
    this.#authenticating.clear();
    for (const call of [...this.#calls.values()]) call.hangup({ status: 503, headers: { reason: reasonHeader(503, 'Service Unavailable') } });
    // In-dialog requests still reach the UA meanwhile: a BYE may wait for the ACK of our 2xx
    // (RFC 3261 §15), which a closed UA would no longer take.
    await Promise.all(this.#closingByes);
    this.#closingByes.length = 0;
    await this.ua.close({ bye: true });
    this.stack.off('request', this.#listener);
    this.#stopObserving();
  }

  // ------------------------------------------------------------------ CallHost

  /** @internal */
  byeSent(bye: Promise<unknown>): void {
    if (this.#closed) this.#closingByes.push(bye);
  }

  /** @internal */
  pendingLeg(leg: Leg, pending: boolean): void {
    if (pending) this.#pending.set(leg.callId, leg);
    else if (this.#pending.get(leg.callId) === leg) this.#pending.delete(leg.callId);
  }

  /** @internal */
  trackDialog(leg: Leg, track: boolean): void {
    const dialog = leg.dialog;
    if (dialog === undefined) return;
    if (track) this.#dialogs.set(dialog.id, leg);
    else if (this.#dialogs.get(dialog.id) === leg) this.#dialogs.delete(dialog.id);
  }

  /** @internal */
  legStateChanged(leg: Leg, status: number | undefined): void {
    const state = leg.state;
    if (state === 'calling') {
      this.#legs++;
      if (this.listenerCount('legStart') > 0) {
        this.#emit('legStart', { callId: leg.callKey, legCallId: leg.callId, legId: leg.id, side: leg.side, target: leg.target });
      }
      return;
    }
    if (state === 'terminated') this.#legs--;
    if (this.listenerCount('legState') > 0) {
      this.#emit('legState', { callId: leg.callKey, legId: leg.id, side: leg.side, state, status, reason: leg.reason });
    }
    if (state === 'terminated' && this.listenerCount('legEnd') > 0) {
      this.#emit('legEnd', { callId: leg.callKey, legId: leg.id, side: leg.side, status: leg.status, reason: leg.reason ?? 'error' });
    }
  }

  /** @internal */
  callEnded(call: CallView, event: CallEndEvent): void {
    if (this.#calls.get(call.id) === call) this.#calls.delete(call.id);
    this.#ended[event.outcome]++;
    if (this.listenerCount('callEnd') > 0) this.#emit('callEnd', event);
  }

  /** @internal */
  count(counter: 'relayed' | 'transfers' | 'transfersRefused' | 'maxDurationReached' | 'legsCreated'): void {
    this.#counters[counter]++;
  }

  /** @internal */
  report(error: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', toError(error));
    } catch {
      // a throwing error listener must not break the B2BUA
    }
  }

  // ------------------------------------------------------------------ requests

  #emit<K extends keyof B2buaEvents>(event: K, ...args: B2buaEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: B2buaEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.report(new B2buaError('ERR_HOOK', `a '${String(event)}' listener threw`, { cause: e }));
    }
  }

  #observe(m: SipMessage): void {
    if (this.#pending.size === 0 || !('status' in m) || m.status < 200 || m.status >= 300) return;
    const callId = m.headers['call-id'];
    if (typeof callId !== 'string' || m.headers.cseq?.method !== 'INVITE') return;
    const leg = this.#pending.get(callId);
    if (leg !== undefined && leg.answer === undefined) leg.answer = m as SipResponse;
  }

  #onRequest(rq: SipRequest, remote: Remote, reply: ServerReply): void {
    const method = rq.method;
    const h = rq.headers;
    if (method === 'INVITE' && tagOf(h.to) === undefined) {
      this.#newInvite(rq, remote, reply);
      return;
    }
    if (method === 'BYE') {
      // Noted on its leg before the dialog layer answers it: its Reason may be relayed.
      const leg = this.#dialogs.get(`${String(h['call-id'])} ${tagOf(h.to) ?? ''} ${tagOf(h.from) ?? ''}`);
      if (leg !== undefined) leg.bye = rq;
    } else if (method === 'CANCEL' && this.#authenticating.size > 0) {
      const invite = reply.transaction?.invite;
      const pending = invite === undefined ? undefined : this.#authenticating.get(invite);
      if (pending !== undefined && invite !== undefined) {
        // RFC 3261 §9.2: the INVITE is still ours (the authenticate hook runs): 200, then 487.
        this.#authenticating.delete(invite);
        reply.reply(makeResponse(rq, 200));
        pending.reply.reply(makeResponse(pending.request, 487));
        return;
      }
    }
    if (this.ua.handle(rq, remote, reply) || method === 'ACK') return;
    if (this.listenerCount('request') > 0) {
      this.#emit('request', rq, remote, reply);
      return;
    }
    if (method === 'OPTIONS') reply.reply(makeResponse(rq, 200, undefined, { headers: { allow: this.ua.allow, accept: 'application/sdp' } }));
    else if (method === 'CANCEL' || tagOf(h.to) !== undefined) reply.reply(makeResponse(rq, 481));
    else if (NOT_ALLOWED.has(method)) reply.reply(makeResponse(rq, 405, undefined, { headers: { allow: this.ua.allow } }));
    else reply.reply(makeResponse(rq, 501));
  }

  #newInvite(rq: SipRequest, remote: Remote, reply: ServerReply): void {
    if (this.#closed) {
      reply.reply(makeResponse(rq, 503, undefined, { toTag: true, headers: { 'retry-after': String(this.options.retryAfter) } }));
      return;
    }
    if (this.#calls.size + this.#admitting >= this.options.maxCalls) {
      // Shed before any call or dialog state: the dialog layer never sees it.
      this.#counters.overloadRejected++;
      reply.reply(makeResponse(rq, 503, undefined, { toTag: true, headers: { 'retry-after': String(this.options.retryAfter) } }));
      return;
    }
    const authenticate = this.options.authenticate;
    if (authenticate === undefined) {
      this.ua.handle(rq, remote, reply);
      return;
    }
    let outcome: ReturnType<typeof authenticate>;
    try {
      outcome = authenticate(rq, remote);
    } catch (e) {
      this.report(new B2buaError('ERR_HOOK', 'authenticate threw', { cause: e }));
      reply.reply(makeResponse(rq, 500));
      return;
    }
    if (!isThenable<true | SipResponse>(outcome)) {
      this.#admit(rq, remote, reply, outcome);
      return;
    }
    const tx = reply.transaction;
    this.#admitting++;
    if (tx !== undefined) this.#authenticating.set(tx, { request: rq, reply });
    Promise.resolve(outcome).then(
      (result) => {
        this.#admitting--;
        if (tx !== undefined && !this.#authenticating.delete(tx)) return; // CANCELled or closed meanwhile
        this.#admit(rq, remote, reply, result);
      },
      (e: unknown) => {
        this.#admitting--;
        if (tx !== undefined && !this.#authenticating.delete(tx)) return;
        this.report(new B2buaError('ERR_HOOK', 'authenticate rejected', { cause: e }));
        reply.reply(makeResponse(rq, 500));
      },
    );
  }

  #admit(rq: SipRequest, remote: Remote, reply: ServerReply, outcome: true | SipResponse): void {
    if (outcome === true) {
      if (this.#closed) reply.reply(makeResponse(rq, 503));
      else if (!this.ua.handle(rq, remote, reply)) reply.reply(makeResponse(rq, 500));
      return;
    }
    this.#counters.authRejected++;
    reply.reply(typeof outcome === 'object' && outcome !== null && typeof outcome.status === 'number' ? outcome : makeResponse(rq, 403));
  }

  #onInvite(incoming: IncomingCall): void {
    const target = this.options.target;
    if (target === undefined) {
      if (this.listenerCount('invite') > 0) this.#emit('invite', incoming);
      if (incoming.state === 'ringing' && this.listenerCount('invite') === 0) incoming.reject(480);
      return;
    }
    if (typeof target !== 'function') {
      // Checked once by createB2bua().
      try {
        this.#bridge(incoming, target, undefined);
      } catch (e) {
        this.#refuse(incoming, e);
      }
      return;
    }
    let routed: ReturnType<typeof target>;
    try {
      routed = target(incoming.request as SipRequest, incoming);
    } catch (e) {
      this.report(new B2buaError('ERR_HOOK', 'the target function threw', { cause: e }));
      incoming.reject(500);
      return;
    }
    if (!isThenable<TargetList>(routed)) {
      this.#bridgeOrFail(incoming, routed);
      return;
    }
    Promise.resolve(routed).then(
      (list) => this.#bridgeOrFail(incoming, list),
      (e: unknown) => {
        this.report(new B2buaError('ERR_HOOK', 'the target function rejected', { cause: e }));
        if (incoming.state === 'ringing') incoming.reject(500);
      },
    );
  }

  #bridgeOrFail(incoming: IncomingCall, targets: TargetList): void {
    if (incoming.state !== 'ringing') return;
    if (targets === undefined || (Array.isArray(targets) && targets.length === 0)) {
      incoming.reject(404);
      return;
    }
    try {
      this.bridge(incoming, targets);
    } catch (e) {
      this.#refuse(incoming, e);
    }
  }

  #refuse(incoming: IncomingCall, e: unknown): void {
    if (incoming.state === 'ringing') incoming.reject(e instanceof B2buaError && e.code === 'ERR_INVALID_TARGET' ? 404 : 500);
    if (!(e instanceof B2buaError) || e.code !== 'ERR_TOO_MANY_CALLS') this.report(e);
  }
}

/** A B2BUA on `stack`: see B2bua. */
export function createB2bua(stack: SipStack, options: B2buaOptions = {}): B2bua {
  return new B2bua(stack, options);
}
