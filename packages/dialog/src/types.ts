// Public types shared by the dialog layer's files: why a dialog ended, the SDP hooks through
// which an application (or a B2BUA) produces offers and answers, per-request options, and the
// serialised form of a dialog.
import type { SipHeaders, SipRequest, SipResponse } from '@sipts/message';

/** Why a dialog ended. */
export type TerminationCause =
  /** We sent BYE. */
  | 'local-bye'
  /** The peer sent BYE. */
  | 'remote-bye'
  /** The INVITE got (UAC) or was answered with (UAS) a final response other than 2xx. */
  | 'rejected'
  /** The INVITE was CANCELled (by us as UAC, by the peer as UAS). */
  | 'cancelled'
  /** UAS: no ACK for the 2xx within 64*T1; BYE sent (RFC 3261 §13.3.1.4). */
  | 'ack-timeout'
  /** UAS: a reliable provisional got no PRACK within 64*T1; 504 sent (RFC 3262 §3). */
  | 'prack-timeout'
  /** RFC 4028 §10: no session refresh before the session expired; BYE sent. */
  | 'session-expired'
  /** An in-dialog request got 481 or 408 (RFC 3261 §12.2.1.2); BYE sent after a 408. */
  | 'request-failed'
  /** UAC: an early dialog of a fork that did not answer, or an extra 2xx not kept (ACK + BYE). */
  | 'fork-discarded'
  /** The UA was closed. */
  | 'stopped';

export interface TerminationReason {
  cause: TerminationCause;
  /** The status behind it (the final response, the 481/408), when there is one. */
  status?: number | undefined;
}

/** What an SDP hook is asked about. */
export interface SdpContext {
  /** The method whose message carries the SDP in question: INVITE (initial or re-INVITE), UPDATE, PRACK, ACK. */
  method: string;
  /** The request that carried the offer (or asked for one), when the offer came in a request. */
  request?: SipRequest | undefined;
  /** The response that carried the offer, when it came in a response (offer in a 2xx or reliable 1xx). */
  response?: SipResponse | undefined;
  /** True for the dialog's first offer/answer exchange. */
  initial: boolean;
}

/** A refusal from an answer hook: the request is answered with `status` (default 488). */
export interface SdpRefusal {
  status: number;
  reason?: string | undefined;
  headers?: SipHeaders | undefined;
}

/**
 * Answer `offer`: return the answer SDP, a refusal, or undefined (488 Not Acceptable Here). May
 * be async (a B2BUA forwards the offer to its other leg and returns that leg's answer).
 */
export type AnswerHook<D> = (dialog: D, offer: string, context: SdpContext) => string | SdpRefusal | undefined | Promise<string | SdpRefusal | undefined>;

/** Make an offer (a re-INVITE without SDP asks for one in our 2xx). undefined: refuse (488). */
export type OfferHook<D> = (dialog: D, context: SdpContext) => string | undefined | Promise<string | undefined>;

export interface SdpHooks<D> {
  answer?: AnswerHook<D> | undefined;
  offer?: OfferHook<D> | undefined;
}

/** Options of an in-dialog request. */
export interface InDialogRequestOptions {
  /** Extra headers (lower-case names as in the message model); they win over the dialog's. */
  headers?: SipHeaders | undefined;
  /** A body, sent with `contentType`. */
  body?: string | undefined;
  contentType?: string | undefined;
}

/** reinvite() / update() options. */
export interface ModifyOptions {
  /** The new offer. Without it a re-INVITE asks the peer for an offer (in its 2xx); an UPDATE only refreshes. */
  sdp?: string | undefined;
  headers?: SipHeaders | undefined;
  /** Give up: a re-INVITE is CANCELled. */
  signal?: AbortSignal | undefined;
}

/** The session timer of a dialog (RFC 4028). */
export interface SessionTimerState {
  /** Session interval in seconds. */
  interval: number;
  /** Who refreshes: this UA (`local`) or the peer (`remote`). */
  refresher: 'local' | 'remote';
}

/**
 * A confirmed dialog as plain JSON (`dialog.toJSON()`), for `ua.restore()` in this process or
 * another one. Transactions in flight are not part of it.
 */
export interface DialogSnapshot {
  version: 1;
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  localName?: string | undefined;
  remoteUri: string;
  remoteName?: string | undefined;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  /** -1: nothing received yet. */
  remoteSeq: number;
  /** Did this side send the initial INVITE (it owns the Call-ID, RFC 3261 §14.1)? */
  outgoing: boolean;
  localContact: string;
  localSdp?: string | undefined;
  remoteSdp?: string | undefined;
  /** The peer said it accepts UPDATE (Allow). */
  peerUpdate: boolean;
  /** The peer said it supports session timers (Supported/Require: timer). */
  peerTimer: boolean;
  sessionTimer?: (SessionTimerState & { remainingMs: number; savedAt: number }) | undefined;
}
