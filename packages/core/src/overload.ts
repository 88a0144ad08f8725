// Graceful overload (DESIGN.md: "past capacity, shed new work early and statelessly"). A stack
// that queues everything collapses: with an 8 MiB UDP receive buffer a saturated process holds
// seconds of requests, every one of them is retransmitted meanwhile (Timer A/E), and the work
// grows while the goodput falls. Two signals show saturation before that happens:
//   - the event-loop delay (a timer that should fire every `sampleInterval` ms fires late), and
//   - the fill of the UDP receive queue (Linux: rx_queue of our socket in /proc/net/udp[6]).
// Past a threshold new out-of-dialog requests are answered 503 + Retry-After without creating
// state ('shedding'); far past it they are dropped unanswered ('dropping'), which costs even
// less. Retransmissions, ACKs, CANCELs, responses and in-dialog requests always go through, so
// accepted calls complete. Shedding ends once both signals stayed low for `recoveryTime`.
import { readFile } from 'node:fs';
import type { AdmissionDecision } from '@sipts/transaction';
import { SipCoreError } from './errors.js';

export interface OverloadOptions {
  /** false turns load shedding off (the maxServerTransactions guard stays). Default true. */
  enabled?: boolean | undefined;
  /** Smoothed event-loop delay (ms) from which new requests get 503. Default 40. */
  shedDelay?: number | undefined;
  /** Smoothed event-loop delay (ms) from which new requests are dropped unanswered. Default 200. */
  dropDelay?: number | undefined;
  /** Fill of the UDP receive buffer (0..1) from which new requests get 503. Default 0.02. */
  shedQueueFill?: number | undefined;
  /** Fill of the UDP receive buffer (0..1) from which new requests are dropped. Default 0.15. */
  dropQueueFill?: number | undefined;
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
  /** Fill of the UDP receive buffer, 0..1 (0 when unknown). */
  queueFill: number;
}

/** What the overload controller reports in `stats().overload` and the 'overload' event. */
export interface OverloadStats {
  state: OverloadState;
  /** Smoothed event-loop delay, ms. */
  delayMs: number;
  /** Last UDP receive-queue fill, 0..1. */
  queueFill: number;
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
  shedQueueFill: number;
  dropQueueFill: number;
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
  const shedQueueFill = num('shedQueueFill', options.shedQueueFill, 0.02, 1);
  return {
    enabled: options.enabled !== false,
    shedDelay,
    dropDelay: Math.max(shedDelay, num('dropDelay', options.dropDelay, 200)),
    shedQueueFill,
    dropQueueFill: Math.max(shedQueueFill, num('dropQueueFill', options.dropQueueFill, 0.15, 1)),
    recoveryTime: num('recoveryTime', options.recoveryTime, 2000),
    sampleInterval: num('sampleInterval', options.sampleInterval, 50),
  };
}

/** The decision: a pure state machine over samples, driven by the sampler or by a test. */
export class OverloadController {
  readonly options: Readonly<Resolved>;
  #state: OverloadState = 'normal';
  #delay = 0;
  #fill = 0;
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
   * Feed one sample taken at `now` (ms). The delay is smoothed (EWMA, weight 1/4: one GC pause
   * does not shed, a lasting one does); the queue fill is taken as it is (it is already a level).
   */
  update(signal: LoadSignal, now: number): OverloadState {
    const o = this.options;
    this.#delay += (Math.max(0, signal.delayMs) - this.#delay) / 4;
    this.#fill = Math.max(0, signal.queueFill);
    const target: OverloadState =
      this.#delay >= o.dropDelay || this.#fill >= o.dropQueueFill
        ? 'dropping'
        : this.#delay >= o.shedDelay || this.#fill >= o.shedQueueFill
          ? 'shedding'
          : 'normal';
    if (this.#delay >= o.shedDelay / 2 || this.#fill >= o.shedQueueFill / 2) this.#lastBusy = now;
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
    return { state: this.#state, delayMs: Math.round(this.#delay * 10) / 10, queueFill: Math.round(this.#fill * 1000) / 1000, ...this.#counts };
  }
}

/** Where the sampler finds the UDP socket's receive queue. */
export interface UdpQueueSource {
  /** The local port of the UDP socket, once bound. */
  port(): number | undefined;
  /** SO_RCVBUF as the OS reports it (what rx_queue is measured against). */
  bufferSize(): number | undefined;
}

/**
 * Samples the signals with real time: a timer every `sampleInterval` ms measures how late it
 * fires, and on Linux /proc/net/udp[6] gives the receive queue of the socket. Unref'd, so it
 * never keeps a process alive.
 */
export class LoadSampler {
  readonly #controller: OverloadController;
  readonly #udp: UdpQueueSource | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #queueFill = 0;
  #reading = false;
  #procMissing = false;

  constructor(controller: OverloadController, udp: UdpQueueSource | undefined) {
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
    this.#controller.update({ delayMs: delay, queueFill: this.#queueFill }, now);
    this.#readQueue();
  }

  #readQueue(): void {
    const udp = this.#udp;
    if (udp === undefined || this.#reading || this.#procMissing || process.platform !== 'linux') return;
    const port = udp.port();
    const size = udp.bufferSize();
    if (port === undefined || size === undefined || size <= 0) return;
    this.#reading = true;
    readFile('/proc/net/udp', 'latin1', (error4, v4) => {
      readFile('/proc/net/udp6', 'latin1', (_error6, v6) => {
        this.#reading = false;
        if (error4 !== null) {
          this.#procMissing = true;
          return;
        }
        const queued = rxQueueOf(v4, port) + (typeof v6 === 'string' ? rxQueueOf(v6, port) : 0);
        this.#queueFill = queued / size;
      });
    });
  }
}

/**
 * The rx_queue (bytes held by the kernel) of the sockets bound to local `port` in a
 * /proc/net/udp listing: lines `sl local_address rem_address st tx_queue:rx_queue ...` with
 * hexadecimal fields.
 */
export function rxQueueOf(listing: string, port: number): number {
  const wanted = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let total = 0;
  let start = listing.indexOf('\n') + 1;
  while (start > 0 && start < listing.length) {
    let end = listing.indexOf('\n', start);
    if (end < 0) end = listing.length;
    const fields = listing.slice(start, end).trim().split(/\s+/);
    const local = fields[1];
    const queues = fields[4];
    if (local !== undefined && queues !== undefined && local.endsWith(wanted)) {
      const colon = queues.indexOf(':');
      if (colon > 0) total += parseInt(queues.slice(colon + 1), 16) || 0;
    }
    start = end + 1;
  }
  return total;
}
