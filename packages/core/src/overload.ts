// Graceful overload (DESIGN.md: "past capacity, shed new work early and statelessly"). A stack
// that queues everything collapses: with an 8 MiB UDP receive buffer a saturated process holds
// seconds of requests, every one of them is retransmitted meanwhile (Timer A/E), and the work
// grows while the goodput falls. Two signals show saturation before that happens:
//   - the event-loop delay (a timer that should fire every `sampleInterval` ms fires late), and
//   - the UDP receive delay: how long a datagram waits in the kernel queue and for the event
//     loop before it is read, measured by a probe the UDP transport sends to its own socket.
// Past a target delay a share of new out-of-dialog requests is answered 503 + Retry-After
// without creating state ('shedding'); far past it they are all dropped unanswered ('dropping'),
// which costs even less. The share is an integral controller on the delay: it grows in
// proportion to how far a signal is over its target and shrinks in proportion to how far under
// it both are, so it settles at the share that keeps the delay at the target (the accepted load
// is then what the process carries) instead of swinging between all and nothing. It grows only
// once a signal has been over its target sample after sample for `sustainTime`: a stall of the
// event loop (a GC pause, a descheduled process) is one late sample however long it lasts, and
// the backlog it leaves drains by itself when the load is one the process carries.
// Retransmissions, ACKs, CANCELs, responses and in-dialog requests always go through, so
// accepted calls complete.
import type { AdmissionDecision } from '@sipts/transaction';
import { SipCoreError } from './errors.js';

export interface OverloadOptions {
  /** false turns load shedding off (the maxServerTransactions guard stays). Default true. */
  enabled?: boolean | undefined;
  /** Smoothed event-loop delay (ms) the shedding aims at: above it a share of new requests gets 503. Default 200. */
  shedDelay?: number | undefined;
  /** Smoothed event-loop delay (ms) from which new requests are dropped unanswered. Default 1000. */
  dropDelay?: number | undefined;
  /**
   * Smoothed UDP receive delay (ms) the shedding aims at: above it a share of new requests gets
   * 503. Default 300: below T1 (500 ms, when UDP peers retransmit), above what GC pauses of a
   * loaded heap cause while the load is sustainable. (500 with a 1 s smoothing was tried in
   * `pnpm bench:proxy`: at 1800 calls/s, 1.5x capacity, it reacted late enough for the receive
   * queue to overflow: 365 calls/s of goodput and 43288 kernel drops, where this tuning kept
   * 1794 calls/s of goodput at the same offered rate.)
   */
  shedQueueDelay?: number | undefined;
  /** Smoothed UDP receive delay (ms) from which new requests are dropped. Default 2000. */
  dropQueueDelay?: number | undefined;
  /** How long (ms) the shed share takes to rise from none to all while a signal is at twice its target. Default 1000. */
  rampTime?: number | undefined;
  /** How long (ms) it takes to fall from all to none while both signals are at zero. Default 1000. */
  recoveryTime?: number | undefined;
  /**
   * How long (ms) a signal must have been over its target, in every sample, before the shed
   * share grows. Default 100 (three samples 50 ms apart). A stall of the event loop shows as
   * one late sample however long it is; without this, one 400 ms GC pause at 75% load shed a
   * third of new calls for most of a second (`pnpm bench:proxy` soak runs lost 31 and 77 calls
   * of 630000 that way). A backlog that lasts is over the target in every sample.
   */
  sustainTime?: number | undefined;
  /** How often (ms) the signals are sampled. Default 50. */
  sampleInterval?: number | undefined;
  /**
   * Time constant (ms) of the smoothing of both signals (an exponential moving average). Default
   * 200 (about four samples): a single late sample moves the smoothed delay by a fifth of its
   * size, a backlog that lasts moves it all the way within half a second.
   */
  smoothingTime?: number | undefined;
}

export type OverloadState = 'normal' | 'shedding' | 'dropping';

