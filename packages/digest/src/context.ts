// What one `createDigest` instance shares between its server and client halves.
import { timingSafeEqual } from 'node:crypto';
import type { NonceIssuer } from './nonce.js';

export interface DigestContext {
  readonly nonces: NonceIssuer;
  /** ms */
  readonly nonceLifetime: number;
  readonly now: () => number;
  readonly checkUri: boolean;
  readonly nextNonce: 'auto' | 'always' | 'never';
}

/** A nonce stamped further ahead than this is not one of ours (clock skew between instances). */
export const MAX_CLOCK_SKEW = 30_000;

/** Constant-time equality of two ASCII strings (digests, hashes); different lengths are unequal. */
export function equalAscii(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
