// The registrar-redirector with digest authentication (RFC 3261 §22, RFC 7616/8760 via
// @sipts/digest): a REGISTER without valid credentials is challenged with 401; unknown users
// get the same challenge, so the server does not reveal who exists.
//
//   pnpm example examples/registrar-redirector-auth.ts   # users 100/1234 and 101/qwerty
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
  // One JSON-serialisable session per account: nonce counts are checked across REGISTERs.
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
    if (password !== undefined && digest.authenticateRequest(session, rq, { user: key, password })) return undefined;
    return digest.challenge(session, makeResponse(rq, 401, 'Unauthorized'));
  };
  return startRegistrarRedirector({ ...rest, authorize });
}

if (isMain('registrar-redirector-auth.ts')) {
  const stack = startRegistrarRedirectorAuth({ address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: envPort('SIP_PORT', 5060) });
  runUntilSignal('registrar + redirect server with digest auth (users 100/1234, 101/qwerty):', stack);
}
