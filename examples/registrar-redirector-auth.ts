// The registrar-redirector with digest authentication (RFC 3261 §22, RFC 7616/8760 via
// @sipts/digest): a REGISTER without valid credentials is challenged with 401; unknown users
// get the same challenge, so the server does not reveal who exists.
//
// It keeps one digest session per account, as `sip`'s example does, and anyone who knows a
// username can make it issue challenges on that session. That is harmless: every nonce stays
// good for its lifetime whatever else is issued (replay protection is per nonce, in the digest
// instance's replay store), so a user answering its own challenge is never locked out. Password
// guessing is limited per user and per source; a blocked sender gets 503 with Retry-After.
//
import { digest, makeResponse, parseUri } from '@sipts/core';
import type { SipRequest, SipResponse, SipStack } from '@sipts/core';
import { startRegistrarRedirector, type RegistrarRedirectorOptions } from './registrar-redirector.js';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export interface AuthOptions extends RegistrarRedirectorOptions {
  /** Accounts: user -> password. */
  accounts?: Record<string, string>;
  realm?: string;
  /** Digest algorithms offered, strongest first (one challenge each). Default 'MD5' (what most phones and SIPp do). */
  algorithm?: string;
}

export function startRegistrarRedirectorAuth(options: AuthOptions = {}): SipStack {
  const { accounts = { '100': '1234', '101': 'qwerty' }, realm = 'sipts', algorithm = 'MD5', ...rest } = options;
  // One JSON-serialisable session per account (configuration and the cached hash); nonce counts
  // are checked by the digest instance, per nonce, so challenges on it never lock anyone out.
  const sessions = new Map<string, digest.DigestServerSession>();
  const authorize = (rq: SipRequest): SipResponse | undefined => {
    const to = rq.headers.to;
    const user = to === undefined ? undefined : parseUri(to.uri)?.user;
    const password = user === undefined ? undefined : accounts[user];
    const key = user ?? '';
    let session = sessions.get(key);
    if (session === undefined) {
      session = { realm, algorithm };
      if (password !== undefined) sessions.set(key, session);
    }
    if (password === undefined) return digest.challenge(session, makeResponse(rq, 401, 'Unauthorized'));
    const result = digest.verifyRequest(session, rq, { user: key, password });
    if (result.ok) return undefined;
    if (result.reason === 'blocked') {
      // Not 401 (that invites the next guess), not 403 (phones stop registering until someone
      // intervenes) and not 429 (in SIP that is "Provide Referrer Identity", RFC 3892):
      // 503 with Retry-After tells the phone when to come back (RFC 3261 §21.5.4).
      return makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(result.retryAfter ?? 1) } });
    }
    // A stale or replayed nonce (result.stale) gets stale=true, so the phone retries at once.
    return digest.challenge(session, makeResponse(rq, 401, 'Unauthorized'));
  };
  return startRegistrarRedirector({ ...rest, authorize });
}

if (isMain('registrar-redirector-auth.ts')) {
  const stack = startRegistrarRedirectorAuth({ address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: envPort('SIP_PORT', 5060) });
  runUntilSignal('registrar + redirect server with digest auth (users 100/1234, 101/qwerty):', stack);
}
