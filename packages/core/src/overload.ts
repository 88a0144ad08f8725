// Graceful overload (DESIGN.md: "past capacity, shed new work early and statelessly"). A stack
// that queues everything collapses: with an 8 MiB UDP receive buffer a saturated process holds
// seconds of requests, every one of them is retransmitted meanwhile (Timer A/E), and the work
// grows while the goodput falls. Two signals show saturation before that happens:
//   - the event-loop delay (a timer that should fire every `sampleInterval` ms fires late), and
//   - the UDP receive delay: how long a datagram waits in the kernel queue and for the event
//     loop before it is read, measured by a probe the UDP transport sends to its own socket.
// Past a threshold new out-of-dialog requests are answered 503 + Retry-After without creating
// state ('shedding'); far past it they are dropped unanswered ('dropping'), which costs even
// less. Retransmissions, ACKs, CANCELs, responses and in-dialog requests always go through, so
// accepted calls complete. Shedding ends once both signals stayed low for `recoveryTime`.
import type { AdmissionDecision } from '@sipts/transaction';
import { SipCoreError } from './errors.js';

export interface OverloadOptions {
  /** false turns load shedding off (the maxServerTransactions guard stays). Default true. */
  enabled?: boolean | undefined;
  /** Smoothed event-loop delay (ms) from which new requests get 503. Default 40. */
  shedDelay?: number | undefined;
  /** Smoothed event-loop delay (ms) from which new requests are dropped unanswered. Default 200. */
  dropDelay?: number | undefined;
  /** Smoothed UDP receive delay (ms) from which new requests get 503. Default 100. */
  shedQueueDelay?: number | undefined;
  /** Smoothed UDP receive delay (ms) from which new requests are dropped. Default 400. */
  dropQueueDelay?: number | undefined;
  /** How long (ms) both signals must stay below half their shed threshold to end shedding. Default 2000. */
  recoveryTime?: number | undefined;
  /** How often (ms) the signals are sampled. Default 50. */
  sampleInterval?: number | undefined;
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
  recoveryTime: number;
  sampleInterval: number;
}

function resolve(options: OverloadOptions): Resolved {
  const num = (name: keyof OverloadOptions, value: unknown, fallback: number, max = Infinity): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value > 0) || value > max) {
      throw new SipCoreError('ERR_INVALID_OPTION', `options.overload.${name} must be a positive number${max < Infinity ? ` up to ${max}` : ''}`);
    }
    return value;
  };
  const shedDelay = num('shedDelay', options.shedDelay, 40);
  const shedQueueDelay = num('shedQueueDelay', options.shedQueueDelay, 100);
  return {
    enabled: options.enabled !== false,
    shedDelay,
    dropDelay: Math.max(shedDelay, num('dropDelay', options.dropDelay, 200)),
    shedQueueDelay,
    dropQueueDelay: Math.max(shedQueueDelay, num('dropQueueDelay', options.dropQueueDelay, 400)),
    recoveryTime: num('recoveryTime', options.recoveryTime, 2000),
    sampleInterval: num('sampleInterval', options.sampleInterval, 50),
  };
}

/** The decision: a pure state machine over samples, driven by the sampler or by a test. */
export class OverloadController {
  readonly options: Readonly<Resolved>;
  #state: OverloadState = 'normal';
  #delay = 0;
  #queue = 0;
  /** When the signals last were above half the shed thresholds. */
  #lastBusy = -Infinity;
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
   * Feed one sample taken at `now` (ms). Both delays are smoothed (EWMA, weight 1/4: one GC
   * pause does not shed, a lasting delay does within a few samples).
   */
  update(signal: LoadSignal, now: number): OverloadState {
    const o = this.options;
    this.#delay += (Math.max(0, signal.delayMs) - this.#delay) / 4;
    this.#queue += (Math.max(0, signal.queueDelayMs) - this.#queue) / 4;
    const target: OverloadState =
      this.#delay >= o.dropDelay || this.#queue >= o.dropQueueDelay
        ? 'dropping'
        : this.#delay >= o.shedDelay || this.#queue >= o.shedQueueDelay
          ? 'shedding'
          : 'normal';
    if (this.#delay >= o.shedDelay / 2 || this.#queue >= o.shedQueueDelay / 2) this.#lastBusy = now;
    // Escalate at once; step down from dropping as soon as its signal is gone, but end
    // shedding only after `recoveryTime` of calm (hysteresis: no flapping at the threshold).
    let next: OverloadState = target;
    if (target === 'normal' && this.#state !== 'normal' && now - this.#lastBusy < o.recoveryTime) next = 'shedding';
    if (next !== this.#state) {
      if (this.#state === 'normal') this.#counts.episodes++;
      this.#state = next;
      this.#onChange(next, this.stats());
    }
    return next;
  }

  /** The admission decision for a new out-of-dialog request (see TransactionLayer's `admit`). */
  admit(): AdmissionDecision {
    switch (this.#state) {
      case 'normal':
        return 'accept';
      case 'shedding':
        this.#counts.rejected++;
        return 'reject';
      case 'dropping':
        this.#counts.dropped++;
        return 'drop';
    }
  }

  stats(): OverloadStats {
    return { state: this.#state, delayMs: Math.round(this.#delay * 10) / 10, queueDelayMs: Math.round(this.#queue * 10) / 10, ...this.#counts };
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
