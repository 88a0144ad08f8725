// One clock timer for the whole layer. Transactions hold at most two TimerSlot objects each,
// reused for every timer they run; the slots live in a binary min-heap ordered by due time
// (then by scheduling order), and the layer keeps a single clock timeout armed for the head.
// This avoids a Node Timeout object and a closure per SIP timer, and makes shutdown one call.
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
  at = 0;
  seq = 0;
  /** Position in the heap, -1 when not scheduled. */
  index = -1;
  name: TimerName = 'A';
  constructor(readonly owner: TimerOwner) {}
}

export class TimerQueue {
  private readonly heap: TimerSlot[] = [];
  private seq = 0;
  private handle: ClockHandle | undefined;
  private armedAt = Infinity;
  private running = false;
  private readonly fire = (): void => this.run();

  constructor(
    private readonly clock: Clock,
    /** Anything a timer callback throws (a bug: transactions guard every TU callback). */
    private readonly onError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  now(): number {
    return this.clock.now();
  }

  /** (Re)schedules `slot` to fire `name` after `ms`. */
  schedule(slot: TimerSlot, name: TimerName, ms: number): void {
    slot.name = name;
    slot.at = this.clock.now() + ms;
    slot.seq = this.seq++;
    if (slot.index < 0) {
      slot.index = this.heap.length;
      this.heap.push(slot);
      this.up(slot.index);
    } else {
      // Rescheduled in place: the due time may move either way.
      this.down(slot.index);
      this.up(slot.index);
    }
    if (!this.running && slot.at < this.armedAt) this.arm(slot.at);
  }

  cancel(slot: TimerSlot): void {
    const i = slot.index;
    if (i < 0) return;
    slot.index = -1;
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
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  private arm(at: number): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedAt = at;
    this.handle = this.clock.setTimeout(this.fire, Math.max(0, Math.ceil(at - this.clock.now())));
  }

  private run(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const heap = this.heap;
    // Slots scheduled while running with a due time already reached (zero delays) run in this
    // same loop, in order; the clock timer is armed once, for the head, afterwards.
    this.running = true;
    try {
      for (;;) {
        const head = heap[0];
        if (!head || head.at > this.clock.now()) break;
        this.cancel(head);
        try {
          head.owner.onTimer(head.name);
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      this.running = false;
      const head = heap[0];
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
