// One error family for the UDP transport: a literal `code` per failure so `switch (err.code)`
// narrows, and a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
import type { Remote } from '@sipts/message';

/**
 * Every code a `UdpTransportError` carries:
 * - `ERR_NOT_LISTENING`     send() before listen() resolved
 * - `ERR_TRANSPORT_CLOSED`  send() or listen() after close()
 * - `ERR_INVALID_TARGET`    target address is not an IP literal or port not in 1..65535
 * - `ERR_UDP_FAMILY`        target address family cannot be reached from the bound socket
 * - `ERR_UDP_TOO_LARGE`     datagram over 65,507 (IPv4) / 65,527 (IPv6) bytes: cannot be sent
 * - `ERR_UDP_MTU`           request over the RFC 3261 §18.1.1 allowance (1300 bytes) without `allowOversize`
 * - `ERR_UDP_SEND`          the socket reported a send error (`cause` holds the system error)
 * - `ERR_LISTEN`            listen() could not bind (`cause`: EADDRINUSE, EACCES, ...)
 * - `ERR_UDP_SOCKET`        the bound socket reported an error (emitted as 'error')
 * - `ERR_UDP_BUFFER_SIZE`   setting the receive/send buffer size failed (reported, never thrown)
 * - `ERR_INVALID_MESSAGE`   a datagram was dropped: unparseable or missing mandatory headers (logged)
 * - `ERR_INVALID_OPTION`    the constructor got an unusable option (a negative size, a port outside 0..65535)
 */
export type UdpTransportErrorCode =
  | 'ERR_NOT_LISTENING'
  | 'ERR_TRANSPORT_CLOSED'
  | 'ERR_INVALID_TARGET'
  | 'ERR_UDP_FAMILY'
  | 'ERR_UDP_TOO_LARGE'
  | 'ERR_UDP_MTU'
  | 'ERR_UDP_SEND'
  | 'ERR_LISTEN'
  | 'ERR_UDP_SOCKET'
  | 'ERR_UDP_BUFFER_SIZE'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_INVALID_OPTION';

const kUdpTransportError: unique symbol = Symbol.for('@sipts/transport-udp.UdpTransportError');

export interface UdpTransportErrorOptions {
  cause?: unknown;
  /** The peer involved (the target of a send, the source of a dropped datagram). */
  remote?: Remote | undefined;
}

export class UdpTransportError extends Error {
  readonly code: UdpTransportErrorCode;
  readonly remote: Remote | undefined;
  /** The Node/OS code of the underlying error when there is one (`EADDRINUSE`, `ECONNREFUSED`, ...). */
  readonly osCode: string | undefined;
  readonly [kUdpTransportError] = true;

  constructor(code: UdpTransportErrorCode, message: string, options: UdpTransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UdpTransportError';
    this.code = code;
    this.remote = options.remote;
    const cause = options.cause as { code?: unknown } | undefined;
    this.osCode = typeof cause === 'object' && cause !== null && typeof cause.code === 'string' ? cause.code : undefined;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isUdpTransportError(value);
  }
}

/** True for a `UdpTransportError` from any copy of this package. */
export function isUdpTransportError(value: unknown): value is UdpTransportError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [kUdpTransportError]?: unknown })[kUdpTransportError] === true
  );
}
