// Digest nonce-count replay state in Redis (RFC 7616 §3.4, §5.x: "the server ... can detect
// replays by keeping track of the nonce-count values it has seen"), for registrars on several
// nodes that share the nonce secret: a count accepted by one node is refused by every other, so
// an Authorization captured on the wire cannot be replayed to the next node behind the balancer.
//
// One Redis set per nonce that has authenticated a request (`<prefix><nonce>`), holding the
// counts used; `SADD` tells whether a count is new, atomically across nodes. The set lives as
// long as the nonce is accepted plus a margin for clock skew between nodes (a relative TTL, so
// Redis's clock does not matter). Only a request that passed the digest and the nonce's HMAC
// and age checks reaches the store, so nobody without the password can make entries.
//
// Redis down: `checkAndRecord` rejects (ERR_STORE) at once, @sipts/digest's server rejects
// `verify` with ERR_REPLAY_STORE, and the registrar answers 500 with Retry-After; the client
// reconnects by itself with a capped backoff.
import { createHash } from 'node:crypto';
import type { DigestReplayStore, DigestReplayStoreStats } from '@sipts/digest';
import { RegistrarError, checkOption } from './errors.js';
import { RedisConnection } from './redis-client.js';
import type { RedisClientLike } from './redis-client.js';

export interface RedisReplayStoreOptions {
  /** `redis://host:port/db`: the store makes its own ioredis client (ioredis must be installed). */
  url?: string | undefined;
  /** A client to use instead (the store does not close it). */
  client?: RedisClientLike | undefined;
  /** Key prefix. Default `sipts:nonce:`. */
  prefix?: string | undefined;
  /** Counts recorded per nonce; past it every further use is refused (stale=true, a fresh nonce). Default 1000. */
  maxCountsPerNonce?: number | undefined;
  /** Kept past the nonce's expiry, in ms, for clock skew between nodes. Default 60000. */
  skewMarginMs?: number | undefined;
  /** ms a command may take before it fails (client made from `url`). Default 2000. */
  commandTimeout?: number | undefined;
  /** Longest reconnect backoff in ms (client made from `url`). Default 5000. */
  maxReconnectDelay?: number | undefined;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: (() => number) | undefined;
}

// KEYS[1] the nonce's set; ARGV[1] the count, ARGV[2] TTL in ms, ARGV[3] most counts per nonce.
// Returns 1 (new count, recorded), 0 (seen before), -1 (the nonce has used its counts).
const CHECK_SCRIPT = `
local n = redis.call('SCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
  return -1
end
local added = redis.call('SADD', KEYS[1], ARGV[1])
if n == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return added
`;
const CHECK_SHA = createHash('sha1').update(CHECK_SCRIPT).digest('hex');

function storeError(e: unknown): RegistrarError {
  if (e instanceof RegistrarError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new RegistrarError('ERR_STORE', `redis: ${message}`, { cause: e });
}

/**
 * @sipts/digest's `DigestReplayStore` on Redis: give it to `createDigestServer({ replayStore })`
 * (or the registrar's `auth` option) on every node that shares the nonce `secret`.
 */
export class RedisReplayStore implements DigestReplayStore {
  readonly #prefix: string;
  readonly #maxCounts: number;
  readonly #marginMs: number;
  readonly #now: () => number;
  readonly #redis: RedisConnection;
  #recorded = 0;
  #replays = 0;
  #refusedFull = 0;

  constructor(options: RedisReplayStoreOptions) {
    checkOption(typeof options === 'object' && options !== null, '', 'an object');
    checkOption((options.url === undefined) !== (options.client === undefined), 'url', 'given, or else options.client (one of them)');
    this.#prefix = options.prefix ?? 'sipts:nonce:';
    checkOption(typeof this.#prefix === 'string', 'prefix', 'a string');
    this.#maxCounts = options.maxCountsPerNonce ?? 1000;
    checkOption(Number.isInteger(this.#maxCounts) && this.#maxCounts > 0, 'maxCountsPerNonce', 'a positive integer');
    this.#marginMs = options.skewMarginMs ?? 60_000;
    checkOption(Number.isInteger(this.#marginMs) && this.#marginMs >= 0, 'skewMarginMs', 'an integer >= 0');
    this.#now = options.now ?? Date.now;
    checkOption(typeof this.#now === 'function', 'now', 'a function returning ms');
    this.#redis = new RedisConnection(options, 'the Redis replay store');
  }

  /** Errors the client reported (connection refused, reset...). */
  get clientErrors(): number {
    return this.#redis.errors;
  }

  /** Resolves once the client is connected (or false after `ms`), for start-up. */
  ready(ms = 5000): Promise<boolean> {
    return this.#redis.ready(ms);
  }


  async checkAndRecord(nonce: string, nc: number, expiresAt: number): Promise<boolean> {
    if (this.#redis.closed) throw new RegistrarError('ERR_STORE_CLOSED', 'the replay store is closed');
    const client = await this.#redis.client().catch((e: unknown) => {
      throw storeError(e);
    });
    // A nonce past its lifetime never gets here (the digest layer checks its age first); the
    // entry outlives it by the margin so a node whose clock runs behind cannot see it vanish.
    const ttl = Math.max(1, Math.ceil(expiresAt - this.#now()) + this.#marginMs);
    const keys = [this.#prefix + nonce];
    const args = [String(nc), String(ttl), String(this.#maxCounts)];
    let reply: unknown;
    try {
      reply = await client.call('EVALSHA', CHECK_SHA, 1, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes('NOSCRIPT')) throw storeError(e);
      try {
        reply = await client.call('EVAL', CHECK_SCRIPT, 1, ...keys, ...args);
      } catch (e2) {
        throw storeError(e2);
      }
    }
    const result = Number(reply);
    if (result === 1) {
      this.#recorded++;
      return true;
    }
    if (result === -1) this.#refusedFull++;
    else this.#replays++;
    return false;
  }

  /**
   * Counters of this node. `entries` is not known to a node (the sets live in Redis, shared):
   * it reads 0; `SCAN 0 MATCH <prefix>*` counts them. `refusedAfterEviction` counts uses refused
   * because a nonce had used `maxCountsPerNonce` counts.
   */
  stats(): DigestReplayStoreStats {
    return { entries: 0, recorded: this.#recorded, replays: this.#replays, evicted: 0, refusedAfterEviction: this.#refusedFull };
  }

  close(): Promise<void> {
    return this.#redis.close();
  }

}
