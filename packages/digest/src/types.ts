// Public shapes: sessions (plain JSON-serialisable objects, as in `sip`), credentials, options.
import type { DigestAlgorithm, DigestHashAlgorithm } from './algorithms.js';

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
  /** The current nonce. */
  nonce?: string | undefined;
  /** Highest nonce count accepted for `nonce` (0 right after a challenge). */
  nc?: number | undefined;
  /** Set when the last failure was a correct response to an expired or unknown nonce;
   * the next `challenge` then carries `stale=true` (RFC 7616 §3.3). */
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
  /** Nonce count reused or lower than one already accepted, or an older nonce. */
  | 'replay'
  /** Wrong digest: wrong password, or tampered fields. */
  | 'mismatch';

export type DigestVerification =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly reason: DigestFailureReason };

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
