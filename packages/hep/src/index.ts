// @sipts/hep: HEP v3 capture (Homer) of every SIP message a sipts stack sends and receives.
export { HepCapture, captureHep, callIdOf } from './capture.js';
export type { HepCaptureOptions, HepCaptureStats } from './capture.js';
export { HepSender, parseHepTarget } from './sender.js';
export type { HepSenderOptions, HepSenderStats } from './sender.js';
export { encodeHep, ipBytes, HEP_CHUNK, HEP_MAX_PACKET, HEP_PAYLOAD_SIP } from './encode.js';
export type { HepPacket } from './encode.js';
export { decodeHep } from './decode.js';
export type { DecodedHep } from './decode.js';
export { HepError, isHepError } from './errors.js';
export type { HepErrorCode } from './errors.js';
