// One bridged call: the caller's INVITE (leg A) and the INVITEs the B2BUA sends for it (B legs,
// one target after the other), each with a Call-ID, tags and branches of its own: nothing of one
// leg's Via, Record-Route, Contact or Call-ID reaches the other. Provisional responses are relayed
// (reason phrase, chosen headers, SDP through onAnswer, reliably end to end or per hop), a final
// failure moves on to the next target or is relayed, a 2xx is ACKed by the dialog layer and
// answered to A; CANCEL from A cancels B; a late offer (INVITE without SDP) is carried across the
// 2xx and the ACK. Once answered, in-dialog traffic goes through relay.ts and refer.ts; either
// side ending ends the other (BYE, with an RFC 3326 Reason when a leg died).
import { randomBytes } from 'node:crypto';
import type { ServerReply } from '@sipts/core';
import { isDialogError } from '@sipts/dialog';
import type { Dialog, IncomingCall, InviteOptions, SdpContext, SdpRefusal as DialogRefusal, TerminationReason } from '@sipts/dialog';
import type { Remote, SipHeaders, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { ClockHandle } from '@sipts/transaction';
import { B2buaError } from './errors.js';
import { copyHeaders, detach, hasToken, originLine, reasonHeader, sdpOf, tagOf, uriText } from './headers.js';
import { Leg, type LegOwner } from './leg.js';
import type { NormalizedCallOptions } from './options.js';
import { handleRefer } from './refer.js';
import { relayOffer, relayOfferless, relayRequest, takeOfferless } from './relay.js';
import type { CallCore, CallHost, OfferlessRelay } from './roles.js';
import type { CallEndEvent, CallOutcome, CallStateName, LegEndReason, LegInfo, LegSide, RelayContext, SdpHook, SdpRefusal } from './types.js';

type HookResult = string | DialogRefusal;

const NOT_ACCEPTABLE: DialogRefusal = { status: 488 };

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toRefusal(value: unknown): SdpRefusal | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 300 && status <= 699 ? (value as SdpRefusal) : undefined;
}

/** How an unanswered call ended, from why its last leg ended and the status relayed. */
function outcomeOf(reason: CallEndEvent['reason'], status: number | undefined): CallOutcome {
  if (reason === 'cancelled' || reason === 'remote-bye') return 'cancelled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || reason === 'timeout') return 'no-answer';
  if (reason === 'error' || reason === 'stopped' || reason === 'prack-timeout' || status === undefined) return 'failed';
  return 'rejected';
}

/** The RFC 3326 Reason a BYE carries to the other leg when a leg died instead of hanging up. */
function deathReason(reason: TerminationReason): SipHeaders | undefined {
  switch (reason.cause) {
    case 'ack-timeout':
      return { reason: reasonHeader(408, 'ACK Timeout') };
    case 'session-expired':
      return { reason: reasonHeader(408, 'Session Timer Expired') };
    case 'request-failed':
      return { reason: reasonHeader(reason.status ?? 408, reason.status === 481 ? 'Call Leg Gone' : 'Request Timeout') };
    case 'stopped':
      return { reason: reasonHeader(503, 'Service Unavailable') };
    default:
      return undefined;
  }
}

