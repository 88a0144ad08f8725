// @sipts/digest: SIP digest authentication (RFC 2617, RFC 7616, RFC 8760, RFC 3261 §22),
// server and client side, with the API and session semantics of `sip/digest`.
export {
  authenticateRequest,
  authenticateResponse,
  challenge,
  createDigest,
  DEFAULT_NONCE_LIFETIME,
  extractNonceTimestamp,
  generateNonce,
  getAuthorization,
  signRequest,
  signResponse,
  verifyRequest,
} from './digest.js';
export type { Digest } from './digest.js';
export {
  calculateDigest,
  calculateHA1,
  calculateUserRealmPasswordHash,
  calculateUserhash,
  kd,
} from './calculate.js';
export type { CalculateDigestArgs, CalculateHA1Args } from './calculate.js';
export { DIGEST_ALGORITHMS } from './algorithms.js';
export type { DigestAlgorithm, DigestHashAlgorithm } from './algorithms.js';
export { DigestError, isDigestError } from './errors.js';
export type { DigestErrorCode } from './errors.js';
export type {
  DigestAuthorization,
  DigestClientSession,
  DigestCredentials,
  DigestFailureReason,
  DigestOptions,
  DigestServerSession,
  DigestVerification,
} from './types.js';
