// @sipts/proxy: a stateful SIP proxy core (RFC 3261 §16) that mirrors `sip/proxy`.
export { SipProxy } from './proxy.js';
export type { BranchEndEvent, BranchLimitEvent, BranchStartEvent, ProxyEvents, RequestHandler } from './proxy.js';
export { createProxy, start, stop, send, fork, contextCount } from './api.js';
export type { DoubleRecordRoute, ForkMode, ForkOptions, ForkTarget, ProxyLogger, ProxyOptions, ProxyOwnOptions } from './options.js';
export type { BranchOutcome, BranchState, ContextReleasedEvent, ContextState, ProxyReply, ReleaseReason } from './context.js';
export type { ProxyStats } from './stats.js';
export type { ProxyStack, ResponseCallback, StackFactory, StackReply, StackRequestHandler } from './stack.js';
export { SipProxyError, isSipProxyError } from './errors.js';
export type { ProxyErrorCode } from './errors.js';
export { aggregate, selectBest } from './aggregate.js';
export { uriHostPort, isLocalUri, localIdentity, loopHash } from './routing.js';
export type { LocalIdentity, HostPort } from './routing.js';
