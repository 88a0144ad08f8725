// Setting a call up: B legs towards the targets one after the other, each a new INVITE with its
// own Call-ID, tags and Via (nothing of A's Via, Record-Route, Contact or Call-ID goes out). A's
// offer goes through onOffer; B's provisional responses go to A with their reason phrase, relayed
// headers and SDP (through onAnswer), reliably when B's were and A supports 100rel (end to end) or
// as the dialog layer decides (local); a final failure moves on to the next target or is relayed;
// B's 2xx is ACKed by the dialog layer and answered to A. A late offer (INVITE without SDP) is
// carried across B's 2xx (or reliable provisional) and A's ACK (or PRACK). CANCEL from A reaches B
// through the incoming call's AbortSignal, which the dialog layer turns into a CANCEL.
import { isDialogError } from '@sipts/dialog';
import type { Dialog, InviteOptions, SdpRefusal as DialogRefusal } from '@sipts/dialog';
import type { SipHeaders, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import { detach, hasToken, sdpOf, tagOf, uriText } from './headers.js';
import type { Leg } from './leg.js';
import type { SetupHost } from './roles.js';
import type { LegEndReason, SdpRefusal } from './types.js';

type HookResult = string | DialogRefusal;

const NOT_ACCEPTABLE: DialogRefusal = { status: 488 };

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

interface Failure {
  status: number;
  reason: string;
  /** The response to relay headers from (B's own final response, not one the stack made). */
  response: SipResponse | undefined;
}

export class CallSetup {
  readonly #call: SetupHost;
  readonly #targets: readonly string[];
  #next = 0;
  /** The current attempt's controller when `targetTimeout` is set (else A's signal is the B leg's). */
  #controller: AbortController | undefined;
  /** The B leg CANCELled for `targetTimeout`. */
  #timedOut: Leg | undefined;
  #lastFailure: Failure | undefined;
  /** The provisional or 2xx whose offer the late-offer path relays (onProgress leaves it alone). */
  #hookResponse: SipResponse | undefined;
  /** Provisionals wait here while an async onAnswer hook rewrites an earlier one (keeps their order). */
  #progressChain: Promise<void> | undefined;
  readonly #fromUri: string;
  readonly #fromName: string | undefined;
  readonly #requires100rel: boolean;
  readonly #supports100rel: boolean;
  readonly #onProgress = (rs: SipResponse, dialog: Dialog | undefined): void => this.#progress(rs, dialog);

  constructor(call: SetupHost, targets: readonly string[]) {
    this.#call = call;
    this.#targets = targets;
    const rq = call.incoming.request as SipRequest;
    const from = rq.headers.from;
    this.#fromUri = from?.uri === undefined ? 'sip:anonymous@anonymous.invalid' : uriText(from.uri);
    this.#fromName = typeof from?.name === 'string' && from.name !== '' ? detach(from.name) : undefined;
    this.#requires100rel = hasToken(rq.headers.require, '100rel');
    this.#supports100rel = call.incoming.supports('100rel');
  }

  run(): void {
    void this.#route();
  }

  /** The call ended: a B leg still ringing on its own controller is CANCELled. */
  cancel(): void {
    this.#controller?.abort();
  }

  async #route(): Promise<void> {
    const call = this.#call;
    try {
      while (call.state === 'routing' || call.state === 'early') {
        const target = this.#targets[this.#next++];
        if (target === undefined) return this.#relayFailure();
        if (await this.#tryTarget(target)) return;
      }
    } catch (e) {
      call.host.report(e);
      call.end(undefined, 'error', 500);
    }
  }

  /** One B leg towards `target`; true when routing is over (answered, relayed, caller gone). */
  async #tryTarget(target: string): Promise<boolean> {
    const call = this.#call;
    const incoming = call.incoming;
    const leg = call.newLeg(target);
    call.setB(leg);
    const rq = incoming.request;
    let sdp: string | undefined;
    const offer = incoming.offer;
    if (offer !== undefined) {
      const mapped = call.mapSdp(call.options.onOffer, offer, 'a', 'INVITE', rq, true);
      const result = typeof mapped === 'string' ? mapped : await mapped;
      if (typeof result !== 'string') {
        leg.end('error');
        call.end(undefined, 'error', result.status);
        return true;
      }
      sdp = result;
    }
    if (call.isEnded() || rq === undefined || incoming.state !== 'ringing') {
      leg.end('cancelled');
      if (!call.isEnded()) this.#callerGone();
      return true;
    }
    const timeout = call.options.targetTimeout;
    let signal = incoming.signal;
    let controller: AbortController | undefined;
    let timer: ReturnType<typeof call.host.clock.setTimeout> | undefined;
    let forward: (() => void) | undefined;
    if (timeout > 0) {
      // Our own controller: A's CANCEL still aborts it, and so does the no-answer timer.
      const c = (controller = new AbortController());
      this.#controller = c;
      forward = () => c.abort();
      signal.addEventListener('abort', forward, { once: true });
      signal = c.signal;
      timer = call.host.clock.setTimeout(() => {
        this.#timedOut = leg;
        c.abort();
      }, timeout);
    }
    call.host.pendingLeg(leg, true);
    try {
      const dialog = await call.host.ua.invite(target, this.#inviteOptions(leg, rq, sdp, signal));
      const answering = this.#answered(leg, dialog);
      if (answering !== undefined) await answering;
      return true;
    } catch (e) {
      return this.#failed(leg, e);
    } finally {
      if (timer !== undefined) call.host.clock.clearTimeout(timer);
      if (forward !== undefined) incoming.signal.removeEventListener('abort', forward);
      if (this.#controller === controller) this.#controller = undefined;
      call.host.pendingLeg(leg, false);
    }
  }

  #inviteOptions(leg: Leg, rq: SipRequest, sdp: string | undefined, signal: AbortSignal): InviteOptions {
    const call = this.#call;
    const o = call.options;
    const extra: SipHeaders = {};
    if (o.headers !== undefined) for (const name of Object.keys(o.headers)) extra[name] = o.headers[name];
    let rel100: InviteOptions['rel100'];
    if (o.rel100 === 'end-to-end') {
      // RFC 3262 §4 end to end: B is asked for 100rel exactly as A asked us.
      if (this.#requires100rel) rel100 = 'required';
      else if (!this.#supports100rel) extra.supported = call.host.supportedWithout100rel;
    }
    return {
      sdp,
      headers: call.relayedHeaders(rq, 'a', 'INVITE', true, extra),
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
    const call = this.#call;
    const leg = call.bLeg;
    if (leg === undefined || rs.headers['call-id'] !== leg.callId || rs.status === 100) return;
    if (dialog !== undefined) {
      if (leg.dialog === undefined) call.track(leg, dialog);
      leg.setState('early', rs.status);
    }
    if (rs === this.#hookResponse || (call.state !== 'routing' && call.state !== 'early') || call.incoming.state !== 'ringing') return;
    const sdp = sdpOf(rs);
    // End to end, what B sent reliably goes to A reliably (A supports 100rel: B was asked as A asked).
    const reliable = call.options.rel100 === 'end-to-end' ? this.#supports100rel && rs.headers.rseq !== undefined : 'auto';
    const mapped = sdp === undefined ? undefined : call.mapSdp(call.options.onAnswer, sdp, 'b', 'INVITE', rs, true);
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
    const call = this.#call;
    if ((call.state !== 'routing' && call.state !== 'early') || call.incoming.state !== 'ringing') return;
    if (sdp !== undefined && typeof sdp !== 'string') {
      call.end(undefined, 'error', sdp.status);
      return;
    }
    const headers = call.relayedHeaders(rs, 'b', 'INVITE', true);
    call.incoming.progress(rs.status, { reason: rs.reason, headers, sdp, reliable }).catch((e: unknown) => {
      if (!isDialogError(e) || (e.code !== 'ERR_CANCELLED' && e.code !== 'ERR_INVALID_STATE')) call.host.report(e);
    });
    call.early(rs.status);
  }

  /** B answered (its 2xx is ACKed): A gets the answer (a promise only while an onAnswer hook runs). */
  #answered(leg: Leg, dialog: Dialog): Promise<void> | undefined {
    const call = this.#call;
    if (leg.dialog !== dialog) call.track(leg, dialog);
    const ok = leg.answer;
    leg.answer = undefined;
    leg.setState('confirmed', ok?.status ?? 200);
    if (call.isEnded() || leg !== call.bLeg || (call.acceptance === undefined && call.incoming.state !== 'ringing')) {
      // The caller left (or the call ended) while B answered: B gets BYE.
      void dialog.bye().catch((e: unknown) => call.host.report(e));
      leg.end('local-bye');
      if (!call.isEnded()) this.#callerGone();
      return undefined;
    }
    // On the late-offer path A was answered already (with B's offer).
    if (call.acceptance !== undefined) return undefined;
    const aDialog = call.incoming.dialog;
    const answered = aDialog !== undefined && aDialog.offerState === 'idle' && aDialog.localSdp !== undefined;
    if (call.incoming.offer === undefined || answered) {
      call.accept(undefined, call.relayedHeaders(ok, 'b', 'INVITE', true), ok);
      return undefined;
    }
    // RFC 3264 §4: the caller's offer is answered in our 2xx with B's answer, rewritten.
    const answer = dialog.remoteSdp;
    if (answer === undefined) {
      call.end(undefined, 'error', 500);
      return undefined;
    }
    const mapped = call.mapSdp(call.options.onAnswer, answer, 'b', 'INVITE', ok, true);
    if (typeof mapped === 'string' || !isThenable<string | SdpRefusal>(mapped)) {
      this.#answerCaller(mapped, ok);
      return undefined;
    }
    return mapped.then((result) => this.#answerCaller(result, ok));
  }

  #answerCaller(sdp: string | SdpRefusal, ok: SipResponse | undefined): void {
    const call = this.#call;
    if (call.isEnded()) return;
    if (typeof sdp !== 'string') {
      call.end(undefined, 'error', sdp.status);
      return;
    }
    call.accept(sdp, call.relayedHeaders(ok, 'b', 'INVITE', true), ok);
  }

  /** The B leg's INVITE failed; true when routing is over. */
  #failed(leg: Leg, e: unknown): boolean {
    const call = this.#call;
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
      if (code !== 'ERR_REJECTED') call.host.report(e);
    }
    leg.end(reason, rs?.status ?? status);
    if (call.state === 'answered') {
      // The late-offer path answered A, then B's leg failed (our ACK + BYE): the call is over.
      call.end(leg, reason, status);
      return true;
    }
    if (call.isEnded()) return true;
    if (call.incoming.state !== 'ringing') {
      this.#callerGone();
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

  /** No target left (or a 6xx): the last failure goes to the caller. */
  #relayFailure(): void {
    const call = this.#call;
    const failure = this.#lastFailure ?? { status: 404, reason: 'Not Found', response: undefined };
    const incoming = call.incoming;
    if (incoming.state === 'ringing') {
      const headers = call.relayedHeaders(failure.response, 'b', 'INVITE', true);
      incoming.reject(failure.status, { reason: failure.reason, headers });
      call.aLeg.end('rejected', failure.status);
    }
    const last = call.bLeg;
    call.end(last?.reason === 'timeout' ? last : undefined, last?.reason ?? 'rejected', failure.status);
  }

  /** A's INVITE got its final response without us (CANCEL: 487, ring timeout: 408, early BYE). */
  #callerGone(): void {
    const call = this.#call;
    const state = call.incoming.state;
    const cancelled = state === 'cancelled';
    call.aLeg.end(cancelled ? 'cancelled' : 'rejected', cancelled ? 487 : 408);
    call.end(call.aLeg, cancelled ? 'cancelled' : 'timeout', cancelled ? 487 : 408);
  }

  /**
   * RFC 3261 §13.2.1 / RFC 3262 §5: A sent no offer and B's 2xx (or reliable provisional) carries
   * one. It goes to A in our 2xx (or a reliable provisional), and A's answer, from its ACK (or
   * PRACK), answers B.
   */
  async lateOffer(leg: Leg, offer: string, rs: SipResponse): Promise<HookResult> {
    const call = this.#call;
    this.#hookResponse = rs;
    const mapped = call.mapSdp(call.options.onOffer, offer, 'b', 'INVITE', rs, true);
    const result = typeof mapped === 'string' ? mapped : await mapped;
    if (typeof result !== 'string') return result;
    if (call.isEnded() || call.incoming.state !== 'ringing') return { status: 487 };
    const headers = call.relayedHeaders(rs, 'b', 'INVITE', true);
    let answer: string | undefined;
    let carrier: SipMessage | undefined;
    if (rs.status >= 200) {
      leg.answer = undefined;
      const dialog = await call.accept(result, headers, rs).catch(() => undefined);
      answer = dialog?.remoteSdp;
    } else {
      if (!this.#supports100rel) return NOT_ACCEPTABLE;
      const prack = call.incoming.progress(rs.status, { reason: rs.reason, headers, sdp: result, reliable: true });
      call.early(rs.status);
      carrier = await prack.catch(() => undefined);
      answer = sdpOf(carrier);
    }
    if (answer === undefined || call.isEnded()) return NOT_ACCEPTABLE;
    const back = call.mapSdp(call.options.onAnswer, answer, 'a', rs.status >= 200 ? 'ACK' : 'PRACK', carrier, true);
    return typeof back === 'string' ? back : await back;
  }
}
