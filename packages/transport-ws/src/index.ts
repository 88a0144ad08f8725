// @sipts/transport-ws: SIP over WebSocket (RFC 7118), WS and WSS, on the `ws` package.
export { WsTransport, createWsTransport } from './ws-transport.js';
export type { WsBoundAddress, WsTransportEvents } from './ws-transport.js';
export { SIP_SUBPROTOCOL } from './upgrade.js';
export type { WsTransportOptions, WsTlsOptions } from './options.js';
export type { WsCaptureHook, WsTransportLogger } from './logger.js';
export type { WsTarget, WsSendOptions } from './target.js';
export type { WsTransportStats } from './stats.js';
export { WsTransportError, isWsTransportError } from './errors.js';
export type { WsTransportErrorCode, WsTransportErrorOptions } from './errors.js';
