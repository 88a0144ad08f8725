// What the TU owes every dialog whatever the application does with it: sending requests within
// it and applying §12.2.1.2 to their outcome, the ACK for each 2xx (RFC 3261 §13.2.2.4), the UAS's
// 2xx retransmission until the ACK and the BYE when none comes (§13.3.1.4), BYE (§15, deferred
// until the ACK when the callee hangs up first), the session timer (RFC 4028 §10) and
// termination. dialog.ts adds the application's API (re-INVITE, UPDATE, requests) on top.
import type { ServerReply, SipStack } from '@sipts/core';
import type { Remote, SipHeaders, SipRequest, SipResponse } from '@sipts/message';
import { DialogState, type DialogInit } from './dialog-state.js';
import { DialogError } from './errors.js';
import { hasToken, sdpOf } from './headers.js';
import { OfferAnswer, type OfferAnswerState } from './offer-answer.js';
import type { NormalizedSessionTimer, NormalizedUaOptions } from './options.js';
import type { AckWaiter, CancelTarget, EarlyServer, PendingInvite } from './roles.js';
import type { AnswerOutcome } from './sdp-hooks.js';
import { refreshGraceDelay, sessionTimerDelay, supportsTimer } from './session-timer.js';
import { TimerSlot, type TimerHeap, type TimerOwner } from './timers.js';
import type { InDialogRequestOptions, SdpContext, SessionTimerState, TerminationReason } from './types.js';

/** What the core of a dialog needs from its UA (DialogHost adds the SDP hooks' dialog type). */
export interface CoreHost {
  readonly stack: SipStack;
  readonly options: Pick<NormalizedUaOptions<unknown>, 't1' | 't2' | 'sessionTimer' | 'userAgent' | 'glareRetries'>;
  readonly timers: TimerHeap;
  readonly allow: string;
  readonly supported: string;
  dialogEnded(dialog: DialogCore): void;
  trackInvite(reply: ServerReply, target: CancelTarget | undefined): void;
  report(error: unknown): void;
}

export type DialogStateName = 'early' | 'confirmed' | 'terminated';

// Timer slot kinds (dialog.ts adds its own above these).
const ACK_RETRANSMIT = 1;
const SESSION = 2;

// Session timer phases.
const SESSION_WAIT = 1;
const SESSION_REFRESHING = 2;

interface AckWait {
  response: SipResponse;
  reply: ServerReply;
  seq: number;
  interval: number;
  deadline: number;
  waiter: AckWaiter | undefined;
}

export abstract class DialogCore extends DialogState implements TimerOwner {
  /** The dialog id (Call-ID, local tag, remote tag), the key of the UA's table. */
  readonly id: string;
  /** @internal the offer/answer state (RFC 3264, RFC 6337). */
  readonly oa = new OfferAnswer();
  /** @internal UAS early dialog: the incoming INVITE. */
  early: EarlyServer | undefined;
  /** @internal UAC early dialog: the RSeq of the last reliable provisional PRACKed (RFC 3262 §4), -1 none. */
  rseq = -1;
  /** @internal the incoming re-INVITE we have not answered yet. */
  serverInvite: PendingInvite | undefined;
  /** @internal */
  readonly host: CoreHost;
  #state: DialogStateName;
  #reason: TerminationReason | undefined;
  #ack: AckWait | undefined;
  #lastAck: { seq: number; body: string | undefined } | undefined;
  #session: SessionTimerState | undefined;
  #sessionPhase = 0;
  #byeWaiting: { options: InDialogRequestOptions; resolve: (rs: SipResponse | undefined) => void } | undefined;
  #byePromise: Promise<SipResponse | undefined> | undefined;
  #ackSlot: TimerSlot | undefined;
  #sessionSlot: TimerSlot | undefined;

  constructor(host: CoreHost, init: DialogInit) {
    super(init);
    this.host = host;
    this.id = `${init.callId} ${init.localTag} ${init.remoteTag}`;
    this.#state = init.early ? 'early' : 'confirmed';
  }

  get state(): DialogStateName {
    return this.#state;
  }

  /** Why the dialog ended; undefined while it lives. */
  get terminationReason(): TerminationReason | undefined {
    return this.#reason;
  }

  /** The session description we committed to in the last completed offer/answer exchange. */
  get localSdp(): string | undefined {
    return this.oa.localSdp;
  }