export class B2buaCall implements CallCore, LegOwner {
  /** The call's id: the A leg's Call-ID. */
  readonly id: string;
  readonly incoming: IncomingCall;
  readonly options: NormalizedCallOptions;
  readonly host: CallHost;
  data: unknown;
  /** When the call was bridged and answered (the UA's clock), if it was. */
  answeredAt: number | undefined;
  #state: CallStateName = 'routing';
  /** The two ends of the bridge: `a` starts as the caller's leg, `b` as the B leg answered. */
  #a: Leg;
  #b: Leg | undefined;
  readonly #fromUri: string;
  readonly #fromName: string | undefined;
  readonly #requires100rel: boolean;
  readonly #supports100rel: boolean;
  #targets: readonly string[] = [];
  #next = 0;
  #attempt: AbortController | undefined;
  /** The B leg CANCELled for `targetTimeout`. */
  #timedOut: Leg | undefined;
  #lastFailure: { status: number; reason: string; response: SipResponse | undefined } | undefined;
  #acceptance: Promise<Dialog> | undefined;
  /** The provisional or 2xx whose offer the late-offer path is relaying (onProgress leaves it alone). */
  #hookResponse: SipResponse | undefined;
  /** Provisionals wait here while an async onAnswer hook rewrites an earlier one (keeps their order). */
  #progressChain: Promise<void> | undefined;
  #durationTimer: ClockHandle | undefined;
  /** An offerless re-INVITE relayed to the other leg, waiting for that leg's offer. */
  offerless: OfferlessRelay | undefined;
  #ackWaiter: { leg: Leg; resolve: (ack: SipRequest | undefined) => void } | undefined;
  /** What hangup() asked the caller to be answered, before the answer. */
  #rejectStatus: { status: number; reason: string | undefined } | undefined;
  readonly #onCallerGone = (): void => this.#callerGone();
  readonly #onProgress = (rs: SipResponse, dialog: Dialog | undefined): void => this.#progress(rs, dialog);
  readonly #onMaxDuration = (): void => {
    this.#durationTimer = undefined;
    this.host.count('maxDurationReached');
    this.end(undefined, 'max-duration', undefined, { reason: reasonHeader(408, 'Maximum Call Duration') });
  };

  constructor(host: CallHost, incoming: IncomingCall, options: NormalizedCallOptions) {
    this.host = host;
    this.incoming = incoming;
    this.options = options;
    this.data = options.data;
    this.id = incoming.callId;
    const rq = incoming.request as SipRequest;
    const from = rq.headers.from;
    this.#fromUri = from?.uri === undefined ? 'sip:anonymous@anonymous.invalid' : uriText(from.uri);
    this.#fromName = typeof from?.name === 'string' && from.name !== '' ? detach(from.name) : undefined;
    this.#requires100rel = hasToken(rq.headers.require, '100rel');
    this.#supports100rel = incoming.supports('100rel');
    this.#a = new Leg(this, host, 'a', `${incoming.callId};${incoming.fromTag}`, incoming.callId, incoming.callId, undefined);
  }

  get state(): CallStateName {
    return this.#state;
  }

  /** Read through a method: TypeScript would keep a narrowing of #state across an await. */
  #isEnded(): boolean {
    return this.#state === 'ended';
  }

  get a(): LegInfo {
    return this.#a;
  }

  get b(): LegInfo | undefined {
    return this.#b;
  }

  /** Starts the call: legStart for A, then the targets one after the other. */
  start(targets: readonly string[]): void {
    this.#targets = targets;
    this.host.legStateChanged(this.#a, undefined);
    this.incoming.signal.addEventListener('abort', this.#onCallerGone, { once: true });
    void this.#route();
  }

  /**
   * Ends the call from the application: an unanswered call's caller gets `status` (default 480)
   * and its B leg a CANCEL; an answered call's legs get BYE (with `headers`, e.g. a Reason).
   */
  hangup(options: { status?: number | undefined; reason?: string | undefined; headers?: SipHeaders | undefined } = {}): void {
    const status = options.status ?? 480;
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new B2buaError('ERR_INVALID_OPTION', 'hangup() status must be 300-699');
    this.#rejectStatus = { status, reason: options.reason };
    this.end(undefined, 'hangup', this.#state === 'answered' ? undefined : status, options.headers);
  }

  // ------------------------------------------------------------------ CallCore

  peerOf(leg: Leg): Leg | undefined {
    return leg === this.#a ? this.#b : leg === this.#b ? this.#a : undefined;
  }

  slotOf(leg: Leg): LegSide {
    return leg === this.#a ? 'a' : 'b';
  }

  mapSdp(hook: SdpHook | undefined, sdp: string, context: RelayContext): string | SdpRefusal | Promise<string | SdpRefusal> {
    if (hook === undefined) return sdp;
    let result: ReturnType<SdpHook>;
    try {
      result = hook(sdp, context);
    } catch (e) {
      this.host.report(new B2buaError('ERR_HOOK', 'an SDP hook threw', { cause: e }));
      return { status: 500 };
    }
    if (!isThenable<string | SdpRefusal | undefined>(result)) return result === undefined ? sdp : typeof result === 'string' ? result : (toRefusal(result) ?? NOT_ACCEPTABLE);
    return Promise.resolve(result).then(
      (r) => (r === undefined ? sdp : typeof r === 'string' ? r : (toRefusal(r) ?? NOT_ACCEPTABLE)),
      (e: unknown) => {
        this.host.report(new B2buaError('ERR_HOOK', 'an SDP hook rejected', { cause: e }));
        return { status: 500 };
      },
    );
  }

  relayedHeaders(source: SipMessage | undefined, context: RelayContext, extra?: SipHeaders | undefined): SipHeaders {
    const headers: SipHeaders = {};
    if (source !== undefined) copyHeaders(source.headers, this.options.relayHeaders, headers);
    if (extra !== undefined) for (const name of Object.keys(extra)) headers[name] = extra[name];
    const hook = context.to === 'a' ? this.options.headersToA : this.options.headersToB;
    if (hook !== undefined) {
      try {
        hook(headers, context);
      } catch (e) {
        this.host.report(new B2buaError('ERR_HOOK', 'a header hook threw', { cause: e }));
      }
    }
    return headers;
  }

  newLeg(target: string): Leg {
    const callId = randomBytes(16).toString('hex');
    const leg = new Leg(this, this.host, 'b', callId, callId, this.id, target);
    this.host.count('legsCreated');
    this.host.legStateChanged(leg, undefined);
    return leg;
  }

  replaceLeg(old: Leg, next: Leg): void {
    if (old === this.#a) this.#a = next;
    else if (old === this.#b) this.#b = next;
  }

  context(from: Leg | LegSide, method: string, message: SipMessage | undefined, initial: boolean): RelayContext {
    const side = typeof from === 'string' ? from : this.slotOf(from);
    return { call: this, from: side, to: side === 'a' ? 'b' : 'a', method, message, initial };
  }

  end(endedBy: Leg | undefined, reason: CallEndEvent['reason'], status: number | undefined, extra?: SipHeaders | undefined): void {
    if (this.#state === 'ended') return;
    const answered = this.#state === 'answered';
    this.#state = 'ended';
    this.incoming.signal.removeEventListener('abort', this.#onCallerGone);
    if (this.#durationTimer !== undefined) this.host.clock.clearTimeout(this.#durationTimer);
    this.#durationTimer = undefined;
    // A B leg still ringing: CANCEL (the attempt's rejection ends the leg).
    this.#attempt?.abort();
    const incoming = this.incoming;
    if (incoming.state === 'ringing' || incoming.state === 'accepting') {
      const reject = this.#rejectStatus ?? { status: status !== undefined && status >= 300 ? status : 480, reason: undefined };
      incoming.reject(reject.status, { reason: reject.reason });
      this.#a.end('rejected', reject.status);
    }
    const source = endedBy?.bye;
    for (const leg of [this.#a, this.#b]) {
      if (leg === undefined || leg === endedBy) continue;
      const dialog = leg.live;
      if (dialog !== undefined && dialog.state === 'confirmed') {
        const headers = this.relayedHeaders(source, this.context(endedBy ?? (leg === this.#a ? 'b' : 'a'), 'BYE', source, false), extra);
        void dialog.bye({ headers }).catch((e: unknown) => this.host.report(e));
        leg.end('local-bye');
      }
    }
    const event: CallEndEvent = {
      callId: this.id,
      outcome: answered ? 'answered' : outcomeOf(reason, status),
      status,
      reason,
      endedBy: endedBy === undefined ? 'b2bua' : this.slotOf(endedBy),
      duration: this.answeredAt === undefined ? undefined : this.host.clock.now() - this.answeredAt,
    };
    this.host.callEnded(this, event);
  }

  // ------------------------------------------------------------------ routing (B legs in turn)

  async #route(): Promise<void> {
    try {
      while (this.#state === 'routing' || this.#state === 'early') {
        const target = this.#targets[this.#next++];
        if (target === undefined) return this.#relayFailure();
        if (await this.#tryTarget(target)) return;
      }
    } catch (e) {
      this.host.report(e);
      this.end(undefined, 'error', 500);
    }
  }

  /** One B leg towards `target`; true when routing is over (answered, relayed, caller gone). */
  async #tryTarget(target: string): Promise<boolean> {
    const leg = this.newLeg(target);
    this.#b = leg;
    const rq = this.incoming.request;
    const context = this.context('a', 'INVITE', rq, true);
    let sdp: string | undefined;
    const offer = this.incoming.offer;
    if (offer !== undefined) {
      const mapped = this.mapSdp(this.options.onOffer, offer, context);
      const result = typeof mapped === 'string' ? mapped : await mapped;
      if (typeof result !== 'string') {
        leg.end('error');
        this.end(undefined, 'error', result.status);
        return true;
      }
      sdp = result;
    }
    if (this.#state === 'ended' || rq === undefined || this.incoming.state !== 'ringing') {
      leg.end('cancelled');
      return true;
    }
    const controller = new AbortController();
    this.#attempt = controller;
    const timeout = this.options.targetTimeout;
    const timer =
      timeout > 0
        ? this.host.clock.setTimeout(() => {
            this.#timedOut = leg;
            controller.abort();
          }, timeout)
        : undefined;
    this.host.pendingLeg(leg, true);
    try {
      const dialog = await this.host.ua.invite(target, this.#inviteOptions(leg, rq, sdp, controller.signal, context));
      await this.#answered(leg, dialog);
      return true;
    } catch (e) {
      return this.#failed(leg, e);
    } finally {
      if (timer !== undefined) this.host.clock.clearTimeout(timer);
      if (this.#attempt === controller) this.#attempt = undefined;
      this.host.pendingLeg(leg, false);
    }
  }

  #inviteOptions(leg: Leg, rq: SipRequest, sdp: string | undefined, signal: AbortSignal, context: RelayContext): InviteOptions {
    const o = this.options;
    const extra: SipHeaders = {};
    if (o.headers !== undefined) for (const name of Object.keys(o.headers)) extra[name] = o.headers[name];
    let rel100: InviteOptions['rel100'];
    if (o.rel100 === 'end-to-end') {
      // RFC 3262 §4 end to end: B is asked for 100rel exactly as A asked us.
      if (this.#requires100rel) rel100 = 'required';
      else if (!this.#supports100rel) extra.supported = this.host.supportedWithout100rel;
    }
    const headers = this.relayedHeaders(rq, context, extra);
    return {
      sdp,
      headers,
      from: o.from ?? this.#fromUri,
      fromName: o.fromName ?? this.#fromName,
      to: o.to,
      toName: o.toName,
      callId: leg.callId,
      signal,
      onProgress: this.#onProgress,
      rel100,
      sdpHooks: leg.hooks,
      route: o.route,
    };
  }

  /** A provisional response on the current B leg: relayed to the caller. */
  #progress(rs: SipResponse, dialog: Dialog | undefined): void {
    const leg = this.#b;
    if (leg === undefined || rs.headers['call-id'] !== leg.callId || rs.status === 100) return;
    if (dialog !== undefined) {
      if (leg.dialog === undefined) this.#track(leg, dialog);
      leg.setState('early', rs.status);
    }
    if (rs === this.#hookResponse || (this.#state !== 'routing' && this.#state !== 'early') || this.incoming.state !== 'ringing') return;
    const sdp = sdpOf(rs);
    // End to end, what B sent reliably goes to A reliably (A supports 100rel: B was asked as A asked).
    const reliable = this.options.rel100 === 'end-to-end' ? this.#supports100rel && rs.headers.rseq !== undefined : 'auto';
    const mapped = sdp === undefined ? undefined : this.mapSdp(this.options.onAnswer, sdp, this.context('b', 'INVITE', rs, true));
    if (this.#progressChain === undefined && !isThenable(mapped)) {
      this.#sendProgress(rs, mapped as string | SdpRefusal | undefined, reliable);
      return;
    }
    const chain = (this.#progressChain ?? Promise.resolve()).then(() => mapped).then((m) => this.#sendProgress(rs, m, reliable));
    this.#progressChain = chain;
    void chain.then(() => {
      if (this.#progressChain === chain) this.#progressChain = undefined;
    });
  }

  #sendProgress(rs: SipResponse, sdp: string | SdpRefusal | undefined, reliable: boolean | 'auto'): void {
    if ((this.#state !== 'routing' && this.#state !== 'early') || this.incoming.state !== 'ringing') return;
    if (sdp !== undefined && typeof sdp !== 'string') {
      this.end(undefined, 'error', sdp.status);
      return;
    }
    const headers = this.relayedHeaders(rs, this.context('b', 'INVITE', rs, true));
    this.incoming.progress(rs.status, { reason: rs.reason, headers, sdp, reliable }).catch((e: unknown) => {
      if (!isDialogError(e) || (e.code !== 'ERR_CANCELLED' && e.code !== 'ERR_INVALID_STATE')) this.host.report(e);
    });
    this.#early(rs.status);
  }

  /** A provisional went to A: A's early dialog is the A leg's. */
  #early(status: number): void {
    if (this.#state === 'routing') this.#state = 'early';
    const dialog = this.incoming.dialog;
    if (dialog !== undefined && this.#a.dialog === undefined) this.#track(this.#a, dialog);
    this.#a.setState('early', status);
  }

  #track(leg: Leg, dialog: Dialog): void {
    if (leg.dialog !== undefined) this.host.trackDialog(leg, false);
    leg.attach(dialog);
    this.host.trackDialog(leg, true);
  }

  /** B answered (its 2xx is ACKed): A gets the answer. */
  async #answered(leg: Leg, dialog: Dialog): Promise<void> {
    if (leg.dialog !== dialog) this.#track(leg, dialog);
    const ok = leg.answer;
    leg.answer = undefined;
    leg.setState('confirmed', ok?.status ?? 200);
    if (this.#state === 'ended' || leg !== this.#b) {
      void dialog.bye().catch((e: unknown) => this.host.report(e));
      leg.end('local-bye');
      return;
    }
    let acceptance = this.#acceptance;
    if (acceptance === undefined) {
      let sdp: string | undefined;
      const aDialog = this.incoming.dialog;
      const answered = aDialog !== undefined && aDialog.offerState === 'idle' && aDialog.localSdp !== undefined;
      const answer = dialog.remoteSdp;
      if (this.incoming.offer !== undefined && !answered) {
        // RFC 3264 §4: the caller's offer is answered in our 2xx with B's answer, rewritten.
        if (answer === undefined) {
          this.end(undefined, 'error', 500);
          return;
        }
        const mapped = this.mapSdp(this.options.onAnswer, answer, this.context('b', 'INVITE', ok, true));
        const result = typeof mapped === 'string' ? mapped : await mapped;
        if (typeof result !== 'string') {
          this.end(undefined, 'error', result.status);
          return;
        }
        if (this.#isEnded()) return;
        sdp = result;
      }
      acceptance = this.#accept(sdp, this.relayedHeaders(ok, this.context('b', 'INVITE', ok, true)), ok);
    }
    await acceptance.then(
      () => undefined,
      () => undefined,
    );
  }

  /** The 2xx to A (with `sdp`: the answer, or B's offer on the late-offer path). */
  #accept(sdp: string | undefined, headers: SipHeaders, ok: SipResponse | undefined): Promise<Dialog> {
    const acceptance = this.incoming.accept({ sdp, headers });
    this.#acceptance = acceptance;
    if (this.incoming.state === 'accepted' || this.incoming.state === 'accepting') {
      this.#state = 'answered';
      this.answeredAt = this.host.clock.now();
      const max = this.options.maxCallDuration;
      if (max > 0) this.#durationTimer = this.host.clock.setTimeout(this.#onMaxDuration, max);
      const dialog = this.incoming.dialog;
      if (dialog !== undefined && this.#a.dialog !== dialog) this.#track(this.#a, dialog);
      this.#a.setState('confirmed', ok?.status ?? 200);
    }
    acceptance.then(undefined, (e: unknown) => {
      // No ACK (the dialog's end says it), or the caller left before the answer went out.
      const code = isDialogError(e) ? e.code : undefined;
      if (code !== 'ERR_NO_ACK' && code !== 'ERR_TERMINATED') this.end(this.#a, code === 'ERR_CANCELLED' ? 'cancelled' : 'error', 487);
    });
    return acceptance;
  }

  /** The B leg's INVITE failed; true when routing is over. */
  #failed(leg: Leg, e: unknown): boolean {
    const rs = isDialogError(e) ? e.response : undefined;
    const code = isDialogError(e) ? e.code : undefined;
    let status = rs?.status ?? (code === 'ERR_ABORTED' ? 487 : 500);
    let reason: LegEndReason;
    if (this.#timedOut === leg) {
      reason = 'timeout';
      status = 480;
    } else if (code === 'ERR_ABORTED') reason = 'cancelled';
    else if (code === 'ERR_REJECTED' && rs !== undefined && rs.status >= 300) {
      // Timer B: a 408 the stack made (no To tag) is a leg that never answered.
      reason = rs.status === 408 && tagOf(rs.headers.to) === undefined ? 'timeout' : 'rejected';
    } else {
      reason = 'error';
      if (code !== 'ERR_REJECTED') this.host.report(e);
    }
    leg.end(reason, rs?.status ?? status);
    if (this.#state === 'answered') {
      // The late-offer path answered A, then B's leg failed (our ACK + BYE): the call is over.
      this.end(leg, reason, status);
      return true;
    }
    if (this.#state === 'ended') return true;
    if (this.incoming.state !== 'ringing') {
      this.end(this.#a, this.incoming.state === 'cancelled' ? 'cancelled' : 'timeout', this.incoming.state === 'cancelled' ? 487 : 408);
      return true;
    }
    this.#lastFailure = {
      status,
      reason: reason === 'timeout' && status === 480 ? 'Temporarily Unavailable' : (rs?.reason ?? 'Server Internal Error'),
      response: reason === 'rejected' ? rs : undefined,
    };
    // RFC 3261 §16.7 (as a proxy would): a 6xx ends the search.
    if (status >= 600) {
      this.#relayFailure();
      return true;
    }
    return false;
  }

  /** No target left: the last failure goes to the caller. */
  #relayFailure(): void {
    const failure = this.#lastFailure ?? { status: 404, reason: 'Not Found', response: undefined };
    if (this.incoming.state === 'ringing') {
      const headers = this.relayedHeaders(failure.response, this.context('b', 'INVITE', failure.response, true));
      this.incoming.reject(failure.status, { reason: failure.reason, headers });
      this.#a.end('rejected', failure.status);
    }
    const last = this.#b;
    this.end(last?.reason === 'timeout' ? last : undefined, last?.reason ?? 'rejected', failure.status);
  }

  /** A's INVITE is over without our answer: CANCEL, 487 to A, ring timeout... */
  #callerGone(): void {
    if (this.#state !== 'routing' && this.#state !== 'early') return;
    const state = this.incoming.state;
    if (state === 'cancelled') {
      this.#a.end('cancelled', 487);
      this.end(this.#a, 'cancelled', 487);
    } else if (state === 'rejected') {
      this.#a.end('rejected', 408);
      this.end(this.#a, 'timeout', 408);
    }
  }

  // ------------------------------------------------------------------ LegOwner

  offerFrom(leg: Leg, dialog: Dialog, offer: string, context: SdpContext): HookResult | Promise<HookResult> {
    if (context.initial && context.response !== undefined && leg === this.#b && this.#state !== 'answered' && this.#state !== 'ended') {
      return this.#lateOffer(leg, offer, context.response);
    }
    const relay = this.offerless;
    if (relay !== undefined && relay.to === leg && context.response !== undefined) return takeOfferless(this, relay, offer, context.response);
    if (dialog !== leg.dialog) return NOT_ACCEPTABLE;
    // A session refresh (the last offer again, same o= line, RFC 3264 §8, RFC 4028): this hop answers it.
    const local = dialog.localSdp;
    if (local !== undefined && originLine(offer) === originLine(dialog.remoteSdp)) return local;
    return relayOffer(this, leg, offer, context);
  }

  offerWanted(leg: Leg, dialog: Dialog, context: SdpContext): string | undefined | Promise<string | undefined> {
    if (dialog !== leg.dialog) return dialog.localSdp;
    return relayOfferless(this, leg, context);
  }

  requestFrom(leg: Leg, request: SipRequest, _remote: Remote, reply: ServerReply): void {
    if (request.method === 'REFER') handleRefer(this, leg, request, reply);
    else relayRequest(this, leg, request, reply);
  }

  dialogEnded(leg: Leg, dialog: Dialog, reason: TerminationReason): void {
    if (leg.dialog !== dialog) return;
    this.host.trackDialog(leg, false);
    if (this.#ackWaiter?.leg === leg) this.#resolveAck(undefined);
    switch (reason.cause) {
      case 'fork-discarded':
      case 'rejected':
      case 'cancelled':
        // The INVITE's own outcome (routing handles it); an early dialog of another fork.
        return;
      default: {
        const by = leg.ended ? undefined : leg;
        leg.end(reason.cause, reason.status);
        if (by === undefined) return;
        if (reason.cause === 'prack-timeout') {
          this.end(leg, 'prack-timeout', 504);
          return;
        }
        this.end(leg, reason.cause, reason.status, deathReason(reason));
      }
    }
  }

  ackReceived(leg: Leg, ack: SipRequest): void {
    if (this.#ackWaiter?.leg === leg) this.#resolveAck(ack);
  }

  /** Resolves with the next ACK on `leg`'s dialog (undefined when the dialog ends first). */
  waitAck(leg: Leg): Promise<SipRequest | undefined> {
    this.#resolveAck(undefined);
    return new Promise((resolve) => (this.#ackWaiter = { leg, resolve }));
  }

  #resolveAck(ack: SipRequest | undefined): void {
    const waiter = this.#ackWaiter;
    this.#ackWaiter = undefined;
    waiter?.resolve(ack);
  }

  /**
   * RFC 3261 §13.2.1 / RFC 3262 §5: A sent no offer, B's 2xx (or reliable provisional) carries
   * one. It goes to A in our 2xx (or a reliable provisional), and A's answer, from its ACK (or
   * PRACK), answers B.
   */
  async #lateOffer(leg: Leg, offer: string, rs: SipResponse): Promise<HookResult> {
    this.#hookResponse = rs;
    const mapped = this.mapSdp(this.options.onOffer, offer, this.context('b', 'INVITE', rs, true));
    const result = typeof mapped === 'string' ? mapped : await mapped;
    if (typeof result !== 'string') return result;
    if (this.#state === 'ended' || this.incoming.state !== 'ringing') return { status: 487 };
    const headers = this.relayedHeaders(rs, this.context('b', 'INVITE', rs, true));
    let answer: string | undefined;
    let carrier: SipMessage | undefined;
    if (rs.status >= 200) {
      leg.answer = undefined;
      const dialog = await this.#accept(result, headers, rs).catch(() => undefined);
      answer = dialog?.remoteSdp;
    } else {
      if (!this.#supports100rel) return NOT_ACCEPTABLE;
      const prack = this.incoming.progress(rs.status, { reason: rs.reason, headers, sdp: result, reliable: true });
      this.#early(rs.status);
      carrier = await prack.catch(() => undefined);
      answer = sdpOf(carrier);
    }
    if (answer === undefined || this.#isEnded()) return NOT_ACCEPTABLE;
    const back = this.mapSdp(this.options.onAnswer, answer, this.context('a', rs.status >= 200 ? 'ACK' : 'PRACK', carrier, true));
    return typeof back === 'string' ? back : await back;
  }
}
