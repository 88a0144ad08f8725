// The one error family of @sipts/sdp. Parsing network input ends in a session description or in
// an SdpError; nothing else is ever thrown. Codes:
// - ERR_TOO_LARGE         the input is longer than `maxBytes`
// - ERR_TOO_MANY_LINES    the input has more lines than `maxLines`
// - ERR_ENCODING          the bytes are not valid UTF-8 (RFC 8866 §5: text is UTF-8)
// - ERR_LINE_SYNTAX       a line is not `<letter>=<value>`, holds a NUL or a bare CR, or is empty
//                         before the end of the description
// - ERR_STRUCTURE         the description does not begin with a v= line (RFC 8866 §5)
// - ERR_VERSION           the v= value is not a number
// - ERR_ORIGIN            the o= line does not have its six fields (RFC 8866 §5.2)
// - ERR_CONNECTION        the c= line does not have its three fields, or a bad TTL / count (§5.7)
// - ERR_BANDWIDTH         the b= line is not `<bwtype>:<bandwidth>` (§5.8)
// - ERR_TIMING            the t= line is not two decimal times (§5.9)
// - ERR_MEDIA             the m= line is not `<media> <port>[/<count>] <proto> <fmt> ...` (§5.14);
//                         the sip-compatible `parse` also uses it where sip@0.0.6 threw
// - ERR_INVALID_ARGUMENT  a function got something that is not an SDP (not a string, bytes or
//                         object; the sip-compatible `stringify` got an object sip could not write)
// - ERR_INVALID_VALUE     stringifySdp or a helper was given a value it cannot write as one
//                         line that parses back to the same value (CR, LF or NUL in a field, a
//                         space inside a token, a port outside 0-65535, ...)
// - ERR_INVALID_OPTION    a bad option (limits that are not positive integers, an unknown direction)

/** Every code an {@link SdpError} can carry (see the list at the top of errors.ts). */
export type SdpErrorCode =
  | 'ERR_TOO_LARGE'
  | 'ERR_TOO_MANY_LINES'
  | 'ERR_ENCODING'
  | 'ERR_LINE_SYNTAX'
  | 'ERR_STRUCTURE'
  | 'ERR_VERSION'
  | 'ERR_ORIGIN'
  | 'ERR_CONNECTION'
  | 'ERR_BANDWIDTH'
  | 'ERR_TIMING'
  | 'ERR_MEDIA'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_VALUE'
  | 'ERR_INVALID_OPTION';

/** Every code, for documentation and exhaustive tests. */
export const SDP_ERROR_CODES: readonly SdpErrorCode[] = [
  'ERR_TOO_LARGE',
  'ERR_TOO_MANY_LINES',
  'ERR_ENCODING',
  'ERR_LINE_SYNTAX',
  'ERR_STRUCTURE',
  'ERR_VERSION',
  'ERR_ORIGIN',
  'ERR_CONNECTION',
  'ERR_BANDWIDTH',
  'ERR_TIMING',
  'ERR_MEDIA',
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_VALUE',
  'ERR_INVALID_OPTION',
];

const kSdpError: unique symbol = Symbol.for('@sipts/sdp.SdpError');

export interface SdpErrorOptions {
  /** 1-based line number of the offending line; 0 when the error is not about one line. */
  line?: number | undefined;
  cause?: unknown;
}

/** Why an SDP was refused, or why a value could not be written. */
export class SdpError extends Error {
  readonly code: SdpErrorCode;
  /**
   * 1-based number of the line concerned: the input line for parse errors, the output line for
   * stringify errors; 0 when no single line is concerned (size limits, bad arguments).
   */
  readonly line: number;
  readonly [kSdpError] = true;

  constructor(code: SdpErrorCode, message: string, options: SdpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SdpError';
    this.code = code;
    this.line = options.line ?? 0;
  }

  // Several copies of this package can live in one application: `instanceof` checks the
  // brand, not the prototype chain.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSdpError(value);
  }
}

/** True for an {@link SdpError} from any copy of this package. */
export function isSdpError(value: unknown): value is SdpError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [kSdpError]?: unknown })[kSdpError] === true
  );
}
