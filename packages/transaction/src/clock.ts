// Time for the transaction layer. Every SIP timer goes through an injected Clock so tests run
// on fake time and a stack can share one clock; the default uses Node's timers.

/** An opaque handle returned by `Clock.setTimeout`. */
export type ClockHandle = unknown;

/**
 * The time source the transaction layer uses. `now()` is in milliseconds and must never go
 * backwards (a monotonic clock); `setTimeout` must call `fn` once, no earlier than `ms` later.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockHandle;
  clearTimeout(handle: ClockHandle): void;
}

/**
 * The default clock: `performance.now()` and Node's `setTimeout`. Handles are unref'd so a
 * pending SIP timer never keeps a process alive on its own (the sockets do that); the layer
 * clears its single timer on `shutdown()` anyway.
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn: () => void, ms: number): ClockHandle {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle: ClockHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * A clock that moves only when told to: for tests of anything built on the transaction layer.
 * `advance(ms)` runs every timer due in that window in time order, with `now()` equal to each
 * timer's due time while it runs.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): ClockHandle {
    const timer: ManualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: ClockHandle): void {
    const timer = handle as ManualTimer | undefined;
    if (timer && typeof timer === 'object') timer.fn = undefined;
  }

  /** Timers scheduled and not yet run or cleared. */
  pending(): number {
    let n = 0;
    for (const t of this.timers) if (t.fn) n++;
    return n;
  }

  /** Moves time forward by `ms`, running due timers in order (timers they set included). */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `time`, running due timers in order. */
  advanceTo(time: number): void {
    for (;;) {
      let next: ManualTimer | undefined;
      let nextIndex = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const t = this.timers[i]!;
        if (!t.fn) continue;
        if (t.at <= time && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) {
          next = t;
          nextIndex = i;
        }
      }
      if (!next) break;
      this.timers.splice(nextIndex, 1);
      if (next.at > this.current) this.current = next.at;
      const fn = next.fn!;
      next.fn = undefined;
      fn();
    }
    this.timers = this.timers.filter((t) => t.fn !== undefined);
    if (time > this.current) this.current = time;
  }
}
