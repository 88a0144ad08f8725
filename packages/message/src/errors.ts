// One error class for everything @sipts/message refuses. The `code` is a literal union so a
// `switch (err.code)` narrows; the `Symbol.for` brand makes `isSipParseError` work across
// several copies of this package loaded in one process.

/**
 * Why a message, header or framing step was refused.
 * - `ERR_START_LINE`: the Request-Line or Status-Line is malformed (RFC 3261 §7.1, §7.2).
 * - `ERR_HEADER_SYNTAX`: a header line is not `name ":" value` or holds a bare CR/LF.
 * - `ERR_HEADER_VALUE`: a parsed header (Via, From, To, Contact, Route, CSeq, ...) is malformed.
 * - `ERR_DUPLICATE_HEADER`: a single-valued header (From, To, Call-ID, CSeq) appears twice.
 * - `ERR_CONTENT_LENGTH`: Content-Length is not a number, conflicts, is larger than the body
 *   (datagram) or is missing on a stream (RFC 3261 §18.3).
 * - `ERR_TOO_LARGE`: the header section exceeds `maxHeaderBytes` or the body `maxContentLength`.
 * - `ERR_INCOMPLETE`: no empty line ends the header section (datagram).
 * - `ERR_MISSING_HEADER`: `validateMessage` found a mandatory header missing (RFC 3261 §8.1.1).
 * - `ERR_VERSION`: `validateMessage` found a SIP version other than 2.0 (answer 505).
 */
export type ParseErrorCode =
  | 'ERR_START_LINE'
  | 'ERR_HEADER_SYNTAX'
  | 'ERR_HEADER_VALUE'
  | 'ERR_DUPLICATE_HEADER'
  | 'ERR_CONTENT_LENGTH'
  | 'ERR_TOO_LARGE'
  | 'ERR_INCOMPLETE'
  | 'ERR_MISSING_HEADER'
  | 'ERR_VERSION';

/** Every code, for documentation and exhaustive tests. */
export const PARSE_ERROR_CODES: readonly ParseErrorCode[] = [
  'ERR_START_LINE',
  'ERR_HEADER_SYNTAX',
  'ERR_HEADER_VALUE',
  'ERR_DUPLICATE_HEADER',
  'ERR_CONTENT_LENGTH',
  'ERR_TOO_LARGE',
  'ERR_INCOMPLETE',
  'ERR_MISSING_HEADER',
  'ERR_VERSION',
];

export interface SipParseErrorOptions {
  cause?: unknown;
}

const brand: unique symbol = Symbol.for('@sipts/message.SipParseError') as never;

export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly code: ParseErrorCode;
  /**
   * Where the problem was found: a character index into the header text for header errors
   * (equal to the byte offset when the header section is ASCII), a byte offset for framing
   * errors, -1 when there is no position (validateMessage).
   */
  readonly offset: number;
  /** The lower-case header name concerned, when there is one. */
  readonly header: string | undefined;
  readonly [brand] = true;

  constructor(code: ParseErrorCode, message: string, offset = -1, header?: string, options: SipParseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = offset;
    this.header = header;
  }

  // Several copies of this package can live in one application: `instanceof` checks the brand.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isSipParseError(value);
  }
}

/** True for a SipParseError from any copy of @sipts/message. */
export function isSipParseError(e: unknown): e is SipParseError {
  return typeof e === 'object' && e !== null && (e as { [brand]?: unknown })[brand] === true;
}
