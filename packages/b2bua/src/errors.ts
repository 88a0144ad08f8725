// One error family for the B2BUA toolkit: a literal `code` per failure so `switch (err.code)`
// narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.

/**
 * Every code a `B2buaError` carries:
 * - `ERR_INVALID_OPTION`    createB2bua() or bridge() got an unusable option (wrong type or range)
 * - `ERR_INVALID_TARGET`    bridge(): no target, or a target that is not a sip:/sips: URI
 * - `ERR_INVALID_STATE`     bridge() of an incoming call that already has a final response or a bridge
 * - `ERR_TOO_MANY_CALLS`    bridge() past `maxCalls` (the INVITE is answered 503 with Retry-After)
 * - `ERR_HOOK`              an application hook threw or rejected (emitted as `error`, `cause` set); the
 *                           request it was about is answered 500, or the call ended
 * - `ERR_STOPPED`           the B2BUA was closed
 */
export type B2buaErrorCode = 'ERR_INVALID_OPTION' | 'ERR_INVALID_TARGET' | 'ERR_INVALID_STATE' | 'ERR_TOO_MANY_CALLS' | 'ERR_HOOK' | 'ERR_STOPPED';

const kB2buaError: unique symbol = Symbol.for('@sipts/b2bua.B2buaError');

export interface B2buaErrorOptions {
  cause?: unknown;
}

export class B2buaError extends Error {
  readonly code: B2buaErrorCode;
  readonly [kB2buaError] = true;

  constructor(code: B2buaErrorCode, message: string, options: B2buaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'B2buaError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isB2buaError(value);
  }
}

/** True for a `B2buaError` from any copy of this package. */
export function isB2buaError(value: unknown): value is B2buaError {
  return typeof value === 'object' && value !== null && (value as { [kB2buaError]?: unknown })[kB2buaError] === true;
}
