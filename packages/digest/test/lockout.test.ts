// Issue 18 ("Hostile network"), problem 2: registration lock-out. A registrar written the `sip`
// way keeps one digest session per account and calls `challenge` on it for every REGISTER that
// does not authenticate. An attacker who knows a username can make the server issue challenges
// on that account's session at will; no challenge may change what another outstanding nonce is
// accepted with, while nonce-count replay protection holds for every nonce.
import { makeResponse, parse, parseUri, stringify, type SipRequest, type SipResponse } from '@sipts/message';
import * as sipDigest from '@sipts/digest';
import { type Digest, type DigestClientSession, type DigestServerSession } from '@sipts/digest';
import { authorizationOf, clockedDigest, roundTrip } from './helpers.js';

const REALM = 'example.com';
const ACCOUNTS: Record<string, string> = { alice: 'correct horse' };

function register(user: string, seq: number, source = '192.0.2.10'): SipRequest {
  return {
    method: 'REGISTER',
    uri: `sip:${REALM}`,
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: source, port: 5060, params: { branch: `z9hG4bK-${user}-${seq}-${source}` } }],
      from: { uri: `sip:${user}@${REALM}`, params: { tag: `t${seq}` } },
      to: { uri: `sip:${user}@${REALM}`, params: {} },
      'call-id': `reg-${user}-${source}@example.com`,
      cseq: { seq, method: 'REGISTER' },
      contact: [{ uri: `sip:${user}@${source}`, params: {} }],
    },
    content: '',
  };
}

/** Through stringify and parse, as a request really arrives. */
function wire<T>(message: T): T {
  return parse(stringify(message as never)) as T;
}

type SipDigestApi = Pick<Digest, 'challenge' | 'authenticateRequest'>;

/**
 * The registrar of sip's examples/registrar-redirector-auth.js: one session per known account,
 * `authenticateRequest` then `challenge` on the same session.
 */
function sipStyleRegistrar(api: SipDigestApi, config: Omit<DigestServerSession, 'realm'> = {}): (rq: SipRequest) => SipResponse {
  const sessions = new Map<string, DigestServerSession>();
  return (rq) => {
    const user = parseUri(rq.headers.to?.uri ?? '')?.user ?? '';
    const password = ACCOUNTS[user];
    if (password === undefined) return api.challenge({ realm: REALM, ...config }, makeResponse(rq, 401, 'Unauthorized'));
    let session = sessions.get(user);
    if (session === undefined) sessions.set(user, (session = { realm: REALM, ...config }));
    if (api.authenticateRequest(session, rq, { user, password })) return makeResponse(rq, 200, 'OK');
    return api.challenge(session, makeResponse(rq, 401, 'Unauthorized'));
  };
}

const CASES = [
  { algorithm: 'MD5', qop: 'auth' },
  { algorithm: 'MD5', qop: 'auth-int' },
  { algorithm: 'SHA-256', qop: 'auth' },
  { algorithm: 'SHA-256', qop: 'auth-int' },
] as const;

