// The one error family of @sipts/digest. It is thrown only for programmer errors (a session
// without a realm, signing before a challenge, bad options). Input from the network never
// throws: authentication simply fails.

/** Every code a {@link DigestError} can carry. */
export type DigestErrorCode =
  /** `challenge` / `authenticateRequest` got a session without a usable `realm`. */
  | 'ERR_NO_REALM'
  /** `signRequest` got a challenge but no credentials (and none cached in the session). */
  | 'ERR_NO_CREDENTIALS'
  /** Credentials are unusable: no `user`, no `password` or `hash`, or control characters. */
  | 'ERR_INVALID_CREDENTIALS'
  /** `signRequest` without a response was called on a session that never saw a challenge. */
  | 'ERR_NO_CHALLENGE'
  /** `signResponse` was called on a session that has not authenticated a request. */
  | 'ERR_NOT_AUTHENTICATED'
  /** A session or a low-level call names an algorithm this package does not implement. */
  | 'ERR_UNSUPPORTED_ALGORITHM'
  /** A session's `qop` lists something other than `auth`, `auth-int` or `none`. */
  | 'ERR_INVALID_QOP'
  /** `createDigest` got an invalid option (short secret, non-positive lifetime, ...). */
  | 'ERR_INVALID_OPTION';

const kDigestError = Symbol.for('@sipts/digest.DigestError');

/** A programmer error raised by @sipts/digest; `code` says which. */
export class DigestError extends Error {
  readonly code: DigestErrorCode;

  constructor(code: DigestErrorCode, message: string) {
    super(message);
    this.name = 'DigestError';
    this.code = code;
  }

  // Several copies of this package can live in one application: `instanceof` checks the
  // brand, not the prototype chain.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isDigestError(value);
  }
}

Object.defineProperty(DigestError.prototype, kDigestError, { value: true });

/** True for a {@link DigestError} from any copy of this package. */
export function isDigestError(value: unknown): value is DigestError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[kDigestError] === true
  );
}
