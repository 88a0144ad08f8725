// @sipts/sdp: SDP (RFC 8866) parse and stringify, lossless and typed (parseSdp / stringifySdp),
// the `sip/sdp` API of sip@0.0.6 (parse / stringify), and RFC 3264 offer/answer helpers.
export { parse, stringify } from './compat.js';
export type { SipSdp, SipSdpConnection, SipSdpMedia, SipSdpOrigin } from './compat.js';
export { parseSdp, stringifySdp } from './parse.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES } from './input.js';
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
