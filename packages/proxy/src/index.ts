// @sipts/proxy: a stateful SIP proxy core (RFC 3261 §16) that mirrors `sip/proxy`.
export { SipProxy, BRANCH_HINT } from './proxy.js';
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
export { uriHostPort, isLocalUri, loopHash } from './routing.js';
export type { LocalIdentity, HostPort } from './routing.js';
