// Failed-authentication limits: without them a password can be guessed at the server's request
// rate (~2,000 guesses/s were measured against one account). Counters per user and per source,
// in fixed windows; over a limit, attempts are refused as `blocked` without checking the digest
// (so a blocked attacker learns nothing) until the window passes.
//
// Per-user limits alone would hand an attacker a lock-out (fail on purpose, the user is blocked;
// UDP sources can be spoofed), so a (user, source) pair that authenticated recently is trusted:
// it is held only to its own, smaller failure budget and ignores the user and source counters.
// A phone that registered an hour ago keeps registering while someone hammers its account or
// shares its NAT.
import { detachString } from '@sipts/message';
import { DigestError } from './errors.js';

/** How an attempt let through by `acquire` ended. */
export type DigestAttemptOutcome =
  /** It cost a guess (wrong digest, a nonce not ours, an unknown account): the count stays. */
  | 'failure'
  /** It authenticated: the count is taken back and the (user, source) pair becomes trusted. */
  | 'success'
  /** It ended without testing a password (stale, replay, no usable credentials): taken back. */
  | 'neutral';

/**
 * Decides who may still try. An attempt is counted when it is let through, before its digest
 * is checked, and taken back when it turns out not to be a failure: so a burst of concurrent
 * guesses cannot all pass while the first ones are still being checked (the asynchronous API
 * awaits lookups and stores in between). A shared implementation (Redis) makes `acquire` one
 * atomic step (a script: check the counters, then increment them).
 *
 * The sync API (`authenticateRequest`) needs answers that are not Promises; `createDigestServer`
 * also awaits Promises. `user` is the account name (undefined when the account is unknown),
 * `source` an opaque key for where the request came from (`udp:192.0.2.1`), undefined when the
 * server has none.
 */
export interface DigestFailureLimiter {
  /**
   * ms until this user/source may try again, and then nothing is counted; or 0: go ahead, the
   * attempt now counts as a failure until `settle` says otherwise. Every 0 is followed by
   * exactly one `settle` with the same user and source.
   */
  acquire(user: string | undefined, source: string | undefined): number | Promise<number>;
  /** How the attempt `acquire` let through ended. */
  settle(user: string | undefined, source: string | undefined, outcome: DigestAttemptOutcome): void | Promise<void>;
  /** Counters, for `stats()` (optional). */
  stats?(): DigestLimiterStats;
}

export interface DigestLimiterStats {
  /** Attempts that ended as failures. */
  readonly failures: number;
  /** Attempts refused as blocked. */
  readonly blocked: number;
  /** Users, sources and trusted pairs with live counters now. */
  readonly users: number;
  readonly sources: number;
  readonly trusted: number;
  /** Counters dropped before their window ended because a table was full (the fewest failures first). */
  readonly evicted: number;
}

export interface MemoryFailureLimiterOptions {
  /** Length of a counting window in ms; a blocked key is free again when its window ends. Default 300000 (5 min). */
  window?: number | undefined;
  /** Failures per user per window across untrusted sources (0: no per-user limit). Default 20. */
  maxUserFailures?: number | undefined;
  /** Failures per source per window across users (0: no per-source limit). Default 20. */
  maxSourceFailures?: number | undefined;
  /** Failures per window of a trusted (user, source) pair (0: trusted pairs unlimited). Default 5. */
  maxTrustedFailures?: number | undefined;
  /** How long a success trusts its (user, source) pair, in ms. Default 86400000 (24 h). */
  trustTtl?: number | undefined;
  /** Most users and most sources with counters (each). Default 10000. */
  maxEntries?: number | undefined;
  /** Most trusted pairs. Default 100000. */
  maxTrusted?: number | undefined;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined;
}

export const DEFAULT_LIMITER_WINDOW = 300_000;
export const DEFAULT_MAX_USER_FAILURES = 20;
export const DEFAULT_MAX_SOURCE_FAILURES = 20;
export const DEFAULT_MAX_TRUSTED_FAILURES = 5;
export const DEFAULT_TRUST_TTL = 86_400_000;
export const DEFAULT_MAX_LIMITER_ENTRIES = 10_000;
export const DEFAULT_MAX_TRUSTED = 100_000;
/** How many of the oldest counters a full table compares to pick the one to drop. */
const EVICTION_SAMPLE = 16;

