// The interfaces the B2BUA's parts talk through, in one file below all of them so no two files
// import each other: what a call needs from its B2BUA (the UA, the clock, events and counters),
// and what the in-dialog relay and the REFER handler need from a call.
import type { Dialog, DialogUA } from '@sipts/dialog';
import type { SipHeaders, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { Clock } from '@sipts/transaction';
import type { Leg, LegObserver } from './leg.js';
import type { NormalizedCallOptions } from './options.js';
import type { CallEndEvent, CallView, LegSide, RelayContext, SdpHook, SdpRefusal } from './types.js';

/** What a call needs from its B2BUA. */
export interface CallHost extends LegObserver {
  readonly ua: DialogUA;
  readonly clock: Clock;
  /** The UA's Supported value without 100rel (end-to-end 100rel, the caller had none), or undefined. */
  readonly supportedWithout100rel: string | undefined;
  /** A B leg's INVITE is out: its 2xx is looked for by Call-ID until `answered`. */
  pendingLeg(leg: Leg, pending: boolean): void;
  /** A leg got a dialog (for the BYE it may receive). */
  trackDialog(leg: Leg, track: boolean): void;
  callEnded(call: CallView, event: CallEndEvent): void;
  /** A BYE the call sent (close() waits for those sent while closing). */
  byeSent(bye: Promise<unknown>): void;
  count(counter: 'relayed' | 'transfers' | 'transfersRefused' | 'maxDurationReached' | 'legsCreated'): void;
  report(error: unknown): void;
}

/** An offerless re-INVITE relayed as one (RFC 3261 §14.1): `to`'s 2xx offer goes to `from`'s 2xx. */
export interface OfferlessRelay {
  /** The leg that sent the re-INVITE without SDP. */
  from: Leg;
  /** The leg we re-INVITEd without SDP. */
  to: Leg;
  /** Hands `from`'s dialog the offer for its 2xx (undefined: 488). */
  resolve: (offer: string | undefined) => void;
}

/** What the in-dialog relay and the REFER handler use of a call. */
export interface CallCore extends CallView {
  /** The offerless re-INVITE being relayed, if any. */
  offerless: OfferlessRelay | undefined;
  /** The next ACK on `leg`'s dialog (undefined if the dialog ends first). */
  waitAck(leg: Leg): Promise<SipRequest | undefined>;
  /** The hook context of a message from `from` (a leg or a side) to the other side. */
  context(from: Leg | LegSide, method: string, message: SipMessage | undefined, initial: boolean): RelayContext;
  readonly options: NormalizedCallOptions;
  readonly host: CallHost;
  /** The other leg of the bridge. */
  peerOf(leg: Leg): Leg | undefined;
  /** The side of a leg as hooks see it (the slot it holds: `a` the caller's side). */
  slotOf(leg: Leg): LegSide;
  /**
   * Runs an SDP hook on SDP from `from` (a leg or a side) in a `method` message: the SDP to send
   * (itself without a hook), or a refusal (a hook that throws: 500). The hook's context is made
   * only when there is a hook.
   */
  mapSdp(hook: SdpHook | undefined, sdp: string, from: Leg | LegSide, method: string, message: SipMessage | undefined, initial: boolean): string | SdpRefusal | Promise<string | SdpRefusal>;
  /**
   * The headers a message from `from` carries to the other side: the relayed ones of `source`,
   * `extra`, then the header hook of that direction. undefined when there are none.
   */
  relayedHeaders(source: SipMessage | undefined, from: Leg | LegSide, method: string, initial: boolean, extra?: SipHeaders | undefined): SipHeaders | undefined;
  /** A new B leg towards `target` (a transfer). */
  newLeg(target: string): Leg;
  /** `next` takes `old`'s place in the bridge (a transfer succeeded). */
  replaceLeg(old: Leg, next: Leg): void;
  /**
   * Ends the call (once): a B leg still ringing is CANCELled, an unanswered caller gets `status`
   * (480 when none), every live dialog but `endedBy`'s gets BYE with the headers relayed from
   * `endedBy`'s BYE (if any) plus `extra` (an RFC 3326 Reason for a leg that died).
   */
  end(endedBy: Leg | undefined, reason: CallEndEvent['reason'], status: number | undefined, extra?: SipHeaders | undefined): void;
}

/** What the call's setup (B legs in turn, call.ts's CallSetup) uses of its call. */
export interface SetupHost extends CallCore {
  /** The caller's leg. */
  readonly aLeg: Leg;
  /** The B leg being tried, or the one that answered. */
  readonly bLeg: Leg | undefined;
  /** The caller's 2xx, once sent. */
  readonly acceptance: Promise<Dialog> | undefined;
  /** Read through a method: TypeScript keeps a narrowing of `state` across an await. */
  isEnded(): boolean;
  /** `leg` is now the B side of the bridge (a new attempt). */
  setB(leg: Leg): void;
  /** `dialog` is `leg`'s (listeners, SDP hooks, the BYE table). */
  track(leg: Leg, dialog: Dialog): void;
  /** A provisional went to the caller: the call is early, A's early dialog is the A leg's. */
  early(status: number): void;
  /** The 2xx to the caller (`sdp`: the answer, or B's offer on the late-offer path); the call is answered. */
  accept(sdp: string | undefined, headers: SipHeaders | undefined, ok: SipResponse | undefined): Promise<Dialog>;
}
