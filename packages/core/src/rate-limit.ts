// Per-source rate limiting, after Kamailio's pike module: every request (ACK aside) counts
// against its source address; a source sending more than `requestsPerSecond` on average over a
// `window` is banned for `banTime`, during which everything it sends is dropped unanswered (an
// answer would cost work and reflect traffic). One source then cannot fill the transaction
// table or the CPU that legitimate clients need. Trusted sources (loopback by default: an
// upstream balancer or a local test tool) are never counted.
import { BlockList, isIP } from 'node:net';
import { SipCoreError } from './errors.js';

export interface RateLimitOptions {
  /** Average requests per second allowed from one source address. Default 200. */
  requestsPerSecond?: number | undefined;
  /** The window (ms) the average is taken over: bursts within it are allowed. Default 2000. */
  window?: number | undefined;
  /** How long (ms) a source over the limit is banned. Default 30000. */
  banTime?: number | undefined;
  /**
   * Addresses or CIDR blocks never limited, e.g. your balancers and trunks. Default loopback
   * (`127.0.0.0/8`, `::1`); pass `[]` to limit everyone.
   */
  trusted?: readonly string[] | undefined;
  /** Sources tracked at once; the least recently seen is forgotten beyond it. Default 100000. */
  maxSources?: number | undefined;
}

export interface RateLimitStats {
  /** Sources tracked now, and of them banned now. */
  sources: number;
  banned: number;
  /** Bans since start. */
  bans: number;
  /** Messages dropped because their source was banned. */
  dropped: number;
}

interface SourceState {
  windowStart: number;
  count: number;
  bannedUntil: number;
}

/** How many trust decisions are remembered (see SourceRateLimiter.#trustCache). */
const TRUST_CACHE_SIZE = 4096;

export class SourceRateLimiter {
  readonly #limit: number;
  readonly #window: number;
  readonly #banTime: number;
  readonly #maxSources: number;
  readonly #trusted: BlockList;
  /**
   * Trust decisions by source address. BlockList.check builds a SocketAddress per call, and a
   * trusted source is never counted, so without this every request from one would pay it.
   * Bounded: cleared when full (the decisions are cheap to make again).
   */
  readonly #trustCache = new Map<string, boolean>();
  readonly #sources = new Map<string, SourceState>();
  #bans = 0;
  #dropped = 0;
  readonly #onBan: (address: string, until: number) => void;

  constructor(options: RateLimitOptions = {}, onBan: (address: string, until: number) => void = () => {}) {
    const positive = (name: keyof RateLimitOptions, value: number | undefined, fallback: number): number => {
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
        throw new SipCoreError('ERR_INVALID_OPTION', `options.rateLimit.${name} must be a positive number`);
      }
      return value;
    };
    const rps = positive('requestsPerSecond', options.requestsPerSecond, 200);
    this.#window = positive('window', options.window, 2000);
    this.#limit = Math.max(1, Math.round((rps * this.#window) / 1000));
    this.#banTime = positive('banTime', options.banTime, 30000);
    this.#maxSources = Math.floor(positive('maxSources', options.maxSources, 100000));
    this.#trusted = new BlockList();
    for (const entry of options.trusted ?? ['127.0.0.0/8', '::1']) addTrusted(this.#trusted, entry);
    this.#onBan = onBan;
  }

  /** Counts one request from `address` at `now`; false when it must be dropped. */
  allow(address: string, now: number): boolean {
    const sources = this.#sources;
    let state = sources.get(address);
    if (state === undefined) {
      if (this.#isTrusted(address)) return true;
      if (sources.size >= this.#maxSources) {
        // Forget the least recently seen (the Map's first key: entries are re-inserted on use).
        const oldest = sources.keys().next().value;
        if (oldest !== undefined) sources.delete(oldest);
      }
      state = { windowStart: now, count: 0, bannedUntil: 0 };
    } else {
      sources.delete(address);
    }
    sources.set(address, state);
    if (state.bannedUntil > now) {
      this.#dropped++;
      return false;
    }
    if (now - state.windowStart >= this.#window) {
      state.windowStart = now;
      state.count = 0;
    }
    if (++state.count > this.#limit) {
      state.bannedUntil = now + this.#banTime;
      state.count = 0;
      this.#bans++;
      this.#dropped++;
      this.#onBan(address, state.bannedUntil);
      return false;
    }
    return true;
  }

  #isTrusted(address: string): boolean {
    const cache = this.#trustCache;
    let trusted = cache.get(address);
    if (trusted === undefined) {
      const family = isIP(address);
      trusted = family !== 0 && this.#trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
      if (cache.size >= TRUST_CACHE_SIZE) cache.clear();
      cache.set(address, trusted);
    }
    return trusted;
  }

  stats(now: number): RateLimitStats {
    let banned = 0;
    for (const s of this.#sources.values()) if (s.bannedUntil > now) banned++;
    return { sources: this.#sources.size, banned, bans: this.#bans, dropped: this.#dropped };
  }
}

function addTrusted(list: BlockList, entry: string): void {
  if (typeof entry !== 'string') throw new SipCoreError('ERR_INVALID_OPTION', 'options.rateLimit.trusted must list addresses or CIDR blocks');
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  const prefix = slash < 0 ? (family === 4 ? 32 : 128) : Number(entry.slice(slash + 1));
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new SipCoreError('ERR_INVALID_OPTION', `options.rateLimit.trusted: ${entry} is not an address or CIDR block`);
  }
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}
