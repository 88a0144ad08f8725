// createDigestServer: digest authentication for servers whose accounts, replay state or failure
// counters live behind asynchronous stores (a database, Redis), without sessions. One object per
// realm holds the configuration; `verify` takes a request and resolves with a typed result that
// says what to answer: 200 (signResponse), 401/407 (challenge, stale or not), or blocked.
import type { SipRequest, SipResponse } from '@sipts/message';
import { baseHashOf, checkAgainstOffer, findAuthorization, offerOf, writeChallenge, type Offer } from './authorization.js';
import { userhash } from './calculate.js';
import { equalAscii, type DigestContext } from './context.js';
import { contextOf } from './options.js';
import { DigestError } from './errors.js';
import type { DigestAttemptOutcome } from './limiter.js';
import type {
  DigestLookup,
  DigestResult,
  DigestServerOptions,
  DigestServerVerifyOptions,
  DigestStats,
  DigestSuccess,
} from './types.js';
import {
  acquireAsync,
  checkAndRecordAsync,
  checkDigest,
  failure,
  isCountedFailure,
  lookupAsync,
  replayCount,
  settleAsync,
  sourceOf,
  success,
  writeAuthenticationInfo,
  type SignState,
} from './verify.js';

/** A digest-authenticating server for one realm; see {@link createDigestServer}. */
export interface DigestServer {
  readonly realm: string;
  /**
   * Checks the request's Authorization (Proxy-Authorization with `proxy`). Never rejects for
   * anything the request contains; rejects with a DigestError (`ERR_LOOKUP`, `ERR_REPLAY_STORE`,
   * `ERR_LIMITER`, with `cause`) when a plugged-in function fails: answer 500 then.
   */
  verify(request: SipRequest, options?: DigestServerVerifyOptions): Promise<DigestResult>;
  /**
   * Adds the challenges (WWW-Authenticate, or Proxy-Authenticate for a 407) with a fresh nonce;
   * `stale=true` when `result` says so. Issuing a challenge changes nothing for other nonces.
   */
  challenge<R extends SipResponse>(response: R, result?: DigestResult): R;
  /** Adds Authentication-Info (rspauth, nextnonce) for a success of this server's `verify`. */
  signResponse<R extends SipResponse>(response: R, result: DigestSuccess): R;
  /** Counters: results by reason, the limiter's and the replay store's. */
  stats(): DigestStats;
}

/**
 * A server for `options.realm` that finds accounts with `options.lookup`, keeps nonce counts in
 * `options.replayStore` and failure counts in `options.limiter` (in-memory defaults), all of
 * which may answer with Promises.
 */
export function createDigestServer(options: DigestServerOptions): DigestServer {
  if (typeof options !== 'object' || options === null) throw new DigestError('ERR_INVALID_OPTION', 'createDigestServer needs options');
  const offer = offerOf(options);
  const lookup = options.lookup;
  if (typeof lookup !== 'function') throw new DigestError('ERR_INVALID_OPTION', 'createDigestServer needs a lookup function');
  const ctx = contextOf(options);
  const proxy = options.proxy === true;
  // What signResponse needs about each success, without putting H(A1) on the result object
  // (results get logged).
  const signing = new WeakMap<DigestSuccess, SignState>();

  return {
    realm: offer.realm,
    verify: (request, verifyOptions) => verify(ctx, offer, lookup, proxy, signing, request, verifyOptions),
    challenge(response, result) {
      const stale = result !== undefined && !result.ok && result.stale;
      return writeChallenge(offer, response, ctx.nonces.issue(offer.realm, ctx.now()), stale);
    },
    signResponse(response, result) {
      const state = typeof result === 'object' && result !== null ? signing.get(result) : undefined;
      if (state === undefined) {
        throw new DigestError('ERR_NOT_AUTHENTICATED', 'signResponse needs a successful result of this server\'s verify');
      }
      return writeAuthenticationInfo(ctx, response, state);
    },
    stats: () => ctx.counters.snapshot(ctx),
  };
}

async function verify(
  ctx: DigestContext,
  offer: Offer,
  lookup: DigestLookup,
  proxy: boolean,
  signing: WeakMap<DigestSuccess, SignState>,
  request: SipRequest,
  options: DigestServerVerifyOptions | undefined,
): Promise<DigestResult> {
  const auth = findAuthorization(request, offer.realm, proxy);
  if (typeof auth === 'string') return failure(ctx, auth);
  const refused = checkAgainstOffer(ctx, offer, auth, request);
  if (refused !== undefined) return failure(ctx, refused);
  const alg = auth.alg;
  const source = options?.source ?? sourceOf(request);
  const limiter = ctx.limiter;

  const account = await lookupAsync(lookup, auth.username, { realm: offer.realm, userhash: auth.userhash, algorithm: auth.algorithm, request });
  // An unknown account costs a guess too (names are guessed as well), but only per source: a
  // per-user counter for names that do not exist would only fill the table.
  const user = account === undefined ? undefined : typeof account.user === 'string' ? account.user : auth.username;
  if (limiter !== undefined) {
    const wait = await acquireAsync(limiter, user, source);
    if (wait > 0) return failure(ctx, 'blocked', wait);
  }
  // The attempt counts as a failure from acquire() on, so concurrent guesses cannot all pass
  // while this one awaits; settle() says how it really ended.
  let outcome: DigestAttemptOutcome = 'neutral';
  try {
    if (account === undefined || user === undefined) {
      outcome = 'failure';
      return failure(ctx, 'unknown');
    }
    // H(user:realm:password) is over the name the client used: the username as sent, or for a
    // userhash the account's name, which must hash to it (RFC 7616 §3.4.4).
    let nameInA1: string | undefined = auth.username;
    if (auth.userhash) {
      nameInA1 = typeof account.user === 'string' ? account.user : undefined;
      if (nameInA1 !== undefined && !equalAscii(auth.username.toLowerCase(), userhash(alg, nameInA1, offer.realm))) {
        return failure(ctx, 'username');
      }
    }
    const base = baseHashOf(account.ha1, nameInA1, account.password, alg, offer.realm);
    if (base === undefined) return failure(ctx, 'credentials');

    const checked = checkDigest(ctx, auth, base, request);
    if (typeof checked === 'string') {
      if (isCountedFailure(checked)) outcome = 'failure';
      return failure(ctx, checked);
    }
    if (!(await checkAndRecordAsync(ctx.replayStore, auth.nonce, replayCount(auth), checked + ctx.nonceLifetime))) {
      return failure(ctx, 'replay');
    }
    outcome = 'success';
    const result = success(ctx, auth, user);
    signing.set(result, {
      realm: offer.realm,
      alg,
      nonce: auth.nonce,
      nc: auth.nc ?? 0,
      cnonce: auth.cnonce ?? '',
      qop: auth.qop,
      uri: auth.uri,
      hash: base,
      proxy,
    });
    return result;
  } finally {
    if (limiter !== undefined) await settleAsync(limiter, user, source, outcome);
  }
}