/** One sample of the load signals. */
export interface LoadSignal {
  /** Event-loop delay of this sample, in ms. */
  delayMs: number;
  /** UDP receive delay of this sample, in ms (0 when there is no UDP transport). */
  queueDelayMs: number;
}

/** What the overload controller reports in `stats().overload` and the 'overload' event. */
export interface OverloadStats {
  state: OverloadState;
  /** Smoothed event-loop delay, ms. */
  delayMs: number;
  /** Smoothed UDP receive delay, ms. */
  queueDelayMs: number;
  /** The share of new requests refused now, 0..1. */
  shedShare: number;
  /** How many times shedding started. */
  episodes: number;
  /** Decisions taken while shedding: answered 503 / dropped. */
  rejected: number;
  dropped: number;
}

interface Resolved {
  enabled: boolean;
  shedDelay: number;
  dropDelay: number;
  shedQueueDelay: number;
  dropQueueDelay: number;
  rampTime: number;
  recoveryTime: number;
  sustainTime: number;
  sampleInterval: number;
  smoothingTime: number;
}

function resolve(options: OverloadOptions): Resolved {
  const num = (name: keyof OverloadOptions, value: unknown, fallback: number, max = Infinity): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value > 0) || value > max) {
      throw new SipCoreError('ERR_INVALID_OPTION', `options.overload.${name} must be a positive number${max < Infinity ? ` up to ${max}` : ''}`);
    }
    return value;
  };
  const shedDelay = num('shedDelay', options.shedDelay, 200);
  const shedQueueDelay = num('shedQueueDelay', options.shedQueueDelay, 300);
  return {
    enabled: options.enabled !== false,
    shedDelay,
    dropDelay: Math.max(shedDelay, num('dropDelay', options.dropDelay, 1000)),
    shedQueueDelay,
    dropQueueDelay: Math.max(shedQueueDelay, num('dropQueueDelay', options.dropQueueDelay, 2000)),
    rampTime: num('rampTime', options.rampTime, 1000),
    recoveryTime: num('recoveryTime', options.recoveryTime, 1000),
    sustainTime: options.sustainTime === 0 ? 0 : num('sustainTime', options.sustainTime, 100),
    sampleInterval: num('sampleInterval', options.sampleInterval, 50),
    smoothingTime: num('smoothingTime', options.smoothingTime, 200),
  };
}

/** The decision: a pure state machine over samples, driven by the sampler or by a test. */
export class OverloadController {
  readonly options: Readonly<Resolved>;
  #state: OverloadState = 'normal';
  #delay = 0;
  #queue = 0;
  /** The share of new requests refused, 0..1, and the credit that turns it into refusals. */
  #share = 0;
  #credit = 0;
  #lastSample = Number.NaN;
  /** When the raw signals went over a target and have stayed over it since (NaN: under now). */
  #overSince = Number.NaN;
  readonly #counts = { episodes: 0, rejected: 0, dropped: 0 };
  readonly #onChange: (state: OverloadState, stats: OverloadStats) => void;

  constructor(options: OverloadOptions = {}, onChange: (state: OverloadState, stats: OverloadStats) => void = () => {}) {
    this.options = resolve(options);
    this.#onChange = onChange;
  }

  get state(): OverloadState {
    return this.#state;
  }

