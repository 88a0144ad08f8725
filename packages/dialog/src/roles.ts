// The small interfaces the dialog layer's parts talk through, kept in one file below all of
// them so no two files import each other: what a dialog needs from its UA, what answers a
// CANCEL, what an early UAS dialog hands to its incoming INVITE, and who waits for an ACK.
import type { ServerReply, SipStack } from '@sipts/core';
import type { SipRequest } from '@sipts/message';
import type { DialogError } from './errors.js';
import type { NormalizedUaOptions } from './options.js';
import type { TimerHeap } from './timers.js';

/** What a dialog needs from its UA. */
export interface DialogHost<D> {
  readonly stack: SipStack;
  readonly options: NormalizedUaOptions<D>;
  readonly timers: TimerHeap;
  /** Allow header value of our requests and responses. */
  readonly allow: string;
  /** Supported header value of our requests and responses. */
  readonly supported: string;
  /** The dialog ended: drop it from the table. */
  dialogEnded(dialog: D): void;
  /** A pending INVITE server transaction a CANCEL may target (undefined target: no longer). */
  trackInvite(reply: ServerReply, target: CancelTarget | undefined): void;
  report(error: unknown): void;
}

/** Who answers a CANCEL that matched a pending INVITE server transaction (RFC 3261 §9.2). */
export interface CancelTarget {
  cancelled(): void;
}

/** The UAS side of an early dialog: the incoming INVITE, which takes PRACK and an early BYE. */
export interface EarlyServer {
  receivePrack(request: SipRequest, reply: ServerReply): void;
  /** RFC 3261 §15.1.2: BYE on the early dialog; the INVITE is answered 487. */
  earlyBye(): void;
}

/** Who waits for the ACK of our 2xx (an accept() promise). */
export interface AckWaiter {
  acked(ack: SipRequest): void;
  failed(error: DialogError): void;
}

/** An incoming re-INVITE we have not answered yet. */
export interface PendingInvite {
  request: SipRequest;
  reply: ServerReply;
}
