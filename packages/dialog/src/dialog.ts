// A dialog as the application sees it (RFC 3261 §12): re-INVITE (§14.1, glare retried after the
// §14.1 delay, a failure leaving the session as it was), UPDATE (RFC 3311), INFO (RFC 6086),
// MESSAGE and any other in-dialog request, BYE, the session refresh (RFC 4028 §10) and a JSON
// snapshot. The duties every dialog has (ACKs, 2xx retransmission, session timer, BYE) are in
// dialog-core.ts, requests arriving in the dialog in dialog-server.ts.
import { randomInt } from 'node:crypto';
import type { ServerReply } from '@sipts/core';
import { makeResponse } from '@sipts/message';
import type { Remote, SipHeaders, SipRequest, SipResponse } from '@sipts/message';
import { DialogCore } from './dialog-core.js';
import type { DialogInit } from './dialog-state.js';
import { receiveInDialog, type ServerSideDialog } from './dialog-server.js';
import { DialogError } from './errors.js';
import { contactUri, sdpOf } from './headers.js';
import type { CancelTarget, DialogHost as Host } from './roles.js';
import { resolveAnswer, resolveOffer, type AnswerOutcome } from './sdp-hooks.js';
import { addRequestTimerHeaders, retryIntervalAfter422, uacState } from './session-timer.js';
import { TimerSlot } from './timers.js';
import type { DialogSnapshot, InDialogRequestOptions, ModifyOptions, SdpContext, SdpHooks } from './types.js';

export type { DialogStateName } from './dialog-core.js';

/** What a dialog needs from its UA. */
export type DialogHost = Host<Dialog>;

/** Timer slot kind of the glare retry (dialog-core.ts uses 1 and 2). */
const GLARE = 3;

interface GlareWait {
  method: 'INVITE' | 'UPDATE';
  options: ModifyOptions;
  retries: number;
  response: SipResponse;
  resolve: (response: SipResponse) => void;
}

