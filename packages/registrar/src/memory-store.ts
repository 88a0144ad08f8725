// The embedded binding store: AORs in a Map, expiry by one timer wheel (timer-wheel.ts) walked
// by one interval, a cap on the total number of bindings. Every operation is synchronous inside,
// so each `apply` is atomic by construction; the interface is async like any other store's.
import { applyChange } from './apply.js';
import { RegistrarError, checkOption } from './errors.js';
import { TimerWheel } from './timer-wheel.js';
import type { ApplyResult, Binding, BindingChange, BindingStore } from './types.js';

export interface MemoryBindingStoreOptions {
  /** Most bindings held in all; a REGISTER that would add more is refused (503). Default 1000000. */
  maxBindings?: number | undefined;
  /** Clock in ms. Default `Date.now` (jest's fake timers replace it too). */
  now?: (() => number) | undefined;
  /** How often the wheel is walked, in ms (its slot size). Default 1000. */
  tickMs?: number | undefined;
  /** Most bindings expired per tick (the rest on the next ones). Default 10000. */
  expireBatch?: number | undefined;
}

export const DEFAULT_MAX_BINDINGS = 1_000_000;

interface Entry {
  slot: number;
  aor: string;
  binding: Binding;
}

export class MemoryBindingStore implements BindingStore {
  /** AOR -> its entries (a handful each: an array is smaller and faster than a Map). */
  readonly #aors = new Map<string, Entry[]>();
  readonly #wheel: TimerWheel<Entry>;
  readonly #maxBindings: number;
  readonly #now: () => number;
  readonly #tickMs: number;
  readonly #expireBatch: number;
  readonly #listeners: ((bindings: Binding[]) => void)[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryBindingStoreOptions = {}) {
    checkOption(typeof options === 'object' && options !== null, '', 'an object');
    const max = options.maxBindings ?? DEFAULT_MAX_BINDINGS;
    checkOption(Number.isInteger(max) && max > 0, 'maxBindings', 'a positive integer');
    const tick = options.tickMs ?? 1000;
    checkOption(Number.isFinite(tick) && tick >= 10, 'tickMs', 'a number of ms >= 10');
    const batch = options.expireBatch ?? 10000;
    checkOption(Number.isInteger(batch) && batch > 0, 'expireBatch', 'a positive integer');
    checkOption(options.now === undefined || typeof options.now === 'function', 'now', 'a function');
    this.#maxBindings = max;
    this.#now = options.now ?? Date.now;
    this.#tickMs = tick;
    this.#expireBatch = batch;
    this.#wheel = new TimerWheel<Entry>(tick, this.#now());
  }

  /** Bindings held (those expired but not yet walked included). */
  get size(): number {
    return this.#wheel.size;
  }

  onExpired(listener: (bindings: Binding[]) => void): void {
    this.#listeners.push(listener);
  }

  get(aor: string, now: number): Promise<Binding[]> {
    if (this.#closed) return closed();
    const entries = this.#aors.get(aor);
    const out: Binding[] = [];
    if (entries !== undefined) for (const e of entries) if (e.binding.expiresAt > now) out.push(e.binding);
    return Promise.resolve(out);
  }

  apply(aor: string, change: BindingChange): Promise<ApplyResult> {
    if (this.#closed) return closed();
    const entries = this.#aors.get(aor);
    const current: Binding[] = [];
    if (entries !== undefined) for (const e of entries) current.push(e.binding);
    const applied = applyChange(current, change, this.#maxBindings - this.#wheel.size);
    if (typeof applied === 'string') return Promise.resolve({ ok: false, reason: applied });
    const expired: Binding[] = [];
    const kept: Entry[] = [];
    for (const b of applied.next) {
      const e = entries?.find((x) => x.binding === b);
      if (e !== undefined) {
        kept.push(e);
        continue;
      }
      const entry: Entry = { slot: 0, aor, binding: b };
      this.#wheel.add(entry, b.expiresAt);
      kept.push(entry);
    }
    if (entries !== undefined) {
      for (const e of entries) {
        if (applied.next.includes(e.binding)) continue;
        if (e.binding.expiresAt <= change.now) expired.push(e.binding);
        this.#wheel.delete(e);
      }
    }
    if (kept.length > 0) this.#aors.set(aor, kept);
    else this.#aors.delete(aor);
    if (this.#wheel.size > 0) this.#startTimer();
    if (expired.length > 0) this.#emit(expired);
    return Promise.resolve({ ok: true, bindings: applied.next, added: applied.added, refreshed: applied.refreshed, removed: applied.removed });
  }

  remove(aor: string, keys?: readonly string[], flowUri?: string): Promise<Binding[]> {
    if (this.#closed) return closed();
    const entries = this.#aors.get(aor);
    const removed: Binding[] = [];
    if (entries === undefined) return Promise.resolve(removed);
    const kept: Entry[] = [];
    for (const e of entries) {
      const chosen = keys === undefined || keys.includes(e.binding.key);
      if (!chosen || (flowUri !== undefined && e.binding.flowUri !== flowUri)) {
        kept.push(e);
        continue;
      }
      this.#wheel.delete(e);
      removed.push(e.binding);
    }
    if (kept.length > 0) this.#aors.set(aor, kept);
    else this.#aors.delete(aor);
    return Promise.resolve(removed);
  }

  expire(now: number, limit: number): Promise<Binding[]> {
    if (this.#closed) return closed();
    return Promise.resolve(this.#expire(now, limit));
  }

  count(): Promise<{ aors: number; bindings: number }> {
    return Promise.resolve({ aors: this.#aors.size, bindings: this.#wheel.size });
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#aors.clear();
    return Promise.resolve();
  }

  #expire(now: number, limit: number): Binding[] {
    const out: Binding[] = [];
    this.#wheel.advance(now, limit, (e) => {
      const entries = this.#aors.get(e.aor);
      const i = entries === undefined ? -1 : entries.indexOf(e);
      if (entries === undefined || i < 0) return;
      entries.splice(i, 1);
      if (entries.length === 0) this.#aors.delete(e.aor);
      out.push(e.binding);
    });
    return out;
  }

  #startTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref?.();
  }

  #tick(): void {
    const expired = this.#expire(this.#now(), this.#expireBatch);
    if (this.#wheel.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (expired.length > 0) this.#emit(expired);
  }

  #emit(bindings: Binding[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(bindings);
      } catch {
        // a listener's failure is its own; the wheel goes on
      }
    }
  }
}

function closed<T>(): Promise<T> {
  return Promise.reject(new RegistrarError('ERR_STORE_CLOSED', 'the binding store is closed'));
}
