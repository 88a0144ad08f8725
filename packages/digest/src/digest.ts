// createDigest: one configured instance (nonce secret, lifetime, clock) with the whole API.
// The module-level functions use a default instance whose secret is random per process.
import { randomBytes } from 'node:crypto';
import type { SipRequest, SipResponse } from '@sipts/message';
import {
  calculateDigest,
  calculateHA1,
  calculateUserRealmPasswordHash,
  calculateUserhash,
  kd,
} from './calculate.js';
import { authenticateResponse, signRequest } from './client.js';
import type { DigestContext } from './context.js';
import { DigestError } from './errors.js';
import { NonceIssuer } from './nonce.js';
import * as server from './server.js';
import type {
  DigestAuthorization,
  DigestClientSession,
  DigestCredentials,
  DigestOptions,
  DigestServerSession,
  DigestVerification,
} from './types.js';

/** Default nonce lifetime: 5 minutes, like common SIP registrars. */
export const DEFAULT_NONCE_LIFETIME = 300_000;
const MIN_SECRET_BYTES = 16;

/** The digest API of one configured instance (the `sip/digest` functions plus typed extras). */
export interface Digest {
  /** Adds WWW-Authenticate (401) or Proxy-Authenticate (407) challenges; returns `response`. */
  challenge<R extends SipResponse>(session: DigestServerSession, response: R): R;
  /** True when the request carries valid credentials for the session's realm. */
  authenticateRequest(session: DigestServerSession, request: SipRequest, credentials?: DigestCredentials): boolean;
  /** `authenticateRequest` with the reason of a failure. */
  verifyRequest(session: DigestServerSession, request: SipRequest, credentials?: DigestCredentials): DigestVerification;
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
}

function secretBytes(secret: DigestOptions['secret']): Uint8Array {
  if (secret === undefined) return randomBytes(32);
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? secret : undefined;
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw new DigestError('ERR_INVALID_OPTION', `secret must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

/** A digest instance with its own nonce secret, lifetime and clock. */
export function createDigest(options: DigestOptions = {}): Digest {
  const nonceLifetime = options.nonceLifetime ?? DEFAULT_NONCE_LIFETIME;
  if (typeof nonceLifetime !== 'number' || !Number.isFinite(nonceLifetime) || nonceLifetime <= 0) {
    throw new DigestError('ERR_INVALID_OPTION', 'nonceLifetime must be a positive number of milliseconds');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new DigestError('ERR_INVALID_OPTION', 'now must be a function returning ms');
  const nextNonce = options.nextNonce ?? 'auto';
  if (nextNonce !== 'auto' && nextNonce !== 'always' && nextNonce !== 'never') {
    throw new DigestError('ERR_INVALID_OPTION', "nextNonce must be 'auto', 'always' or 'never'");
  }
  const ctx: DigestContext = {
    nonces: new NonceIssuer(secretBytes(options.secret)),
    nonceLifetime,
    now,
    checkUri: options.checkUri === true,
    nextNonce,
  };

  return {
    challenge: (session, response) => server.challenge(ctx, session, response),
    authenticateRequest: (session, request, credentials) => server.verifyRequest(ctx, session, request, credentials).ok,
    verifyRequest: (session, request, credentials) => server.verifyRequest(ctx, session, request, credentials),
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
export function authenticateRequest(session: DigestServerSession, request: SipRequest, credentials?: DigestCredentials): boolean {
  return shared().authenticateRequest(session, request, credentials);
}
export function verifyRequest(session: DigestServerSession, request: SipRequest, credentials?: DigestCredentials): DigestVerification {
  return shared().verifyRequest(session, request, credentials);
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
export { signRequest, authenticateResponse };
