// Server side with `sip/digest` sessions (UAS, registrar, proxy): challenge,
// authenticateRequest / verifyRequest, signResponse. RFC 3261 §22.2 (401, WWW-Authenticate) and
// §22.3 (407, Proxy-Authenticate), RFC 7616 §3.3–3.5, RFC 8760 §2.3–2.4.
//
// A session is configuration plus what `signResponse` needs after a success. It is not where
// replay state lives: which nonces and counts are accepted is decided by the instance's replay
// store, per nonce, so a `challenge` on a session shared by an account (as `sip`'s examples do)
// never invalidates a nonce another request of that account is answering.
import type { SipRequest, SipResponse } from '@sipts/message';
import { findAlgorithm } from './algorithms.js';
import {
  baseHashOf,
  checkAgainstOffer,
  findAuthorization,
  offerOf,
  publicAuthorization,
  requireRealm,
  writeChallenge,
} from './authorization.js';
import { userhash } from './calculate.js';
import { equalAscii, type DigestContext } from './context.js';
import { DigestError } from './errors.js';
import type { DigestAttemptOutcome } from './limiter.js';
import type {
  DigestAuthorization,
  DigestCredentials,
  DigestResult,
  DigestServerSession,
  DigestVerifyOptions,
} from './types.js';
import {
  acquireSync,
  checkAndRecordSync,
  checkDigest,
  failure,
  isCountedFailure,
  replayCount,
  settleSync,
  sourceOf,
  success,
  writeAuthenticationInfo,
} from './verify.js';

/** Inserts WWW-Authenticate (or Proxy-Authenticate for a 407) challenges into `response`. */
export function challenge<R extends SipResponse>(ctx: DigestContext, session: DigestServerSession, response: R): R {
  const offer = offerOf(session);
  session.proxy = response.status === 407;
  // A fresh nonce from crypto for every challenge (never the client's cnonce, as `sip` did).
  // Nothing is stored for it: the nonce validates itself (nonce.ts).
  const nonce = ctx.nonces.issue(offer.realm, ctx.now());
  session.nonce = nonce;
  session.nc = 0;
  const stale = session.stale === true;
  delete session.stale;
  return writeChallenge(offer, response, nonce, stale);
}

/** The parsed Authorization (Proxy-Authorization) for the session's realm, to look up the user. */
export function getAuthorization(session: DigestServerSession, request: SipRequest): DigestAuthorization | undefined {
  const realm = requireRealm(session);
  const found = findAuthorization(request, realm, session.proxy === true);
  return typeof found === 'string' ? undefined : publicAuthorization(found);
}

/** Checks the request's credentials; on success the session remembers what `signResponse` needs. */
export function verifyRequest(
  ctx: DigestContext,
  session: DigestServerSession,
  request: SipRequest,
  credentials?: DigestCredentials,
  options?: DigestVerifyOptions,
): DigestResult {
  const offer = offerOf(session);
  const realm = offer.realm;
  delete session.stale;

  const auth = findAuthorization(request, realm, session.proxy === true);
  if (typeof auth === 'string') return failure(ctx, auth);
  const refused = checkAgainstOffer(ctx, offer, auth, request);
  if (refused !== undefined) return failure(ctx, refused);
  const alg = auth.alg;

  // Whose password: the credentials given now, else the hash cached by an earlier success.
  let base: string | undefined;
  let user: string | undefined;
  if (typeof credentials === 'object' && credentials !== null) {
    if (typeof credentials.user === 'string') {
      const sameUser = auth.userhash
        ? equalAscii(auth.username.toLowerCase(), userhash(alg, credentials.user, realm))
        : auth.username === credentials.user;
      if (!sameUser) return failure(ctx, 'username');
      user = credentials.user;
    }
    base = baseHashOf(credentials.hash, credentials.user, credentials.password, alg, realm);
  } else if (session.hash !== undefined && session.hashAlgorithm === alg.base && session.username === auth.username) {
    base = session.hash;
    user = session.user;
  }
  if (base === undefined) return failure(ctx, 'credentials');

  const account = user ?? auth.username;
  const source = options?.source ?? sourceOf(request);
  const limiter = ctx.limiter;
  if (limiter !== undefined) {
    const wait = acquireSync(limiter, account, source);
    if (wait > 0) return failure(ctx, 'blocked', wait);
  }
  // The attempt counts as a failure from acquire() on; settle() says how it really ended.
  let outcome: DigestAttemptOutcome = 'neutral';
  try {
    const checked = checkDigest(ctx, auth, base, request);
    if (typeof checked === 'string') {
      if (checked === 'stale') session.stale = true;
      if (isCountedFailure(checked)) outcome = 'failure';
      return failure(ctx, checked);
    }
    // RFC 7616 §3.4: each nonce count once per nonce, so a captured request cannot be replayed.
    if (!checkAndRecordSync(ctx.replayStore, auth.nonce, replayCount(auth), checked + ctx.nonceLifetime)) {
      session.stale = true;
      return failure(ctx, 'replay');
    }
    outcome = 'success';
  } finally {
    if (limiter !== undefined) settleSync(limiter, account, source, outcome);
  }

  session.nonce = auth.nonce;
  session.nc = auth.nc ?? 0;
  session.username = auth.username;
  if (user !== undefined) session.user = user;
  else delete session.user;
  session.hash = base;
  session.hashAlgorithm = alg.base;
  session.selectedAlgorithm = alg.name;
  if (auth.qop !== undefined) session.selectedQop = auth.qop;
  else delete session.selectedQop;
  if (auth.cnonce !== undefined) session.cnonce = auth.cnonce;
  else delete session.cnonce;
  session.uri = auth.uri;
  return success(ctx, auth, account);
}

/** Inserts Authentication-Info (Proxy-Authentication-Info after a 407 flow) into `response`. */
export function signResponse<R extends SipResponse>(ctx: DigestContext, session: DigestServerSession, response: R): R {
  const realm = requireRealm(session);
  const alg = session.selectedAlgorithm === undefined ? undefined : findAlgorithm(session.selectedAlgorithm);
  if (alg === undefined || session.nonce === undefined || session.hash === undefined || session.uri === undefined) {
    throw new DigestError('ERR_NOT_AUTHENTICATED', 'signResponse needs a session that authenticated a request');
  }
  return writeAuthenticationInfo(ctx, response, {
    realm,
    alg,
    nonce: session.nonce,
    nc: session.nc ?? 0,
    cnonce: session.cnonce ?? '',
    qop: session.selectedQop,
    uri: session.uri,
    hash: session.hash,
    proxy: session.proxy === true,
  });
}
