// One timer for every binding (DESIGN.md: one timer wheel, not a timer per binding): entries sit
// in the slot of the second they expire in, and one interval walks the slots that are due. A
// refresh moves an entry to another slot; nothing is scheduled per entry.

/** An entry knows its slot, so moving or removing it needs no search. */
export interface WheelEntry {
  slot: number;
}

export class TimerWheel<T extends WheelEntry> {
  readonly #slots = new Map<number, Set<T>>();
  readonly #slotMs: number;
  /** The last slot already walked. */
  #walked: number;
  #size = 0;

  constructor(slotMs: number, now: number) {
    this.#slotMs = slotMs;
    this.#walked = Math.floor(now / slotMs);
  }

  get size(): number {
    return this.#size;
  }

  /** The slot an expiry time falls in (an entry is due once that slot has passed). */
  slotOf(at: number): number {
    return Math.ceil(at / this.#slotMs);
  }

  add(entry: T, at: number): void {
    // A time already walked past goes in the next slot to walk, so it is not missed.
    const slot = Math.max(this.slotOf(at), this.#walked + 1);
    entry.slot = slot;
    let set = this.#slots.get(slot);
    if (set === undefined) {
      set = new Set();
      this.#slots.set(slot, set);
    }
    if (!set.has(entry)) {
      set.add(entry);
      this.#size++;
    }
  }

  delete(entry: T): void {
    const slot = entry.slot;
    const set = this.#slots.get(slot);
    if (set === undefined || !set.delete(entry)) return;
    this.#size--;
    if (set.size === 0) this.#slots.delete(slot);
  }

  /**
   * Takes out up to `limit` entries of the slots up to `now` and hands each to `due`. Slots are
   * walked in order; after a long pause (a suspended process, a jump of fake time) the occupied
   * slots are walked instead of every second in between.
   */
  advance(now: number, limit: number, due: (entry: T) => void): number {
    const until = Math.floor(now / this.#slotMs);
    let taken = 0;
    const walk = (slot: number): boolean => {
      const set = this.#slots.get(slot);
      if (set !== undefined) {
        for (const entry of set) {
          if (taken >= limit) return false;
          set.delete(entry);
          this.#size--;
          taken++;
          due(entry);
        }
        this.#slots.delete(slot);
      }
      return true;
    };
    if (until - this.#walked > this.#slots.size) {
      const slots = [...this.#slots.keys()].filter((s) => s <= until).sort((a, b) => a - b);
      for (const slot of slots) {
        if (!walk(slot)) {
          this.#walked = Math.max(this.#walked, slot - 1);
          return taken;
        }
      }
    } else {
      for (let slot = this.#walked + 1; slot <= until; slot++) {
        if (!walk(slot)) {
          this.#walked = slot - 1;
          return taken;
        }
      }
    }
    this.#walked = Math.max(this.#walked, until);
    return taken;
  }
}
