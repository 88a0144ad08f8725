// One clock timer for the whole layer. Transactions hold at most two TimerSlot objects each,
// reused for every timer they run, and the layer keeps a single clock timeout armed for the
// earliest. This avoids a Node Timeout object and a closure per SIP timer, and makes shutdown
// one call.
//
// Slots wait in lanes, one per delay: nearly every SIP timer has one of a few delays (T1 and
// its doublings, T4, 64*T1), and slots given the same delay fall due in the order they were
// scheduled (the clock never goes backwards), so a lane is a FIFO queue: scheduling, cancelling
// and firing are O(1). A binary min-heap on the due time was the previous design: with the
// 100000+ timers a proxy holds at 1400 calls/s (RFC 6026 keeps each transaction 32 s), every
// expiry and cancel walked ~17 levels of it, a cache miss each, and that cost grew with the
// live count (a fifth of the transaction layer's CPU once the 32 s timers started to fire).
// Delays beyond the first MAX_LANES distinct ones go to that heap, so any delay still works.
import type { Clock, ClockHandle } from './clock.js';

/** RFC 3261 §17 timer names, plus the layer's own guards (see README). */
export type TimerName =
  | 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M'
  | 'trying' | 'ringTimeLimit' | 'cancelGrace' | 'answerTimeLimit' | 'cancelAnswer' | 'tuSilence';

/** Who gets called when a slot fires. */
export interface TimerOwner {
  onTimer(name: TimerName): void;
}

export class TimerSlot {
  /** Due time, in whole milliseconds on the queue's own scale (see TimerQueue.elapsed). */
  at = 0;
  seq = 0;
  /** -1: not scheduled; -2: in a lane; 0 and up: position in the fallback heap. */
  index = -1;
  name: TimerName = 'A';
  /** The lane holding the slot, and its position there (counted from the lane's start). */
  lane: Lane | undefined = undefined;
  lanePos = 0;
  constructor(readonly owner: TimerOwner) {}

  /** True while the slot is scheduled. */
  get scheduled(): boolean {
    return this.index !== -1;
  }
}

/** Distinct delays given a lane of their own; others share the fallback heap. */
const MAX_LANES = 32;

/**
 * The slots scheduled with one delay, in due order. A cancelled slot leaves a hole (undefined),
 * skipped when it reaches the front, so nothing cancelled is kept alive by the lane.
 */
class Lane {
  slots: (TimerSlot | undefined)[] = [];
  /** Index of the first entry not yet taken; `base` is the position of slots[0]. */
  head = 0;
  base = 0;
  constructor(readonly delay: number) {}

  push(slot: TimerSlot): void {
    slot.lane = this;
    slot.lanePos = this.base + this.slots.length;
    this.slots.push(slot);
  }

  remove(slot: TimerSlot): void {
    this.slots[slot.lanePos - this.base] = undefined;
    slot.lane = undefined;
  }

  /** The first slot still scheduled, or undefined when the lane is empty. */
  peek(): TimerSlot | undefined {
    const slots = this.slots;
    let head = this.head;
    while (head < slots.length && slots[head] === undefined) head++;
    if (head === slots.length) {
      this.base += slots.length;
      slots.length = 0;
      this.head = 0;
      return undefined;
    }
    if (head >= 1024 && head * 2 >= slots.length) {
      // Drop the consumed front now and then (amortised O(1) per slot).
      slots.copyWithin(0, head);
      slots.length -= head;
      this.base += head;
      head = 0;
    }
    this.head = head;
    return slots[head];
  }
}

export class TimerQueue {
  private readonly heap: TimerSlot[] = [];
  private readonly lanes = new Map<number, Lane>();
  /** The same lanes as a list: walked once per fired timer, without a Map iterator. */
  private readonly laneList: Lane[] = [];
  private laneCount = 0;
  private seq = 0;
  private handle: ClockHandle | undefined;
  private armedAt = Infinity;
  private running = false;
  private readonly origin: number;
  private readonly fire = (): void => this.run();

  constructor(
    private readonly clock: Clock,
    /** Anything a timer callback throws (a bug: transactions guard every TU callback). */
    private readonly onError: (error: unknown) => void,
  ) {
    this.origin = clock.now();
  }

