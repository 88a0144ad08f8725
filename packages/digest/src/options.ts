// Reading the options every digest instance takes (`createDigest`, `createDigestServer`) into
// the context its parts share. Bad options throw ERR_INVALID_OPTION.
import { randomBytes } from 'node:crypto';
import { ResultCounters, type DigestContext } from './context.js';
import { DigestError } from './errors.js';
import { MemoryFailureLimiter } from './limiter.js';
import { NonceIssuer } from './nonce.js';
import { MemoryReplayStore } from './replay.js';
import type { DigestOptions } from './types.js';

/** Default nonce lifetime: 5 minutes, like common SIP registrars. */
export const DEFAULT_NONCE_LIFETIME = 300_000;
const MIN_SECRET_BYTES = 16;

function secretBytes(secret: DigestOptions['secret']): Uint8Array {
  if (secret === undefined) return randomBytes(32);
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? secret : undefined;
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw new DigestError('ERR_INVALID_OPTION', `secret must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

export function contextOf(options: DigestOptions): DigestContext {
  const nonceLifetime = options.nonceLifetime ?? DEFAULT_NONCE_LIFETIME;
  if (typeof nonceLifetime !== 'number' || !Number.isFinite(nonceLifetime) || nonceLifetime <= 0) {
    throw new DigestError('ERR_INVALID_OPTION', 'nonceLifetime must be a positive number of milliseconds');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new DigestError('ERR_INVALID_OPTION', 'now must be a function returning ms');
  const nextNonce = options.nextNonce ?? 'auto';
  if (nextNonce !== 'auto' && nextNonce !== 'always' && nextNonce !== 'never') {
    throw new DigestError('ERR_INVALID_OPTION', "nextNonce must be 'auto', 'always' or 'never'");
  }
  const replayStore = options.replayStore ?? new MemoryReplayStore({ now });
  if (typeof replayStore !== 'object' || replayStore === null || typeof replayStore.checkAndRecord !== 'function') {
    throw new DigestError('ERR_INVALID_OPTION', 'replayStore must have a checkAndRecord(nonce, nc, expiresAt) method');
  }
  const limiterOption = options.limiter ?? new MemoryFailureLimiter({ now });
  let limiter: DigestContext['limiter'];
  if (limiterOption !== false) {
    if (
      typeof limiterOption !== 'object' ||
      limiterOption === null ||
      typeof limiterOption.acquire !== 'function' ||
      typeof limiterOption.settle !== 'function'
    ) {
      throw new DigestError('ERR_INVALID_OPTION', 'limiter must be false or have acquire and settle methods');
    }
    limiter = limiterOption;
  }
  return {
    nonces: new NonceIssuer(secretBytes(options.secret)),
    nonceLifetime,
    now,
    checkUri: options.checkUri === true,
    nextNonce,
    replayStore,
    limiter,
    counters: new ResultCounters(),
  };
}
