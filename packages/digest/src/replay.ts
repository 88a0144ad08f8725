// Nonce-count replay state (RFC 7616 §3.4: "the server ... can detect replays by keeping track of
// the nonce-count values it has seen"). Nonces are HMAC self-validating (nonce.ts), so nothing is
// stored when a challenge is issued: only a nonce that has authenticated a request gets an entry,
// and an attacker, who cannot authenticate, cannot make entries. Issuing a challenge never
// touches another nonce's entry, so no challenge can invalidate an outstanding one.
import { detachString } from '@sipts/message';
import { DigestError } from './errors.js';

/**
 * Where the nonce counts already used live. A cluster sharing the nonce secret must share this
 * too (Redis, for example), or a request accepted by one node can be replayed to another.
 */
export interface DigestReplayStore {
  /**
   * Atomically: `true` when `nc` was not seen before for `nonce`, and record it; `false`
   * otherwise. A store may also answer `false` when it cannot tell (a count below its window,
   * an entry it had to drop): refusing is always safe, the client gets a `stale=true` challenge
   * and answers a fresh nonce. `expiresAt` (ms since the epoch) is when the nonce stops being
   * accepted anyway: the entry can go then. Requests without qop (RFC 2069) use `nc` 0.
   */
  checkAndRecord(nonce: string, nc: number, expiresAt: number): boolean | Promise<boolean>;
  /** Counters, for `stats()` (optional). */
  stats?(): DigestReplayStoreStats;
}

export interface DigestReplayStoreStats {
  /** Nonces held now. */
  readonly entries: number;
  /** Counts accepted (first use of a nonce, or a new count on one). */
  readonly recorded: number;
  /** Counts refused: seen before, or below the window. */
  readonly replays: number;
  /** Entries dropped before their nonce expired because the store was full. */
  readonly evicted: number;
  /** First uses refused because an entry as old or older had been evicted (see `maxEntries`). */
  readonly refusedAfterEviction: number;
}

export interface MemoryReplayStoreOptions {
  /** Most nonces held at once. Default 100000 (about 10 MB when full). */
  maxEntries?: number | undefined;
  /** Clock in ms since the epoch; the digest instance's clock when it creates the store. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** Counts accepted below the highest one seen for a nonce (requests that overtook each other). */
export const REPLAY_WINDOW = 32;
export const DEFAULT_MAX_REPLAY_ENTRIES = 100_000;
/** Expired entries dropped per insertion, so the map shrinks back as traffic falls. */
const PRUNE_PER_INSERT = 2;

interface Entry {
  /** Highest count seen. */
  high: number;
  /** Bit i set: count `high - i` seen (i < REPLAY_WINDOW). */
  seen: number;
  expiresAt: number;
}

/**
 * The in-memory default: per nonce, the highest count and a 32-count window below it, so requests
 * signed in order but arriving out of order (UDP, parallel transactions) are all accepted once.
 * Bounded by `maxEntries`: when full, the oldest entry goes and every nonce expiring no later
 * than it is refused on first use from then on (its client gets `stale=true` and a fresh nonce),
 * so dropping state never reopens a replay.
 */
export class MemoryReplayStore implements DigestReplayStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Nonces expiring at or before this may have lost their entry: refuse them. */
  #evictedUpTo = 0;
  #recorded = 0;
  #replays = 0;
  #evicted = 0;
  #refusedAfterEviction = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_REPLAY_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new DigestError('ERR_INVALID_OPTION', 'MemoryReplayStore maxEntries must be a positive integer');
    }
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw new DigestError('ERR_INVALID_OPTION', 'MemoryReplayStore now must be a function returning ms');
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  checkAndRecord(nonce: string, nc: number, expiresAt: number): boolean {
    const entry = this.#entries.get(nonce);
    if (entry !== undefined) {
      if (nc > entry.high) {
        const shift = nc - entry.high;
        entry.seen = shift >= REPLAY_WINDOW ? 1 : ((entry.seen << shift) | 1) >>> 0;
        entry.high = nc;
        this.#recorded++;
        return true;
      }
      const back = entry.high - nc;
      const bit = back < REPLAY_WINDOW ? (1 << back) >>> 0 : 0;
      if (bit === 0 || (entry.seen & bit) !== 0) {
        this.#replays++;
        return false;
      }
      entry.seen = (entry.seen | bit) >>> 0;
      this.#recorded++;
      return true;
    }
    if (expiresAt <= this.#evictedUpTo) {
      this.#refusedAfterEviction++;
      return false;
    }
    this.#makeRoom();
    // The nonce is a slice of the Authorization header: stored as is, it would keep the whole
    // request's header section alive for the nonce's lifetime.
    this.#entries.set(detachString(nonce), { high: nc, seen: 1, expiresAt });
    this.#recorded++;
    return true;
  }

  stats(): DigestReplayStoreStats {
    return {
      entries: this.#entries.size,
      recorded: this.#recorded,
      replays: this.#replays,
      evicted: this.#evicted,
      refusedAfterEviction: this.#refusedAfterEviction,
    };
  }

  #makeRoom(): void {
    // Insertion order is first-use order; an entry expires at most one nonce lifetime after its
    // first use, so the head is (nearly) the next to expire. A few expired ones go every time.
    const now = this.#now();
    let pruned = 0;
    for (const [nonce, entry] of this.#entries) {
      if (entry.expiresAt >= now || pruned >= PRUNE_PER_INSERT) break;
      this.#entries.delete(nonce);
      pruned++;
    }
    while (this.#entries.size >= this.#maxEntries) {
      const head = this.#entries.entries().next();
      if (head.done === true) return;
      const [nonce, entry] = head.value;
      this.#entries.delete(nonce);
      if (entry.expiresAt >= now) {
        this.#evicted++;
        if (entry.expiresAt > this.#evictedUpTo) this.#evictedUpTo = entry.expiresAt;
      }
    }
  }
}
