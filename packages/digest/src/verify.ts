// The steps of verifying credentials that the session API (server.ts) and the asynchronous
// server (digest-server.ts) share: the digest and nonce check, results and their counters,
// the failure-limiter key of a request's source, and Authentication-Info.
import type { AuthInfo, SipRequest, SipResponse } from '@sipts/message';
import type { AlgorithmInfo } from './algorithms.js';
import type { ParsedAuthorization } from './authorization.js';
import { digestOf, ha1Of } from './calculate.js';
import { MAX_CLOCK_SKEW, equalAscii, type DigestContext } from './context.js';
import { DigestError, type DigestErrorCode } from './errors.js';
import { formatNonceCount, quote } from './params.js';
import type { DigestAttemptOutcome, DigestFailureLimiter } from './limiter.js';
import type { DigestReplayStore } from './replay.js';
import type {
  DigestAccount,
  DigestFailure,
  DigestFailureReason,
  DigestLookup,
  DigestLookupContext,
  DigestSuccess,
} from './types.js';

/** Failures that cost a guess and count against the limiter (the rest need no password). */
export function isCountedFailure(reason: DigestFailureReason): boolean {
  return reason === 'mismatch' || reason === 'nonce' || reason === 'unknown';
}

export function failure(ctx: DigestContext, reason: DigestFailureReason, blockedForMs = 0): DigestFailure {
  ctx.counters.failed[reason]++;
  const stale = reason === 'stale' || reason === 'replay';
  // Retry-After is in whole seconds (RFC 3261 §20.33); never 0 while still blocked.
  return blockedForMs > 0 ? { ok: false, reason, stale, retryAfter: Math.max(1, Math.ceil(blockedForMs / 1000)) } : { ok: false, reason, stale };
}

export function success(ctx: DigestContext, auth: ParsedAuthorization, user: string): DigestSuccess {
  ctx.counters.accepted++;
  return {
    ok: true,
    username: auth.username,
    user,
    realm: auth.realm,
    algorithm: auth.algorithm,
    qop: auth.qop,
    nonce: auth.nonce,
    nc: auth.nc,
  };
}

/**
 * Checks the digest, then the nonce: the time stamp of a fresh nonce of ours, or why not. The
 * digest comes first so that `stale` is only said to a client that knows the password.
 */
export function checkDigest(
  ctx: DigestContext,
  auth: ParsedAuthorization,
  base: string,
  request: SipRequest,
): number | 'mismatch' | 'nonce' | 'stale' {
  const alg = auth.alg;
  const ha1 = ha1Of(alg, base, auth.nonce, auth.cnonce ?? '');
  const expected = digestOf(alg, ha1, auth.nonce, auth.ncText, auth.cnonce, auth.qop, request.method, auth.uri, request.content);
  const matches = equalAscii(expected, auth.response);

  const now = ctx.now();
  const issued = ctx.nonces.timestampOf(auth.nonce, auth.realm);
  const known = issued !== undefined && issued <= now + MAX_CLOCK_SKEW;
  if (!matches) return known ? 'mismatch' : 'nonce';
  // RFC 7616 §3.3: stale=true only for a valid digest with a nonce we no longer accept, so the
  // client retries with the same credentials instead of asking its user again. A nonce we
  // cannot verify at all (a restart without a configured secret) is treated the same way.
  if (!known || now - issued > ctx.nonceLifetime) return 'stale';
  return issued;
}

/** The replay-store count of a request: its nc, or 0 without qop (RFC 2069: one use per nonce). */
export function replayCount(auth: ParsedAuthorization): number {
  return auth.nc ?? 0;
}

/**
 * The default failure-limiter source of a request: the top Via's transport and the address the
 * packet came from (`received`, which transports stamp when it differs from sent-by, RFC 3261
 * §18.2.1 and RFC 3581), else the sent-by host. `udp:192.0.2.1`; undefined without a Via.
 */
