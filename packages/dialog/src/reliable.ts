// Reliable provisional responses on the UAS side (RFC 3262 §3): RSeq numbering from a random
// start, one outstanding at a time (the next ones wait for its PRACK), retransmission at T1
// doubling until the PRACK, and the 64*T1 limit. Created by an incoming call the first time it
// sends a provisional reliably.
import { randomInt } from 'node:crypto';
import type { SipRequest, SipResponse } from '@sipts/message';
import type { DialogError } from './errors.js';
import type { RAck } from './headers.js';
import { TimerSlot, type TimerHeap, type TimerOwner } from './timers.js';

/** What the reliable provisionals need from their incoming call. */
export interface ReliableOwner<O> {
  readonly timers: TimerHeap;
  readonly t1: number;
  /** Sends provisional `status` with `rseq` (Require: 100rel, RSeq) and returns it. */
  sendReliable(status: number, options: O, rseq: number): SipResponse;
  /** Sends `response` again. */
  resend(response: SipResponse): void;
  /** RFC 3262 §3: no PRACK within 64*T1. */
  prackTimedOut(): void;
}

interface Outstanding {
  response: SipResponse;
  rseq: number;
  hasSdp: boolean;
  interval: number;
  deadline: number;
  resolve: (prack: SipRequest | undefined) => void;
  reject: (e: DialogError) => void;
}

interface Queued<O> {
  status: number;
  options: O;
  hasSdp: boolean;
  resolve: (prack: SipRequest | undefined) => void;
  reject: (e: DialogError) => void;
}

/** Reliable provisionals waiting for the outstanding one's PRACK. */
export const MAX_QUEUED = 8;

export class ReliableProvisionals<O> implements TimerOwner {
  readonly #owner: ReliableOwner<O>;
  readonly #firstRSeq = randomInt(1, 2 ** 31);
  #nextRSeq = this.#firstRSeq;
  #outstanding: Outstanding | undefined;
  #queue: Array<Queued<O>> | undefined;
  readonly #slot: TimerSlot;

  constructor(owner: ReliableOwner<O>) {
    this.#owner = owner;
    this.#slot = new TimerSlot(this);
  }

  /** An unacknowledged one carried SDP: no 2xx before its PRACK (RFC 3262 §3). */
  get holdsAnswer(): boolean {
    return this.#outstanding !== undefined && this.#outstanding.hasSdp;
  }

  /** Sends now, or after the PRACK of the outstanding one; false when too many wait already. */
  send(status: number, options: O, hasSdp: boolean, resolve: Outstanding['resolve'], reject: Outstanding['reject']): boolean {
    if (this.#outstanding === undefined) {
      this.#sendNow(status, options, hasSdp, resolve, reject);
      return true;
    }
    const queue = (this.#queue ??= []);
    if (queue.length >= MAX_QUEUED) return false;
    queue.push({ status, options, hasSdp, resolve, reject });
    return true;
  }

  #sendNow(status: number, options: O, hasSdp: boolean, resolve: Outstanding['resolve'], reject: Outstanding['reject']): void {
    const rseq = this.#nextRSeq++;
    const response = this.#owner.sendReliable(status, options, rseq);
    const t1 = this.#owner.t1;
    this.#outstanding = { response, rseq, hasSdp, interval: t1, deadline: this.#owner.timers.now() + 64 * t1, resolve, reject };
    this.#owner.timers.schedule(this.#slot, 1, t1);
  }

  /**
   * Which of ours a PRACK acknowledges (RFC 3262 §3): `outstanding`, `earlier` (one already
   * acknowledged or stopped by the 2xx: answered 200, nothing to do), or undefined (481).
   */
  match(rack: RAck | undefined, inviteSeq: number): 'outstanding' | 'earlier' | undefined {
    if (rack === undefined || rack.cseq !== inviteSeq || rack.method !== 'INVITE' || rack.rseq < this.#firstRSeq || rack.rseq >= this.#nextRSeq) return undefined;
    return this.#outstanding !== undefined && rack.rseq === this.#outstanding.rseq ? 'outstanding' : 'earlier';
  }

  /** The outstanding one was PRACKed: its progress() resolves with the PRACK. */
  acknowledged(prack: SipRequest): void {
    const outstanding = this.#outstanding;
    this.#outstanding = undefined;
    this.#owner.timers.cancel(this.#slot);
    outstanding?.resolve(prack);
  }

  /** Sends the next one waiting, if any. */
  next(): void {
    const queued = this.#queue?.shift();
    if (queued !== undefined) this.#sendNow(queued.status, queued.options, queued.hasSdp, queued.resolve, queued.reject);
  }

  /** accept() was called: provisionals still waiting are not sent (their progress() resolves). */
  dropQueued(): void {
    const queue = this.#queue;
    this.#queue = undefined;
    if (queue !== undefined) for (const q of queue) q.resolve(undefined);
  }

  /** The 2xx went out: no more retransmissions; pending progress() calls resolve without a PRACK. */
  stop(): void {
    this.#owner.timers.cancel(this.#slot);
    const outstanding = this.#outstanding;
    this.#outstanding = undefined;
    outstanding?.resolve(undefined);
    const queue = this.#queue;
    this.#queue = undefined;
    if (queue !== undefined) for (const q of queue) q.resolve(undefined);
  }

  /** The call ended: every pending progress() rejects with `error`. */
  fail(error: DialogError): void {
    this.#owner.timers.cancel(this.#slot);
    const outstanding = this.#outstanding;
    this.#outstanding = undefined;
    outstanding?.reject(error);
    const queue = this.#queue;
    this.#queue = undefined;
    if (queue !== undefined) for (const q of queue) q.reject(error);
  }

  /** @internal RFC 3262 §3: resent at T1, doubling each time, until 64*T1. */
  onTimer(): void {
    const outstanding = this.#outstanding;
    if (outstanding === undefined) return;
    const now = this.#owner.timers.now();
    if (now >= outstanding.deadline) {
      this.#owner.prackTimedOut();
      return;
    }
    this.#owner.resend(outstanding.response);
    outstanding.interval *= 2;
    this.#owner.timers.schedule(this.#slot, 1, Math.min(outstanding.interval, outstanding.deadline - now));
  }
}
