// @sipts/message: the SIP message model of `sip`, typed, parsed from bytes.
export type {
  AuthHeader,
  AuthInfo,
  CSeq,
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
} from './types.js';
export { isRequest, isResponse } from './types.js';
export { SipParseError, isSipParseError, PARSE_ERROR_CODES } from './errors.js';
export type { ParseErrorCode } from './errors.js';
export { parse, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_CONTENT_LENGTH } from './parse.js';
export type { ParseOptions } from './parse.js';
export { stringify } from './stringify.js';
export { parseUri, stringifyUri, stringifyParams } from './uri.js';
export {
  parseVia,
  stringifyVia,
  parseNameAddr,
  stringifyNameAddr,
  parseContact,
  parseRoute,
  parseCSeq,
  stringifyCSeq,
  parseAuthHeader,
  parseAuthHeaders,
  stringifyAuthHeader,
  parseAuthenticationInfo,
  quoteDisplayName,
} from './headers.js';
export { canonicalHeaderName, prettyHeaderName } from './names.js';
export { makeResponse, defaultReason, generateTag, copyMessage, detachString, validateMessage, stampReceived } from './message.js';
export { ackFor, cancelFor } from './requests.js';
export type { ResponseExtension } from './message.js';
export { StreamFramer } from './framer.js';
export type { StreamFramerOptions, StreamFramerPhase } from './framer.js';
export { normalizeAddress, unbracket, bracketHost } from './remote.js';
export { buildBadRequest, requestLineMethod } from './bad-request.js';
export {
  DEFAULT_MESSAGE_LIMITS,
  messageLimits,
  invalidLimitOption,
  readMessage,
  acceptMessage,
  rejectBytes,
} from './inbound.js';
export type {
  Inbound,
  InboundMessage,
  InboundKeepAlive,
  InboundRejection,
  MessageLimits,
  MessageLimitOptions,
} from './inbound.js';
export type { BoundAddress, TransportEvents, TransportProtocol } from './transport-types.js';
