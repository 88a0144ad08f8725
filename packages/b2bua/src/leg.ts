// One leg of a bridged call: the caller's incoming INVITE (side `a`) or an INVITE the B2BUA sent
// (side `b`), its state, and its dialog once it has one. The leg owns the listeners and SDP hooks
// it puts on its dialog and hands everything to its call (an interface here, so this file imports
// no call code): offers and answers, in-dialog requests, the end of the dialog.
import type { ServerReply } from '@sipts/core';
import type { Dialog, SdpContext, SdpHooks, SdpRefusal, TerminationReason } from '@sipts/dialog';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import type { LegEndReason, LegInfo, LegSide, LegStateName } from './types.js';

/** What a leg hands its dialog's events to (the call). */
export interface LegOwner {
  /** An offer arrived on the leg's dialog (re-INVITE, UPDATE, PRACK, a B leg's 2xx or reliable 1xx). */
  offerFrom(leg: Leg, dialog: Dialog, offer: string, context: SdpContext): string | SdpRefusal | Promise<string | SdpRefusal>;
  /** The peer sent a re-INVITE without SDP: our offer goes in the 2xx. */
  offerWanted(leg: Leg, dialog: Dialog, context: SdpContext): string | undefined | Promise<string | undefined>;
  /** An in-dialog request the dialog layer leaves to the application (INFO, MESSAGE, REFER...). */
  requestFrom(leg: Leg, request: SipRequest, remote: Remote, reply: ServerReply): void;
  /** The leg's dialog ended. */
  dialogEnded(leg: Leg, dialog: Dialog, reason: TerminationReason): void;
  /** The leg's dialog received the ACK for its 2xx (an answer may be in it). */
  ackReceived(leg: Leg, ack: SipRequest): void;
}

/** What a leg tells when its state changes (the B2BUA: events and counters). */
export interface LegObserver {
  /** `status`: the response behind the change, if any. */
  legStateChanged(leg: Leg, status: number | undefined): void;
}

export class Leg implements LegInfo {
  readonly id: string;
  readonly side: LegSide;
  readonly callId: string;
  readonly target: string | undefined;
  /** The call's id (the A leg's Call-ID), for events. */
  readonly callKey: string;
  state: LegStateName = 'calling';
  dialog: Dialog | undefined;
  status: number | undefined;
  reason: LegEndReason | undefined;
  /** The BYE that is ending this leg's dialog, kept by the B2BUA for the Reason it may carry. */
  bye: SipRequest | undefined;
  /** B legs: the 2xx that answered the INVITE, kept until it is relayed to the caller. */
  answer: SipResponse | undefined;
  readonly #owner: LegOwner;
  readonly #observer: LegObserver;
  /** The SDP hooks put on the leg's dialogs (made once per leg). */
  readonly hooks: SdpHooks<Dialog>;
  readonly #onRequest = (rq: SipRequest, remote: Remote, reply: ServerReply): void => this.#owner.requestFrom(this, rq, remote, reply);
  readonly #onAck = (ack: SipRequest): void => this.#owner.ackReceived(this, ack);
  #onTerminated: ((reason: TerminationReason) => void) | undefined;
  #watchingAck = false;

  constructor(owner: LegOwner, observer: LegObserver, side: LegSide, id: string, callId: string, callKey: string, target: string | undefined) {
    this.#owner = owner;
    this.#observer = observer;
    this.side = side;
    this.id = id;
    this.callId = callId;
    this.callKey = callKey;
    this.target = target;
    this.hooks = {
      answer: (dialog, offer, context) => owner.offerFrom(this, dialog, offer, context),
      offer: (dialog, context) => owner.offerWanted(this, dialog, context),
    };
  }

  get ended(): boolean {
    return this.state === 'terminated';
  }

  /** The leg's dialog while it lives. */
  get live(): Dialog | undefined {
    const d = this.dialog;
    return d !== undefined && d.state !== 'terminated' ? d : undefined;
  }

  /** Makes `dialog` this leg's dialog: our SDP hooks and listeners on it. */
  attach(dialog: Dialog): void {
    if (this.dialog === dialog) return;
    this.detach();
    this.dialog = dialog;
    dialog.sdpHooks = this.hooks;
    dialog.on('request', this.#onRequest);
    const onTerminated = (reason: TerminationReason): void => this.#owner.dialogEnded(this, dialog, reason);
    this.#onTerminated = onTerminated;
    dialog.once('terminated', onTerminated);
  }

  /** Listen for ACKs on the dialog from now on (an offerless re-INVITE waits for the answer in one). */
  watchAcks(): void {
    if (this.#watchingAck || this.dialog === undefined) return;
    this.#watchingAck = true;
    this.dialog.on('ack', this.#onAck);
  }

  /**
   * Takes our listeners off the dialog. The `terminated` one stays unless `all` (the dialog is
   * replaced): the end of a dialog we stopped relaying (a BYE waiting for its ACK) still reaches
   * the call, which drops it from the B2BUA's table.
   */
  detach(all = true): void {
    const d = this.dialog;
    if (d === undefined) return;
    d.off('request', this.#onRequest);
    if (this.#watchingAck) d.off('ack', this.#onAck);
    this.#watchingAck = false;
    if (all && this.#onTerminated !== undefined) {
      d.off('terminated', this.#onTerminated);
      this.#onTerminated = undefined;
    }
  }

  /** Moves to `state` (never back, never out of `terminated`) and tells the observer. */
  setState(state: LegStateName, status?: number | undefined): void {
    if (this.state === 'terminated' || this.state === state) return;
    if (state === 'early' && this.state === 'confirmed') return;
    this.state = state;
    if (state === 'confirmed' && status !== undefined) this.status = status;
    this.#observer.legStateChanged(this, status);
  }

  /** Ends the leg once, with `reason` (and the status behind it). */
  end(reason: LegEndReason, status?: number | undefined): void {
    if (this.state === 'terminated') return;
    this.reason = reason;
    if (status !== undefined) this.status = status;
    this.state = 'terminated';
    this.detach(false);
    this.#observer.legStateChanged(this, status);
  }
}
