// Public shapes: sessions (plain JSON-serialisable objects, as in `sip`), credentials, options.
import type { SipRequest } from '@sipts/message';
import type { DigestAlgorithm, DigestHashAlgorithm } from './algorithms.js';
import type { DigestFailureLimiter, DigestLimiterStats } from './limiter.js';
import type { DigestReplayStore, DigestReplayStoreStats } from './replay.js';

/**
 * Server-side state for `challenge` / `authenticateRequest` / `signResponse`. The caller sets
 * the configuration fields; the library writes the rest. It holds only strings, numbers and
 * booleans, so `JSON.parse(JSON.stringify(session))` between calls restores it completely.
 */
export interface DigestServerSession {
  /** Protection realm (required). */
  realm: string;
  /** qop values offered, comma-separated: `auth`, `auth-int`, and `none` to also accept
   * RFC 2069 responses without qop. Only `none`: the challenge carries no qop. Default `auth,auth-int`. */
  qop?: string | undefined;
  /** Algorithms offered, comma-separated; one challenge each, strongest first. Default `MD5`. */
  algorithm?: string | undefined;
  /** Opaque value echoed by clients (RFC 7616 §3.3); checked when the client sends it back. */
  opaque?: string | undefined;
  /** `domain` parameter of the challenge (RFC 7616 §3.3), space-separated URIs. */
  domain?: string | undefined;
  /** Offer `userhash=true` (RFC 7616 §3.4.4): clients may send H(user:realm) as username. */
  hashUsername?: boolean | undefined;
  /** Proxy authentication (407, Proxy-Authorization). Set by `challenge` from the status. */
  proxy?: boolean | undefined;

  // Written by the library.
  /** The nonce of the last challenge, then of the last authenticated request. Only informative:
   * which nonces and counts are accepted is decided by the instance's replay store, so a new
   * challenge on a session never invalidates a nonce handed out before. */
  nonce?: string | undefined;
  /** Nonce count of the last authenticated request (0 right after a challenge). */
  nc?: number | undefined;
  /** Set when the last failure was a correct response to an expired or unknown nonce, or to a
   * nonce count already used; the next `challenge` then carries `stale=true` (RFC 7616 §3.3). */
  stale?: boolean | undefined;
  /** The `username` of the last authenticated request, as sent (a userhash when hashed). */
  username?: string | undefined;
  /** The account name from the credentials that authenticated it. */
  user?: string | undefined;
  /** H(user:realm:password) under `hashAlgorithm`, cached so later calls need no credentials. */
  hash?: string | undefined;
  hashAlgorithm?: DigestHashAlgorithm | undefined;
  /** Algorithm, qop, cnonce and digest-uri of the last authenticated request. */
  selectedAlgorithm?: DigestAlgorithm | undefined;
  selectedQop?: 'auth' | 'auth-int' | undefined;
  cnonce?: string | undefined;
  uri?: string | undefined;
}

/**
 * Client-side state for `signRequest` / `authenticateResponse`; also plain JSON data.
 */
export interface DigestClientSession {
  /** qop preference, comma-separated (e.g. `auth-int,auth`). Default: the server's first. */
  qop?: string | undefined;
  /** Algorithms this client accepts, comma-separated. Default: all; the strongest offered wins. */
  algorithm?: string | undefined;
  /** Send H(user:realm) as username when the server offers `userhash=true`. Default true. */
  hashUsername?: boolean | undefined;

  // Written by the library.
  proxy?: boolean | undefined;
  realm?: string | undefined;
  nonce?: string | undefined;
  /** Nonce count of the last signed request. */
  nc?: number | undefined;
  cnonce?: string | undefined;
  opaque?: string | undefined;
  domain?: string | undefined;
  user?: string | undefined;
  /** The username as sent: `user`, or H(user:realm) with userhash. */
  username?: string | undefined;
  usernameHashed?: boolean | undefined;
  hash?: string | undefined;
  hashAlgorithm?: DigestHashAlgorithm | undefined;
  selectedAlgorithm?: DigestAlgorithm | undefined;
  selectedQop?: 'auth' | 'auth-int' | undefined;
  /** digest-uri of the last signed request (needed to check `rspauth`). */
  uri?: string | undefined;
}

