// One error family for the stream transports (TCP here, TLS on the same base).
import type { Remote } from '@sipts/message';

/**
 * Every code a stream transport reports, in a rejected `send()` / `listen()` promise or an
 * `'error'` event:
 * - `ERR_FLOW_GONE`: `target.local` names a connection that is closed (RFC 5626 §5.3 / `sip`:
 *   the stack answers 430 Flow Failed).
 * - `ERR_CONNECT_FAILED`: an outgoing connection could not be opened (`osCode` says why:
 *   `ECONNREFUSED`, `EHOSTUNREACH`, `ENOTFOUND`, ...).
 * - `ERR_CONNECT_TIMEOUT`: an outgoing connection (or its TLS handshake) took longer than
 *   `connectTimeout`.
 * - `ERR_TLS_HANDSHAKE`: the TCP connection opened but the TLS handshake failed (`osCode` is
 *   Node's/OpenSSL's code, e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`).
 * - `ERR_CONNECTION_CLOSED`: the connection closed before the data was written (peer reset,
 *   write after close, idle close), or the peer closed in the middle of a message.
 * - `ERR_MAX_CONNECTIONS`: opening one more connection would exceed `maxConnections`.
 * - `ERR_BUFFER_FULL`: the peer does not read; more than `maxBufferedBytes` wait to be written.
 * - `ERR_FRAMING`: the peer sent bytes that cannot be framed as SIP (oversize header or body,
 *   bad Content-Length, garbage); the connection is closed. `cause` is the `SipParseError`.
 * - `ERR_INVALID_MESSAGE`: a framed message lacked or had a malformed Via, From, To, Call-ID or
 *   CSeq; it was dropped. `cause` is the `SipParseError`.
 * - `ERR_INVALID_TARGET`: the target address or port is not usable.
 * - `ERR_LISTEN`: the server could not listen (`osCode`: `EADDRINUSE`, `EACCES`, ...).
 * - `ERR_TRANSPORT_CLOSED`: the transport was closed with `close()`.
 */
export type StreamTransportErrorCode =
  | 'ERR_FLOW_GONE'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_MAX_CONNECTIONS'
  | 'ERR_BUFFER_FULL'
  | 'ERR_FRAMING'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_INVALID_TARGET'
  | 'ERR_LISTEN'
  | 'ERR_TRANSPORT_CLOSED';

/** The codes as values, for `switch` and documentation. */
export const StreamTransportErrorCodes = {
  FLOW_GONE: 'ERR_FLOW_GONE',
  CONNECT_FAILED: 'ERR_CONNECT_FAILED',
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  TLS_HANDSHAKE: 'ERR_TLS_HANDSHAKE',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  MAX_CONNECTIONS: 'ERR_MAX_CONNECTIONS',
  BUFFER_FULL: 'ERR_BUFFER_FULL',
  FRAMING: 'ERR_FRAMING',
  INVALID_MESSAGE: 'ERR_INVALID_MESSAGE',
  INVALID_TARGET: 'ERR_INVALID_TARGET',
  LISTEN: 'ERR_LISTEN',
  TRANSPORT_CLOSED: 'ERR_TRANSPORT_CLOSED',
} as const satisfies Record<string, StreamTransportErrorCode>;

// A brand shared by every copy of this package in one process, so the instanceof check and
// isStreamTransportError work even when two versions are installed side by side.
const kStreamTransportError: unique symbol = Symbol.for('@sipts/transport-tcp.StreamTransportError') as never;

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
