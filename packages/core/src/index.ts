// @sipts/core: the SIP stack. A drop-in for `require('sip')` (start/stop/send/create and the
// helpers), a typed promise API on the same stack, an RFC 3263 resolver and flow tokens.
export { SipStack, create } from './stack.js';
export type { ListeningAddress, RequestHandler, RequestOptions, ResponseCallback, ServerReply, StackEvents, StackStats } from './stack.js';
export {
  start,
  stop,
  send,
  encodeFlowUri,
  decodeFlowUri,
  isFlowUri,
  hostname,
  defaultStack,
  parse,
  makeStreamParser,
} from './sip-api.js';
export { makeTransport } from './compat-transport.js';
export type { CompatConnection, CompatTransport } from './compat-transport.js';
export { normalizeOptions } from './options.js';
export type { NormalizedOptions, SipTlsOptions, StackClock, StackLogger, StackOptions } from './options.js';
export { SipCoreError, isSipCoreError } from './errors.js';
export { COUNTED_METHODS, STATUS_CLASSES, TRANSACTION_KINDS } from './observe.js';
export type { CountedMethod, MessageStats, StackObserver, StatusClass, WireCapture } from './observe.js';
// The types an observer sees (StackObserver's arguments).
export type { RetransmitReason, TimerName, Transaction, TransactionKind, TransactionState } from '@sipts/transaction';
export { OverloadController, LoadSampler } from './overload.js';
export { SourceRateLimiter } from './rate-limit.js';
export { OptionsProber } from './prober.js';
export type { OptionsProberEvents, OptionsProberOptions, ProbeStack, ProbeState } from './prober.js';
export type { RateLimitOptions, RateLimitStats } from './rate-limit.js';
export type { LoadSignal, OverloadOptions, OverloadState, OverloadStats, ReceiveDelaySource } from './overload.js';
export type { CoreErrorCode } from './errors.js';
export {
  Rfc3263Resolver,
  createResolver,
  defaultDnsClient,
  defaultPorts,
  protocolFromTransportParam,
  unbracketHost,
} from './resolver.js';
export type {
  DnsClient,
  LookupAddress,
  NaptrRecord,
  ResolveOptions,
  ResolvedTarget,
  Resolver,
  ResolverOptions,
  SrvRecord,
  TargetProtocol,
} from './resolver.js';
export { FlowTokenCodec } from './flow.js';
export type { Flow } from './flow.js';
// The helpers of sip, from @sipts/message (same names and arguments).
export {
  makeResponse,
  parseUri,
  stringifyUri,
  stringify,
  copyMessage,
  stringifyAuthHeader,
  isRequest,
  isResponse,
} from '@sipts/message';
export type {
  AuthHeader,
  NameAddr,
  Params,
  Remote,
  RouteAddr,
  SipHeaders,
  SipMessage,
  SipRequest,
  SipResponse,
  SipUri,
  Via,
} from '@sipts/message';
export { generateBranch } from '@sipts/transaction';
/** `require('sip').digest` / `require('sip/digest')`: the @sipts/digest API. */
export * as digest from '@sipts/digest';
