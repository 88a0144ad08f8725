// @sipts/transport-ws: SIP over WebSocket (RFC 7118), WS and WSS, on the `ws` package.
export { WsTransport, createWsTransport, SIP_SUBPROTOCOL } from './ws-transport.js';
export type {
  WsTransportOptions,
  WsTransportLogger,
  WsTlsOptions,
  WsTarget,
  WsSendOptions,
  WsBoundAddress,
  WsTransportEvents,
  WsTransportStats,
} from './ws-transport.js';
export { WsTransportError, isWsTransportError } from './errors.js';
export type { WsTransportErrorCode, WsTransportErrorOptions } from './errors.js';
