// An incoming INVITE on the UAS side (RFC 3261 §13.3): provisional responses (reliable ones per
// RFC 3262 §3: RSeq, retransmission until PRACK, 504 after 64*T1, one outstanding at a time, no
// 2xx before the PRACK of a provisional that carried SDP), accept with the 2xx retransmitted
// until the ACK, reject, CANCEL (§9.2: 487) and BYE on the early dialog (§15.1.2: 487).
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { ServerReply } from '@sipts/core';
import { generateTag, makeResponse } from '@sipts/message';
import type { Remote, SipHeaders, SipRequest, SipResponse } from '@sipts/message';
import type { Dialog } from './dialog.js';
import type { DialogInit } from './dialog-state.js';
import { DialogError } from './errors.js';
import { addToken, contactUri, detach, hasToken, nameOf, parseRAck, routeSetOf, sdpOf, tagOf, uriText } from './headers.js';
import type { NormalizedUaOptions } from './options.js';
import type { AckWaiter, CancelTarget, EarlyServer } from './roles.js';
import { addResponseTimerHeaders, supportsTimer, uasState, type UasTimerDecision } from './session-timer.js';
import { ReliableProvisionals, type ReliableOwner } from './reliable.js';
import { TimerSlot, type TimerHeap, type TimerOwner } from './timers.js';
import type { SdpHooks, TerminationReason } from './types.js';

/** What an incoming call needs from its UA. */
export interface UasHost {
  readonly options: NormalizedUaOptions<Dialog>;
  readonly timers: TimerHeap;
  /** A new early or confirmed UAS dialog, in the table. */
  createDialog(init: DialogInit): Dialog;
  /** Our Contact for a transport protocol. */
  contactFor(protocol: string): string;
  /** The call got its final response or ended: out of the pending tables. */
  incomingDone(call: IncomingCall): void;
  report(error: unknown): void;
}

export type IncomingCallState = 'ringing' | 'accepting' | 'accepted' | 'rejected' | 'cancelled';

export interface ProgressOptions {
  sdp?: string | undefined;
  /** Extra headers (an application's own, a B2BUA's relayed ones). */
  headers?: SipHeaders | undefined;
  reason?: string | undefined;
  /**
   * Send reliably (RFC 3262). `auto` (default): when the caller requires 100rel, or supports it
   * and the UA's `rel100` is `preferred`/`required`. `true` needs the caller's support.
   */
  reliable?: boolean | 'auto' | undefined;
}

export interface AcceptOptions {
  /** The answer (the INVITE had an offer) or our offer (it had none: the answer comes in the ACK). */
  sdp?: string | undefined;
  headers?: SipHeaders | undefined;
  /** SDP hooks of the new dialog (re-INVITE/UPDATE offers later on). */
  sdpHooks?: SdpHooks<Dialog> | undefined;
}

export interface RejectOptions {
  headers?: SipHeaders | undefined;
  reason?: string | undefined;
}

export interface IncomingCallEvents {
  /** The caller CANCELled (the INVITE was answered 487) or sent BYE on the early dialog. */
  cancel: [];
  /** A PRACK acknowledged one of our reliable provisional responses. */
  prack: [prack: SipRequest];
}

/** Timer slot kind of the ring timeout. */
const RING = 2;

function noop(): void {}

