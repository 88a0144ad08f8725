// What a server offers (realm, algorithms, qop, opaque) and reading a request's credentials
// against it: RFC 3261 §22.2–22.4, RFC 7616 §3.3–3.4, RFC 8760 §2.3–2.4. Shared by the session
// API (server.ts) and the asynchronous server (digest-server.ts).
import type { AuthHeader, SipRequest, SipResponse } from '@sipts/message';
import { DEFAULT_ALGORITHM, findAlgorithm, parseAlgorithmList, type AlgorithmInfo, type DigestHashAlgorithm } from './algorithms.js';
import { userRealmPasswordHash } from './calculate.js';
import type { DigestContext } from './context.js';
import { DigestError } from './errors.js';
import {
  MAX_URI_LENGTH,
  headerList,
  isQuotable,
  normalizeHex,
  parseNonceCount,
  quote,
  readParams,
  readParamsChecked,
  splitTokenList,
  unquote,
} from './params.js';
import type { DigestAuthorization, DigestFailureReason } from './types.js';
import { requestUriText } from './uri.js';

const SERVER_DEFAULT_ALGORITHMS: readonly AlgorithmInfo[] = [DEFAULT_ALGORITHM];

export interface QopOffer {
  readonly auth: boolean;
  readonly authInt: boolean;
  /** RFC 2069 responses (no qop) are accepted. */
  readonly none: boolean;
  /** The challenge's qop value, '' for none. */
  readonly advertised: string;
}

const DEFAULT_QOP: QopOffer = { auth: true, authInt: true, none: false, advertised: 'auth,auth-int' };

function parseQopOffer(list: string | undefined): QopOffer {
  if (list === undefined || list === '') return DEFAULT_QOP;
  let auth = false;
  let authInt = false;
  let none = false;
  for (const token of splitTokenList(list)) {
    if (token === 'auth') auth = true;
    else if (token === 'auth-int') authInt = true;
    else if (token === 'none') none = true;
    else throw new DigestError('ERR_INVALID_QOP', `unknown qop '${token}' (auth, auth-int, none)`);
  }
  if (!auth && !authInt && !none) return DEFAULT_QOP;
  const advertised = auth && authInt ? 'auth,auth-int' : auth ? 'auth' : authInt ? 'auth-int' : '';
  return { auth, authInt, none, advertised };
}

/** The configuration fields a server session or a `DigestServer` shares. */
export interface OfferConfig {
  realm?: string | undefined;
  algorithm?: string | undefined;
  qop?: string | undefined;
  opaque?: string | undefined;
  domain?: string | undefined;
  hashUsername?: boolean | undefined;
}

/** A validated server configuration. */
export interface Offer {
  readonly realm: string;
  readonly algorithms: readonly AlgorithmInfo[];
  readonly qop: QopOffer;
  readonly opaque: string | undefined;
  readonly domain: string | undefined;
  readonly hashUsername: boolean;
}

export function requireRealm(config: OfferConfig): string {
  const realm = typeof config === 'object' && config !== null ? config.realm : undefined;
  if (typeof realm !== 'string' || realm === '' || !isQuotable(realm)) {
    throw new DigestError('ERR_NO_REALM', 'a digest server needs a realm (a non-empty string without control characters)');
  }
  return realm;
}

function optionalQuotable(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isQuotable(value)) {
    throw new DigestError('ERR_INVALID_OPTION', `${name} must be a string without control characters`);
  }
  return value;
}

/** Reads and checks a configuration (throws DigestError on programmer errors). */
export function offerOf(config: OfferConfig): Offer {
  const realm = requireRealm(config);
  return {
    realm,
    algorithms: parseAlgorithmList(config.algorithm, SERVER_DEFAULT_ALGORITHMS),
    qop: parseQopOffer(config.qop),
    opaque: optionalQuotable('opaque', config.opaque),
    domain: optionalQuotable('domain', config.domain),
    hashUsername: config.hashUsername === true,
  };
}

function isChallengeFor(header: unknown, realm: string): boolean {
  const params = readParams(header);
  return params !== undefined && params.get('scheme')?.toLowerCase() === 'digest' && unquote(params.get('realm')) === realm;
}

/**
 * Adds one challenge per offered algorithm, strongest first, all with `nonce` (RFC 8760 §2.4),
 * to WWW-Authenticate, or Proxy-Authenticate for a 407 (RFC 3261 §22.3).
 */
export function writeChallenge<R extends SipResponse>(offer: Offer, response: R, nonce: string, stale: boolean): R {
  const name = response.status === 407 ? 'proxy-authenticate' : 'www-authenticate';
  const existing = response.headers[name];
  // Calling challenge twice on one response replaces this realm's challenges instead of piling up.
  const list: AuthHeader[] = Array.isArray(existing) ? existing.filter((h) => !isChallengeFor(h, offer.realm)) : [];
  for (const alg of offer.algorithms) {
    const header: AuthHeader = { scheme: 'Digest', realm: quote(offer.realm) };
    if (offer.domain !== undefined) header.domain = quote(offer.domain);
    header.nonce = quote(nonce);
    if (offer.opaque !== undefined) header.opaque = quote(offer.opaque);
    if (stale) header.stale = 'true';
    header.algorithm = alg.name;
    if (offer.qop.advertised !== '') header.qop = quote(offer.qop.advertised);
    if (offer.hashUsername) header.userhash = 'true';
    list.push(header);
  }
  response.headers[name] = list;
  return response;
}

export interface ParsedAuthorization extends DigestAuthorization {
  readonly alg: AlgorithmInfo;
  /** nc exactly as sent: the digest is computed over this text. */
  readonly ncText: string | undefined;
}

