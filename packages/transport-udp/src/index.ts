// @sipts/transport-udp: SIP over UDP (udp4 / udp6), RFC 3261 §18 and RFC 3581.
export {
  UdpTransport,
  createUdpTransport,
  UDP_MTU_ALLOWANCE,
  UDP_MAX_PAYLOAD_IPV4,
  UDP_MAX_PAYLOAD_IPV6,
} from './udp-transport.js';
export type {
  UdpTransportOptions,
  UdpTransportLogger,
  UdpSendOptions,
  UdpBoundAddress,
  UdpTransportEvents,
  UdpTransportStats,
  UdpCaptureHook,
} from './udp-transport.js';
export { UdpTransportError, isUdpTransportError } from './errors.js';
export type { UdpTransportErrorCode, UdpTransportErrorOptions } from './errors.js';
