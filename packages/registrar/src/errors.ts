// One error family for the registrar: a literal `code` per failure so `switch (err.code)`
// narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
//
// Every code a `RegistrarError` carries:
// - `ERR_INVALID_OPTION`  an option of createRegistrar / a store constructor is unusable
// - `ERR_STORE`           a binding store operation failed (Redis down, a script error): `cause` says why
// - `ERR_STORE_CLOSED`    an operation on a store (or registrar) after close()
// - `ERR_REDIS_MISSING`   the Redis store was asked to connect by URL but `ioredis` is not installed

export type RegistrarErrorCode = 'ERR_INVALID_OPTION' | 'ERR_STORE' | 'ERR_STORE_CLOSED' | 'ERR_REDIS_MISSING';

const kRegistrarError: unique symbol = Symbol.for('@sipts/registrar.RegistrarError');

export class RegistrarError extends Error {
  readonly code: RegistrarErrorCode;
  readonly [kRegistrarError] = true;

  constructor(code: RegistrarErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistrarError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isRegistrarError(value);
  }
}

/** True for a `RegistrarError` from any copy of this package. */
export function isRegistrarError(value: unknown): value is RegistrarError {
  return typeof value === 'object' && value !== null && (value as { [kRegistrarError]?: unknown })[kRegistrarError] === true;
}

/** Throws `ERR_INVALID_OPTION` unless `ok`. */
export function checkOption(ok: boolean, name: string, expected: string): void {
  if (!ok) throw new RegistrarError('ERR_INVALID_OPTION', `options.${name} must be ${expected}`);
}