/** A promise whose rejection nobody awaiting it cannot crash the process. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(noop);
  return p;
}

export class IncomingCall extends EventEmitter<IncomingCallEvents> implements TimerOwner, EarlyServer, CancelTarget, AckWaiter, ReliableOwner<ProgressOptions> {
  /** The INVITE; released (undefined) once the final response is sent. */
  request: SipRequest | undefined;
  readonly remote: Remote;
  /** The SDP offer of the INVITE, if it had one. */
  readonly offer: string | undefined;
  readonly callId: string;
  /** The caller's From tag. */
  readonly fromTag: string;
  /** The INVITE's CSeq number. */
  readonly cseq: number;
  /** Our To tag, in every response and the dialog id. */
  readonly toTag: string;
  /** @internal the server transaction's handle */
  readonly reply: ServerReply;
  readonly #host: UasHost;
  readonly #seq: number;
  readonly #timer: UasTimerDecision;
  readonly #requires100rel: boolean;
  readonly #supports100rel: boolean;
  #state: IncomingCallState = 'ringing';
  #dialog: Dialog | undefined;
  /** RFC 3262: made when the first provisional goes out reliably. */
  #reliable: ReliableProvisionals<ProgressOptions> | undefined;
  #accepting: { options: AcceptOptions; resolve: (d: Dialog) => void; reject: (e: DialogError) => void } | undefined;
  #acceptWaiter: { resolve: (d: Dialog) => void; reject: (e: DialogError) => void } | undefined;
  #ringSlot: TimerSlot | undefined;
  #controller: AbortController | undefined;

  /** @internal created by the UA for an INVITE it admitted. */
  constructor(host: UasHost, request: SipRequest, remote: Remote, reply: ServerReply, timer: UasTimerDecision) {
    super();
    this.#host = host;
    this.request = request;
    this.remote = remote;
    this.reply = reply;
    this.#timer = timer;
    this.offer = sdpOf(request);
    this.callId = detach(request.headers['call-id'] as string);
    this.toTag = generateTag();
    this.#seq = request.headers.cseq?.seq ?? 0;
    this.cseq = this.#seq;
    this.fromTag = detach(tagOf(request.headers.from) ?? '');
    this.#requires100rel = hasToken(request.headers.require, '100rel');
    this.#supports100rel = this.#requires100rel || hasToken(request.headers.supported, '100rel');
    const ring = host.options.ringTimeout;
    if (ring > 0) host.timers.schedule((this.#ringSlot = new TimerSlot(this)), RING, ring);
  }

  get state(): IncomingCallState {
    return this.#state;
  }

  /** The early dialog (after a provisional with a To tag) or the confirmed one (after accept). */
  get dialog(): Dialog | undefined {
    return this.#dialog;
  }

  /** Aborted when the caller gives up (CANCEL, BYE on the early dialog) or the call times out: pass it to a B-leg's invite(). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#state === 'cancelled' || this.#state === 'rejected') this.#controller.abort(new DialogError('ERR_CANCELLED', `the call ended (${this.#state})`));
    }
    return this.#controller.signal;
  }

  /** Did the INVITE list `option` in Supported or Require? */
  supports(option: string): boolean {
    const h = this.request?.headers;
    const o = option.toLowerCase();
    return h !== undefined && (hasToken(h.supported, o) || hasToken(h.require, o));
  }

  /**
   * Sends a provisional response (default 180 Ringing). Resolves at once for an unreliable one;
   * for a reliable one (RFC 3262) once its PRACK arrives, with the PRACK. Rejects with
   * ERR_CANCELLED (the caller gave up), ERR_PRACK_TIMEOUT (no PRACK in 64*T1: 504 sent),
   * ERR_INVALID_STATE (after the final response), ERR_INVALID_OPTION.
   */
  progress(status = 180, options: ProgressOptions = {}): Promise<SipRequest | undefined> {
    if (this.#state !== 'ringing') return quiet(Promise.reject(this.#stateError()));
    if (!Number.isInteger(status) || status < 100 || status > 199) {
      return quiet(Promise.reject(new DialogError('ERR_INVALID_OPTION', `progress() needs a 1xx status, not ${String(status)}`)));
    }
    let reliable: boolean;
    try {
      reliable = this.#isReliable(status, options.reliable ?? 'auto');
    } catch (e) {
      return quiet(Promise.reject(e));
    }
    if (!reliable) {
      this.#send(status, options, 0);
      return Promise.resolve(undefined);
    }
    return quiet(
      new Promise<SipRequest | undefined>((resolve, reject) => {
        this.#reliable ??= new ReliableProvisionals<ProgressOptions>(this);
        if (!this.#reliable.send(status, options, options.sdp !== undefined, resolve, reject)) {
          reject(new DialogError('ERR_INVALID_STATE', 'too many reliable provisional responses wait for a PRACK'));
        }
      }),
    );
  }

  /**
   * Answers 200 OK and resolves with the confirmed dialog once the ACK arrives (RFC 3261
   * §13.3.1.4; the 2xx is resent until then). Waits first for the PRACK of a reliable provisional
   * that carried SDP (RFC 3262 §3). Rejects with ERR_NO_ACK (BYE sent), ERR_CANCELLED,
   * ERR_PRACK_TIMEOUT, ERR_INVALID_STATE, or ERR_INVALID_OPTION (an offer came and no answer given).
   */
  accept(options: AcceptOptions = {}): Promise<Dialog> {
    if (this.#state !== 'ringing') return quiet(Promise.reject(this.#stateError()));
    this.#reliable?.dropQueued();
    return quiet(
      new Promise<Dialog>((resolve, reject) => {
        if (this.#reliable?.holdsAnswer === true) {
          this.#state = 'accepting';
          this.#accepting = { options, resolve, reject };
          return;
        }
        this.#accept(options, resolve, reject);
      }),
    );
  }

  /** Answers with a final non-2xx (default 486 Busy Here). False when a final response was already sent. */
  reject(status = 486, options: RejectOptions = {}): boolean {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new DialogError('ERR_INVALID_OPTION', `reject() needs a 3xx-6xx status, not ${String(status)}`);
    if (this.#state !== 'ringing' && this.#state !== 'accepting') return false;
    const rq = this.request as SipRequest;
    this.reply.reply(makeResponse(rq, status, options.reason, { toTag: this.toTag, headers: options.headers }));
    this.#finish('rejected', { cause: 'rejected', status }, new DialogError('ERR_INVALID_STATE', `the call was rejected (${status})`));
    return true;
  }

  // ------------------------------------------------------------------ responses

  #isReliable(status: number, wanted: boolean | 'auto'): boolean {
    if (status === 100) return false;
    const policy = this.#host.options.rel100;
    if (wanted === 'auto') {
      // RFC 3262 §3: reliable when the caller requires it; optional when it only supports it.
      if (policy === 'disabled') return false;
      return this.#requires100rel || (this.#supports100rel && (policy === 'preferred' || policy === 'required'));
    }
    if (wanted && (!this.#supports100rel || policy === 'disabled')) {
      throw new DialogError('ERR_INVALID_OPTION', 'a reliable provisional response needs the caller to support 100rel (RFC 3262 §3)');
    }
    return wanted;
  }

  /** A response with our To tag, Contact and the INVITE's Record-Route (RFC 3261 §12.1.1). */
  #response(status: number, reason: string | undefined, extra: SipHeaders | undefined, sdp: string | undefined): SipResponse {
    const rq = this.request as SipRequest;
    const dialog = this.#ensureDialog();
    const rs = dialog.decorate(makeResponse(rq, status, reason, { toTag: this.toTag }), true);
    const rr = rq.headers['record-route'];
    if (rr !== undefined) rs.headers['record-route'] = rr;
    if (extra !== undefined) for (const name of Object.keys(extra)) rs.headers[name] = extra[name];
    if (sdp !== undefined) {
      rs.headers['content-type'] = 'application/sdp';
      rs.content = sdp;
    }
    return rs;
  }

  #send(status: number, options: ProgressOptions, rseq: number): SipResponse {
    if (status === 100) {
      const rs = makeResponse(this.request as SipRequest, 100);
      this.reply.reply(rs);
      return rs;
    }
    const rs = this.#response(status, options.reason, options.headers, options.sdp);
    if (rseq > 0) {
      rs.headers.require = addToken(rs.headers.require, '100rel');
      rs.headers.rseq = String(rseq);
    }
    this.reply.reply(rs);
    return rs;
  }

  /** @internal (ReliableOwner) */
  get timers(): TimerHeap {
    return this.#host.timers;
  }

  /** @internal (ReliableOwner) */
  get t1(): number {
    return this.#host.options.t1;
  }

  /** @internal (ReliableOwner) a reliable provisional with `rseq`, and its offer/answer effect. */
  sendReliable(status: number, options: ProgressOptions, rseq: number): SipResponse {
    const response = this.#send(status, options, rseq);
    const dialog = this.#dialog as Dialog;
    const sdp = options.sdp;
    if (sdp !== undefined) {
      // A reliable provisional completes offer/answer (RFC 3262 §5): the answer to the INVITE's
      // offer, or our offer when the INVITE had none (its answer comes in the PRACK).
      if (dialog.oa.state === 'remote-offer') {
        dialog.oa.answerSent(sdp);
        dialog.sessionChanged();
      } else if (dialog.oa.state === 'idle' && dialog.oa.initial) dialog.oa.offerSent(sdp, 'INVITE', this.#seq);
    }
    return response;
  }

  /** @internal (ReliableOwner) */
  resend(response: SipResponse): void {
    this.reply.reply(response);
  }

  /** @internal (ReliableOwner) RFC 3262 §3: no PRACK for 64*T1: the INVITE is rejected with a 5xx. */
  prackTimedOut(): void {
    this.reply.reply(makeResponse(this.request as SipRequest, 504, undefined, { toTag: this.toTag }));
    this.#finish('rejected', { cause: 'prack-timeout', status: 504 }, new DialogError('ERR_PRACK_TIMEOUT', 'no PRACK for a reliable provisional response within 64*T1 (504 sent)'));
  }

  #accept(options: AcceptOptions, resolve: (d: Dialog) => void, reject: (e: DialogError) => void): void {
    const dialog = this.#ensureDialog();
    const sdp = options.sdp;
    const oa = dialog.oa;
    if (oa.state === 'remote-offer' && sdp === undefined) {
      this.#state = 'ringing';
      reject(new DialogError('ERR_INVALID_OPTION', 'the INVITE carried an offer: accept() needs the answer (RFC 3264 §4)'));
      return;
    }
    if (options.sdpHooks !== undefined) dialog.sdpHooks = options.sdpHooks;
    const rs = this.#response(200, undefined, options.headers, sdp);
    addResponseTimerHeaders(rs.headers, this.#timer);
    // The reliable provisional still outstanding stops here; a late PRACK still gets its 200.
    this.#reliable?.stop();
    this.#host.timers.cancel(this.#ringSlot);
    this.reply.reply(rs);
    this.#state = 'accepted';
    if (sdp !== undefined) {
      if (oa.state === 'remote-offer') {
        oa.answerSent(sdp);
        dialog.sessionChanged();
      } else if (oa.state === 'idle' && oa.initial) oa.offerSent(sdp, 'INVITE', this.#seq); // answer in the ACK
    }
    this.#acceptWaiter = { resolve, reject };
    this.#host.incomingDone(this);
    this.request = undefined;
    dialog.confirm();
    const timer = uasState(this.#timer);
    if (timer !== undefined) dialog.startSessionTimer(timer);
    dialog.startAckWait(rs, this.reply, this.#seq, this);
  }

  // ------------------------------------------------------------------ from the dialog and the UA

  /** @internal (AckWaiter) the ACK for our 2xx. */
  acked(_ack: SipRequest): void {
    const dialog = this.#dialog as Dialog;
    if (dialog.early === this) dialog.early = undefined;
    const waiter = this.#acceptWaiter;
    this.#acceptWaiter = undefined;
    waiter?.resolve(dialog);
  }

  /** @internal (AckWaiter) no ACK (BYE sent) or the dialog ended first. */
  failed(error: DialogError): void {
    const waiter = this.#acceptWaiter;
    this.#acceptWaiter = undefined;
    waiter?.reject(error);
  }

  /** @internal (EarlyServer) RFC 3262 §3: a PRACK matching our reliable provisional gets 200; any other 481. */
  receivePrack(prack: SipRequest, reply: ServerReply): void {
    const reliable = this.#reliable;
    const match = reliable?.match(parseRAck(prack.headers.rack), this.#seq);
    if (reliable === undefined || match === undefined) {
      reply.reply(makeResponse(prack, 481));
      return;
    }
    if (match === 'earlier') {
      // A PRACK for a provisional already acknowledged, or stopped by our 2xx: nothing to do.
      reply.reply(makeResponse(prack, 200));
      return;
    }
    const dialog = this.#dialog as Dialog;
    const sdp = sdpOf(prack);
    const oa = dialog.oa;
    const seq = prack.headers.cseq?.seq ?? 0;
    const done = (answer: string | undefined, status: number): void => {
      const rs = makeResponse(prack, status);
      if (answer !== undefined) {
        rs.headers['content-type'] = 'application/sdp';
        rs.content = answer;
      }
      reply.reply(rs);
      if (answer !== undefined && status === 200) {
        oa.answerSent(answer);
        dialog.sessionChanged();
      }
      reliable.acknowledged(prack);
      this.emit('prack', prack);
      this.#afterPrack();
    };
    if (oa.state === 'local-offer' && oa.carriedBy('INVITE', this.#seq)) {
      // Our offer was in the reliable provisional: the PRACK carries the answer (RFC 3262 §5).
      if (sdp !== undefined) {
        oa.answerReceived(sdp);
        dialog.sessionChanged();
      } else oa.rollback('INVITE', this.#seq);
      done(undefined, 200);
      return;
    }
    if (sdp === undefined) {
      done(undefined, 200);
      return;
    }
    // A new offer in the PRACK (RFC 3262 §5): answered in the 200, or refused.
    const status = oa.incomingOfferStatus();
    if (status !== 0) {
      done(undefined, status);
      return;
    }
    oa.offerReceived(sdp, 'PRACK', seq);
    const outcome = dialog.answerOffer(sdp, { method: 'PRACK', request: prack, initial: oa.initial });
    const finish = (result: string | { status: number }): void => {
      if (typeof result === 'string') done(result, 200);
      else {
        oa.rollback('PRACK', seq);
        done(undefined, result.status);
      }
    };
    if (typeof outcome === 'string' || !('then' in outcome)) finish(outcome);
    else void outcome.then(finish);
  }

  #afterPrack(): void {
    if (this.#state === 'accepting') {
      const pending = this.#accepting;
      this.#accepting = undefined;
      this.#state = 'ringing';
      if (pending !== undefined) this.#accept(pending.options, pending.resolve, pending.reject);
      return;
    }
    if (this.#state === 'ringing') this.#reliable?.next();
  }

  /** @internal (CancelTarget) RFC 3261 §9.2: the CANCEL matched; the INVITE gets 487. */
  cancelled(): void {
    this.#abandon({ cause: 'cancelled' });
  }

  /** @internal (EarlyServer) RFC 3261 §15.1.2: BYE on the early dialog; the INVITE gets 487. */
  earlyBye(): void {
    this.#abandon({ cause: 'remote-bye' });
  }

  #abandon(reason: TerminationReason): void {
    if (this.#state !== 'ringing' && this.#state !== 'accepting') return;
    this.reply.reply(makeResponse(this.request as SipRequest, 487, undefined, { toTag: this.toTag }));
    this.#finish('cancelled', reason, new DialogError('ERR_CANCELLED', 'the caller cancelled the call'));
    this.emit('cancel');
  }

  /** @internal the ring timeout. */
  onTimer(kind: number): void {
    if (kind !== RING || (this.#state !== 'ringing' && this.#state !== 'accepting')) return;
    this.reply.reply(makeResponse(this.request as SipRequest, 408, undefined, { toTag: this.toTag }));
    this.#finish('rejected', { cause: 'rejected', status: 408 }, new DialogError('ERR_INVALID_STATE', 'the call was not answered within ringTimeout (408 sent)'));
  }

  #finish(state: IncomingCallState, reason: TerminationReason, error: DialogError): void {
    this.#state = state;
    const timers = this.#host.timers;
    timers.cancel(this.#ringSlot);
    this.#reliable?.fail(error);
    const accepting = this.#accepting;
    this.#accepting = undefined;
    accepting?.reject(error);
    this.#host.incomingDone(this);
    this.request = undefined;
    const dialog = this.#dialog;
    if (dialog !== undefined) {
      dialog.early = undefined;
      dialog.terminate(reason);
    }
    this.#controller?.abort(new DialogError('ERR_CANCELLED', `the call ended: ${reason.cause}`));
  }

  #stateError(): DialogError {
    if (this.#state === 'cancelled') return new DialogError('ERR_CANCELLED', 'the caller cancelled the call');
    return new DialogError('ERR_INVALID_STATE', `the call is ${this.#state}`);
  }

  /** RFC 3261 §12.1.1: the UAS dialog, created with the first response that has our To tag. */
  #ensureDialog(): Dialog {
    if (this.#dialog !== undefined) return this.#dialog;
    const rq = this.request as SipRequest;
    const h = rq.headers;
    const remoteUri = uriText(h.from?.uri ?? '');
    const dialog = this.#host.createDialog({
      callId: this.callId,
      localTag: this.toTag,
      remoteTag: this.fromTag,
      localUri: uriText(h.to?.uri ?? rq.uri),
      localName: nameOf(h.to),
      remoteUri,
      remoteName: nameOf(h.from),
      remoteTarget: contactUri(rq) ?? remoteUri,
      routeSet: routeSetOf(h['record-route'], false),
      localSeq: randomInt(1, 2 ** 16),
      remoteSeq: this.#seq,
      outgoing: false,
      localContact: this.#host.contactFor(this.remote.protocol),
      early: true,
      peerUpdate: hasToken(h.allow, 'update'),
      peerTimer: supportsTimer(h),
    });
    dialog.early = this;
    if (this.offer !== undefined) dialog.oa.offerReceived(this.offer, 'INVITE', this.#seq);
    this.#dialog = dialog;
    return dialog;
  }
}
