// One error family for @sipts/proxy, with a literal `code` so `switch (err.code)` narrows and a
// `Symbol.for` brand so the check works across duplicate copies of the package in one app.

/**
 * - `ERR_NOT_STARTED`: a module-level function (`send`, `fork`) was called before `start()`.
 * - `ERR_STOPPED`: the proxy was stopped; nothing more can be sent through it.
 * - `ERR_NO_CONTEXT`: `fork` got a request that has no proxy context (not received by this proxy,
 *   already answered, or released).
 * - `ERR_INVALID_TARGET`: a fork target is not a SIP URI.
 * - `ERR_INVALID_OPTION`: an option has the wrong type or range.
 * - `ERR_STATELESS_UNSUPPORTED`: the stack cannot send without a transaction.
 * - `ERR_HANDLER`: the request handler threw (reported through `logger.error` and 'error').
 */
export type ProxyErrorCode =
  | 'ERR_NOT_STARTED'
  | 'ERR_STOPPED'
  | 'ERR_NO_CONTEXT'
  | 'ERR_INVALID_TARGET'
  | 'ERR_INVALID_OPTION'
  | 'ERR_STATELESS_UNSUPPORTED'
  | 'ERR_HANDLER';

const brand = Symbol.for('@sipts/proxy.SipProxyError');

export class SipProxyError extends Error {
  readonly code: ProxyErrorCode;

  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SipProxyError';
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSipProxyError(value);
  }
}

export function isSipProxyError(value: unknown): value is SipProxyError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
