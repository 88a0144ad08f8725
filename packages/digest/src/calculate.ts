// The digest arithmetic of RFC 2617 §3.2.2 and RFC 7616 §3.4, with `sip`'s low-level API.
import { hashHex, requireAlgorithm, type AlgorithmInfo } from './algorithms.js';
import { formatNonceCount } from './params.js';

/** `sip` strips one pair of surrounding quotes from user and realm (they may come from headers). */
function stripQuotes(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** MD5 of the arguments joined with `:` (`sip`'s `kd`). */
export function kd(...parts: string[]): string {
  return hashHex('md5', parts.join(':'));
}

/**
 * H(user ":" realm ":" password), the value to store instead of a password (the `hash` of
 * credentials). `algorithm` picks the hash (MD5 by default; `-sess` names use their base).
 */
export function calculateUserRealmPasswordHash(user: string, realm: string, password: string, algorithm?: string): string {
  return userRealmPasswordHash(requireAlgorithm(algorithm), stripQuotes(user), stripQuotes(realm), password);
}

export function userRealmPasswordHash(alg: AlgorithmInfo, user: string, realm: string, password: string): string {
  return hashHex(alg.nodeHash, `${user}:${realm}:${password}`);
}

/** RFC 7616 §3.4.4: the `username` a client sends with `userhash=true`, H(user ":" realm). */
export function calculateUserhash(user: string, realm: string, algorithm?: string): string {
  return userhash(requireAlgorithm(algorithm), stripQuotes(user), stripQuotes(realm));
}

export function userhash(alg: AlgorithmInfo, user: string, realm: string): string {
  return hashHex(alg.nodeHash, `${user}:${realm}`);
}

/** Arguments of {@link calculateHA1} (the names of `sip`). */
export interface CalculateHA1Args {
  /** H(user:realm:password); optional when user, realm and password are given. */
  userhash?: string | undefined;
  user?: string | undefined;
  realm?: string | undefined;
  password?: string | undefined;
  /** Default MD5. */
  algorithm?: string | undefined;
  /** Needed for `-sess` algorithms only. */
  nonce?: string | undefined;
  cnonce?: string | undefined;
}

/** H(A1) (RFC 7616 §3.4.2): the user/realm/password hash, or for `-sess` H(that:nonce:cnonce). */
export function calculateHA1(args: CalculateHA1Args): string {
  const alg = requireAlgorithm(args.algorithm);
  const base =
    args.userhash ??
    userRealmPasswordHash(alg, stripQuotes(args.user ?? ''), stripQuotes(args.realm ?? ''), args.password ?? '');
  return ha1Of(alg, base, args.nonce ?? '', args.cnonce ?? '');
}

export function ha1Of(alg: AlgorithmInfo, base: string, nonce: string, cnonce: string): string {
  return alg.sess ? hashHex(alg.nodeHash, `${base}:${nonce}:${cnonce}`) : base;
}

/** Arguments of {@link calculateDigest} (the names of `sip`, plus `algorithm`). */
export interface CalculateDigestArgs {
  ha1: string;
  nonce: string;
  /** Nonce count: eight hex digits, or a number. */
  nc?: string | number | undefined;
  cnonce?: string | undefined;
  /** `auth`, `auth-int`, or absent for RFC 2069 digests. */
  qop?: string | undefined;
  /** Request method; empty for `rspauth` (RFC 7616 §3.5). */
  method: string;
  uri: string;
  /** The body for `auth-int`: a string is hashed as its UTF-8 bytes. */
  entity?: string | Uint8Array | undefined;
  /** Default MD5. */
  algorithm?: string | undefined;
}

/** The `response` (or `rspauth`) value: KD(H(A1), nonce [":" nc ":" cnonce ":" qop] ":" H(A2)). */
export function calculateDigest(args: CalculateDigestArgs): string {
  const nc = typeof args.nc === 'number' ? formatNonceCount(args.nc) : args.nc;
  return digestOf(requireAlgorithm(args.algorithm), args.ha1, args.nonce, nc, args.cnonce, args.qop, args.method, args.uri, args.entity);
}

export function digestOf(
  alg: AlgorithmInfo,
  ha1: string,
  nonce: string,
  nc: string | undefined,
  cnonce: string | undefined,
  qop: string | undefined,
  method: string,
  uri: string,
  entity: string | Uint8Array | undefined,
): string {
  const h = alg.nodeHash;
  if (qop === 'auth-int') {
    // RFC 7616 §3.4.3: A2 = Method ":" request-uri ":" H(entity-body), over the exact body bytes.
    const ha2 = hashHex(h, `${method}:${uri}:${hashHex(h, entity ?? '')}`);
    return hashHex(h, `${ha1}:${nonce}:${nc ?? ''}:${cnonce ?? ''}:auth-int:${ha2}`);
  }
  const ha2 = hashHex(h, `${method}:${uri}`);
  if (qop === 'auth') return hashHex(h, `${ha1}:${nonce}:${nc ?? ''}:${cnonce ?? ''}:auth:${ha2}`);
  // RFC 2069 §2.1.1: no qop, no nc, no cnonce.
  return hashHex(h, `${ha1}:${nonce}:${ha2}`);
}
