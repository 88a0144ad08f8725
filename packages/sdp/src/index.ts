// @sipts/sdp: SDP (RFC 8866) parse and stringify, lossless and typed (parseSdp / stringifySdp),
// the `sip/sdp` API of sip@0.0.6 (parse / stringify), and RFC 3264 offer/answer helpers.
export { parse, stringify } from './compat.js';
export type { SipSdp, SipSdpConnection, SipSdpMedia, SipSdpOrigin } from './compat.js';
export { parseSdp, stringifySdp } from './parse.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES } from './input.js';
export {
  addAttribute,
  addrTypeOf,
  answerDirection,
  formatRtcp,
  getAttribute,
  getAttributes,
  getConnection,
  getDirection,
  getLine,
  getLines,
  getOrigin,
  hasAttribute,
  isDirection,
  parseRtcp,
  removeAttributes,
  SDP_DIRECTIONS,
  setAttribute,
  setDirection,
} from './attributes.js';
export type { SdpLineOf, SdpRtcp } from './attributes.js';
export {
  codecMatches,
  formatFmtp,
  formatFmtpParameters,
  formatRtpmap,
  getCodecs,
  parseFmtp,
  parseFmtpParameters,
  parseRtpmap,
  STATIC_PAYLOAD_TYPES,
  staticPayloadType,
} from './codecs.js';
export type { LocalCodec, SdpCodec, SdpFmtp, SdpRtpmap } from './codecs.js';
export { formatCandidate, getCandidates, parseCandidate } from './candidate.js';
export type { SdpCandidate } from './candidate.js';
export {
  bumpOriginVersion,
  cloneSdp,
  createHoldOffer,
  createResumeOffer,
  getEffectiveDirection,
  getSessionDirection,
  isActiveMedia,
  isHold,
} from './session.js';
export type { HoldOfferOptions, ResumeOfferOptions } from './session.js';
export { createAnswer, createOffer } from './offer-answer.js';
export type { AnswerOptions, LocalDescription, LocalMedia, LocalOrigin } from './offer-answer.js';
export { rewriteConnection } from './relay.js';
export type { RewriteConnectionOptions } from './relay.js';
export { isSdpError, SDP_ERROR_CODES, SdpError } from './errors.js';
export type { SdpErrorCode, SdpErrorOptions } from './errors.js';
export type {
  SdpAttribute,
  SdpBandwidth,
  SdpConnection,
  SdpDirection,
  SdpLine,
  SdpLineType,
  SdpMedia,
  SdpOrigin,
  SdpParseOptions,
  SdpSection,
  SdpSession,
  SdpTextLine,
  SdpTiming,
  SdpUnknownLine,
  SdpVersionLine,
} from './types.js';
