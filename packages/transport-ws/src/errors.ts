// One error family for the WebSocket transport: a literal `code` per failure so
// `switch (err.code)` narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate
// copies of the package.
import type { Remote } from '@sipts/message';

/**
 * Every code a `WsTransportError` carries:
 * - `ERR_TRANSPORT_CLOSED`  send() or listen() after close(), or a queued send cut by close()
 * - `ERR_INVALID_TARGET`    no usable URL, address or port in the target
 * - `ERR_FLOW_GONE`         `target.local` names a connection that is closed or unknown
 * - `ERR_CONNECT_FAILED`    an outgoing connection failed (refused, TLS, handshake, no `sip` subprotocol)
 * - `ERR_CONNECT_TIMEOUT`   an outgoing connection did not complete its handshake within `connectTimeout`
 * - `ERR_MAX_CONNECTIONS`   `maxConnections` reached: no new outgoing connection
 * - `ERR_WS_SEND`           the WebSocket reported a write error
 * - `ERR_WS_QUEUE_FULL`     more than `maxQueuedMessages` sends, or `maxBufferedBytes` bytes, wait for a
 *                           connection to open
 * - `ERR_LISTEN`            listen() could not bind (`cause`: EADDRINUSE, EACCES, ...)
 * - `ERR_WS_SERVER`         the listening server reported an error (emitted as 'error')
 * - `ERR_WS_CONNECTION`     a refused upgrade, an error on an open connection (a frame over the size limit,
 *                           a WebSocket protocol error), or a peer cut for not answering pings (logged)
 * - `ERR_INVALID_MESSAGE`   a frame was not a valid SIP message and was dropped or answered 400/505 (logged)
 * - `ERR_BUFFER_FULL`       the peer does not read: more than `maxBufferedBytes` waited to be written on its
 *                           connection, which is closed (1008); sends on it reject with this code
 * - `ERR_INVALID_OPTION`    the constructor got an unusable option (a negative size, a port outside 0..65535,
 *                           a logger member that is not a function, ...)
 */
export type WsTransportErrorCode =
  | 'ERR_TRANSPORT_CLOSED'
  | 'ERR_INVALID_TARGET'
  | 'ERR_FLOW_GONE'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_MAX_CONNECTIONS'
  | 'ERR_WS_SEND'
  | 'ERR_WS_QUEUE_FULL'
  | 'ERR_LISTEN'
  | 'ERR_WS_SERVER'
  | 'ERR_WS_CONNECTION'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_BUFFER_FULL'
  | 'ERR_INVALID_OPTION';

const kWsTransportError: unique symbol = Symbol.for('@sipts/transport-ws.WsTransportError');

export interface WsTransportErrorOptions {
  cause?: unknown;
  /** The peer involved (the target of a send, the source of a dropped frame). */
  remote?: Remote | undefined;
}

export class WsTransportError extends Error {
  readonly code: WsTransportErrorCode;
  readonly remote: Remote | undefined;
  /** The Node/OS code of the underlying error when there is one (`EADDRINUSE`, `ECONNREFUSED`, ...). */
  readonly osCode: string | undefined;
  readonly [kWsTransportError] = true;

  constructor(code: WsTransportErrorCode, message: string, options: WsTransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WsTransportError';
    this.code = code;
    this.remote = options.remote;
    const cause = options.cause as { code?: unknown } | undefined;
    this.osCode = typeof cause === 'object' && cause !== null && typeof cause.code === 'string' ? cause.code : undefined;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isWsTransportError(value);
  }
}

/** True for a `WsTransportError` from any copy of this package. */
export function isWsTransportError(value: unknown): value is WsTransportError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [kWsTransportError]?: unknown })[kWsTransportError] === true
  );
}
