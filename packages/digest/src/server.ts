// Server side (UAS, registrar, proxy): challenge, authenticateRequest, signResponse.
// RFC 3261 §22.2 (401, WWW-Authenticate) and §22.3 (407, Proxy-Authenticate), RFC 7616 §3.3–3.5,
// RFC 8760 §2.3–2.4 (one challenge per algorithm, strongest first).
import type { AuthHeader, AuthInfo, SipRequest, SipResponse } from '@sipts/message';
import {
  DEFAULT_ALGORITHM,
  findAlgorithm,
  parseAlgorithmList,
  type AlgorithmInfo,
} from './algorithms.js';
import { digestOf, ha1Of, userhash, userRealmPasswordHash } from './calculate.js';
import { MAX_CLOCK_SKEW, equalAscii, type DigestContext } from './context.js';
import { DigestError } from './errors.js';
import {
  MAX_URI_LENGTH,
  formatNonceCount,
  headerList,
  isQuotable,
  normalizeHex,
  parseNonceCount,
  quote,
  readParams,
  splitTokenList,
  unquote,
} from './params.js';
import type {
  DigestAuthorization,
  DigestCredentials,
  DigestFailureReason,
  DigestServerSession,
  DigestVerification,
} from './types.js';
import { requestUriText } from './uri.js';

const SERVER_DEFAULT_ALGORITHMS: readonly AlgorithmInfo[] = [DEFAULT_ALGORITHM];

interface QopOffer {
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
    else throw new DigestError('ERR_INVALID_QOP', `unknown qop '${token}' in session (auth, auth-int, none)`);
  }
  if (!auth && !authInt && !none) return DEFAULT_QOP;
  const advertised = auth && authInt ? 'auth,auth-int' : auth ? 'auth' : authInt ? 'auth-int' : '';
  return { auth, authInt, none, advertised };
}

function requireRealm(session: DigestServerSession): string {
  const realm = typeof session === 'object' && session !== null ? session.realm : undefined;
  if (typeof realm !== 'string' || realm === '' || !isQuotable(realm)) {
    throw new DigestError('ERR_NO_REALM', 'a digest server session needs a realm (a non-empty string without control characters)');
  }
  return realm;
}

function requireQuotable(name: string, value: string): string {
  if (typeof value !== 'string' || !isQuotable(value)) {
    throw new DigestError('ERR_INVALID_OPTION', `session ${name} must be a string without control characters`);
  }
  return value;
}

function isDigestHeader(header: unknown, realm: string): boolean {
  const params = readParams(header);
  return params !== undefined && params.get('scheme')?.toLowerCase() === 'digest' && unquote(params.get('realm')) === realm;
}

/** Inserts WWW-Authenticate (or Proxy-Authenticate for a 407) challenges into `response`. */
export function challenge<R extends SipResponse>(ctx: DigestContext, session: DigestServerSession, response: R): R {
  const realm = requireRealm(session);
  const algorithms = parseAlgorithmList(session.algorithm, SERVER_DEFAULT_ALGORITHMS);
  const qop = parseQopOffer(session.qop);
  const domain = session.domain === undefined ? undefined : requireQuotable('domain', session.domain);
  const opaque = session.opaque === undefined ? undefined : requireQuotable('opaque', session.opaque);

  session.proxy = response.status === 407;
  // A fresh nonce from crypto for every challenge (never the client's cnonce, as `sip` did).
  const nonce = ctx.nonces.issue(realm, ctx.now());
  session.nonce = nonce;
  session.nc = 0;
  const stale = session.stale === true;
  delete session.stale;

  const name = session.proxy ? 'proxy-authenticate' : 'www-authenticate';
  const existing = response.headers[name];
  // Calling challenge twice on one response replaces this realm's challenges instead of piling up.
  const list: AuthHeader[] = Array.isArray(existing) ? existing.filter((h) => !isDigestHeader(h, realm)) : [];
  for (const alg of algorithms) {
    const header: AuthHeader = { scheme: 'Digest', realm: quote(realm) };
    if (domain !== undefined) header.domain = quote(domain);
    header.nonce = quote(nonce);
    if (opaque !== undefined) header.opaque = quote(opaque);
    if (stale) header.stale = 'true';
    header.algorithm = alg.name;
    if (qop.advertised !== '') header.qop = quote(qop.advertised);
    if (session.hashUsername === true) header.userhash = 'true';
    list.push(header);
  }
  response.headers[name] = list;
  return response;
}