interface Counter {
  count: number;
  /** End of the window (ms). */
  until: number;
}

/**
 * Failure counters of one kind (users, or sources), bounded by `maxEntries`. Entries are kept in
 * the order their windows started (a restarted window is re-inserted), so the head is always the
 * next to expire. When the table is full, the entry with the fewest failures among the oldest
 * few goes: spraying new usernames or spoofed sources (one failure each) evicts those sprayed
 * entries, not the counter of a source that is busy guessing, and a newcomer is never refused
 * for lack of room.
 */
class CounterTable {
  readonly #map = new Map<string, Counter>();
  readonly #maxEntries: number;
  readonly #window: number;
  evicted = 0;

  constructor(maxEntries: number, window: number) {
    this.#maxEntries = maxEntries;
    this.#window = window;
  }

  get size(): number {
    return this.#map.size;
  }

  /** ms until `key` is below `limit` again; 0 when it is. */
  blockedFor(key: string, limit: number, now: number): number {
    const counter = this.#map.get(key);
    if (counter === undefined || counter.until <= now || counter.count < limit) return 0;
    return counter.until - now;
  }

  add(key: string, now: number): void {
    this.#prune(now);
    let counter = this.#map.get(key);
    if (counter !== undefined && counter.until <= now) {
      this.#map.delete(key);
      counter = undefined;
    }
    if (counter === undefined) {
      if (this.#map.size >= this.#maxEntries) this.#evictOne();
      counter = { count: 0, until: now + this.#window };
      // Keys are usernames cut from an Authorization header: detached, or each pins its request.
      this.#map.set(detachString(key), counter);
    }
    counter.count++;
  }

  /** Takes back one count added in the current window (an attempt that did not fail). */
  remove(key: string, now: number): void {
    const counter = this.#map.get(key);
    if (counter !== undefined && counter.until > now && counter.count > 0) counter.count--;
  }

  #prune(now: number): void {
    for (const [key, counter] of this.#map) {
      if (counter.until > now) return;
      this.#map.delete(key);
    }
  }

  #evictOne(): void {
    let victim: string | undefined;
    let fewest = Infinity;
    let looked = 0;
    for (const [key, counter] of this.#map) {
      if (counter.count < fewest) {
        fewest = counter.count;
        victim = key;
      }
      if (++looked >= EVICTION_SAMPLE || fewest <= 1) break;
    }
    if (victim !== undefined) {
      this.#map.delete(victim);
      this.evicted++;
    }
  }
}

interface Trust {
  /** The trust lasts until then. */
  until: number;
  failures: number;
  /** End of the failure window. */
  windowEnd: number;
}

/** The in-memory default limiter; see the module comment and the README's "Limits and defenses". */
export class MemoryFailureLimiter implements DigestFailureLimiter {
  readonly #window: number;
  readonly #maxUser: number;
  readonly #maxSource: number;
  readonly #maxTrustedFailures: number;
  readonly #trustTtl: number;
  readonly #maxTrusted: number;
  readonly #now: () => number;
  readonly #users: CounterTable;
  readonly #sources: CounterTable;
  /** `${user}\n${source}` -> trust, in the order it was last refreshed (the head expires first). */
  readonly #trusted = new Map<string, Trust>();
  #failures = 0;
  #blocked = 0;

  constructor(options: MemoryFailureLimiterOptions = {}) {
    this.#window = positive('window', options.window ?? DEFAULT_LIMITER_WINDOW);
    this.#maxUser = count('maxUserFailures', options.maxUserFailures ?? DEFAULT_MAX_USER_FAILURES);
    this.#maxSource = count('maxSourceFailures', options.maxSourceFailures ?? DEFAULT_MAX_SOURCE_FAILURES);
    this.#maxTrustedFailures = count('maxTrustedFailures', options.maxTrustedFailures ?? DEFAULT_MAX_TRUSTED_FAILURES);
    this.#trustTtl = positive('trustTtl', options.trustTtl ?? DEFAULT_TRUST_TTL);
    const maxEntries = count('maxEntries', options.maxEntries ?? DEFAULT_MAX_LIMITER_ENTRIES, 1);
    this.#maxTrusted = count('maxTrusted', options.maxTrusted ?? DEFAULT_MAX_TRUSTED);
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw new DigestError('ERR_INVALID_OPTION', 'MemoryFailureLimiter now must be a function returning ms');
    this.#now = now;
    this.#users = new CounterTable(maxEntries, this.#window);
    this.#sources = new CounterTable(maxEntries, this.#window);
  }