export type AuthorizationLookup = ParsedAuthorization | DigestFailureReason;

function parseAuthorization(params: Map<string, string>, realm: string): AuthorizationLookup {
  const username = unquote(params.get('username'));
  const nonce = unquote(params.get('nonce'));
  const uri = unquote(params.get('uri'), MAX_URI_LENGTH);
  const responseText = unquote(params.get('response'));
  if (username === undefined || nonce === undefined || uri === undefined || responseText === undefined) return 'malformed';

  let alg = DEFAULT_ALGORITHM;
  const algorithmParam = params.get('algorithm');
  if (algorithmParam !== undefined) {
    const text = unquote(algorithmParam);
    const found = text === undefined ? undefined : findAlgorithm(text);
    if (found === undefined) return 'algorithm';
    alg = found;
  }
  const response = normalizeHex(responseText, alg.hexLength);
  if (response === undefined) return 'malformed';

  let qop: 'auth' | 'auth-int' | undefined;
  let cnonce: string | undefined;
  let nc: number | undefined;
  let ncText: string | undefined;
  const qopParam = params.get('qop');
  if (qopParam !== undefined) {
    const text = unquote(qopParam)?.toLowerCase();
    if (text === undefined) return 'malformed';
    if (text !== 'auth' && text !== 'auth-int') return 'qop';
    qop = text;
    cnonce = unquote(params.get('cnonce'));
    ncText = unquote(params.get('nc'));
    nc = ncText === undefined ? undefined : parseNonceCount(ncText);
    if (cnonce === undefined || nc === undefined) return 'malformed';
  }

  let opaque: string | undefined;
  const opaqueParam = params.get('opaque');
  if (opaqueParam !== undefined) {
    opaque = unquote(opaqueParam);
    if (opaque === undefined) return 'malformed';
  }

  let hashed = false;
  const userhashParam = params.get('userhash');
  if (userhashParam !== undefined) {
    const text = unquote(userhashParam)?.toLowerCase();
    if (text !== 'true' && text !== 'false') return 'malformed';
    hashed = text === 'true';
  }

  return { username, userhash: hashed, realm, nonce, uri, response, algorithm: alg.name, qop, cnonce, nc, opaque, alg, ncText };
}

/**
 * The Digest credentials for `realm` in Authorization (Proxy-Authorization for `proxy`), or why
 * there are none. A request may carry credentials for several realms (RFC 3261 §22.3); ours
 * decides. A repeated parameter in any of them fails the whole request: which value a proxy
 * on the path read is unknowable.
 */
export function findAuthorization(request: SipRequest, realm: string, proxy: boolean): AuthorizationLookup {
  const headers =
    typeof request === 'object' && request !== null && typeof request.headers === 'object' && request.headers !== null
      ? headerList(request.headers[proxy ? 'proxy-authorization' : 'authorization'])
      : [];
  let sawDigest = false;
  let sawMalformed = false;
  for (const header of headers) {
    const params = readParamsChecked(header);
    if (params === 'duplicate') return 'duplicate';
    if (params === 'malformed') {
      sawMalformed = true;
      continue;
    }
    if (params.get('scheme')?.toLowerCase() !== 'digest') continue;
    sawDigest = true;
    const headerRealm = unquote(params.get('realm'));
    if (headerRealm === undefined) {
      sawMalformed = true;
      continue;
    }
    if (headerRealm === realm) return parseAuthorization(params, realm);
  }
  return sawMalformed ? 'malformed' : sawDigest ? 'realm' : 'missing';
}

/** Refusals that need no password: an algorithm, qop or opaque not offered, a foreign `uri`. */
export function checkAgainstOffer(ctx: DigestContext, offer: Offer, auth: ParsedAuthorization, request: SipRequest): DigestFailureReason | undefined {
  if (!offer.algorithms.includes(auth.alg)) return 'algorithm';
  const qop = offer.qop;
  if (auth.qop === undefined ? !qop.none : auth.qop === 'auth' ? !qop.auth : !qop.authInt) return 'qop';
  if (auth.opaque !== undefined && offer.opaque !== undefined && auth.opaque !== offer.opaque) return 'opaque';
  if (typeof request.method !== 'string') return 'malformed';
  if (ctx.checkUri) {
    let requestUri: string | undefined;
    try {
      requestUri = requestUriText(request.uri);
    } catch {
      requestUri = undefined;
    }
    if (requestUri !== auth.uri) return 'uri';
  }
  return undefined;
}

/** H(user:realm:password) for `alg` from a stored hash (string or per algorithm) or a password. */
export function baseHashOf(
  hash: string | Partial<Record<DigestHashAlgorithm, string>> | undefined,
  user: string | undefined,
  password: string | undefined,
  alg: AlgorithmInfo,
  realm: string,
): string | undefined {
  if (typeof hash === 'string') {
    // A string hash serves any algorithm whose digest has its length (MD5: 32, SHA-*: 64).
    return normalizeHex(hash, alg.hexLength);
  }
  if (typeof hash === 'object' && hash !== null) {
    const value = hash[alg.base];
    if (typeof value === 'string') return normalizeHex(value, alg.hexLength);
  }
  if (typeof password === 'string' && typeof user === 'string') return userRealmPasswordHash(alg, user, realm, password);
  return undefined;
}

/** The public view of parsed credentials (what `getAuthorization` returns). */
export function publicAuthorization(auth: ParsedAuthorization): DigestAuthorization {
  const { alg: _alg, ncText: _ncText, ...rest } = auth;
  return rest;
}
