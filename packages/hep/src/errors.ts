// One error family for HEP capture: a literal `code` per failure so `switch (err.code)` narrows,
// and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
//
// Every code a `HepError` carries:
// - `ERR_INVALID_OPTION`  an unusable option (a target that is not host:port, a capture id
//                         outside 0..2^32-1, a queue size that is not a positive integer, ...)
// - `ERR_INVALID_PACKET`  encodeHep() got an address that is not an IP literal, or a port outside 0..65535
// - `ERR_SEND`            the socket towards the collector failed (reported to `onError`, never thrown
//                         into SIP traffic; the packet is counted in `stats().errors`)

export type HepErrorCode = 'ERR_INVALID_OPTION' | 'ERR_INVALID_PACKET' | 'ERR_SEND';

const kHepError: unique symbol = Symbol.for('@sipts/hep.HepError');

export class HepError extends Error {
  readonly code: HepErrorCode;
  readonly [kHepError] = true;

  constructor(code: HepErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HepError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isHepError(value);
  }
}

/** True for a `HepError` from any copy of this package. */
export function isHepError(value: unknown): value is HepError {
  return typeof value === 'object' && value !== null && (value as { [kHepError]?: unknown })[kHepError] === true;
}
