// @sipts/transport-tcp: SIP over TCP, and the stream-connection base that @sipts/transport-tls builds on.
export { TcpTransport, createTcpTransport, DEFAULT_TCP_PORT } from './tcp-transport.js';
export type { TcpTransportOptions } from './tcp-transport.js';
export { StreamTransport } from './stream-transport.js';
export type { StreamTransportEvents, StreamBoundAddress, StreamSendOptions } from './stream-transport.js';
export {
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
  DEFAULT_EVICT_AFTER,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_PENDING_BYTES,
} from './options.js';
export type { StreamCaptureHook, StreamTransportOptions, TransportLogger } from './options.js';
export type { StreamTransportStats } from './stats.js';
export { StreamTransportError, StreamTransportErrorCodes, isStreamTransportError } from './errors.js';
export type { StreamTransportErrorCode, StreamTransportErrorOptions } from './errors.js';
