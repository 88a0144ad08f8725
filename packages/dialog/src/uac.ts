// An outgoing INVITE on the UAC side (RFC 3261 §13.2): early dialogs from provisional responses
// with a To tag, one per fork (§12.1.2, §13.2.2.4), PRACK for reliable provisionals (RFC 3262 §4),
// the ACK for every 2xx and its retransmissions, extra 2xx from other forks ACKed then ended with
// BYE unless the application keeps them, a 422 retried with the Min-SE asked for (RFC 4028 §7.4),
// and CANCEL through an AbortSignal (§9.1).
import { randomBytes, randomInt } from 'node:crypto';
import type { SipStack } from '@sipts/core';
import { generateTag, parseRoute } from '@sipts/message';
import type { NameAddr, SipHeaders, SipRequest, SipResponse, SipUri } from '@sipts/message';
import type { Dialog } from './dialog.js';
import type { DialogInit } from './dialog-state.js';
import { DialogError } from './errors.js';
import { addToken, contactUri, detach, hasToken, nameOf, parseRSeq, routeSetOf, sdpOf, tagOf } from './headers.js';
import type { NormalizedUaOptions, Rel100Policy } from './options.js';
import type { AnswerOutcome } from './sdp-hooks.js';
import { addRequestTimerHeaders, retryIntervalAfter422, supportsTimer, uacState } from './session-timer.js';
import type { SdpHooks } from './types.js';

/** What an outgoing INVITE needs from its UA. */
export interface UacHost {
  readonly stack: SipStack;
  readonly options: NormalizedUaOptions<Dialog>;
  readonly allow: string;
  readonly supported: string;
  /** A new dialog; `register`: put it in the table (false: a fork over the limit, only ACKed and ended). */
  createDialog(init: DialogInit, register?: boolean): Dialog;
  canAddDialog(): boolean;
  contactFor(protocol: string): string;
  defaultFrom(): string;
  report(error: unknown): void;
}

export interface InviteOptions {
  /** Our offer. Without it the offer comes in the 2xx (or a reliable 1xx) and the answer hook answers it. */
  sdp?: string | undefined;
  /** Extra headers of the INVITE. */
  headers?: SipHeaders | undefined;
  /** From URI (default: the UA's `from`, else `sip:<user>@<sentBy>`). */
  from?: string | undefined;
  fromName?: string | undefined;
  /** To URI (default: the target). */
  to?: string | undefined;
  toName?: string | undefined;
  /** Call-ID (default: 128 random bits); a B2BUA usually makes its own. */
  callId?: string | undefined;
  /** A pre-loaded route set (an outbound proxy), as name-addr strings (RFC 3261 §8.1.2). */
  route?: readonly string[] | undefined;
  /** Cancel the INVITE (RFC 3261 §9.1); invite() then rejects with ERR_ABORTED. */
  signal?: AbortSignal | undefined;
  /** Every provisional response, with the early dialog it belongs to (if it has a To tag). */
  onProgress?: ((response: SipResponse, dialog: Dialog | undefined) => void) | undefined;
  /**
   * A 2xx from another fork after the first one (RFC 3261 §13.2.2.4): it is ACKed, then kept
   * when this returns true, else ended with BYE.
   */
  onFork?: ((dialog: Dialog, response: SipResponse) => boolean) | undefined;
  /** Overrides the UA's rel100 policy for this call. */
  rel100?: Rel100Policy | undefined;
  /** false: no session timer for this call. */
  sessionTimer?: false | undefined;
  /** SDP hooks of the dialog(s) this INVITE creates. */
  sdpHooks?: SdpHooks<Dialog> | undefined;
}

type Phase = 'calling' | 'answered' | 'failed';

const PROTOCOLS: Record<string, string> = { tcp: 'TCP', tls: 'TLS', ws: 'WS', wss: 'WSS', udp: 'UDP' };

export class OutgoingInvite {
  readonly #host: UacHost;
  readonly #target: string;
  readonly #options: InviteOptions;
  readonly #resolve: (dialog: Dialog) => void;
  readonly #reject: (error: DialogError) => void;
  readonly #callId: string;
  readonly #localTag: string;
  readonly #from: string;
  readonly #to: string;
  readonly #contact: string;
  #seq: number;
  #request: SipRequest | undefined;
  #phase: Phase = 'calling';
  #aborted = false;
  /** Early and confirmed dialogs by To tag (RFC 3261 §12.1.2: one per fork). */
  readonly #forks = new Map<string, Dialog>();
  #requestedSE: number | undefined;
  #retried422 = false;
  readonly #onAbort = (): void => this.#abort();
  /** The response callback of stack.send: one per call. */
  readonly #onResponse = (rs: SipResponse): void => this.#response(rs);

