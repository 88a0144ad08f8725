// The one inbound path: what every transport does with the bytes of one whole message (a UDP
// datagram, a WebSocket message, a framed stream message). They become a validated message with
// `received`/`rport` stamped on a request's top Via, a keep-alive, or a rejection carrying the
// 400/505 bytes to answer with (RFC 3261 §8.2, §18.3, §21.4.1), built here once for all of them.
import { buildBadRequest } from './bad-request.js';
import { isSipParseError, SipParseError } from './errors.js';
import { stampReceived, validateMessage } from './message.js';
import { DEFAULT_MAX_CONTENT_LENGTH, DEFAULT_MAX_HEADER_BYTES, parse } from './parse.js';
import type { Remote, SipMessage, SipRequest } from './types.js';

/** The size limits every transport applies to what it receives (DESIGN.md: one table). */
export interface MessageLimits {
  /** Largest header section (start line to the empty line), in bytes. */
  readonly maxHeaderBytes: number;
  /** Largest body, in bytes. */
  readonly maxContentLength: number;
}

/** The option names transports accept for the limits (`maxBytesHeaders` is `sip`'s spelling). */
export interface MessageLimitOptions {
  /** Largest header section in bytes. Default 60480. */
  maxHeaderBytes?: number | undefined;
  /** `sip`'s name for `maxHeaderBytes`, read when that is not set. */
  maxBytesHeaders?: number | undefined;
  /** Largest body in bytes. Default 604800. */
  maxContentLength?: number | undefined;
}

/** 60480 / 604800: the defaults of `sip`, kept so that a drop-in accepts what `sip` accepted. */
export const DEFAULT_MESSAGE_LIMITS: MessageLimits = Object.freeze({
  maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
  maxContentLength: DEFAULT_MAX_CONTENT_LENGTH,
});

/** The limits named by `options`, defaults filled in (check them first with `invalidLimitOption`). */
export function messageLimits(options: MessageLimitOptions = {}): MessageLimits {
  const header = options.maxHeaderBytes ?? options.maxBytesHeaders;
  const body = options.maxContentLength;
  if (header === undefined && body === undefined) return DEFAULT_MESSAGE_LIMITS;
  return { maxHeaderBytes: header ?? DEFAULT_MAX_HEADER_BYTES, maxContentLength: body ?? DEFAULT_MAX_CONTENT_LENGTH };
}

/**
 * The name of the first limit option that is not a usable size (the header limit must be a
 * positive integer, the body limit a non-negative one), or undefined. Each transport throws its
 * own `ERR_INVALID_OPTION` with it.
 */
export function invalidLimitOption(options: MessageLimitOptions = {}): keyof MessageLimitOptions | undefined {
  if (options.maxHeaderBytes !== undefined && !isPositiveInteger(options.maxHeaderBytes)) return 'maxHeaderBytes';
  if (options.maxHeaderBytes === undefined && options.maxBytesHeaders !== undefined && !isPositiveInteger(options.maxBytesHeaders)) {
    return 'maxBytesHeaders';
  }
  const body = options.maxContentLength;
  if (body !== undefined && !(Number.isInteger(body) && body >= 0)) return 'maxContentLength';
  return undefined;
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** What became of one unit of inbound bytes. */
export type Inbound = InboundMessage | InboundKeepAlive | InboundRejection;

export interface InboundMessage {
  readonly kind: 'message';
  /** Valid: Via, From, To, Call-ID and CSeq usable; a request has `received`/`rport` stamped. */
  readonly message: SipMessage;
}

export interface InboundKeepAlive {
  readonly kind: 'keepalive';
  /** RFC 5626 §4.4.1: a double CRLF ping that a stream or WebSocket peer expects a CRLF pong for. */
  readonly ping: boolean;
}

export interface InboundRejection {
  readonly kind: 'rejected';
  /** Why: a parse or validation failure. */
  readonly error: SipParseError;
  /** The 400 (505 for an unsupported version) to send back, or undefined (a response or an ACK). */
  readonly reply: Buffer | undefined;
  /** The status of `reply` (0 when there is none). */
  readonly status: 400 | 505 | 0;
}

const KEEPALIVE: InboundKeepAlive = Object.freeze({ kind: 'keepalive', ping: false });
const KEEPALIVE_PING: InboundKeepAlive = Object.freeze({ kind: 'keepalive', ping: true });

/**
 * Only CR, LF, SP and HT: keep-alive noise (RFC 5626 §4.4.1), never answered with a 400. A
 * `ping` is exactly CRLFCRLF.
 */
function keepAliveOf(data: Uint8Array): InboundKeepAlive | undefined {
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return undefined;
  }
  const ping = data.length === 4 && data[0] === 0x0d && data[1] === 0x0a && data[2] === 0x0d && data[3] === 0x0a;
  return ping ? KEEPALIVE_PING : KEEPALIVE;
}

const encoder = new TextEncoder();

/**
 * One whole message received from `remote` (a datagram, a WebSocket message): parsed within
 * `limits`, checked for the headers a transaction needs (RFC 3261 §8.1.1), `received`/`rport`
 * stamped on a request (§18.2.1, RFC 3581 §4). Never throws.
 */
export function readMessage(data: Uint8Array | string, remote: Remote, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): Inbound {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const keepAlive = keepAliveOf(bytes);
  if (keepAlive !== undefined) return keepAlive;
  let message: SipMessage;
  // A UDP source address is unverified: its error replies must not amplify (see rejectBytes).
  const datagram = remote.protocol === 'UDP';
  try {
    message = parse(bytes, limits);
  } catch (error) {
    return rejectBytes(bytes, error, limits, datagram);
  }
  const invalid = validateMessage(message);
  if (invalid !== undefined) return rejectBytes(bytes, invalid, limits, datagram);
  if ('method' in message) stampReceived(message as SipRequest, remote.address, remote.port);
  return { kind: 'message', message };
}

/**
 * The second half of `readMessage`, for a message a stream framer has already parsed: the
 * mandatory headers checked, a request stamped. `bytes` (when the caller still has them) lets
 * the rejection carry a 400 reply.
 */
export function acceptMessage(message: SipMessage, remote: Remote, bytes?: Uint8Array, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): Inbound {
  const invalid = validateMessage(message);
  if (invalid !== undefined) return bytes === undefined ? { kind: 'rejected', error: invalid, reply: undefined, status: 0 } : rejectBytes(bytes, invalid, limits);
  if ('method' in message) stampReceived(message as SipRequest, remote.address, remote.port);
  return { kind: 'message', message };
}

/**
 * The rejection of bytes that are not a valid message: 505 for a SIP version we do not speak,
 * 400 for anything else (RFC 3261 §8.2.2, §21.5.7), no reply unless the bytes start with a
 * request line other than ACK. `datagram` (an unverified UDP source): no reply without Via and
 * CSeq, and never a reply larger than the request (see buildBadRequest).
 */
export function rejectBytes(bytes: Uint8Array, error: unknown, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS, datagram = false): InboundRejection {
  const parseError = isSipParseError(error)
    ? error
    : new SipParseError('ERR_START_LINE', error instanceof Error ? error.message : 'not a SIP message', 0);
  const version = parseError.code === 'ERR_VERSION';
  const status = version ? 505 : 400;
  const reason = version ? 'Version Not Supported' : `Bad Request (${parseError.message})`;
  const reply = buildBadRequest(bytes, status, reason, limits.maxHeaderBytes, datagram);
  return { kind: 'rejected', error: parseError, reply, status: reply === undefined ? 0 : status };
}