describe('an attacker issuing challenges on an account does not lock its user out (sip API path)', () => {
  test.each(CASES)('$algorithm qop=$qop: the answer to N1 is accepted after 60 attacker challenges; replays are not', ({ algorithm, qop }) => {
    const { digest } = clockedDigest();
    const registrar = sipStyleRegistrar(digest, { algorithm, qop });
    const client: DigestClientSession = {};

    // The user gets challenge N1...
    const first = register('alice', 1);
    const n1 = wire(registrar(wire(first)));
    expect(n1.status).toBe(401);
    const answer = register('alice', 2);
    expect(sipDigest.signRequest(client, answer, n1, { user: 'alice', password: ACCOUNTS.alice })).not.toBeNull();
    expect(authorizationOf(answer)).toMatchObject({ nc: '00000001', qop, algorithm });

    // ...the attacker, from elsewhere, triggers 60 more challenges on the same account/session,
    // with no credentials and with garbage ones.
    for (let i = 0; i < 60; i++) {
      const hostile = register('alice', 100 + i, '203.0.113.66');
      if (i % 2 === 1) {
        hostile.headers.authorization = [
          { scheme: 'Digest', username: '"alice"', realm: `"${REALM}"`, nonce: '"x"', uri: `"sip:${REALM}"`, response: `"${'0'.repeat(32)}"` },
        ];
      }
      expect(registrar(wire(hostile)).status).toBe(401);
    }

    // The user's answer to N1 is accepted.
    expect(registrar(wire(answer)).status).toBe(200);
    // The same request again (same nc) is a replay...
    expect(registrar(wire(answer)).status).toBe(401);
    // ...and the next count on N1 is accepted.
    const refresh = register('alice', 3);
    sipDigest.signRequest(client, refresh);
    expect(authorizationOf(refresh).nc).toBe('00000002');
    expect(registrar(wire(refresh)).status).toBe(200);
    expect(registrar(wire(refresh)).status).toBe(401);
  });

  test('the measured case: 15 registrations interleaved with 61 attacker packets all succeed (module-level API)', () => {
    const registrar = sipStyleRegistrar(sipDigest);
    let ok = 0;
    for (let round = 0; round < 15; round++) {
      const client: DigestClientSession = {};
      const challenged = registrar(wire(register('alice', round * 10)));
      // 61 attacker packets over the 15 rounds: 4 between every challenge and its answer, plus one.
      for (let i = 0; i < (round === 0 ? 5 : 4); i++) registrar(wire(register('alice', 1000 + round * 10 + i, '203.0.113.66')));
      const answer = register('alice', round * 10 + 1);
      sipDigest.signRequest(client, answer, wire(challenged), { user: 'alice', password: ACCOUNTS.alice });
      if (registrar(wire(answer)).status === 200) ok++;
    }
    expect(ok).toBe(15);
  });

  test('two devices of one account, each with its own challenge, both register (JSON sessions)', () => {
    const { digest } = clockedDigest();
    // The session stored as JSON between requests, as the README's registrar does.
    let stored = JSON.stringify({ realm: REALM } satisfies DigestServerSession);
    const handle = (rq: SipRequest): number => {
      const session = JSON.parse(stored) as DigestServerSession;
      const rs = digest.authenticateRequest(session, rq, { user: 'alice', password: ACCOUNTS.alice })
        ? makeResponse(rq, 200, 'OK')
        : digest.challenge(session, makeResponse(rq, 401, 'Unauthorized'));
      stored = JSON.stringify(session);
      return rs.status;
    };
    const desk = register('alice', 1, '192.0.2.10');
    const mobile = register('alice', 1, '192.0.2.11');
    const deskChallenge = digest.challenge(roundTrip(JSON.parse(stored) as DigestServerSession), makeResponse(desk, 401));
    const mobileChallenge = digest.challenge(roundTrip(JSON.parse(stored) as DigestServerSession), makeResponse(mobile, 401));
    const deskAnswer = register('alice', 2, '192.0.2.10');
    const mobileAnswer = register('alice', 2, '192.0.2.11');
    digest.signRequest({}, deskAnswer, deskChallenge, { user: 'alice', password: ACCOUNTS.alice });
    digest.signRequest({}, mobileAnswer, mobileChallenge, { user: 'alice', password: ACCOUNTS.alice });
    expect(handle(wire(mobileAnswer))).toBe(200);
    expect(handle(wire(deskAnswer))).toBe(200); // the older nonce: refused as a "replay" before
  });
});

describe('RFC 2069 (no qop): a nonce answered without qop is good for one request', () => {
  test.each(['MD5', 'SHA-256'] as const)('%s: accepted after attacker challenges, then one-time', (algorithm) => {
    const { digest } = clockedDigest();
    const registrar = sipStyleRegistrar(digest, { algorithm, qop: 'none' });
    const client: DigestClientSession = {};
    const n1 = wire(registrar(wire(register('alice', 1))));
    const answer = register('alice', 2);
    sipDigest.signRequest(client, answer, n1, { user: 'alice', password: ACCOUNTS.alice });
    expect(authorizationOf(answer).qop).toBeUndefined();
    for (let i = 0; i < 60; i++) registrar(wire(register('alice', 100 + i, '203.0.113.66')));

    expect(registrar(wire(answer)).status).toBe(200);
    // No nc: a replay and a new request on the same nonce look alike, so both get a stale=true
    // challenge; the client answers it from its cached hash without asking its user.
    const again = wire(registrar(wire(answer)));
    expect(again.status).toBe(401);
    expect(again.headers['www-authenticate']?.[0]?.stale).toBe('true');
    const next = register('alice', 3);
    expect(sipDigest.signRequest(client, next, again)).not.toBeNull();
    expect(registrar(wire(next)).status).toBe(200);
  });
});
