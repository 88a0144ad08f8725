// The README example, over the wire: a registrar challenges a REGISTER with 401, the client
// answers, every message goes through @sipts/message's stringify and parse in between.
import { makeResponse, parse, parseUri, stringify, type SipRequest, type SipResponse } from '@sipts/message';
import {
  authenticateRequest,
  authenticateResponse,
  challenge,
  signRequest,
  signResponse,
  type DigestClientSession,
  type DigestServerSession,
} from '@sipts/digest';
import { roundTrip } from './helpers.js';

// ---- server (README: "A registrar challenging REGISTER") ----
const passwords = new Map([['alice', 'correct horse']]);
const sessions = new Map<string, string>(); // user -> session JSON (a database in real life)

function onRegister(rq: SipRequest): SipResponse {
  const to = rq.headers.to;
  const user = (to && parseUri(to.uri)?.user) ?? '';
  const stored = sessions.get(user);
  const session: DigestServerSession = stored ? JSON.parse(stored) : { realm: 'example.com', algorithm: 'SHA-256,MD5' };
  const password = passwords.get(user);
  let rs: SipResponse;
  if (password === undefined || !authenticateRequest(session, rq, { user, password })) {
    rs = challenge(session, makeResponse(rq, 401, 'Unauthorized'));
  } else {
    rs = signResponse(session, makeResponse(rq, 200, 'OK'));
  }
  sessions.set(user, JSON.stringify(session));
  return rs;
}

// ---- the network ----
function overTheWire<T>(message: T): T {
  return parse(stringify(message as never)) as T;
}

function register(seq: number): SipRequest {
  return {
    method: 'REGISTER',
    uri: 'sip:example.com',
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '192.0.2.10', port: 5060, params: { branch: `z9hG4bK-${seq}` } }],
      from: { uri: 'sip:alice@example.com', params: { tag: '8f2a' } },
      to: { uri: 'sip:alice@example.com', params: {} },
      'call-id': 'reg-1@192.0.2.10',
      cseq: { seq, method: 'REGISTER' },
      contact: [{ uri: 'sip:alice@192.0.2.10:5060', params: { expires: '3600' } }],
      'max-forwards': 70,
    },
    content: '',
  };
}

test('REGISTER -> 401 -> REGISTER with Authorization -> 200 with Authentication-Info', () => {
  // First attempt, no credentials.
  const first = register(1);
  const unauthorized = overTheWire(onRegister(overTheWire(first)));
  expect(unauthorized.status).toBe(401);
  const wire401 = stringify(unauthorized);
  expect(wire401).toMatch(/\r\nWWW-Authenticate: Digest realm="example\.com", nonce="[A-Za-z0-9_-]{44}", algorithm=SHA-256, qop="auth,auth-int"\r\n/);
  expect(wire401.indexOf('algorithm=SHA-256')).toBeLessThan(wire401.indexOf('algorithm=MD5'));

  // The client answers the 401 (README: "A client answering a 401").
  let client: DigestClientSession = {};
  const second = register(2);
  signRequest(client, second, unauthorized, { user: 'alice', password: 'correct horse' });
  expect(stringify(second)).toMatch(
    /\r\nAuthorization: Digest username="alice", realm="example\.com", nonce="[^"]+", uri="sip:example\.com", response="[0-9a-f]{64}", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="[0-9a-f]{32}"\r\n/,
  );
  client = roundTrip(client);

  const ok = overTheWire(onRegister(overTheWire(second)));
  expect(ok.status).toBe(200);
  expect(stringify(ok)).toMatch(/\r\nAuthentication-Info: qop=auth, rspauth="[0-9a-f]{64}", cnonce="[0-9a-f]{32}", nc=00000001\r\n/);
  expect(authenticateResponse(client, ok)).toBe(true);

  // The refresh reuses the nonce; the registrar's stored session authenticates it.
  const refresh = register(3);
  signRequest(client, refresh);
  const refreshed = overTheWire(onRegister(overTheWire(refresh)));
  expect(refreshed.status).toBe(200);
  expect(authenticateResponse(client, refreshed)).toBe(true);

  // A replay of the refresh is challenged again.
  expect(onRegister(overTheWire(refresh)).status).toBe(401);
});

test('a Request-URI given as a parsed SipUri is signed as its string form', () => {
  const server: DigestServerSession = { realm: 'example.com' };
  const rq = register(1);
  const unauthorized = overTheWire(challenge(server, makeResponse(rq, 401)));
  const uri = parseUri('sip:example.com;transport=tcp');
  if (uri === undefined) throw new Error('parseUri failed');
  rq.uri = uri;
  signRequest({}, rq, unauthorized, { user: 'alice', password: 'correct horse' });
  const received = overTheWire(rq);
  expect(received.headers.authorization?.[0]?.uri).toBe('"sip:example.com;transport=tcp"');
  expect(authenticateRequest(server, received, { user: 'alice', password: 'correct horse' })).toBe(true);
});
