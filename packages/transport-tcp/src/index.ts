// @sipts/transport-tcp: SIP over TCP, and the stream-connection base that @sipts/transport-tls builds on.
export { TcpTransport, createTcpTransport, DEFAULT_TCP_PORT } from './tcp-transport.js';
export type { TcpTransportOptions } from './tcp-transport.js';
export {
  StreamTransport,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_CONTENT_LENGTH,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_BUFFERED_BYTES,
} from './stream-transport.js';
export type { StreamTransportOptions, StreamTransportEvents, StreamBoundAddress, TransportLogger } from './stream-transport.js';
export { StreamTransportError, StreamTransportErrorCodes, isStreamTransportError } from './errors.js';
export type { StreamTransportErrorCode, StreamTransportErrorOptions } from './errors.js';
