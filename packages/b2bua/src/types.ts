// Public types of the B2BUA toolkit: leg and call states, the events a B2BUA emits (the leg events
// are the ones @sipts/otel's traceB2bua() and @sipts/metrics' addB2bua() read), and the hooks an
// application plugs in: routing, SDP rewriting, header manipulation, authentication and REFER.
import type { ServerReply } from '@sipts/core';
import type { Dialog, IncomingCall, TerminationCause } from '@sipts/dialog';
import type { Remote, SipHeaders, SipMessage, SipRequest, SipResponse } from '@sipts/message';

/** `a`: the incoming leg (the caller's INVITE); `b`: a leg the B2BUA originated. */
export type LegSide = 'a' | 'b';

/**
 * A leg's state: `calling` (INVITE sent or received, no dialog yet), `early` (a provisional with a
 * To tag), `confirmed` (2xx), `terminated`.
 */
export type LegStateName = 'calling' | 'early' | 'confirmed' | 'terminated';

/**
 * Why a leg ended: the dialog layer's termination causes, plus `timeout` (a B leg that got no final
 * response: Timer B or `targetTimeout`), `transferred` (replaced after a REFER handled here) and
 * `error` (the INVITE could not be sent).
 */
export type LegEndReason = TerminationCause | 'timeout' | 'transferred' | 'error';

/** What the application sees of a leg (the object stays valid after the leg ended). */
export interface LegInfo {
  /** Unique id of the leg: its Call-ID, plus the caller's tag on A legs. */
  readonly id: string;
  readonly side: LegSide;
  /** The leg's own Call-ID (a B leg never shares the A leg's). */
  readonly callId: string;
  /** The URI a B leg called. */
  readonly target: string | undefined;
  readonly state: LegStateName;
  /** The leg's dialog once it has one (early or confirmed). */
  readonly dialog: Dialog | undefined;
  /** The final status of the leg's INVITE, once known. */
  readonly status: number | undefined;
  /** Why the leg ended, once it has. */
  readonly reason: LegEndReason | undefined;
}

/** `routing` (B legs being tried), `early` (a provisional relayed), `answered`, `ended`. */
export type CallStateName = 'routing' | 'early' | 'answered' | 'ended';

/**
 * How a call ended, a bounded set (the `outcome` label of @sipts/metrics' calls-ended counter):
 * `answered` (it was bridged), `cancelled` (the caller gave up first), `busy` (486, 600),
 * `no-answer` (408, 480, or no final response from the last target), `rejected` (any other final
 * response relayed, or the application refused the call), `failed` (the B2BUA could not bridge:
 * a hook failed, no SDP to answer with, the B2BUA was closed).
 */
export type CallOutcome = 'answered' | 'cancelled' | 'busy' | 'no-answer' | 'rejected' | 'failed';

export const CALL_OUTCOMES: readonly CallOutcome[] = ['answered', 'cancelled', 'busy', 'no-answer', 'rejected', 'failed'];

/** `legStart`: `callId` is the A leg's Call-ID (the call's id), `legCallId` the leg's own. */
export interface LegStartEvent {
  callId: string;
  legCallId: string;
  legId: string;
  side: LegSide;
  target?: string | undefined;
}

/** `legState`: a leg moved to `state` (`early`, `confirmed`, `terminated`). */
export interface LegStateEvent {
  callId: string;
  legId: string;
  side: LegSide;
  state: LegStateName;
  /** The response behind the change (1xx, 2xx, the final failure), when there is one. */
  status?: number | undefined;
  /** With `terminated`: why. */
  reason?: LegEndReason | undefined;
}

/** `legEnd`: the leg's final INVITE status (or the status behind its end) and why it ended. */
export interface LegEndEvent {
  callId: string;
  legId: string;
  side: LegSide;
  status?: number | undefined;
  reason: LegEndReason;
}

/** `callEnd`. */
export interface CallEndEvent {
  callId: string;
  outcome: CallOutcome;
  /** The final status answered to the caller, or the status behind the end of an answered call. */
  status?: number | undefined;
  /** What ended it: a leg end reason of the leg that ended first, `hangup` (the application), `max-duration`, `stopped`. */
  reason: LegEndReason | 'hangup' | 'max-duration';
  /** The side whose leg ended first (`b2bua` when the B2BUA ended it). */
  endedBy: LegSide | 'b2bua';
  /** ms from the answer to the end (undefined when never answered), on the UA's clock. */
  duration?: number | undefined;
}

export interface B2buaStats {
  /** Calls in progress (routing, early or answered). */
  calls: number;
  /** Legs in progress (not terminated). */
  legs: number;
  callsCreated: number;
  /** Calls ended, by outcome (every outcome present, zeros included). */
  callsEnded: Record<CallOutcome, number>;
  /** INVITEs answered 503 for `maxCalls`. */
  overloadRejected: number;
  /** INVITEs the authenticate hook answered (challenges, 403). */
  authRejected: number;
  /** B legs started (serial targets and transfers included). */
  legsCreated: number;
  /** In-dialog requests relayed from one leg to the other (re-INVITE, UPDATE with SDP, INFO, MESSAGE...). */
  relayed: number;
  /** REFERs handled here (new leg made) and refused. */
  transfers: number;
  transfersRefused: number;
  /** Calls ended by `maxCallDuration`. */
  maxDurationReached: number;
}

