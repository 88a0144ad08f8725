// createDigest: one configured instance (nonce secret, lifetime, clock) with the whole API.
// The module-level functions use a default instance whose secret is random per process, with
// an in-memory replay store and failure limiter.
import type { SipRequest, SipResponse } from '@sipts/message';
import {
  calculateDigest,
  calculateHA1,
  calculateUserRealmPasswordHash,
  calculateUserhash,
  kd,
} from './calculate.js';
import { authenticateResponse, signRequest } from './client.js';
import { contextOf } from './options.js';
import * as server from './server.js';
import type {
  DigestAuthorization,
  DigestClientSession,
  DigestCredentials,
  DigestOptions,
  DigestResult,
  DigestServerSession,
  DigestStats,
  DigestVerifyOptions,
} from './types.js';

export { DEFAULT_NONCE_LIFETIME } from './options.js';

/** The digest API of one configured instance (the `sip/digest` functions plus typed extras). */
export interface Digest {
  /** Adds WWW-Authenticate (401) or Proxy-Authenticate (407) challenges; returns `response`. */
  challenge<R extends SipResponse>(session: DigestServerSession, response: R): R;
  /** True when the request carries valid credentials for the session's realm. */
  authenticateRequest(
    session: DigestServerSession,
    request: SipRequest,
    credentials?: DigestCredentials,
    options?: DigestVerifyOptions,
  ): boolean;
  /** `authenticateRequest` with the outcome: the reason of a failure, stale, blocked. */
  verifyRequest(
    session: DigestServerSession,
    request: SipRequest,
    credentials?: DigestCredentials,
    options?: DigestVerifyOptions,
  ): DigestResult;
  /** The unquoted Authorization for the session's realm (to look up the account), if well formed. */
  getAuthorization(session: DigestServerSession, request: SipRequest): DigestAuthorization | undefined;
  /** Adds Authentication-Info (Proxy-Authentication-Info) with rspauth / nextnonce; returns `response`. */
  signResponse<R extends SipResponse>(session: DigestServerSession, response: R): R;
  /** Adds Authorization (Proxy-Authorization); returns the session, or null if no challenge fits. */
  signRequest(
    session: DigestClientSession | null | undefined,
    request: SipRequest,
    response?: SipResponse,
    credentials?: DigestCredentials,
  ): DigestClientSession | null;
  /** Checks the server's rspauth: true / false, undefined when absent. */
  authenticateResponse(session: DigestClientSession, response: SipResponse): boolean | undefined;
  /** A self-validating nonce for `tag` (default ''), stamped `timestamp` (default now). */
  generateNonce(tag?: string, timestamp?: Date | number): string;
  /** The time stamp of a nonce this instance made for `tag`, or undefined when it is not one. */
  extractNonceTimestamp(nonce: string, tag?: string): Date | undefined;
  calculateDigest: typeof calculateDigest;
  calculateHA1: typeof calculateHA1;
  calculateUserRealmPasswordHash: typeof calculateUserRealmPasswordHash;
  calculateUserhash: typeof calculateUserhash;
  kd: typeof kd;
  /** Counters: results by reason, the limiter's and the replay store's. */
  stats(): DigestStats;
}

/** A digest instance with its own nonce secret, lifetime, clock, replay store and limiter. */
export function createDigest(options: DigestOptions = {}): Digest {
  const ctx = contextOf(options);

  return {
    challenge: (session, response) => server.challenge(ctx, session, response),
    authenticateRequest: (session, request, credentials, verifyOptions) => server.verifyRequest(ctx, session, request, credentials, verifyOptions).ok,
    verifyRequest: (session, request, credentials, verifyOptions) => server.verifyRequest(ctx, session, request, credentials, verifyOptions),
    getAuthorization: (session, request) => server.getAuthorization(session, request),
    signResponse: (session, response) => server.signResponse(ctx, session, response),
    signRequest: (session, request, response, credentials) => signRequest(session, request, response, credentials),
    authenticateResponse: (session, response) => authenticateResponse(session, response),
    generateNonce: (tag = '', timestamp) =>
      ctx.nonces.issue(tag, timestamp === undefined ? ctx.now() : typeof timestamp === 'number' ? timestamp : timestamp.getTime()),
    extractNonceTimestamp: (nonce, tag = '') => {
      const stamp = ctx.nonces.timestampOf(nonce, tag);
      return stamp === undefined ? undefined : new Date(stamp);
    },
    calculateDigest,
    calculateHA1,
    calculateUserRealmPasswordHash,
    calculateUserhash,
    kd,
    stats: () => ctx.counters.snapshot(ctx),
  };
}

let defaultDigest: Digest | undefined;
/** The instance behind the module-level functions (random secret, created on first use). */
function shared(): Digest {
  return (defaultDigest ??= createDigest());
}

export function challenge<R extends SipResponse>(session: DigestServerSession, response: R): R {
  return shared().challenge(session, response);
}
export function authenticateRequest(
  session: DigestServerSession,
  request: SipRequest,
  credentials?: DigestCredentials,
  options?: DigestVerifyOptions,
): boolean {
  return shared().authenticateRequest(session, request, credentials, options);
}
export function verifyRequest(
  session: DigestServerSession,
  request: SipRequest,
  credentials?: DigestCredentials,
  options?: DigestVerifyOptions,
): DigestResult {
  return shared().verifyRequest(session, request, credentials, options);
}
export function getAuthorization(session: DigestServerSession, request: SipRequest): DigestAuthorization | undefined {
  return shared().getAuthorization(session, request);
}
export function signResponse<R extends SipResponse>(session: DigestServerSession, response: R): R {
  return shared().signResponse(session, response);
}
export function generateNonce(tag?: string, timestamp?: Date | number): string {
  return shared().generateNonce(tag, timestamp);
}
export function extractNonceTimestamp(nonce: string, tag?: string): Date | undefined {
  return shared().extractNonceTimestamp(nonce, tag);
}
/** Counters of the default instance (the module-level functions). */
export function stats(): DigestStats {
  return shared().stats();
}
export { signRequest, authenticateResponse };