/** A promise whose rejection cannot crash the process when the caller ignores it. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

function rejected<T>(error: DialogError): Promise<T> {
  return quiet(Promise.reject(error));
}

export class Dialog extends DialogCore implements CancelTarget, ServerSideDialog {
  /** SDP hooks of this dialog; they win over the UA's `sdp` option (a B2BUA sets one per leg). */
  sdpHooks: SdpHooks<Dialog> | undefined;
  /** @internal */
  declare readonly host: DialogHost;
  /** CSeq of our re-INVITE in progress, -1 none. */
  #clientInvite = -1;
  /** The Session-Expires our next request asks for (after a 422). */
  #requestedSE: number | undefined;
  #glare: GlareWait | undefined;
  #glareSlot: TimerSlot | undefined;

  /** @internal created by the UA (invite, incoming INVITE, restore). */
  constructor(host: DialogHost, init: DialogInit) {
    super(host, init);
  }

  // ------------------------------------------------------------------ requests we send

  /**
   * Sends a re-INVITE (RFC 3261 §14.1): with `sdp` an offer, without one it asks the peer for an
   * offer in its 2xx (answered through the answer hook, in the ACK). Resolves with the final
   * response; a non-2xx leaves the session as it was; 491 is retried after the §14.1 delay (up to
   * `glareRetries`); 481/408 end the dialog. Rejects with ERR_REQUEST_PENDING while another
   * INVITE or offer is in progress, ERR_INVALID_STATE before the dialog is confirmed.
   */
  reinvite(options: ModifyOptions = {}): Promise<SipResponse> {
    return quiet(this.#modify('INVITE', options, this.host.options.glareRetries));
  }

  /**
   * Sends an UPDATE (RFC 3311), in an early or confirmed dialog: with `sdp` an offer, without one
   * a target or session refresh. Same outcomes as reinvite().
   */
  update(options: ModifyOptions = {}): Promise<SipResponse> {
    return quiet(this.#modify('UPDATE', options, this.host.options.glareRetries));
  }

  /** Sends INFO (RFC 6086); `infoPackage` sets the Info-Package header. Resolves with the final response. */
  info(body: string, contentType: string, options: InDialogRequestOptions & { infoPackage?: string | undefined } = {}): Promise<SipResponse> {
    const headers: SipHeaders = { ...options.headers };
    if (options.infoPackage !== undefined) headers['info-package'] = options.infoPackage;
    return this.request('INFO', { headers, body, contentType });
  }

  /** Sends MESSAGE (RFC 3428) in the dialog. */
  message(body: string, contentType = 'text/plain', options: InDialogRequestOptions = {}): Promise<SipResponse> {
    return this.request('MESSAGE', { ...options, body, contentType });
  }

  /**
   * Sends any in-dialog request other than INVITE, ACK, CANCEL and BYE (INFO, MESSAGE, NOTIFY,
   * REFER, OPTIONS, UPDATE without offer/answer bookkeeping, an extension method): what a B2BUA
   * relays. Resolves with the final response; 481/408 end the dialog (RFC 3261 §12.2.1.2).
   */
  request(method: string, options: InDialogRequestOptions = {}): Promise<SipResponse> {
    if (typeof method !== 'string' || method === '' || method === 'INVITE' || method === 'ACK' || method === 'CANCEL' || method === 'BYE') {
      return rejected(new DialogError('ERR_INVALID_OPTION', `request() does not send ${String(method)}: use reinvite() or bye()`));
    }
    if (this.state === 'terminated') return rejected(this.terminatedError());
    const rq = this.buildRequest(method, ++this.localSeq, options.headers, options.body, options.contentType);
    return quiet(this.transact(rq));
  }

  /** The dialog as JSON for `ua.restore()` (RFC 3261 §12 state, session, session timer). */
  toJSON(): DialogSnapshot {
    const session = this.sessionTimer;
    return {
      version: 1,
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: this.remoteTag,
      localUri: this.localUri,
      localName: this.localName,
      remoteUri: this.remoteUri,
      remoteName: this.remoteName,
      remoteTarget: this.remoteTarget,
      routeSet: [...this.routeSet],
      localSeq: this.localSeq,
      remoteSeq: this.remoteSeq,
      outgoing: this.outgoing,
      localContact: this.localContact,
      localSdp: this.oa.localSdp,
      remoteSdp: this.oa.remoteSdp,
      peerUpdate: this.peerUpdate,
      peerTimer: this.peerTimer,
      sessionTimer: session === undefined ? undefined : { ...session, remainingMs: this.sessionRemainingMs() ?? 0, savedAt: Date.now() },
    };
  }

  // ------------------------------------------------------------------ re-INVITE and UPDATE

  #modify(method: 'INVITE' | 'UPDATE', options: ModifyOptions, retries: number): Promise<SipResponse> {
    if (this.state === 'terminated') return Promise.reject(this.terminatedError());
    if (method === 'INVITE' && this.state !== 'confirmed') {
      return Promise.reject(new DialogError('ERR_INVALID_STATE', 're-INVITE needs a confirmed dialog (use UPDATE in an early dialog)'));
    }
    const sdp = options.sdp;
    // RFC 3261 §14.1: no re-INVITE while another INVITE is in progress in either direction;
    // RFC 3264 §4 / RFC 3311 §5.1: no offer while one is outstanding.
    if (
      this.#glare !== undefined ||
      (method === 'INVITE' && (this.#clientInvite >= 0 || this.serverInvite !== undefined)) ||
      ((sdp !== undefined || method === 'INVITE') && !this.oa.canOffer())
    ) {
      return Promise.reject(new DialogError('ERR_REQUEST_PENDING', `a ${method} cannot start while an INVITE or an offer is in progress`));
    }
    if (options.signal?.aborted) return Promise.reject(new DialogError('ERR_ABORTED', `the ${method} was aborted before it was sent`));
    const seq = ++this.localSeq;
    const headers: SipHeaders = {};
    if (this.host.supported !== '') headers.supported = this.host.supported;
    const requested = this.#timerHeaders(headers);
    if (options.headers !== undefined) Object.assign(headers, options.headers);
    const rq = this.buildRequest(method, seq, headers, sdp, 'application/sdp');
    if (sdp !== undefined) this.oa.offerSent(sdp, method, seq);
    if (method === 'INVITE') this.#clientInvite = seq;
    return new Promise<SipResponse>((resolve, reject) => {
      let settled = false;
      const signal = options.signal;
      const onAbort = (): void => {
        if (!settled) this.host.stack.cancel(rq);
      };
      if (signal !== undefined && method === 'INVITE') signal.addEventListener('abort', onAbort, { once: true });
      try {
        this.host.stack.send(rq, (rs) => {
          if (rs.status < 200) return;
          if (settled) {
            if (method === 'INVITE' && rs.status < 300) this.resendAck(seq);
            return;
          }
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          this.#modifyFinal(method, seq, options, retries, requested, rs, resolve);
        });
      } catch (e) {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (method === 'INVITE') this.#clientInvite = -1;
        this.oa.rollback(method, seq);
        reject(e);
      }
    });
  }

  /** Session-timer headers of a re-INVITE/UPDATE; returns the interval asked for, if any. */
  #timerHeaders(headers: SipHeaders): number | undefined {
    const config = this.host.options.sessionTimer;
    if (config === undefined) return undefined;
    const session = this.sessionTimer;
    const interval = this.#requestedSE ?? session?.interval ?? config.expires;
    // RFC 4028 §7.4: a refresh names the current refresher, relative to this transaction.
    const refresher = session === undefined ? undefined : session.refresher === 'local' ? 'uac' : 'uas';
    addRequestTimerHeaders(headers, interval, config.minSE, refresher);
    return interval;
  }

  #modifyFinal(
    method: 'INVITE' | 'UPDATE',
    seq: number,
    options: ModifyOptions,
    retries: number,
    requested: number | undefined,
    rs: SipResponse,
    resolve: (rs: SipResponse) => void,
  ): void {
    if (method === 'INVITE' && this.#clientInvite === seq) this.#clientInvite = -1;
    const status = rs.status;
    if (status >= 300) {
      this.oa.rollback(method, seq);
      if (this.state === 'terminated') return resolve(rs);
      if (status === 491 && retries > 0) {
        // RFC 3261 §14.1: glare; try again after a random delay (longer for the Call-ID owner).
        this.#glare = { method, options, retries: retries - 1, response: rs, resolve };
        const delay = this.outgoing ? randomInt(210, 401) * 10 : randomInt(0, 201) * 10;
        this.host.timers.schedule((this.#glareSlot ??= new TimerSlot(this)), GLARE, delay);
        return;
      }
      if (status === 422 && requested !== undefined && this.#requestedSE === undefined) {
        const next = retryIntervalAfter422(rs, requested);
        if (next !== undefined) {
          // RFC 4028 §7.4 / §10: ask again with the Min-SE the peer wants.
          this.#requestedSE = next;
          this.#modify(method, options, retries).then(resolve, () => resolve(rs));
          return;
        }
      }
      this.afterFinal(method, rs);
      return resolve(rs);
    }
    this.#requestedSE = undefined;
    // RFC 3261 §12.2.1.2: a 2xx to a target refresh request replaces the remote target.
    const target = contactUri(rs);
    if (target !== undefined) this.remoteTarget = target;
    this.learnPeer(rs.headers);
    const timer = this.host.options.sessionTimer === undefined ? undefined : uacState(rs, requested);
    if (timer !== undefined) this.startSessionTimer(timer);
    const answer = sdpOf(rs);
    if (options.sdp !== undefined) {
      if (answer !== undefined) {
        this.oa.answerReceived(answer);
        this.sessionChanged();
      } else this.oa.rollback(method, seq);
    }
    if (method === 'UPDATE') return resolve(rs);
    if (options.sdp !== undefined || answer === undefined) {
      this.sendAck(seq, undefined);
      return resolve(rs);
    }
    // An offerless re-INVITE: the 2xx carries the offer, our ACK the answer (RFC 3261 §14.1).
    this.oa.offerReceived(answer, 'INVITE', seq);
    const outcome = this.answerOffer(answer, { method: 'INVITE', response: rs, initial: false });
    const finish = (result: AnswerOutcome): void => {
      if (typeof result === 'string') {
        this.sendAck(seq, result);
        this.oa.answerSent(result);
        this.sessionChanged();
      } else {
        // §13.2.2.4: an unacceptable offer in a 2xx is still ACKed, then the session ends.
        this.oa.rollback('INVITE', seq);
        this.sendAck(seq, undefined);
        void this.hangup({ cause: 'local-bye', status: result.status });
      }
      resolve(rs);
    };
    if (typeof outcome === 'string' || !('then' in outcome)) finish(outcome);
    else void outcome.then(finish);
  }

  // ------------------------------------------------------------------ SDP hooks

  /** @internal the answer to `offer` through the hooks (dialog's, UA's, default). */
  answerOffer(offer: string, context: SdpContext): AnswerOutcome | Promise<AnswerOutcome> {
    return resolveAnswer<Dialog>(this, this.oa, this.sdpHooks, this.host.options.sdp, offer, context, (e) => this.host.report(e));
  }

  /** @internal an offer through the hooks (a re-INVITE without SDP asks for one). */
  makeOffer(context: SdpContext): string | undefined | Promise<string | undefined> {
    return resolveOffer<Dialog>(this, this.oa, this.sdpHooks, this.host.options.sdp, context, (e) => this.host.report(e));
  }

  // ------------------------------------------------------------------ incoming requests

  /** @internal an in-dialog request for this dialog (the UA matched its id). */
  receive(request: SipRequest, remote: Remote, reply: ServerReply): void {
    receiveInDialog(this, request, remote, reply);
  }

  /** @internal (ServerSideDialog) is a re-INVITE of ours in progress? */
  get clientInvitePending(): boolean {
    return this.#clientInvite >= 0;
  }

  /** @internal (CancelTarget) a CANCEL matched the peer's pending re-INVITE: 487, nothing changes. */
  cancelled(): void {
    const pending = this.serverInvite;
    if (pending === undefined) return;
    this.serverInvite = undefined;
    this.host.trackInvite(pending.reply, undefined);
    this.oa.rollback('INVITE', pending.request.headers.cseq?.seq ?? -1);
    pending.reply.reply(makeResponse(pending.request, 487));
  }

  // ------------------------------------------------------------------ core hooks

  /** RFC 4028 §10: a session refresh, by UPDATE where the peer allows it, else by re-INVITE. */
  protected refreshSession(): void {
    this.#refresh(this.host.options.sessionTimer?.method ?? 'auto', true);
  }

  #refresh(method: 'UPDATE' | 'INVITE' | 'auto', fallback: boolean): void {
    let use: 'UPDATE' | 'INVITE' = method === 'auto' ? (this.peerUpdate ? 'UPDATE' : 'INVITE') : method;
    const busy = this.#clientInvite >= 0 || this.serverInvite !== undefined || !this.oa.canOffer() || this.#glare !== undefined;
    if (use === 'INVITE' && busy && this.peerUpdate) use = 'UPDATE';
    if (busy && use === 'INVITE') return; // the grace timer ends the session if nothing refreshes it
    // A re-INVITE refresh offers the current session again, unchanged (RFC 4028 §7.4, RFC 3264 §8).
    const options: ModifyOptions = use === 'INVITE' && this.oa.localSdp !== undefined ? { sdp: this.oa.localSdp } : {};
    this.#modify(use, options, this.host.options.glareRetries).then(
      (rs) => {
        if (fallback && use === 'UPDATE' && (rs.status === 405 || rs.status === 501) && this.state === 'confirmed') {
          this.peerUpdate = false;
          this.#refresh('INVITE', false);
        }
      },
      (e: unknown) => this.host.report(e),
    );
  }

  protected onOwnTimer(kind: number): void {
    if (kind !== GLARE) return;
    const glare = this.#glare;
    if (glare === undefined) return;
    this.#glare = undefined;
    if (this.state === 'terminated') return glare.resolve(glare.response);
    // The change did not happen if it still cannot be tried: the 491 is the answer then.
    this.#modify(glare.method, glare.options, glare.retries).then(glare.resolve, () => glare.resolve(glare.response));
  }

  protected onTerminate(): void {
    this.host.timers.cancel(this.#glareSlot);
    // RFC 3261 §15.1.2: a pending re-INVITE of the peer's gets 487.
    if (this.serverInvite !== undefined) this.cancelled();
    const glare = this.#glare;
    this.#glare = undefined;
    if (glare !== undefined) glare.resolve(glare.response);
  }
}