  /**
   * Feed one sample taken at `now` (ms). Both delays are smoothed (EWMA with time constant
   * `smoothingTime`: weight 1 - exp(-elapsed/smoothingTime)). With `e`
   * the larger of delay/target - 1 over the two signals: over the targets (e > 0) the refused
   * share grows by min(e, 2) * elapsed/rampTime, once this sample's own delays have been over
   * a target for `sustainTime` (in every sample since); under both (e < 0) it shrinks by
   * -e * elapsed/recoveryTime.
   */
  update(signal: LoadSignal, now: number): OverloadState {
    const o = this.options;
    const elapsed = Number.isNaN(this.#lastSample) ? o.sampleInterval : Math.max(0, Math.min(now - this.#lastSample, 10 * o.sampleInterval));
    this.#lastSample = now;
    const weight = 1 - Math.exp(-elapsed / o.smoothingTime);
    this.#delay += (Math.max(0, signal.delayMs) - this.#delay) * weight;
    this.#queue += (Math.max(0, signal.queueDelayMs) - this.#queue) * weight;
    if (signal.delayMs > o.shedDelay || signal.queueDelayMs > o.shedQueueDelay) {
      if (Number.isNaN(this.#overSince)) this.#overSince = now;
    } else {
      this.#overSince = Number.NaN;
    }
    let next: OverloadState;
    if (this.#delay >= o.dropDelay || this.#queue >= o.dropQueueDelay) {
      this.#share = 1;
      next = 'dropping';
    } else {
      const e = Math.max(this.#delay / o.shedDelay, this.#queue / o.shedQueueDelay) - 1;
      if (e > 0) {
        // Over the target: grows only while the delay lasts (false while #overSince is NaN).
        if (now - this.#overSince >= o.sustainTime) this.#share = Math.min(1, this.#share + (Math.min(e, 2) * elapsed) / o.rampTime);
      } else if (this.#share > 0) {
        this.#share = Math.max(0, this.#share + (e * elapsed) / o.recoveryTime);
      }
      // A share too small to refuse anything within a second of traffic is none.
      if (this.#share < 0.001) this.#share = 0;
      next = this.#share > 0 ? 'shedding' : 'normal';
    }
    if (next === 'normal') this.#credit = 0;
    if (next !== this.#state) {
      if (this.#state === 'normal') this.#counts.episodes++;
      this.#state = next;
      this.#onChange(next, this.stats());
    }
    return next;
  }

  /**
   * The admission decision for a new out-of-dialog request (see TransactionLayer's `admit`).
   * While shedding, the refused share is applied exactly, without randomness: each request adds
   * the share to a credit, and a request that brings it to 1 is refused.
   */
  admit(): AdmissionDecision {
    switch (this.#state) {
      case 'normal':
        return 'accept';
      case 'shedding':
        this.#credit += this.#share;
        if (this.#credit < 0.999999) return 'accept'; // (0.1 added ten times is 0.9999999999999999)
        this.#credit -= 1;
        this.#counts.rejected++;
        return 'reject';
      case 'dropping':
        this.#counts.dropped++;
        return 'drop';
    }
  }

  stats(): OverloadStats {
    return {
      state: this.#state,
      delayMs: Math.round(this.#delay * 10) / 10,
      queueDelayMs: Math.round(this.#queue * 10) / 10,
      shedShare: Math.round(this.#share * 1000) / 1000,
      ...this.#counts,
    };
  }
}

/** The UDP transport's receive-delay probe (by shape: @sipts/transport-udp has it). */
export interface ReceiveDelaySource {
  /** Sends a probe unless one is in flight; returns the latest receive delay in ms. */
  receiveDelay(): number;
}

/**
 * Samples the signals with real time: a timer every `sampleInterval` ms measures how late it
 * fires and asks the UDP transport for its receive delay. Unref'd, so it never keeps a process
 * alive.
 */
export class LoadSampler {
  readonly #controller: OverloadController;
  readonly #udp: ReceiveDelaySource | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  constructor(controller: OverloadController, udp: ReceiveDelaySource | undefined) {
    this.#controller = controller;
    this.#udp = udp;
  }

  start(): void {
    if (this.#timer !== undefined || !this.#controller.options.enabled) return;
    const interval = this.#controller.options.sampleInterval;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(interval), interval);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(interval: number): void {
    const now = performance.now();
    const delay = now - this.#last - interval;
    this.#last = now;
    let queueDelayMs = 0;
    try {
      queueDelayMs = this.#udp?.receiveDelay() ?? 0;
    } catch {
      queueDelayMs = 0;
    }
    this.#controller.update({ delayMs: delay, queueDelayMs }, now);
  }
}