  acquire(user: string | undefined, source: string | undefined): number {
    const now = this.#now();
    const trust = this.#trust(user, source, now);
    let wait: number;
    if (trust !== undefined) {
      if (trust.windowEnd <= now) {
        trust.failures = 0;
        trust.windowEnd = now + this.#window;
      }
      wait = this.#maxTrustedFailures > 0 && trust.failures >= this.#maxTrustedFailures ? trust.windowEnd - now : 0;
    } else {
      const userWait = user !== undefined && this.#maxUser > 0 ? this.#users.blockedFor(user, this.#maxUser, now) : 0;
      const sourceWait = source !== undefined && this.#maxSource > 0 ? this.#sources.blockedFor(source, this.#maxSource, now) : 0;
      wait = Math.max(userWait, sourceWait);
    }
    if (wait > 0) {
      this.#blocked++;
      return wait;
    }
    // Counted now, taken back by settle() unless it fails. An unknown account gets no per-user
    // counter: spraying names would only fill the table.
    if (trust !== undefined) trust.failures++;
    if (user !== undefined && this.#maxUser > 0) this.#users.add(user, now);
    if (source !== undefined && this.#maxSource > 0) this.#sources.add(source, now);
    return 0;
  }

  settle(user: string | undefined, source: string | undefined, outcome: DigestAttemptOutcome): void {
    if (outcome === 'failure') {
      this.#failures++;
      return;
    }
    const now = this.#now();
    const trust = this.#trust(user, source, now);
    if (trust !== undefined && trust.windowEnd > now && trust.failures > 0) trust.failures--;
    if (user !== undefined && this.#maxUser > 0) this.#users.remove(user, now);
    if (source !== undefined && this.#maxSource > 0) this.#sources.remove(source, now);
    if (outcome === 'success' && user !== undefined && source !== undefined) this.#trustPair(user, source, now);
  }

  #trustPair(user: string, source: string, now: number): void {
    if (this.#maxTrusted === 0) return;
    const key = pairKey(user, source);
    const old = this.#trusted.get(key);
    // Re-inserted so the map stays ordered by expiry; the failure window carries over.
    this.#trusted.delete(key);
    for (const [k, t] of this.#trusted) {
      if (t.until > now && this.#trusted.size < this.#maxTrusted) break;
      // Expired, or the table is full: the pair that has gone longest without a success goes
      // first. Losing trust only puts a pair back under the ordinary limits.
      this.#trusted.delete(k);
    }
    this.#trusted.set(detachString(key), { until: now + this.#trustTtl, failures: old?.failures ?? 0, windowEnd: old?.windowEnd ?? 0 });
  }

  stats(): DigestLimiterStats {
    return {
      failures: this.#failures,
      blocked: this.#blocked,
      users: this.#users.size,
      sources: this.#sources.size,
      trusted: this.#trusted.size,
      evicted: this.#users.evicted + this.#sources.evicted,
    };
  }

  #trust(user: string | undefined, source: string | undefined, now: number): Trust | undefined {
    if (user === undefined || source === undefined) return undefined;
    const trust = this.#trusted.get(pairKey(user, source));
    return trust !== undefined && trust.until > now ? trust : undefined;
  }
}

function pairKey(user: string, source: string): string {
  // A newline cannot occur in a SIP username nor in a source key built from a transport address.
  return `${user}\n${source}`;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new DigestError('ERR_INVALID_OPTION', `MemoryFailureLimiter ${name} must be a positive number of ms`);
  }
  return value;
}

function count(name: string, value: number, min = 0): number {
  if (!Number.isInteger(value) || value < min) {
    throw new DigestError('ERR_INVALID_OPTION', `MemoryFailureLimiter ${name} must be an integer >= ${min}`);
  }
  return value;
}
