// One clock timer for every dialog of a UA. Dialogs and incoming calls hold a few TimerSlot
// objects each (2xx retransmission, reliable-provisional retransmission, session timer, glare
// retry), reused for every timer they run; the slots sit in a binary min-heap ordered by due
// time and the heap keeps a single clock timeout armed for its head. No Node Timeout object and
// no closure per SIP timer, no per-dialog setInterval, and fake time through the injected Clock.
import type { Clock, ClockHandle } from '@sipts/transaction';

/** Who gets called when a slot fires, with the slot's `kind`. */
export interface TimerOwner {
  onTimer(kind: number): void;
}

export class TimerSlot {
  at = 0;
  seq = 0;
  /** Position in the heap; -1 when not scheduled. */
  index = -1;
  kind = 0;
  constructor(readonly owner: TimerOwner) {}

  get scheduled(): boolean {
    return this.index >= 0;
  }
}

export class TimerHeap {
  readonly #heap: TimerSlot[] = [];
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  #seq = 0;
  #handle: ClockHandle | undefined;
  #armedAt = Infinity;
  #running = false;
  readonly #fire = (): void => this.#run();

  constructor(clock: Clock, onError: (error: unknown) => void) {
    this.#clock = clock;
    this.#onError = onError;
  }

  get size(): number {
    return this.#heap.length;
  }

  now(): number {
    return this.#clock.now();
  }

  /** (Re)schedules `slot` to fire `kind` after `ms`. */
  schedule(slot: TimerSlot, kind: number, ms: number): void {
    slot.kind = kind;
    slot.at = this.#clock.now() + Math.max(0, ms);
    slot.seq = this.#seq++;
    if (slot.index < 0) {
      slot.index = this.#heap.length;
      this.#heap.push(slot);
      this.#up(slot.index);
    } else {
      this.#down(slot.index);
      this.#up(slot.index);
    }
    if (!this.#running && slot.at < this.#armedAt) this.#arm(slot.at);
  }

  cancel(slot: TimerSlot | undefined): void {
    if (slot === undefined) return;
    const i = slot.index;
    if (i < 0) return;
    slot.index = -1;
    const last = this.#heap.pop() as TimerSlot;
    if (last !== slot) {
      this.#heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(i);
    }
    // The armed clock timer stays: when it fires early it re-arms for the new head.
  }

  /** Drops every slot and the clock timer. */
  clear(): void {
    for (const slot of this.#heap) slot.index = -1;
    this.#heap.length = 0;
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#armedAt = at;
    this.#handle = this.#clock.setTimeout(this.#fire, Math.max(0, Math.ceil(at - this.#clock.now())));
  }

  #run(): void {
    this.#handle = undefined;
    this.#armedAt = Infinity;
    const heap = this.#heap;
    this.#running = true;
    try {
      for (;;) {
        const head = heap[0];
        if (head === undefined || head.at > this.#clock.now()) break;
        this.cancel(head);
        try {
          head.owner.onTimer(head.kind);
        } catch (e) {
          this.#onError(e);
        }
      }
    } finally {
      this.#running = false;
      const head = heap[0];
      if (head !== undefined && head.at < this.#armedAt) this.#arm(head.at);
    }
  }

  #less(a: TimerSlot, b: TimerSlot): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const slot = heap[i] as TimerSlot;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as TimerSlot;
      if (!this.#less(slot, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = slot;
    slot.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const slot = heap[i] as TimerSlot;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.#less(heap[r] as TimerSlot, heap[l] as TimerSlot) ? r : l;
      const c = heap[child] as TimerSlot;
      if (!this.#less(c, slot)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = slot;
    slot.index = i;
  }
}