/** What a hook is told about the message being relayed. */
export interface RelayContext {
  /** The call (its id is the A leg's Call-ID). */
  readonly call: CallView;
  /** The side the message came from and the side it goes to (for a new B leg: from `a` to `b`). */
  readonly from: LegSide;
  readonly to: LegSide;
  /** The method of the message, or of the request a response answers. */
  readonly method: string;
  /** The message being relayed (the A leg's INVITE for the first B leg), when there is one. */
  readonly message?: SipMessage | undefined;
  /** True for the call's first offer/answer exchange. */
  readonly initial: boolean;
}

/** What hooks and events see of a call (B2buaCall implements it). */
export interface CallView {
  readonly id: string;
  readonly state: CallStateName;
  readonly a: LegInfo;
  readonly b: LegInfo | undefined;
  /** The caller's INVITE server side (its `request` is released after the final response). */
  readonly incoming: IncomingCall;
  /** Application data: anything, kept for the life of the call. */
  data: unknown;
}

/** Refuse an offer (the request that carried it gets `status`, default 488). */
export interface SdpRefusal {
  status: number;
  reason?: string | undefined;
}

/**
 * Rewrite an offer or an answer before it goes to the other leg (media addresses, codecs; see
 * @sipts/sdp's `rewriteConnection`). Return the SDP to send, undefined to send it unchanged, or a
 * refusal. May be async.
 */
export type SdpHook = (sdp: string, context: RelayContext) => string | SdpRefusal | undefined | Promise<string | SdpRefusal | undefined>;

/**
 * Change the headers of a message the B2BUA is about to send on the other leg. `headers` holds the
 * extra headers it will carry (the relayed ones already in); set, replace or delete entries (an
 * entry set to undefined is left out even where the dialog layer would add it, e.g. User-Agent).
 * Must not throw (a throw is reported as `error` and the message goes as it is).
 */
export type HeaderHook = (headers: SipHeaders, context: RelayContext) => void;

/** The targets of a call: one URI, several tried in turn, or none (the caller gets 404). */
export type TargetList = string | readonly string[] | undefined;

/** Where to send a new call (the `target` option as a function). */
export type RouteHook = (request: SipRequest, incoming: IncomingCall) => TargetList | Promise<TargetList>;

/**
 * Authenticate a new INVITE before any call state is made: `true` lets it in; a response (a 401/407
 * challenge, a 403) is sent as the answer. `digestAuthenticator()` makes one from @sipts/digest.
 */
export type AuthenticateHook = (request: SipRequest, remote: Remote) => true | SipResponse | Promise<true | SipResponse>;

/** A REFER received on a leg (RFC 3515). */
export interface ReferRequest {
  readonly call: CallView;
  /** The leg the REFER came from (the transferor). */
  readonly from: LegSide;
  readonly request: SipRequest;
  /** The Refer-To URI, without its header part. */
  readonly referTo: string;
  /** The Replaces header embedded in Refer-To (attended transfer), if any: not handled here. */
  readonly replaces: string | undefined;
}

/**
 * What to do with a REFER: `accept` (202, the B2BUA calls `target` — default the Refer-To URI — and
 * reports its progress in NOTIFY sipfrag bodies, RFC 3515 §2.4.4; on success the new leg replaces
 * the transferor's, whose dialog is ended with BYE), or `reject` (default 403).
 */
export type ReferDecision = { action: 'accept'; target?: string | undefined; headers?: SipHeaders | undefined } | { action: 'reject'; status?: number | undefined; reason?: string | undefined };

export type ReferHook = (refer: ReferRequest) => ReferDecision | Promise<ReferDecision>;

export interface B2buaEvents {
  /**
   * A new INVITE passed the limits and `authenticate`, when there is no `target` option: bridge it
   * with `b2bua.bridge(incoming, targets)` or answer it yourself (`incoming.reject()`). Without a
   * listener and without `target` it gets 480.
   */
  invite: [incoming: IncomingCall];
  /** A call was created (bridge()). */
  call: [call: CallView];
  legStart: [event: LegStartEvent];
  legState: [event: LegStateEvent];
  legEnd: [event: LegEndEvent];
  callEnd: [event: CallEndEvent];
  /**
   * An out-of-dialog request other than INVITE and CANCEL (OPTIONS, MESSAGE, REGISTER...). Without
   * a listener OPTIONS gets 200 (Allow), REGISTER/SUBSCRIBE/PUBLISH/MESSAGE/NOTIFY/REFER 405, others 501.
   */
  request: [request: SipRequest, remote: Remote, reply: ServerReply];
  /** A hook threw, or something failed with nobody to tell. Emitted only when listened to. */
  error: [error: Error];
}
