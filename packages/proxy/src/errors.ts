// One error family for @sipts/proxy: a literal `code` per failure so `switch (err.code)` narrows,
// and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.

/**
 * Every code a `SipProxyError` carries:
 * - `ERR_NOT_STARTED`     a module-level function (`send`, `fork`) was called before `start()`
 * - `ERR_STOPPED`         `fork` / `forwardStateless` after `stop()`
 * - `ERR_NO_CONTEXT`      `fork` got a request that has no proxy context (not received by this
 *                         proxy, or an ACK)
 * - `ERR_INVALID_TARGET`  a fork target is not a SIP URI
 * - `ERR_INVALID_OPTION`  an option (of the proxy or of `fork`) has the wrong type or range
 * - `ERR_HANDLER`         the request handler or a response callback threw (reported through
 *                         `logger.error` and 'error', with the thrown value as `cause`; the caller
 *                         got 500)
 */
export type ProxyErrorCode =
  | 'ERR_NOT_STARTED'
  | 'ERR_STOPPED'
  | 'ERR_NO_CONTEXT'
  | 'ERR_INVALID_TARGET'
  | 'ERR_INVALID_OPTION'
  | 'ERR_HANDLER';

const kSipProxyError: unique symbol = Symbol.for('@sipts/proxy.SipProxyError');

export class SipProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly [kSipProxyError] = true;

  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SipProxyError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSipProxyError(value);
  }
}

/** True for a `SipProxyError` from any copy of this package. */
export function isSipProxyError(value: unknown): value is SipProxyError {
  return typeof value === 'object' && value !== null && (value as { [kSipProxyError]?: unknown })[kSipProxyError] === true;
}