  /** Slots scheduled now. */
  get size(): number {
    return this.laneCount + this.heap.length;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Milliseconds since the queue was made. Due times are whole milliseconds on this scale: a
   * small integer is stored in the slot itself, where a fractional or large one (performance.now()
   * or Date.now() plus a delay) would cost a heap number per slot, for the GC to mark and move.
   * They stay small integers for the first 12 days of a queue (2^30 ms) and work the same after.
   */
  private elapsed(): number {
    return this.clock.now() - this.origin;
  }

  /** (Re)schedules `slot` to fire `name` after `ms`. */
  schedule(slot: TimerSlot, name: TimerName, ms: number): void {
    this.cancel(slot);
    slot.name = name;
    // Rounded down: a slot may fire up to 1 ms early, never late, and a zero delay is due at once.
    slot.at = Math.floor(this.elapsed() + ms);
    slot.seq = this.seq++;
    let lane = this.lanes.get(ms);
    if (lane === undefined && this.lanes.size < MAX_LANES) {
      lane = new Lane(ms);
      this.lanes.set(ms, lane);
      this.laneList.push(lane);
    }
    if (lane !== undefined) {
      slot.index = -2;
      lane.push(slot);
      this.laneCount++;
    } else {
      slot.index = this.heap.length;
      this.heap.push(slot);
      this.up(slot.index);
    }
    if (!this.running && slot.at < this.armedAt) this.arm(slot.at);
  }

  cancel(slot: TimerSlot): void {
    const i = slot.index;
    if (i === -1) return;
    slot.index = -1;
    if (i === -2) {
      slot.lane?.remove(slot);
      this.laneCount--;
      return;
    }
    const last = this.heap.pop()!;
    if (last !== slot) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(i);
    }
    // The armed clock timer is left alone: when it fires early it simply re-arms.
  }

  /** Drops every slot and the clock timer. */
  clear(): void {
    for (const slot of this.heap) slot.index = -1;
    this.heap.length = 0;
    for (const lane of this.laneList) {
      for (let i = lane.head; i < lane.slots.length; i++) {
        const slot = lane.slots[i];
        if (slot === undefined) continue;
        slot.index = -1;
        slot.lane = undefined;
      }
    }
    this.lanes.clear();
    this.laneList.length = 0;
    this.laneCount = 0;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  /** The slot due first (earliest due time, then scheduling order), or undefined. */
  private earliest(): TimerSlot | undefined {
    let best = this.heap[0];
    const lanes = this.laneList;
    for (let i = 0; i < lanes.length; i++) {
      const slot = (lanes[i] as Lane).peek();
      if (slot === undefined) continue;
      if (best === undefined || this.less(slot, best)) best = slot;
    }
    return best;
  }

  private arm(at: number): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedAt = at;
    this.handle = this.clock.setTimeout(this.fire, Math.max(0, Math.ceil(at - this.elapsed())));
  }

  private run(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    // Slots scheduled while running with a due time already reached (zero delays) run in this
    // same loop, in order; the clock timer is armed once, for the earliest, afterwards.
    this.running = true;
    try {
      for (;;) {
        const head = this.earliest();
        if (!head || head.at > this.elapsed()) break;
        this.cancel(head);
        try {
          head.owner.onTimer(head.name);
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      this.running = false;
      // Lanes left empty are dropped, so delays seen once do not keep a lane each.
      const lanes = this.laneList;
      let kept = 0;
      for (let i = 0; i < lanes.length; i++) {
        const lane = lanes[i] as Lane;
        if (lane.peek() === undefined) this.lanes.delete(lane.delay);
        else lanes[kept++] = lane;
      }
      lanes.length = kept;
      const head = this.earliest();
      if (head && head.at < this.armedAt) this.arm(head.at);
    }
  }

  private less(a: TimerSlot, b: TimerSlot): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    const slot = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!this.less(slot, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = slot;
    slot.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const slot = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.less(heap[r]!, heap[l]!) ? r : l;
      const c = heap[child]!;
      if (!this.less(c, slot)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = slot;
    slot.index = i;
  }
}
