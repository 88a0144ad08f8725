// What one `createDigest` / `createDigestServer` instance shares between its parts.
import { timingSafeEqual } from 'node:crypto';
import type { DigestFailureLimiter } from './limiter.js';
import type { NonceIssuer } from './nonce.js';
import type { DigestReplayStore } from './replay.js';
import type { DigestFailureReason, DigestStats } from './types.js';

export interface DigestContext {
  readonly nonces: NonceIssuer;
  /** ms */
  readonly nonceLifetime: number;
  readonly now: () => number;
  readonly checkUri: boolean;
  readonly nextNonce: 'auto' | 'always' | 'never';
  readonly replayStore: DigestReplayStore;
  readonly limiter: DigestFailureLimiter | undefined;
  readonly counters: ResultCounters;
}

/** A nonce stamped further ahead than this is not one of ours (clock skew between instances). */
export const MAX_CLOCK_SKEW = 30_000;

/** Constant-time equality of two ASCII strings (digests, hashes); different lengths are unequal. */
export function equalAscii(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

function zeroByReason(): Record<DigestFailureReason, number> {
  return {
    missing: 0,
    realm: 0,
    malformed: 0,
    algorithm: 0,
    qop: 0,
    opaque: 0,
    uri: 0,
    username: 0,
    credentials: 0,
    nonce: 0,
    stale: 0,
    replay: 0,
    mismatch: 0,
    duplicate: 0,
    blocked: 0,
    unknown: 0,
  };
}

/** How many requests each outcome had, for `stats()`. */
export class ResultCounters {
  accepted = 0;
  readonly failed = zeroByReason();

  snapshot(ctx: DigestContext): DigestStats {
    const limiter = ctx.limiter?.stats?.();
    const replayStore = ctx.replayStore.stats?.();
    return {
      accepted: this.accepted,
      failed: { ...this.failed },
      ...(limiter === undefined ? {} : { limiter }),
      ...(replayStore === undefined ? {} : { replayStore }),
    };
  }
}
