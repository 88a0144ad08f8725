// What every transaction has: identity, state, up to two timer slots, the peer and transport,
// and sending bytes with transport failures reported once; and what a transaction needs from
// the layer that owns it (`TransactionHost`: the layer implements it, transactions see only it).
import type { Remote, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import { TimerSlot, type TimerName, type TimerOwner, type TimerQueue } from './timers.js';
import type { SendOptions, Transport } from './transport.js';

/**
 * RFC 3261 §17 states (RFC 6026 adds `accepted`):
 * INVITE client: calling → proceeding → completed | accepted → terminated;
 * non-INVITE client: trying → proceeding → completed → terminated;
 * INVITE server: proceeding → completed → confirmed | accepted → terminated;
 * non-INVITE server: trying → proceeding → completed → terminated.
 */
export type TransactionState =
  | 'calling'
  | 'trying'
  | 'proceeding'
  | 'completed'
  | 'confirmed'
  | 'accepted'
  | 'terminated';

export type TransactionKind = 'invite-client' | 'non-invite-client' | 'invite-server' | 'non-invite-server';

/** Why a message was sent again. */
export type RetransmitReason =
  /** Timer A (INVITE client), E (non-INVITE client), G (INVITE server) fired. */
  | 'A'
  | 'E'
  | 'G'
  /** A server transaction resent its last response because the request came again. */
  | 'request'
  /** An INVITE client transaction resent its ACK because the non-2xx final came again. */
  | 'response';

/** Resolved timer values in milliseconds. */
export interface TimerValues {
  t1: number;
  t2: number;
  t4: number;
  ringTimeLimit: number;
  answerTimeLimit: number;
  tryingDelay: number;
}

export type ResponseHandler = (response: SipResponse, remote: Remote | undefined) => void;

export interface TransactionHost {
  readonly timers: TimerQueue;
  readonly values: TimerValues;
  serialize(message: SipMessage): Uint8Array;
  /**
   * The text of a message, for one a transaction keeps to resend (a final response, an ACK).
   * Kept as text, it is one flat string on the heap; as bytes it would be an array, its buffer
   * and a native backing store, three things for the GC per transaction for 32 s.
   */
  text(message: SipMessage): string;
  encode(text: string): Uint8Array;
  stateChanged(tx: Transaction, from: TransactionState, to: TransactionState): void;
  retransmitted(tx: Transaction, reason: RetransmitReason): void;
  timedOut(tx: Transaction, timer: TimerName): void;
  transportFailed(tx: Transaction, error: Error): void;
  tuFailed(error: unknown, message: SipMessage): void;
  internalError(error: unknown): void;
  /** Starts a client transaction for a request a transaction makes itself (the CANCEL of §9.1). */
  startClient(
    request: SipRequest,
    transport: Transport,
    target: Remote,
    onResponse: ResponseHandler,
    sendOptions: SendOptions | undefined,
  ): void;
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export abstract class Transaction implements TimerOwner {
  abstract readonly kind: TransactionKind;
  protected currentState: TransactionState;
  /** @internal the table key (set by the layer). */
  key = '';
  /** @internal a second table key (RFC 2543 server transactions), or ''. */
  key2 = '';
  private primarySlot: TimerSlot | undefined;
  private secondarySlot: TimerSlot | undefined;

  protected constructor(
    protected readonly host: TransactionHost,
    /** The request method (CSeq method) of the transaction. */
    readonly method: string,
    /** The top Via branch of the request, as it appears in the request. */
    readonly branch: string,
    /** The transport the request arrived on (server) or is sent on (client). */
    readonly transport: Transport,
    /** The peer: where the request came from (server) or goes to (client). */
    readonly remote: Remote,
    initial: TransactionState,
    private readonly sendOptions: SendOptions | undefined,
  ) {
    this.currentState = initial;
  }

  get state(): TransactionState {
    return this.currentState;
  }

  get terminated(): boolean {
    return this.currentState === 'terminated';
  }

  /** RFC 3261 §17: retransmissions (A, E, G) and non-zero wait timers only on unreliable ones. */
  get reliable(): boolean {
    return this.transport.reliable;
  }

  abstract onTimer(name: TimerName): void;

  /** A send failed (the transport's promise rejected, or it threw). */
  protected abstract sendFailed(error: Error): void;

  /** Drops references to messages once they are no longer needed. */
  protected abstract release(): void;

  protected setState(to: TransactionState): void {
    const from = this.currentState;
    if (from === to) return;
    this.currentState = to;
    this.host.stateChanged(this, from, to);
  }

  protected startPrimary(name: TimerName, ms: number): void {
    this.primarySlot ??= new TimerSlot(this);
    this.host.timers.schedule(this.primarySlot, name, ms);
  }

  protected startSecondary(name: TimerName, ms: number): void {
    this.secondarySlot ??= new TimerSlot(this);
    this.host.timers.schedule(this.secondarySlot, name, ms);
  }

  // A stopped slot is dropped rather than kept for reuse: a transaction spends most of its life
  // waiting on one timer (L, M, J, D...), and every retained byte counts for 32 s.
  protected stopPrimary(): void {
    if (this.primarySlot) {
      this.host.timers.cancel(this.primarySlot);
      this.primarySlot = undefined;
    }
  }

  protected stopSecondary(): void {
    if (this.secondarySlot) {
      this.host.timers.cancel(this.secondarySlot);
      this.secondarySlot = undefined;
    }
  }

  /** The name of the running primary timer, if any. */
  protected primaryTimer(): TimerName | undefined {
    return this.primarySlot?.scheduled === true ? this.primarySlot.name : undefined;
  }

  protected secondaryTimer(): TimerName | undefined {
    return this.secondarySlot?.scheduled === true ? this.secondarySlot.name : undefined;
  }

  protected sendBytes(bytes: Uint8Array): void {
    let sent: Promise<void>;
    try {
      sent = this.transport.send(bytes, this.remote, this.sendOptions);
    } catch (e) {
      // A transport that throws instead of rejecting: report it asynchronously all the same,
      // so a TU never hears of a failure before the call that caused it returns.
      sent = Promise.reject(toError(e));
    }
    // A closure per send, not one per transaction: it is garbage as soon as the send settles,
    // while a per-transaction one would be retained for the transaction's whole life.
    sent.then(undefined, (e: unknown) => {
      if (this.currentState !== 'terminated') this.sendFailed(toError(e));
    });
  }

  /** Enters Terminated: stops every timer, leaves the tables (via the layer), drops messages. */
  terminate(): void {
    if (this.currentState === 'terminated') return;
    this.stopPrimary();
    this.stopSecondary();
    this.release();
    this.setState('terminated');
  }
}
