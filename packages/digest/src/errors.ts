// The one error family of @sipts/digest: a literal `code` per failure so `switch (err.code)`
// narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
// It is thrown for programmer errors and for failures of what the caller plugged in (a replay
// store, limiter or account lookup that throws or rejects). Input from the network never throws:
// authentication simply fails.

/**
 * Every code a `DigestError` carries:
 * - `ERR_NO_REALM`              `challenge` / `authenticateRequest` got a session without a usable `realm`
 * - `ERR_NO_CREDENTIALS`        `signRequest` got a challenge but no credentials (and none cached)
 * - `ERR_INVALID_CREDENTIALS`   credentials without `user`, or without `password` and `hash`
 * - `ERR_NO_CHALLENGE`          `signRequest` without a response on a session that never saw a challenge
 * - `ERR_NOT_AUTHENTICATED`     `signResponse` for a session or result that authenticated nothing
 * - `ERR_UNSUPPORTED_ALGORITHM` a session, option or low-level call names an unknown algorithm
 * - `ERR_INVALID_QOP`           a `qop` other than `auth`, `auth-int`, `none`
 * - `ERR_INVALID_OPTION`        a bad option (`createDigest`, `createDigestServer`, stores, limiter)
 * - `ERR_ASYNC_STORE`           the synchronous API got a Promise from its replay store or limiter
 *                               (use `createDigestServer().verify` with asynchronous stores)
 * - `ERR_REPLAY_STORE`          the replay store threw or rejected (`cause`: its error)
 * - `ERR_LIMITER`               the failure limiter threw or rejected (`cause`: its error)
 * - `ERR_LOOKUP`                the account `lookup` threw or rejected (`cause`: its error)
 */
export type DigestErrorCode =
  | 'ERR_NO_REALM'
  | 'ERR_NO_CREDENTIALS'
  | 'ERR_INVALID_CREDENTIALS'
  | 'ERR_NO_CHALLENGE'
  | 'ERR_NOT_AUTHENTICATED'
  | 'ERR_UNSUPPORTED_ALGORITHM'
  | 'ERR_INVALID_QOP'
  | 'ERR_INVALID_OPTION'
  | 'ERR_ASYNC_STORE'
  | 'ERR_REPLAY_STORE'
  | 'ERR_LIMITER'
  | 'ERR_LOOKUP';

const kDigestError: unique symbol = Symbol.for('@sipts/digest.DigestError');

export interface DigestErrorOptions {
  /** The underlying error (a store's, a lookup's). */
  cause?: unknown;
}

/** An error raised by @sipts/digest; `code` says which. */
export class DigestError extends Error {
  readonly code: DigestErrorCode;
  readonly [kDigestError] = true;

  constructor(code: DigestErrorCode, message: string, options: DigestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DigestError';
    this.code = code;
  }

  // Several copies of this package can live in one application: `instanceof` checks the
  // brand, not the prototype chain.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isDigestError(value);
  }
}

/** True for a `DigestError` from any copy of this package. */
export function isDigestError(value: unknown): value is DigestError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [kDigestError]?: unknown })[kDigestError] === true
  );
}
