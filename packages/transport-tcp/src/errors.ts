// One error family for the stream transports (TCP here, TLS on the same base): a literal
// `code` per failure so `switch (err.code)` narrows, and a `Symbol.for` brand so `instanceof`
// holds across duplicate copies of the package.
import type { Remote } from '@sipts/message';

/**
 * Every code a `StreamTransportError` carries, in a rejected `send()` / `listen()` promise, an
 * `'error'` event, or thrown by the constructor:
 * - `ERR_INVALID_OPTION`: the constructor got an unusable option (a negative size or timeout,
 *   a port outside 0..65535, a logger that is not an object); thrown.
 * - `ERR_FLOW_GONE`: `target.local` names a connection that is closed (RFC 5626 §5.3 / `sip`:
 *   the stack answers 430 Flow Failed).
 * - `ERR_NOT_CONNECTED`: a send with `connect: false` found no open connection to the target.
 * - `ERR_CONNECT_FAILED`: an outgoing connection could not be opened (`osCode` says why:
 *   `ECONNREFUSED`, `EHOSTUNREACH`, `ENOTFOUND`, ...).
 * - `ERR_CONNECT_TIMEOUT`: an outgoing connection (or its TLS handshake) took longer than
 *   `connectTimeout`.
 * - `ERR_TLS_HANDSHAKE`: a TLS handshake failed or timed out (`osCode` is Node's/OpenSSL's code,
 *   e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, `ERR_TLS_HANDSHAKE_TIMEOUT`).
 * - `ERR_CONNECTION_CLOSED`: the connection closed before the data was written (peer reset,
 *   write after close, idle close), or the peer closed in the middle of a message.
 * - `ERR_MAX_CONNECTIONS`: `maxConnections` are open and none could be evicted: an inbound
 *   connection was refused, or an outgoing one not opened.
 * - `ERR_SOURCE_LIMIT`: an inbound connection was refused: its source address (IPv6: its /64)
 *   already has `maxConnectionsPerSource` connections.
 * - `ERR_EVICTED`: a connection was closed to make room for a new one under `maxConnections`:
 *   its message was the slowest (older than `evictAfter`), or it was idle the longest.
 * - `ERR_MESSAGE_TIMEOUT`: a header section took longer than `headerTimeout`, or a body longer
 *   than `bodyTimeout`, to arrive; the connection was closed.
 * - `ERR_PENDING_LIMIT`: incomplete messages held more than `maxPendingBytes` across all
 *   connections; the connection whose message started first was closed.
 * - `ERR_BUFFER_FULL`: the peer does not read; more than `maxBufferedBytes` wait to be written.
 * - `ERR_FRAMING`: the peer sent bytes that cannot be framed as SIP (oversize header or body,
 *   bad Content-Length, garbage); a request was answered 400 and the connection closed.
 *   `cause` is the `SipParseError`.
 * - `ERR_INVALID_MESSAGE`: a framed message lacked or had a malformed Via, From, To, Call-ID or
 *   CSeq (or a header that does not parse); a request was answered 400 (505 for another SIP
 *   version) and the connection closed. `cause` is the `SipParseError`.
 * - `ERR_INVALID_TARGET`: the target address or port is not usable.
 * - `ERR_LISTEN`: the server could not listen (`osCode`: `EADDRINUSE`, `EACCES`, ...).
 * - `ERR_TRANSPORT_CLOSED`: the transport was closed with `close()`.
 */
export type StreamTransportErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_FLOW_GONE'
  | 'ERR_NOT_CONNECTED'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_MAX_CONNECTIONS'
  | 'ERR_SOURCE_LIMIT'
  | 'ERR_EVICTED'
  | 'ERR_MESSAGE_TIMEOUT'
  | 'ERR_PENDING_LIMIT'
  | 'ERR_BUFFER_FULL'
  | 'ERR_FRAMING'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_INVALID_TARGET'
  | 'ERR_LISTEN'
  | 'ERR_TRANSPORT_CLOSED';

/** The codes as values, for `switch` and documentation. */
export const StreamTransportErrorCodes = {
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  FLOW_GONE: 'ERR_FLOW_GONE',
  NOT_CONNECTED: 'ERR_NOT_CONNECTED',
  CONNECT_FAILED: 'ERR_CONNECT_FAILED',
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  TLS_HANDSHAKE: 'ERR_TLS_HANDSHAKE',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  MAX_CONNECTIONS: 'ERR_MAX_CONNECTIONS',
  SOURCE_LIMIT: 'ERR_SOURCE_LIMIT',
  EVICTED: 'ERR_EVICTED',
  MESSAGE_TIMEOUT: 'ERR_MESSAGE_TIMEOUT',
  PENDING_LIMIT: 'ERR_PENDING_LIMIT',
  BUFFER_FULL: 'ERR_BUFFER_FULL',
  FRAMING: 'ERR_FRAMING',
  INVALID_MESSAGE: 'ERR_INVALID_MESSAGE',
  INVALID_TARGET: 'ERR_INVALID_TARGET',
  LISTEN: 'ERR_LISTEN',
  TRANSPORT_CLOSED: 'ERR_TRANSPORT_CLOSED',
} as const satisfies Record<string, StreamTransportErrorCode>;

// A brand shared by every copy of this package in one process, so the instanceof check and
// isStreamTransportError work even when two versions are installed side by side.
const kStreamTransportError: unique symbol = Symbol.for('@sipts/transport-tcp.StreamTransportError');

export interface StreamTransportErrorOptions {
  /** The peer concerned, when there is one. */
  remote?: Remote | undefined;
  /** The operating system's or Node's own code (`ECONNREFUSED`, `ECONNRESET`, ...). */
  osCode?: string | undefined;
  cause?: unknown;
}

export class StreamTransportError extends Error {
  readonly code: StreamTransportErrorCode;
  readonly remote: Remote | undefined;
  readonly osCode: string | undefined;
  readonly [kStreamTransportError] = true;

  constructor(code: StreamTransportErrorCode, message: string, options: StreamTransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamTransportError';
    this.code = code;
    this.remote = options.remote;
    this.osCode = options.osCode;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isStreamTransportError(value);
  }
}

/** True for a `StreamTransportError` from any copy of this package. */
export function isStreamTransportError(value: unknown): value is StreamTransportError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kStreamTransportError] === true;
}

/** The `code` Node puts on system and TLS errors, if any. */
export function osCodeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