interface ParsedAuthorization extends DigestAuthorization {
  readonly alg: AlgorithmInfo;
  /** nc exactly as sent: the digest is computed over this text. */
  readonly ncText: string | undefined;
}

type Lookup = ParsedAuthorization | DigestFailureReason;

function parseAuthorization(params: Map<string, string>, realm: string): Lookup {
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

  return {
    username,
    userhash: hashed,
    realm,
    nonce,
    uri,
    response,
    algorithm: alg.name,
    qop,
    cnonce,
    nc,
    opaque,
    alg,
    ncText,
  };
}

function lookupAuthorization(session: DigestServerSession, request: SipRequest): Lookup {
  const headers = typeof request === 'object' && request !== null && typeof request.headers === 'object' && request.headers !== null
    ? headerList(request.headers[session.proxy === true ? 'proxy-authorization' : 'authorization'])
    : [];
  let sawDigest = false;
  let sawMalformed = false;
  for (const header of headers) {
    const params = readParams(header);
    if (params === undefined) {
      sawMalformed = true;
      continue;
    }
    if (params.get('scheme')?.toLowerCase() !== 'digest') continue;
    sawDigest = true;
    const realm = unquote(params.get('realm'));
    if (realm === undefined) {
      sawMalformed = true;
      continue;
    }
    // RFC 3261 §22.3: a request may carry credentials for several realms; ours decides.
    if (realm === session.realm) return parseAuthorization(params, realm);
  }
  return sawMalformed ? 'malformed' : sawDigest ? 'realm' : 'missing';
}

/** The parsed Authorization (Proxy-Authorization) for the session's realm, to look up the user. */
export function getAuthorization(session: DigestServerSession, request: SipRequest): DigestAuthorization | undefined {
  requireRealm(session);
  const found = lookupAuthorization(session, request);
  if (typeof found === 'string') return undefined;
  const { alg: _alg, ncText: _ncText, ...auth } = found;
  return auth;
}

function hashFromCredentials(credentials: DigestCredentials, alg: AlgorithmInfo, realm: string): string | undefined {
  const hash = credentials.hash;
  if (typeof hash === 'string') {
    // A string hash serves any algorithm whose digest has its length (MD5: 32, SHA-*: 64).
    return normalizeHex(hash, alg.hexLength);
  }
  if (typeof hash === 'object' && hash !== null) {
    const value = hash[alg.base];
    if (typeof value === 'string') return normalizeHex(value, alg.hexLength);
  }
  if (typeof credentials.password === 'string' && typeof credentials.user === 'string') {
    return userRealmPasswordHash(alg, credentials.user, realm, credentials.password);
  }
  return undefined;
}

function fail(reason: DigestFailureReason): DigestVerification {
  return { ok: false, reason };
}