/**
 * An account: `user` and either `password` or `hash`, the precomputed H(user:realm:password)
 * (`calculateUserRealmPasswordHash`) so passwords need not be stored. A string `hash` is used
 * for whatever algorithm is negotiated (usually MD5); give one per hash algorithm as an object
 * to serve several.
 */
export interface DigestCredentials {
  user?: string | undefined;
  /** Optional; on the client it selects the challenge of that realm. */
  realm?: string | undefined;
  password?: string | undefined;
  hash?: string | Partial<Record<DigestHashAlgorithm, string>> | undefined;
}

/** Options of {@link createDigest}. */
export interface DigestOptions {
  /** HMAC key for nonces; share it across a cluster. Default: 32 random bytes per process. */
  secret?: string | Uint8Array | undefined;
  /** How long a nonce is fresh, in milliseconds. Default 300000 (5 min). */
  nonceLifetime?: number | undefined;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Require the Authorization `uri` to equal the Request-URI (RFC 2617 §3.2.2.5). Default false. */
  checkUri?: boolean | undefined;
  /** When `signResponse` adds `nextnonce`: `auto` once the nonce is past half its lifetime. */
  nextNonce?: 'auto' | 'always' | 'never' | undefined;
  /**
   * Nonce counts already used. Default: a `MemoryReplayStore` of this instance. A cluster sharing
   * `secret` shares this too. The synchronous API needs a store that answers without a Promise.
   */
  replayStore?: DigestReplayStore | undefined;
  /** Failed-attempt limits; `false` turns them off. Default: a `MemoryFailureLimiter` with its defaults. */
  limiter?: DigestFailureLimiter | false | undefined;
}

/** Per-call options of the synchronous `verifyRequest` / `authenticateRequest`. */
export interface DigestVerifyOptions {
  /**
   * Where the request came from, as an opaque key for the failure limiter (`udp:192.0.2.1`).
   * Default: the top Via's protocol and `received` address (its host when there is no
   * `received`), which sipts and `sip` transports stamp with the packet's source address.
   */
  source?: string | undefined;
}

/** An account found by {@link DigestServerOptions.lookup}: a password or H(user:realm:password). */
export interface DigestAccount {
  /**
   * The account name: the key of the per-user failure limit and `result.user`. Default: the
   * `username` of the request. Give it when `lookup` resolves hashed usernames (userhash).
   */
  user?: string | undefined;
  password?: string | undefined;
  /** H(user:realm:password), as `calculateUserRealmPasswordHash` computes it: one hex string (used
   * for the algorithm whose digest length it has) or one per hash algorithm. */
  ha1?: string | Partial<Record<DigestHashAlgorithm, string>> | undefined;
}

/** What {@link DigestLookup} learns about the credentials it is asked for. */
export interface DigestLookupContext {
  readonly realm: string;
  /** True when `username` is H(user:realm) under `algorithm` (RFC 7616 §3.4.4). */
  readonly userhash: boolean;
  readonly algorithm: DigestAlgorithm;
  readonly request: SipRequest;
}

/** Finds the account of a username; `undefined` when there is none. */
export type DigestLookup = (
  username: string,
  context: DigestLookupContext,
) => DigestAccount | undefined | Promise<DigestAccount | undefined>;

/** Options of {@link createDigestServer}. */
export interface DigestServerOptions extends DigestOptions {
  /** Protection realm (required). */
  realm: string;
  /** Account lookup (required). */
  lookup: DigestLookup;
  /** Algorithms offered, comma-separated, strongest first on the wire. Default `MD5`. */
  algorithm?: string | undefined;
  /** qop offered: `auth`, `auth-int`, `none` (RFC 2069), comma-separated. Default `auth,auth-int`. */
  qop?: string | undefined;
  opaque?: string | undefined;
  domain?: string | undefined;
  /** Offer `userhash=true`; `lookup` then also gets hashed usernames. Default false. */
  hashUsername?: boolean | undefined;
  /** Proxy authentication: read Proxy-Authorization, write Proxy-Authentication-Info. Default false. */
  proxy?: boolean | undefined;
}

