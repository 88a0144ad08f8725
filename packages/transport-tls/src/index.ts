// @sipts/transport-tls: SIP over TLS on the stream base of @sipts/transport-tcp.
export { TlsTransport, createTlsTransport, DEFAULT_TLS_PORT } from './tls-transport.js';
export type { TlsTransportOptions, TlsPassThroughOptions, TlsTarget } from './tls-transport.js';
export { StreamTransportError, StreamTransportErrorCodes, isStreamTransportError } from '@sipts/transport-tcp';
export type {
  StreamTransportErrorCode,
  StreamTransportOptions,
  StreamTransportStats,
  StreamSendOptions,
  TransportLogger,
  StreamBoundAddress,
} from '@sipts/transport-tcp';