  /** The peer's session description from the last completed exchange. */
  get remoteSdp(): string | undefined {
    return this.oa.remoteSdp;
  }

  /** `idle`, `local-offer` (our offer awaits its answer) or `remote-offer` (we owe an answer). */
  get offerState(): OfferAnswerState {
    return this.oa.state;
  }

  /** The session timer in force (RFC 4028), if any. */
  get sessionTimer(): SessionTimerState | undefined {
    return this.#session;
  }

  /** @internal (ServerSideDialog) */
  get sessionConfig(): NormalizedSessionTimer | undefined {
    return this.host.options.sessionTimer;
  }

  /** @internal the answer to `offer` through the SDP hooks. */
  abstract answerOffer(offer: string, context: SdpContext): AnswerOutcome | Promise<AnswerOutcome>;

  /** @internal a session refresh is due and this side refreshes (RFC 4028 §10). */
  protected abstract refreshSession(): void;

  /** @internal a timer kind of the subclass. */
  protected abstract onOwnTimer(kind: number): void;

  /** @internal the dialog is ending: the subclass drops what it has in flight. */
  protected abstract onTerminate(): void;

  // ------------------------------------------------------------------ BYE

  /**
   * Ends the dialog with BYE (RFC 3261 §15). The dialog is terminated at once; resolves with the
   * BYE's response (undefined when it had ended already). As UAS before the ACK of our 2xx the
   * BYE waits for that ACK or its timeout (§15). The callee cannot BYE an early dialog
   * (ERR_INVALID_STATE: reject the incoming call instead).
   */
  bye(options: InDialogRequestOptions = {}): Promise<SipResponse | undefined> {
    if (this.#byePromise !== undefined) return this.#byePromise;
    if (this.#state === 'terminated') return Promise.resolve(undefined);
    if (this.#state === 'early' && !this.outgoing) {
      const p = Promise.reject(new DialogError('ERR_INVALID_STATE', 'the callee cannot send BYE on an early dialog (RFC 3261 §15): reject the call'));
      p.catch(() => {});
      return p;
    }
    if (this.#ack !== undefined) {
      this.#byePromise = new Promise((resolve) => (this.#byeWaiting = { options, resolve }));
      return this.#byePromise;
    }
    this.#byePromise = this.#sendBye(options, { cause: 'local-bye' });
    return this.#byePromise;
  }

  /** @internal BYE with a given termination cause (an extra fork, a 2xx that crossed our CANCEL). */
  hangup(reason: TerminationReason): Promise<SipResponse | undefined> {
    if (this.#byePromise !== undefined) return this.#byePromise;
    if (this.#state === 'terminated') return Promise.resolve(undefined);
    this.#byePromise = this.#sendBye({}, reason);
    return this.#byePromise;
  }

  #sendBye(options: InDialogRequestOptions, reason: TerminationReason): Promise<SipResponse | undefined> {
    const rq = this.buildRequest('BYE', ++this.localSeq, options.headers, options.body, options.contentType);
    this.terminate(reason);
    return this.transact(rq).catch((e: unknown) => {
      this.host.report(e);
      return undefined;
    });
  }

  // ------------------------------------------------------------------ sending

  /** @internal a request of this dialog (RFC 3261 §12.2.1.1) with our Allow/Supported/User-Agent where they belong. */
  buildRequest(method: string, seq: number, extra: SipHeaders | undefined, body: string | undefined, contentType: string | undefined): SipRequest {
    const rq = this.build(method, seq, extra, body, contentType);
    const h = rq.headers;
    if (method === 'INVITE' || method === 'UPDATE') {
      if (h.allow === undefined) h.allow = this.host.allow;
      if (h.supported === undefined && this.host.supported !== '') h.supported = this.host.supported;
    }
    const ua = this.host.options.userAgent;
    if (ua !== undefined && h['user-agent'] === undefined) h['user-agent'] = ua;
    return rq;
  }

  /** @internal sends an in-dialog request; resolves with its final response, applying §12.2.1.2. */
  transact(rq: SipRequest): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      let settled = false;
      try {
        this.host.stack.send(rq, (rs) => {
          if (rs.status < 200 || settled) return;
          settled = true;
          this.afterFinal(rq.method, rs);
          resolve(rs);
        });
      } catch (e) {
        reject(e);
      }
    });
  }

