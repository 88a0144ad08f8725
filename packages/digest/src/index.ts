// @sipts/digest: SIP digest authentication (RFC 2617, RFC 7616, RFC 8760, RFC 3261 §22),
// server and client side, with the API and session semantics of `sip/digest`, and an
// asynchronous server API (`createDigestServer`) with pluggable replay store and failure limiter.
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
  stats,
  verifyRequest,
} from './digest.js';
export type { Digest } from './digest.js';
export { createDigestServer } from './digest-server.js';
export type { DigestServer } from './digest-server.js';
export {
  DEFAULT_MAX_REPLAY_ENTRIES,
  MemoryReplayStore,
  REPLAY_WINDOW,
} from './replay.js';
export type { DigestReplayStore, DigestReplayStoreStats, MemoryReplayStoreOptions } from './replay.js';
export {
  DEFAULT_LIMITER_WINDOW,
  DEFAULT_MAX_LIMITER_ENTRIES,
  DEFAULT_MAX_SOURCE_FAILURES,
  DEFAULT_MAX_TRUSTED,
  DEFAULT_MAX_TRUSTED_FAILURES,
  DEFAULT_MAX_USER_FAILURES,
  DEFAULT_TRUST_TTL,
  MemoryFailureLimiter,
} from './limiter.js';
export type { DigestAttemptOutcome, DigestFailureLimiter, DigestLimiterStats, MemoryFailureLimiterOptions } from './limiter.js';
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
export type { DigestErrorCode, DigestErrorOptions } from './errors.js';
export type {
  DigestAccount,
  DigestAuthorization,
  DigestClientSession,
  DigestCredentials,
  DigestFailure,
  DigestFailureReason,
  DigestLookup,
  DigestLookupContext,
  DigestOptions,
  DigestResult,
  DigestServerOptions,
  DigestServerSession,
  DigestServerVerifyOptions,
  DigestStats,
  DigestSuccess,
  DigestVerification,
  DigestVerifyOptions,
} from './types.js';