export function sourceOf(request: SipRequest): string | undefined {
  const via = typeof request === 'object' && request !== null ? request.headers?.via?.[0] : undefined;
  if (typeof via !== 'object' || via === null) return undefined;
  const received = via.params?.received;
  let address = typeof received === 'string' && received !== '' ? received : via.host;
  if (typeof address !== 'string' || address === '') return undefined;
  if (address.charCodeAt(0) === 0x5b && address.charCodeAt(address.length - 1) === 0x5d) address = address.slice(1, -1);
  const protocol = typeof via.protocol === 'string' ? via.protocol.toLowerCase() : '';
  return `${protocol}:${address.toLowerCase()}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

// Calls into what the caller plugged in (replay store, limiter, lookup). Their errors become
// DigestErrors with `code` and `cause`; for the synchronous API a Promise is a programmer error.
// Written out per method rather than through a callback, so a request allocates no closures.

function syncOnly<T>(value: T | Promise<T>, what: string): T {
  if (isPromiseLike(value)) {
    // Nobody will await it: keep a rejection from surfacing as an unhandled one.
    Promise.resolve(value).catch(() => undefined);
    throw new DigestError('ERR_ASYNC_STORE', `${what} returned a Promise: the synchronous API needs a synchronous store; use createDigestServer().verify`);
  }
  return value;
}

function pluginError(code: DigestErrorCode, what: string, cause: unknown): DigestError {
  return new DigestError(code, `${what} failed`, { cause });
}

export function acquireSync(limiter: DigestFailureLimiter, user: string | undefined, source: string | undefined): number {
  let value: number | Promise<number>;
  try {
    value = limiter.acquire(user, source);
  } catch (cause) {
    throw pluginError('ERR_LIMITER', 'limiter.acquire', cause);
  }
  return syncOnly(value, 'limiter.acquire');
}

export function settleSync(limiter: DigestFailureLimiter, user: string | undefined, source: string | undefined, outcome: DigestAttemptOutcome): void {
  let value: void | Promise<void>;
  try {
    value = limiter.settle(user, source, outcome);
  } catch (cause) {
    throw pluginError('ERR_LIMITER', 'limiter.settle', cause);
  }
  syncOnly(value, 'limiter.settle');
}

export function checkAndRecordSync(store: DigestReplayStore, nonce: string, nc: number, expiresAt: number): boolean {
  let value: boolean | Promise<boolean>;
  try {
    value = store.checkAndRecord(nonce, nc, expiresAt);
  } catch (cause) {
    throw pluginError('ERR_REPLAY_STORE', 'replayStore.checkAndRecord', cause);
  }
  return syncOnly(value, 'replayStore.checkAndRecord') === true;
}

export async function acquireAsync(limiter: DigestFailureLimiter, user: string | undefined, source: string | undefined): Promise<number> {
  try {
    return await limiter.acquire(user, source);
  } catch (cause) {
    throw pluginError('ERR_LIMITER', 'limiter.acquire', cause);
  }
}

export async function settleAsync(
  limiter: DigestFailureLimiter,
  user: string | undefined,
  source: string | undefined,
  outcome: DigestAttemptOutcome,
): Promise<void> {
  try {
    await limiter.settle(user, source, outcome);
  } catch (cause) {
    throw pluginError('ERR_LIMITER', 'limiter.settle', cause);
  }
}

export async function checkAndRecordAsync(store: DigestReplayStore, nonce: string, nc: number, expiresAt: number): Promise<boolean> {
  try {
    return (await store.checkAndRecord(nonce, nc, expiresAt)) === true;
  } catch (cause) {
    throw pluginError('ERR_REPLAY_STORE', 'replayStore.checkAndRecord', cause);
  }
}

export async function lookupAsync(lookup: DigestLookup, username: string, context: DigestLookupContext): Promise<DigestAccount | undefined> {
  let found: unknown;
  try {
    found = await lookup(username, context);
  } catch (cause) {
    throw pluginError('ERR_LOOKUP', 'lookup', cause);
  }
  return typeof found === 'object' && found !== null ? (found as DigestAccount) : undefined;
}

/** What Authentication-Info needs about an authenticated request. */
export interface SignState {
  readonly realm: string;
  readonly alg: AlgorithmInfo;
  readonly nonce: string;
  readonly nc: number;
  readonly cnonce: string;
  readonly qop: 'auth' | 'auth-int' | undefined;
  readonly uri: string;
  /** H(user:realm:password). */
  readonly hash: string;
  readonly proxy: boolean;
}

/** Inserts Authentication-Info (Proxy-Authentication-Info for a proxy) into `response`. */
export function writeAuthenticationInfo<R extends SipResponse>(ctx: DigestContext, response: R, state: SignState): R {
  const info: AuthInfo = {};
  if (state.qop !== undefined) {
    // RFC 7616 §3.5: rspauth is the response digest with an empty method (and for auth-int,
    // the hash of the response body).
    const nc = formatNonceCount(state.nc);
    const ha1 = ha1Of(state.alg, state.hash, state.nonce, state.cnonce);
    info.qop = state.qop;
    info.rspauth = quote(digestOf(state.alg, ha1, state.nonce, nc, state.cnonce, state.qop, '', state.uri, response.content));
    info.cnonce = quote(state.cnonce);
    info.nc = nc;
  }
  if (wantsNextNonce(ctx, state.nonce, state.realm)) info.nextnonce = quote(ctx.nonces.issue(state.realm, ctx.now()));
  if (Object.keys(info).length > 0) {
    response.headers[state.proxy ? 'proxy-authentication-info' : 'authentication-info'] = info;
  }
  return response;
}

function wantsNextNonce(ctx: DigestContext, nonce: string, realm: string): boolean {
  if (ctx.nextNonce === 'never') return false;
  if (ctx.nextNonce === 'always') return true;
  const issued = ctx.nonces.timestampOf(nonce, realm);
  // Past half its life, hand the client the next nonce so it never meets a stale challenge.
  return issued === undefined || ctx.now() - issued >= ctx.nonceLifetime / 2;
}
