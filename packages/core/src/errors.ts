// One error family for @sipts/core, with a literal `code` so `switch (err.code)` narrows and a
// `Symbol.for` brand so the check works across duplicate copies of the package in one app.

/**
 * - `ERR_INVALID_OPTION`: an option of `create`/`start` has the wrong type or range.
 * - `ERR_INVALID_MESSAGE`: `send`/`request` got a message missing a mandatory part.
 * - `ERR_NOT_STARTED`: a module-level function was called before `start()`.
 * - `ERR_STOPPED`: the stack was destroyed while the operation was pending.
 * - `ERR_ABORTED`: the caller's `AbortSignal` fired before a final response.
 * - `ERR_LISTEN`: a transport could not bind (port in use, address not local...).
 */
export type CoreErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_NOT_STARTED'
  | 'ERR_STOPPED'
  | 'ERR_ABORTED'
  | 'ERR_LISTEN';

const brand: unique symbol = Symbol.for('@sipts/core.SipCoreError') as never;

export interface SipCoreErrorOptions {
  cause?: unknown;
}

export class SipCoreError extends Error {
  override readonly name = 'SipCoreError';
  readonly code: CoreErrorCode;
  readonly [brand] = true;

  constructor(code: CoreErrorCode, message: string, options: SipCoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSipCoreError(value);
  }
}

/** True for a SipCoreError from any copy of this package. */
export function isSipCoreError(value: unknown): value is SipCoreError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}