  /** `target` as text and parsed (the UA checked it). */
  constructor(host: UacHost, target: string, parsed: SipUri, options: InviteOptions, resolve: (dialog: Dialog) => void, reject: (error: DialogError) => void) {
    this.#host = host;
    this.#target = target;
    this.#options = options;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#callId = options.callId ?? randomBytes(16).toString('hex');
    this.#localTag = generateTag();
    this.#from = options.from ?? host.defaultFrom();
    this.#to = options.to ?? target;
    // Our Contact names the transport the INVITE will use (the target's transport= or sips:).
    const transport = parsed.params.transport;
    const protocol = typeof transport === 'string' ? PROTOCOLS[transport.toLowerCase()] ?? 'UDP' : parsed.schema.toLowerCase() === 'sips' ? 'TLS' : 'UDP';
    this.#contact = host.contactFor(protocol);
    this.#seq = randomInt(1, 2 ** 16);
    const config = host.options.sessionTimer;
    if (config !== undefined && options.sessionTimer !== false) this.#requestedSE = config.expires;
  }

  start(): void {
    const signal = this.#options.signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#send();
  }

  #send(): void {
    const o = this.#options;
    const host = this.#host;
    const from: NameAddr = { uri: this.#from, params: { tag: this.#localTag } };
    if (o.fromName !== undefined) from.name = o.fromName;
    const to: NameAddr = { uri: this.#to, params: {} };
    if (o.toName !== undefined) to.name = o.toName;
    const headers: SipHeaders = {
      from,
      to,
      'call-id': this.#callId,
      cseq: { seq: this.#seq, method: 'INVITE' },
      contact: [{ uri: this.#contact, params: {} }],
      allow: host.allow,
    };
    if (host.supported !== '') headers.supported = host.supported;
    // RFC 3262 §4: Require: 100rel only when we insist on reliable provisionals.
    if ((o.rel100 ?? host.options.rel100) === 'required') headers.require = addToken(headers.require, '100rel');
    const config = host.options.sessionTimer;
    if (config !== undefined && this.#requestedSE !== undefined) {
      // RFC 4028 §7.4: after a 422 the Min-SE we send is the one the peer asked for.
      addRequestTimerHeaders(headers, this.#requestedSE, this.#retried422 ? this.#requestedSE : config.minSE, undefined);
    }
    if (host.options.userAgent !== undefined) headers['user-agent'] = host.options.userAgent;
    if (o.route !== undefined && o.route.length > 0) headers.route = parseRoute(o.route.join(', '));
    if (o.headers !== undefined) for (const name of Object.keys(o.headers)) headers[name] = o.headers[name];
    const rq: SipRequest = { method: 'INVITE', uri: this.#target, headers };
    if (o.sdp !== undefined) {
      headers['content-type'] = 'application/sdp';
      rq.content = o.sdp;
    }
    this.#request = rq;
    try {
      host.stack.send(rq, this.#onResponse);
    } catch (e) {
      this.#fail(new DialogError('ERR_STOPPED', `the INVITE could not be sent: ${e instanceof Error ? e.message : String(e)}`, { cause: e }), undefined);
    }
  }

  #abort(): void {
    if (this.#phase !== 'calling' || this.#aborted) return;
    this.#aborted = true;
    const rq = this.#request;
    if (rq !== undefined) this.#host.stack.cancel(rq);
  }

  #response(rs: SipResponse): void {
    if (rs.headers.cseq?.seq !== this.#seq) return; // the INVITE before a 422 retry
    try {
      if (rs.status < 200) this.#provisional(rs);
      else if (rs.status < 300) this.#success(rs);
      else this.#failure(rs);
    } catch (e) {
      this.#host.report(e);
    }
  }

  /** RFC 3261 §12.1.2 / §13.2.2.4: the dialog a response with To tag `tag` creates. */
  #dialogInit(rs: SipResponse, tag: string, early: boolean): DialogInit {
    const o = this.#options;
    const h = rs.headers;
    return {
      callId: this.#callId,
      localTag: this.#localTag,
      remoteTag: detach(tag),
      localUri: this.#from,
      localName: o.fromName,
      remoteUri: this.#to,
      remoteName: o.toName ?? nameOf(h.to),
      remoteTarget: contactUri(rs) ?? this.#target,
      routeSet: routeSetOf(h['record-route'], true),
      localSeq: this.#seq,
      remoteSeq: -1,
      outgoing: true,
      localContact: this.#contact,
      early,
      peerUpdate: hasToken(h.allow, 'update'),
      peerTimer: supportsTimer(h),
    };
  }

  #newDialog(rs: SipResponse, tag: string, early: boolean, register: boolean): Dialog {
    const dialog = this.#host.createDialog(this.#dialogInit(rs, tag, early), register);
    if (this.#options.sdpHooks !== undefined) dialog.sdpHooks = this.#options.sdpHooks;
    if (this.#options.sdp !== undefined) dialog.oa.offerSent(this.#options.sdp, 'INVITE', this.#seq);
    return dialog;
  }

  #provisional(rs: SipResponse): void {
    if (this.#phase !== 'calling') return;
    const tag = tagOf(rs.headers.to);
    let dialog: Dialog | undefined;
    if (rs.status > 100 && tag !== undefined) {
      dialog = this.#forks.get(tag);
      if (dialog === undefined && this.#forks.size < this.#host.options.maxEarlyDialogs && this.#host.canAddDialog()) {
        dialog = this.#newDialog(rs, tag, true, true);
        this.#forks.set(dialog.remoteTag, dialog);
      } else if (dialog !== undefined) {
        const target = contactUri(rs);
        if (target !== undefined) dialog.remoteTarget = target;
      }
      if (dialog !== undefined && !this.#reliable(rs, dialog)) return;
    }
    const onProgress = this.#options.onProgress;
    if (onProgress !== undefined) {
      try {
        onProgress(rs, dialog);
      } catch (e) {
        this.#host.report(e);
      }
    }
  }

  /**
   * RFC 3262 §4: a reliable provisional is PRACKed when its RSeq is the next one of its early
   * dialog; a repeat (RSeq not above the last) and one out of order are not reported again.
   */
  #reliable(rs: SipResponse, dialog: Dialog): boolean {
    const h = rs.headers;
    const policy = this.#options.rel100 ?? this.#host.options.rel100;
    if (policy === 'disabled' || !hasToken(h.require, '100rel')) return true;
    const rseq = parseRSeq(h.rseq);
    if (rseq === undefined) return true;
    if (dialog.rseq >= 0 && rseq !== dialog.rseq + 1) return false;
    dialog.rseq = rseq;
    const sdp = sdpOf(rs);
    const oa = dialog.oa;
    const rack = `${rseq} ${this.#seq} INVITE`;
    if (sdp !== undefined && oa.state === 'local-offer') {
      oa.answerReceived(sdp);
      dialog.sessionChanged();
    } else if (sdp !== undefined && oa.state === 'idle' && oa.initial) {
      // The offer came in the reliable provisional: our answer goes in the PRACK (RFC 3262 §5).
      oa.offerReceived(sdp, 'INVITE', this.#seq);
      const outcome = dialog.answerOffer(sdp, { method: 'INVITE', response: rs, initial: true });
      const send = (result: AnswerOutcome): void => {
        if (typeof result === 'string') {
          this.#prack(dialog, rack, result);
          oa.answerSent(result);
          dialog.sessionChanged();
        } else {
          oa.rollback('INVITE', this.#seq);
          this.#prack(dialog, rack, undefined);
        }
      };
      if (typeof outcome === 'string' || !('then' in outcome)) send(outcome);
      else void outcome.then(send);
      return true;
    }
    this.#prack(dialog, rack, undefined);
    return true;
  }

  #prack(dialog: Dialog, rack: string, sdp: string | undefined): void {
    if (dialog.state === 'terminated') return;
    const rq = dialog.buildRequest('PRACK', ++dialog.localSeq, { rack }, sdp, 'application/sdp');
    dialog.transact(rq).catch((e: unknown) => this.#host.report(e));
  }

  #success(rs: SipResponse): void {
    const tag = tagOf(rs.headers.to) ?? '';
    if (this.#phase !== 'calling') {
      const known = this.#forks.get(tag);
      if (known !== undefined) known.resendAck(this.#seq); // a retransmission of its 2xx
      else if (this.#phase === 'answered') this.#extraFork(rs, tag);
      return;
    }
    this.#phase = 'answered';
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const registered = this.#host.canAddDialog() || this.#forks.has(tag);
    let dialog = this.#forks.get(tag);
    for (const [otherTag, other] of this.#forks) if (otherTag !== tag) other.terminate({ cause: 'fork-discarded' });
    this.#forks.clear();
    if (dialog === undefined) dialog = this.#newDialog(rs, tag, false, registered);
    else {
      // RFC 3261 §13.2.2.4: the route set is recomputed from the 2xx.
      dialog.setRouteSet(routeSetOf(rs.headers['record-route'], true));
      const target = contactUri(rs);
      if (target !== undefined) dialog.remoteTarget = target;
      dialog.learnPeer(rs.headers);
      dialog.confirm();
    }
    this.#forks.set(dialog.remoteTag, dialog);
    this.#request = undefined;
    const config = this.#host.options.sessionTimer;
    if (config !== undefined && this.#options.sessionTimer !== false) {
      const timer = uacState(rs, this.#requestedSE);
      if (timer !== undefined) dialog.startSessionTimer(timer);
    }
    this.#ackAndSettle(dialog, rs, registered);
  }

  /** RFC 3261 §13.2.2.4: ACK (with the answer when the 2xx had the offer), then resolve. */
  #ackAndSettle(dialog: Dialog, rs: SipResponse, registered: boolean): void {
    const oa = dialog.oa;
    const sdp = sdpOf(rs);
    const settle = (): void => {
      if (this.#aborted || !registered) {
        // The 2xx crossed our CANCEL (§9.1), or no room for one more dialog: ACKed, then BYE.
        void dialog.hangup({ cause: this.#aborted ? 'cancelled' : 'local-bye', status: rs.status });
        this.#reject(
          this.#aborted
            ? new DialogError('ERR_ABORTED', 'the INVITE was aborted; its 2xx was ACKed and the call ended with BYE', { response: rs })
            : new DialogError('ERR_TOO_MANY_DIALOGS', 'maxDialogs reached: the answered call was ended with BYE', { response: rs }),
        );
        return;
      }
      this.#resolve(dialog);
    };
    if (oa.state === 'local-offer') {
      if (sdp !== undefined) {
        oa.answerReceived(sdp);
        dialog.sessionChanged();
      }
      dialog.sendAck(this.#seq, undefined);
      return settle();
    }
    if (sdp === undefined || !oa.initial || oa.state !== 'idle') {
      dialog.sendAck(this.#seq, undefined);
      return settle();
    }
    oa.offerReceived(sdp, 'INVITE', this.#seq);
    const outcome = dialog.answerOffer(sdp, { method: 'INVITE', response: rs, initial: true });
    const finish = (result: AnswerOutcome): void => {
      if (typeof result === 'string') {
        dialog.sendAck(this.#seq, result);
        oa.answerSent(result);
        dialog.sessionChanged();
        return settle();
      }
      // §13.2.2.4: an unacceptable offer in the 2xx is ACKed, then the call ends with BYE.
      oa.rollback('INVITE', this.#seq);
      dialog.sendAck(this.#seq, undefined);
      void dialog.hangup({ cause: 'local-bye', status: result.status });
      this.#reject(new DialogError('ERR_REJECTED', `the offer in the 2xx was refused (${result.status}); the call was ended with BYE`, { response: rs }));
    };
    if (typeof outcome === 'string' || !('then' in outcome)) finish(outcome);
    else void outcome.then(finish);
  }

  /** A 2xx from another fork after the call was answered: ACK it, keep it or end it. */
  #extraFork(rs: SipResponse, tag: string): void {
    const keepIt = this.#options.onFork;
    const registered = keepIt !== undefined && this.#host.canAddDialog();
    const dialog = this.#newDialog(rs, tag, false, registered);
    this.#forks.set(dialog.remoteTag, dialog);
    const oa = dialog.oa;
    const sdp = sdpOf(rs);
    if (oa.state === 'local-offer' && sdp !== undefined) oa.answerReceived(sdp);
    dialog.sendAck(this.#seq, undefined);
    let keep = false;
    if (registered) {
      try {
        keep = keepIt(dialog, rs) === true;
      } catch (e) {
        this.#host.report(e);
      }
    }
    if (!keep) void dialog.hangup({ cause: 'fork-discarded', status: rs.status });
  }

  #failure(rs: SipResponse): void {
    if (this.#phase !== 'calling') return;
    const config = this.#host.options.sessionTimer;
    if (rs.status === 422 && config !== undefined && this.#requestedSE !== undefined && !this.#retried422 && !this.#aborted) {
      const next = retryIntervalAfter422(rs, this.#requestedSE);
      if (next !== undefined) {
        // RFC 4028 §7.4: the same call again, a new CSeq, Session-Expires and Min-SE at the peer's Min-SE.
        this.#retried422 = true;
        this.#requestedSE = next;
        for (const dialog of this.#forks.values()) dialog.terminate({ cause: 'rejected', status: 422 });
        this.#forks.clear();
        this.#seq++;
        this.#send();
        return;
      }
    }
    this.#fail(
      this.#aborted
        ? new DialogError('ERR_ABORTED', `the INVITE was cancelled (${rs.status})`, { response: rs })
        : new DialogError('ERR_REJECTED', `the INVITE was answered ${rs.status} ${rs.reason}`, { response: rs }),
      rs,
    );
  }

  #fail(error: DialogError, rs: SipResponse | undefined): void {
    this.#phase = 'failed';
    this.#request = undefined;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    const cause = this.#aborted ? 'cancelled' : 'rejected';
    for (const dialog of this.#forks.values()) dialog.terminate({ cause, status: rs?.status });
    this.#forks.clear();
    this.#reject(error);
  }
}