  /** @internal RFC 3261 §12.2.1.2: 481 or 408 to a request within the dialog ends it (BYE after a 408). */
  afterFinal(method: string, rs: SipResponse): void {
    if ((rs.status !== 481 && rs.status !== 408) || method === 'BYE' || this.#state === 'terminated') return;
    if (rs.status === 408 && this.#state === 'confirmed') void this.#sendBye({}, { cause: 'request-failed', status: 408 });
    else this.terminate({ cause: 'request-failed', status: rs.status });
  }

  /** @internal the ACK for a 2xx (RFC 3261 §13.2.2.4), kept to answer that 2xx's retransmissions. */
  sendAck(seq: number, body: string | undefined): void {
    this.#lastAck = { seq, body };
    const ack = this.buildRequest('ACK', seq, undefined, body, undefined);
    try {
      this.host.stack.send(ack);
    } catch (e) {
      this.host.report(e);
    }
  }

  /** @internal a 2xx for CSeq `seq` came again: ACK it again (RFC 3261 §13.2.2.4). */
  resendAck(seq: number): void {
    const last = this.#lastAck;
    if (last !== undefined && last.seq === seq) this.sendAck(seq, last.body);
  }

  // ------------------------------------------------------------------ responses we send

  /** @internal our Contact, Allow, Supported and User-Agent on a response we send. */
  decorate(rs: SipResponse, contact: boolean): SipResponse {
    const h = rs.headers;
    if (contact) h.contact = [{ uri: this.localContact, params: {} }];
    if (h.allow === undefined) h.allow = this.host.allow;
    if (h.supported === undefined && this.host.supported !== '') h.supported = this.host.supported;
    const ua = this.host.options.userAgent;
    if (ua !== undefined && h['user-agent'] === undefined) h['user-agent'] = ua;
    return rs;
  }

  /** @internal the peer's message changed what we know about it (Allow: UPDATE, Supported: timer). */
  learnPeer(h: SipHeaders): void {
    if (h.allow !== undefined) this.peerUpdate = hasToken(h.allow, 'update');
    if (supportsTimer(h)) this.peerTimer = true;
  }

  /** @internal */
  trackInvite(reply: ServerReply, target: CancelTarget | undefined): void {
    this.host.trackInvite(reply, target);
  }

  /** @internal */
  report(error: unknown): void {
    this.host.report(error);
  }

  /** @internal an offer/answer exchange completed. */
  sessionChanged(): void {
    this.emit('session', this.oa.localSdp, this.oa.remoteSdp);
  }

  /** @internal hands the request to the application's `request` listeners; false when there are none. */
  emitRequest(request: SipRequest, remote: Remote, reply: ServerReply): boolean {
    if (this.listenerCount('request') === 0) return false;
    this.emit('request', request, remote, reply);
    return true;
  }

  // ------------------------------------------------------------------ 2xx reliability (UAS)

  /**
   * @internal RFC 3261 §13.3.1.4: resend our 2xx (T1, doubling up to T2) until its ACK; after
   * 64*T1 without one, end the session with BYE.
   */
  startAckWait(response: SipResponse, reply: ServerReply, seq: number, waiter: AckWaiter | undefined): void {
    const t1 = this.host.options.t1;
    this.#ack = { response, reply, seq, interval: t1, deadline: this.host.timers.now() + 64 * t1, waiter };
    this.host.timers.schedule((this.#ackSlot ??= new TimerSlot(this)), ACK_RETRANSMIT, t1);
  }

  /** @internal an ACK arrived for this dialog. */
  receiveAck(ack: SipRequest): void {
    const wait = this.#ack;
    if (wait === undefined || ack.headers.cseq?.seq !== wait.seq) return; // a late or repeated ACK
    this.#ack = undefined;
    this.host.timers.cancel(this.#ackSlot);
    if (this.oa.carriedBy('INVITE', wait.seq) && this.oa.state === 'local-offer') {
      // Our offer was in the 2xx: the answer is in the ACK (RFC 3261 §13.3.1.4).
      const answer = sdpOf(ack);
      if (answer !== undefined) {
        this.oa.answerReceived(answer);
        this.sessionChanged();
      } else this.oa.rollback('INVITE', wait.seq);
    }
    this.emit('ack', ack);
    wait.waiter?.acked(ack);
    const bye = this.#byeWaiting;
    if (bye !== undefined) {
      this.#byeWaiting = undefined;
      this.#sendBye(bye.options, { cause: 'local-bye' }).then(bye.resolve, () => bye.resolve(undefined));
    }
  }

  #ackTimer(): void {
    const wait = this.#ack;
    if (wait === undefined) return;
    const now = this.host.timers.now();
    if (now >= wait.deadline) {
      this.#ack = undefined;
      this.oa.rollback('INVITE', wait.seq);
      wait.waiter?.failed(new DialogError('ERR_NO_ACK', 'no ACK for the 2xx within 64*T1: the session was ended with BYE'));
      const bye = this.#byeWaiting;
      this.#byeWaiting = undefined;
      const sent = this.#sendBye({}, { cause: 'ack-timeout' });
      if (bye !== undefined) sent.then(bye.resolve, () => bye.resolve(undefined));
      return;
    }
    wait.reply.reply(wait.response);
    wait.interval = Math.min(2 * wait.interval, this.host.options.t2);
    this.host.timers.schedule(this.#ackSlot as TimerSlot, ACK_RETRANSMIT, Math.min(wait.interval, wait.deadline - now));
  }

  // ------------------------------------------------------------------ session timer (RFC 4028)

  /** @internal (re)starts the session timer: refresh at half the interval, or BYE before expiry. */
  startSessionTimer(state: SessionTimerState): void {
    if (this.#state === 'terminated') return;
    this.#session = state;
    this.#sessionPhase = SESSION_WAIT;
    this.host.timers.schedule((this.#sessionSlot ??= new TimerSlot(this)), SESSION, sessionTimerDelay(state));
    this.emit('refresh', state);
  }

  /** @internal restores a timer with `remainingMs` left (restore()). */
  resumeSessionTimer(state: SessionTimerState, remainingMs: number): void {
    this.#session = state;
    this.#sessionPhase = SESSION_WAIT;
    this.host.timers.schedule((this.#sessionSlot ??= new TimerSlot(this)), SESSION, remainingMs);
  }

  /** @internal ms until the session timer's next event (for a snapshot). */
  sessionRemainingMs(): number | undefined {
    const session = this.#session;
    if (session === undefined) return undefined;
    const slot = this.#sessionSlot;
    return slot !== undefined && slot.scheduled ? Math.max(0, slot.at - this.host.timers.now()) : sessionTimerDelay(session);
  }

  #sessionTimer(): void {
    const session = this.#session;
    if (session === undefined || this.#state !== 'confirmed') return;
    if (session.refresher === 'local' && this.#sessionPhase === SESSION_WAIT) {
      this.#sessionPhase = SESSION_REFRESHING;
      this.host.timers.schedule(this.#sessionSlot as TimerSlot, SESSION, refreshGraceDelay(session));
      this.refreshSession();
      return;
    }
    // RFC 4028 §10: no refresh came (or ours failed): end the session.
    void this.#sendBye({}, { cause: 'session-expired' });
  }

  // ------------------------------------------------------------------ timers and termination

  /** @internal */
  onTimer(kind: number): void {
    if (kind === ACK_RETRANSMIT) this.#ackTimer();
    else if (kind === SESSION) this.#sessionTimer();
    else this.onOwnTimer(kind);
  }

  /** @internal the early dialog got its 2xx (UAC) or sent it (UAS). */
  confirm(): void {
    if (this.#state !== 'early') return;
    this.#state = 'confirmed';
    this.emit('confirmed');
  }

  /** @internal ends the dialog: timers off, out of the table, `terminated` emitted once. */
  terminate(reason: TerminationReason): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#reason = reason;
    const timers = this.host.timers;
    timers.cancel(this.#ackSlot);
    timers.cancel(this.#sessionSlot);
    const wait = this.#ack;
    this.#ack = undefined;
    this.#session = undefined;
    if (wait !== undefined && reason.cause !== 'ack-timeout') wait.waiter?.failed(this.terminatedError());
    this.onTerminate();
    const bye = this.#byeWaiting;
    this.#byeWaiting = undefined;
    if (bye !== undefined) bye.resolve(undefined);
    this.early = undefined;
    this.host.dialogEnded(this);
    this.emit('terminated', reason);
  }

  /** @internal */
  terminatedError(): DialogError {
    return new DialogError('ERR_TERMINATED', `the dialog has ended (${this.#reason?.cause ?? 'terminated'})`);
  }
}
