// @sipts/proxy: a stateful SIP proxy core (RFC 3261 §16) that mirrors `sip/proxy`.
export { SipProxy } from './proxy.js';
export { createProxy, start, stop, send, fork, contextCount } from './api.js';
export type {
  ContextReleasedEvent,
  ForkMode,
  ForkOptions,
  ForkTarget,
  ProxyEvents,
  ProxyLogger,
  ProxyOptions,
  ProxyOwnOptions,
} from './proxy.js';
export type { ProxyStack, RequestHandler, ResponseCallback, StackFactory } from './stack.js';
export { SipProxyError, isSipProxyError } from './errors.js';
export type { ProxyErrorCode } from './errors.js';
export { aggregate, selectBest } from './aggregate.js';
export { uriHostPort, isLocalUri, localIdentity, loopHash } from './routing.js';
export type { LocalIdentity, HostPort } from './routing.js';
