// Client side (UAC): signRequest answers a 401/407 challenge, authenticateResponse checks the
// server's Authentication-Info (mutual authentication, RFC 7616 §3.5).
import { randomBytes } from 'node:crypto';
import type { AuthHeader, SipRequest, SipResponse } from '@sipts/message';
import {
  ALL_ALGORITHMS,
  DEFAULT_ALGORITHM,
  findAlgorithm,
  parseAlgorithmList,
  type AlgorithmInfo,
} from './algorithms.js';
import { digestOf, ha1Of, userhash, userRealmPasswordHash } from './calculate.js';
import { equalAscii } from './context.js';
import { DigestError } from './errors.js';
import {
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
import type { DigestClientSession, DigestCredentials } from './types.js';
import { requestUriText } from './uri.js';

interface Challenge {
  readonly alg: AlgorithmInfo;
  readonly realm: string;
  readonly nonce: string;
  readonly qop: 'auth' | 'auth-int' | undefined;
  readonly opaque: string | undefined;
  readonly domain: string | undefined;
  readonly userhash: boolean;
}

/** Credentials checked once: a programmer error throws here, never later on network input. */
interface Account {
  readonly user: string;
  readonly password: string | undefined;
  readonly hash: DigestCredentials['hash'];
}

function checkCredentials(credentials: DigestCredentials): Account {
  const { user, password, hash } = credentials;
  if (typeof user !== 'string' || user === '' || !isQuotable(user)) {
    throw new DigestError('ERR_INVALID_CREDENTIALS', 'credentials need a user (a non-empty string without control characters)');
  }
  if (typeof password !== 'string' && (typeof hash !== 'string' && (typeof hash !== 'object' || hash === null))) {
    throw new DigestError('ERR_INVALID_CREDENTIALS', 'credentials need a password or a hash');
  }
  return { user, password: typeof password === 'string' ? password : undefined, hash };
}

/** H(user:realm:password) for this algorithm from an account, if it can be had. */
function accountHash(account: Account, alg: AlgorithmInfo, realm: string): string | undefined {
  const { hash } = account;
  if (typeof hash === 'string') {
    const value = normalizeHex(hash, alg.hexLength);
    if (value !== undefined) return value;
  } else if (typeof hash === 'object' && hash !== null) {
    const value = hash[alg.base];
    if (typeof value === 'string') {
      const normalized = normalizeHex(value, alg.hexLength);
      if (normalized !== undefined) return normalized;
    }
  }
  return account.password === undefined ? undefined : userRealmPasswordHash(alg, account.user, realm, account.password);
}

function stripQuotes(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/**
 * The challenge to answer: Digest, for the wanted realm, an algorithm this client accepts and
 * can compute, a qop it accepts. Among those the strongest algorithm wins; equal strength keeps
 * the server's order (RFC 8760 §2.4: the topmost).
 */
function pickChallenge(
  session: DigestClientSession,
  headers: readonly unknown[],
  wantedRealm: string | undefined,
  account: Account | undefined,
): { challenge: Challenge; base: string } | undefined {
  const accepted = session.algorithm === undefined || session.algorithm === '' ? ALL_ALGORITHMS : parseAlgorithmList(session.algorithm, ALL_ALGORITHMS);
  const qopPreference = typeof session.qop === 'string' && session.qop !== '' ? splitTokenList(session.qop) : undefined;
  let best: { challenge: Challenge; base: string } | undefined;

  for (const header of headers) {
    const params = readParams(header);
    if (params === undefined || params.get('scheme')?.toLowerCase() !== 'digest') continue;
    const realm = unquote(params.get('realm'));
    const nonce = unquote(params.get('nonce'));
    if (realm === undefined || nonce === undefined) continue;
    if (wantedRealm !== undefined && realm !== wantedRealm) continue;

    let alg = DEFAULT_ALGORITHM;
    const algorithmParam = params.get('algorithm');
    if (algorithmParam !== undefined) {
      const text = unquote(algorithmParam);
      const found = text === undefined ? undefined : findAlgorithm(text);
      if (found === undefined) continue;
      alg = found;
    }
    if (!accepted.includes(alg)) continue;
    if (best !== undefined && best.challenge.alg.strength >= alg.strength) continue;

    let qop: 'auth' | 'auth-int' | undefined;
    const qopParam = params.get('qop');
    if (qopParam !== undefined) {
      const text = unquote(qopParam);
      if (text === undefined) continue;
      const offered = splitTokenList(text).filter((t): t is 'auth' | 'auth-int' => t === 'auth' || t === 'auth-int');
      // `sip` takes the server's first qop unless the session states a preference.
      qop = qopPreference === undefined ? offered[0] : (qopPreference.find((t) => (offered as string[]).includes(t)) as 'auth' | 'auth-int' | undefined);
      if (qop === undefined) continue;
    }

    let opaque: string | undefined;
    const opaqueParam = params.get('opaque');
    if (opaqueParam !== undefined) {
      opaque = unquote(opaqueParam);
      if (opaque === undefined) continue;
    }

    let base: string | undefined;
    if (account !== undefined) base = accountHash(account, alg, realm);
    else if (session.hash !== undefined && session.hashAlgorithm === alg.base && session.realm === realm) base = session.hash;
    if (base === undefined) continue;

    const domainParam = params.get('domain');
    const userhashParam = params.get('userhash');
    best = {
      challenge: {
        alg,
        realm,
        nonce,
        qop,
        opaque,
        domain: domainParam === undefined ? undefined : unquote(domainParam, 4096),
        userhash: userhashParam !== undefined && unquote(userhashParam)?.toLowerCase() === 'true',
      },
      base,
    };
  }
  return best;
}

function newCnonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Takes a 401/407 challenge into the session. Returns false when the response carries no
 * challenge this client can answer.
 */
function acceptChallenge(session: DigestClientSession, response: SipResponse, credentials: DigestCredentials | undefined): boolean {
  const account = credentials === undefined || credentials === null ? undefined : checkCredentials(credentials);
  if (account === undefined && (session.hash === undefined || session.user === undefined)) {
    throw new DigestError('ERR_NO_CREDENTIALS', 'signRequest with a challenge needs credentials');
  }
  const proxy = response.status === 407;
  const headers = headerList(response.headers?.[proxy ? 'proxy-authenticate' : 'www-authenticate']);
  const wantedRealm = typeof credentials?.realm === 'string' ? stripQuotes(credentials.realm) : undefined;
  const picked = pickChallenge(session, headers, wantedRealm, account);
  if (picked === undefined) return false;
  const { challenge, base } = picked;
  const user = account?.user ?? (session.user as string);

  // The same nonce again (the server rejected us without a new one) keeps cnonce and count, so
  // the next request is not taken for a replay.
  const sameNonce = session.nonce === challenge.nonce && session.cnonce !== undefined;
  session.proxy = proxy;
  session.realm = challenge.realm;
  session.nonce = challenge.nonce;
  session.selectedAlgorithm = challenge.alg.name;
  session.hashAlgorithm = challenge.alg.base;
  session.hash = base;
  session.user = user;
  session.usernameHashed = challenge.userhash && session.hashUsername !== false;
  session.username = session.usernameHashed ? userhash(challenge.alg, user, challenge.realm) : user;
  if (challenge.qop !== undefined) session.selectedQop = challenge.qop;
  else delete session.selectedQop;
  if (challenge.opaque !== undefined) session.opaque = challenge.opaque;
  else delete session.opaque;
  if (challenge.domain !== undefined) session.domain = challenge.domain;
  else delete session.domain;
  if (!sameNonce) {
    session.cnonce = newCnonce();
    session.nc = 0;
  }
  return true;
}

/**
 * Inserts Authorization (Proxy-Authorization after a 407) into `request`. With `response` and
 * `credentials` it first takes the challenge; without, it signs with the session's nonce and
 * the next nonce count. Returns the session, or null when the response has no usable challenge.
 */
export function signRequest(
  session: DigestClientSession | null | undefined,
  request: SipRequest,
  response?: SipResponse,
  credentials?: DigestCredentials,
): DigestClientSession | null {
  const s: DigestClientSession = session ?? {};
  if (response !== undefined && response !== null) {
    if (!acceptChallenge(s, response, credentials)) return null;
  }
  const alg = s.selectedAlgorithm === undefined ? undefined : findAlgorithm(s.selectedAlgorithm);
  if (alg === undefined || s.nonce === undefined || s.hash === undefined || s.realm === undefined || s.username === undefined) {
    throw new DigestError('ERR_NO_CHALLENGE', 'signRequest without a response needs a session that took a challenge');
  }

  const uri = requestUriText(request.uri);
  const qop = s.selectedQop;
  let nc: string | undefined;
  let cnonce: string | undefined;
  if (qop !== undefined) {
    s.nc = (s.nc ?? 0) + 1;
    nc = formatNonceCount(s.nc);
    cnonce = s.cnonce ?? (s.cnonce = newCnonce());
  }
  s.uri = uri;
  const ha1 = ha1Of(alg, s.hash, s.nonce, cnonce ?? '');
  const digest = digestOf(alg, ha1, s.nonce, nc, cnonce, qop, request.method, uri, request.content);

  const header: AuthHeader = {
    scheme: 'Digest',
    username: quote(s.username),
    realm: quote(s.realm),
    nonce: quote(s.nonce),
    uri: quote(uri),
    response: quote(digest),
    algorithm: alg.name,
  };
  if (qop !== undefined && nc !== undefined && cnonce !== undefined) {
    header.qop = qop;
    header.nc = nc;
    header.cnonce = quote(cnonce);
  }
  if (s.opaque !== undefined) header.opaque = quote(s.opaque);
  if (s.usernameHashed === true) header.userhash = 'true';

  const name = s.proxy === true ? 'proxy-authorization' : 'authorization';
  const realm = s.realm;
  const existing = request.headers[name];
  // One set of credentials per realm (RFC 3261 §22.3): replace ours, keep other realms'.
  const list: AuthHeader[] = Array.isArray(existing)
    ? existing.filter((h) => {
        const params = readParams(h);
        return params === undefined || unquote(params.get('realm')) !== realm;
      })
    : [];
  list.push(header);
  request.headers[name] = list;
  return s;
}

/**
 * Checks `rspauth` in Authentication-Info (Proxy-Authentication-Info): true when the server
 * proved it knows the password, false when the proof is wrong, undefined when there is none.
 * A verified `nextnonce` becomes the session's nonce (count restarts).
 */
export function authenticateResponse(session: DigestClientSession, response: SipResponse): boolean | undefined {
  const raw = response?.headers?.[session.proxy === true ? 'proxy-authentication-info' : 'authentication-info'];
  const params = readParams(Array.isArray(raw) ? raw[0] : raw);
  if (params === undefined) return undefined;
  const nextnonceParam = params.get('nextnonce');
  const nextnonce = nextnonceParam === undefined ? undefined : unquote(nextnonceParam);
  const rspauthParam = params.get('rspauth');

  if (rspauthParam === undefined) {
    // Without qop (RFC 2069) there is no proof to check, only a nonce to move on to.
    if (session.selectedQop === undefined && nextnonce !== undefined) adoptNonce(session, nextnonce);
    return undefined;
  }
  const alg = session.selectedAlgorithm === undefined ? undefined : findAlgorithm(session.selectedAlgorithm);
  if (alg === undefined || session.nonce === undefined || session.hash === undefined || session.uri === undefined) return false;
  const rspauth = unquote(rspauthParam);
  const rspauthHex = rspauth === undefined ? undefined : normalizeHex(rspauth, alg.hexLength);
  if (rspauthHex === undefined) return false;

  const qop = session.selectedQop;
  const nc = formatNonceCount(session.nc ?? 0);
  const cnonce = session.cnonce ?? '';
  // The echoed qop, cnonce and nc must be the ones of our request (RFC 7616 §3.5).
  const qopParam = params.get('qop');
  if (qopParam !== undefined && unquote(qopParam)?.toLowerCase() !== qop) return false;
  const cnonceParam = params.get('cnonce');
  if (cnonceParam !== undefined && unquote(cnonceParam) !== cnonce) return false;
  const ncParam = params.get('nc');
  if (ncParam !== undefined) {
    const text = unquote(ncParam);
    if (text === undefined || parseNonceCount(text) !== (session.nc ?? 0)) return false;
  }

  const ha1 = ha1Of(alg, session.hash, session.nonce, cnonce);
  const expected = digestOf(alg, ha1, session.nonce, qop === undefined ? undefined : nc, qop === undefined ? undefined : cnonce, qop, '', session.uri, response.content);
  if (!equalAscii(expected, rspauthHex)) return false;
  if (nextnonce !== undefined) adoptNonce(session, nextnonce);
  return true;
}

function adoptNonce(session: DigestClientSession, nonce: string): void {
  if (nonce === session.nonce) return;
  session.nonce = nonce;
  session.nc = 0;
}