/** Checks the request's credentials; on success the session remembers what `signResponse` needs. */
export function verifyRequest(
  ctx: DigestContext,
  session: DigestServerSession,
  request: SipRequest,
  credentials?: DigestCredentials,
): DigestVerification {
  const realm = requireRealm(session);
  const algorithms = parseAlgorithmList(session.algorithm, SERVER_DEFAULT_ALGORITHMS);
  const qopOffer = parseQopOffer(session.qop);
  delete session.stale;

  const auth = lookupAuthorization(session, request);
  if (typeof auth === 'string') return fail(auth);
  const alg = auth.alg;
  if (!algorithms.includes(alg)) return fail('algorithm');
  if (auth.qop === undefined ? !qopOffer.none : auth.qop === 'auth' ? !qopOffer.auth : !qopOffer.authInt) return fail('qop');
  if (auth.opaque !== undefined && session.opaque !== undefined && auth.opaque !== session.opaque) return fail('opaque');
  if (typeof request.method !== 'string') return fail('malformed');
  if (ctx.checkUri) {
    let requestUri: string | undefined;
    try {
      requestUri = requestUriText(request.uri);
    } catch {
      requestUri = undefined;
    }
    if (requestUri !== auth.uri) return fail('uri');
  }

  // Whose password: the credentials given now, else the hash cached by an earlier success.
  let base: string | undefined;
  let user: string | undefined;
  if (typeof credentials === 'object' && credentials !== null) {
    if (typeof credentials.user === 'string') {
      const sameUser = auth.userhash
        ? equalAscii(auth.username.toLowerCase(), userhash(alg, credentials.user, realm))
        : auth.username === credentials.user;
      if (!sameUser) return fail('username');
      user = credentials.user;
    }
    base = hashFromCredentials(credentials, alg, realm);
  } else if (session.hash !== undefined && session.hashAlgorithm === alg.base && session.username === auth.username) {
    base = session.hash;
    user = session.user;
  }
  if (base === undefined) return fail('credentials');

  const ha1 = ha1Of(alg, base, auth.nonce, auth.cnonce ?? '');
  const expected = digestOf(alg, ha1, auth.nonce, auth.ncText, auth.cnonce, auth.qop, request.method, auth.uri, request.content);
  const matches = equalAscii(expected, auth.response);

  const now = ctx.now();
  const issued = ctx.nonces.timestampOf(auth.nonce, realm);
  const known = issued !== undefined && issued <= now + MAX_CLOCK_SKEW;
  if (!matches) return fail(known ? 'mismatch' : 'nonce');
  if (!known || now - issued > ctx.nonceLifetime) {
    // RFC 7616 §3.3: stale=true only for a valid digest with a nonce we no longer accept, so the
    // client retries with the same credentials instead of asking its user again. A nonce we
    // cannot verify at all (a restart without a configured secret) is treated the same way.
    session.stale = true;
    return fail('stale');
  }

  if (auth.nonce === session.nonce) {
    // RFC 7616 §3.4: the nonce count must grow, so a captured request cannot be replayed.
    if (auth.nc !== undefined && auth.nc <= (session.nc ?? 0)) return fail('replay');
  } else if (session.nonce !== undefined) {
    // A different nonce is taken only when it is newer than the session's (a `nextnonce` or a
    // challenge from another instance); an older one would reopen its used counts.
    const current = ctx.nonces.timestampOf(session.nonce, realm);
    if (current !== undefined && issued <= current) return fail('replay');
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
  return { ok: true, username: auth.username };
}

/** Inserts Authentication-Info (Proxy-Authentication-Info after a 407 flow) into `response`. */
export function signResponse<R extends SipResponse>(ctx: DigestContext, session: DigestServerSession, response: R): R {
  const realm = requireRealm(session);
  const alg = session.selectedAlgorithm === undefined ? undefined : findAlgorithm(session.selectedAlgorithm);
  if (alg === undefined || session.nonce === undefined || session.hash === undefined || session.uri === undefined) {
    throw new DigestError('ERR_NOT_AUTHENTICATED', 'signResponse needs a session that authenticated a request');
  }
  const info: AuthInfo = {};
  const qop = session.selectedQop;
  if (qop !== undefined) {
    // RFC 7616 §3.5: rspauth is the response digest with an empty method (and for auth-int,
    // the hash of the response body).
    const nc = formatNonceCount(session.nc ?? 0);
    const cnonce = session.cnonce ?? '';
    const ha1 = ha1Of(alg, session.hash, session.nonce, cnonce);
    info.qop = qop;
    info.rspauth = quote(digestOf(alg, ha1, session.nonce, nc, cnonce, qop, '', session.uri, response.content));
    info.cnonce = quote(cnonce);
    info.nc = nc;
  }
  if (wantsNextNonce(ctx, session.nonce, realm)) info.nextnonce = quote(ctx.nonces.issue(realm, ctx.now()));
  if (Object.keys(info).length > 0) {
    response.headers[session.proxy === true ? 'proxy-authentication-info' : 'authentication-info'] = info;
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