/** Per-request options of `DigestServer.verify`. */
export interface DigestServerVerifyOptions {
  /** Opaque key of where the request came from (`udp:192.0.2.1`); default as in {@link DigestVerifyOptions}. */
  source?: string | undefined;
}

/** A counter per result, for dashboards: `stats()` of a digest instance or server. */
export interface DigestStats {
  /** Requests authenticated. */
  readonly accepted: number;
  /** Requests refused, by reason. */
  readonly failed: Readonly<Record<DigestFailureReason, number>>;
  /** The limiter's counters (when it has `stats()`). */
  readonly limiter?: DigestLimiterStats | undefined;
  /** The replay store's counters (when it has `stats()`). */
  readonly replayStore?: DigestReplayStoreStats | undefined;
}

/** Why `verifyRequest` refused a request. */
export type DigestFailureReason =
  /** No Digest Authorization / Proxy-Authorization header. */
  | 'missing'
  /** Digest headers present, none for the session's realm. */
  | 'realm'
  /** Required fields missing, bad quoting, oversized values, bad nc or response syntax. */
  | 'malformed'
  /** Unknown algorithm, or one the session did not offer. */
  | 'algorithm'
  /** qop not offered (or missing when the session requires one). */
  | 'qop'
  /** opaque differs from the one in the challenge. */
  | 'opaque'
  /** `uri` differs from the Request-URI (only with `checkUri`). */
  | 'uri'
  /** username does not belong to the credentials. */
  | 'username'
  /** No credentials given and none cached for this user and algorithm. */
  | 'credentials'
  /** The nonce is not ours (forged, other realm, other secret) and the digest did not match. */
  | 'nonce'
  /** A correct response to an expired or unknown nonce: re-challenge with stale=true. */
  | 'stale'
  /** A correct digest whose nonce count was used before (or that the replay store cannot vouch
   * for): re-challenge with stale=true. Without qop (RFC 2069) a nonce serves one request. */
  | 'replay'
  /** Wrong digest: wrong password, or tampered fields. */
  | 'mismatch'
  /** A parameter appears twice in the credentials (`nonce` twice, in any case): ambiguous, refused. */
  | 'duplicate'
  /** Too many failures for this user or source: refused without checking the digest (`retryAfter`). */
  | 'blocked'
  /** `lookup` found no account for the username (`createDigestServer` only). */
  | 'unknown';

/** A request authenticated. */
export interface DigestSuccess {
  readonly ok: true;
  /** The username as sent (H(user:realm) with userhash). */
  readonly username: string;
  /** The account name: the credentials' or the lookup's `user`, else `username`. */
  readonly user: string;
  readonly realm: string;
  readonly algorithm: DigestAlgorithm;
  /** Undefined for an RFC 2069 answer. */
  readonly qop: 'auth' | 'auth-int' | undefined;
  readonly nonce: string;
  readonly nc: number | undefined;
}

/** A request not authenticated, and what to answer. */
export interface DigestFailure {
  readonly ok: false;
  readonly reason: DigestFailureReason;
  /** Challenge with `stale=true` (reasons `stale` and `replay`): the client knows the password,
   * its nonce is no longer accepted, it should retry at once without asking its user. */
  readonly stale: boolean;
  /** With reason `blocked`: seconds until this user/source may try again (for Retry-After). */
  readonly retryAfter?: number | undefined;
}

/** The outcome of `verifyRequest` (sync) and `DigestServer.verify` (async). */
export type DigestResult = DigestSuccess | DigestFailure;

/** The same as {@link DigestResult} (its first name). */
export type DigestVerification = DigestResult;

/** The parsed, unquoted fields of the Authorization header for a session's realm. */
export interface DigestAuthorization {
  username: string;
  /** True when `username` is H(user:realm) (RFC 7616 §3.4.4). */
  userhash: boolean;
  realm: string;
  nonce: string;
  uri: string;
  /** Lower-case hex. */
  response: string;
  algorithm: DigestAlgorithm;
  qop?: 'auth' | 'auth-int' | undefined;
  cnonce?: string | undefined;
  nc?: number | undefined;
  opaque?: string | undefined;
}
