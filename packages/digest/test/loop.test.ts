// Full client <-> server loops: every algorithm x qop, 407 proxy flow, multiple challenges,
// mutual authentication, nextnonce, and sessions stored as JSON between every call.
import { createHash } from 'node:crypto';
import { DIGEST_ALGORITHMS, type DigestClientSession, type DigestServerSession } from '@sipts/digest';
import { authorizationOf, clockedDigest, request, response, roundTrip } from './helpers.js';

const alice = { user: 'alice', password: 'correct horse' };
const BODY = 'v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=café ☎\r\n';

describe.each(DIGEST_ALGORITHMS)('%s', (algorithm) => {
  test.each(['auth', 'auth-int', 'none'] as const)('qop %s: challenge, answer, mutual auth, next request', (qop) => {
    const { digest } = clockedDigest();
    let server: DigestServerSession = { realm: 'example.com', algorithm, qop };

    const invite = request('INVITE', 'sip:bob@example.com', BODY);
    const unauthorized = digest.challenge(server, response(invite, 401));
    const [challengeHeader] = unauthorized.headers['www-authenticate'] ?? [];
    expect(challengeHeader).toMatchObject({ scheme: 'Digest', realm: '"example.com"', algorithm });
    if (qop === 'none') expect(challengeHeader?.qop).toBeUndefined();
    else expect(challengeHeader?.qop).toBe(`"${qop}"`);

    server = roundTrip(server);
    let client = digest.signRequest({}, invite, roundTrip(unauthorized), alice) as DigestClientSession;
    expect(client).not.toBeNull();
    const sent = authorizationOf(invite);
    expect(sent).toMatchObject({ username: '"alice"', realm: '"example.com"', uri: '"sip:bob@example.com"', algorithm });
    if (qop === 'none') {
      expect(sent.qop).toBeUndefined();
      expect(sent.nc).toBeUndefined();
    } else {
      expect(sent).toMatchObject({ qop, nc: '00000001' });
    }

    client = roundTrip(client);
    expect(digest.verifyRequest(server, roundTrip(invite), alice)).toMatchObject({ ok: true, username: 'alice' });
    server = roundTrip(server);

    // Mutual authentication: the 200's Authentication-Info proves the server knows the password.
    const ok = digest.signResponse(server, response(invite, 200, 'v=0\r\ns=answer\r\n'));
    if (qop === 'none') {
      expect(ok.headers['authentication-info']).toBeUndefined();
      expect(digest.authenticateResponse(client, ok)).toBeUndefined();
    } else {
      expect(ok.headers['authentication-info']).toMatchObject({ qop, nc: '00000001' });
      expect(digest.authenticateResponse(client, roundTrip(ok))).toBe(true);
    }
    client = roundTrip(client);

    // The next request reuses the nonce with the next count; the server needs no credentials.
    // Without qop there is no count: the nonce served one request, the next gets stale=true.
    const bye = request('BYE', 'sip:bob@192.0.2.20', '');
    expect(digest.signRequest(client, bye)).not.toBeNull();
    if (qop === 'none') {
      expect(digest.verifyRequest(server, bye)).toMatchObject({ ok: false, reason: 'replay', stale: true });
      expect(digest.signRequest(client, bye, digest.challenge(server, response(bye, 401)))).not.toBeNull();
    } else {
      expect(authorizationOf(bye).nc).toBe('00000002');
    }
    expect(digest.verifyRequest(server, bye)).toMatchObject({ ok: true, username: 'alice' });

    // A wrong password never gets in, with this algorithm and qop.
    const intruder = request('INVITE', 'sip:bob@example.com', BODY);
    const fresh: DigestServerSession = { realm: 'example.com', algorithm, qop };
    const again = digest.challenge(fresh, response(intruder, 401));
    digest.signRequest({}, intruder, again, { user: 'alice', password: 'wrong' });
    expect(digest.verifyRequest(fresh, intruder, alice)).toMatchObject({ ok: false, reason: 'mismatch' });
  });
});

describe('auth-int', () => {
  test('covers the exact body bytes: a changed body fails', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', qop: 'auth-int' };
    const invite = request('INVITE', 'sip:bob@example.com', BODY);
    digest.signRequest({}, invite, digest.challenge(server, response(invite, 401)), alice);
    const tampered = roundTrip(invite);
    tampered.content = BODY.replace('é', 'e');
    expect(digest.verifyRequest(roundTrip(server), tampered, alice)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(digest.verifyRequest(server, invite, alice).ok).toBe(true);
  });

  test('the response digest is computed over UTF-8 bytes, independently checked', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', qop: 'auth-int' };
    const invite = request('INVITE', 'sip:bob@example.com', BODY);
    digest.signRequest({}, invite, digest.challenge(server, response(invite, 401)), alice);
    const h = authorizationOf(invite);
    const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
    const unq = (s: string | undefined): string => (s ?? '').slice(1, -1);
    const ha1 = md5('alice:example.com:correct horse');
    const ha2 = md5(`INVITE:sip:bob@example.com:${md5(Buffer.from(BODY, 'utf8'))}`);
    expect(unq(h.response)).toBe(md5(`${ha1}:${unq(h.nonce)}:${h.nc}:${unq(h.cnonce)}:auth-int:${ha2}`));
  });
});

describe('407 proxy flow', () => {
  test('Proxy-Authenticate -> Proxy-Authorization -> Proxy-Authentication-Info', () => {
    const { digest } = clockedDigest();
    let proxy: DigestServerSession = { realm: 'proxy.example.net', algorithm: 'SHA-256' };
    const invite = request('INVITE', 'sip:bob@example.com');
    const challenged = digest.challenge(proxy, response(invite, 407));
    expect(proxy.proxy).toBe(true);
    expect(challenged.headers['proxy-authenticate']).toHaveLength(1);
    expect(challenged.headers['www-authenticate']).toBeUndefined();

    // The request already carries credentials for a downstream realm: they stay.
    invite.headers['proxy-authorization'] = [{ scheme: 'Digest', realm: '"other.example.org"', username: '"x"', nonce: '"n"', uri: '"sip:x"', response: '"00"' }];
    proxy = roundTrip(proxy);
    const client = digest.signRequest(null, invite, roundTrip(challenged), alice) as DigestClientSession;
    expect(client.proxy).toBe(true);
    expect(invite.headers.authorization).toBeUndefined();
    expect(invite.headers['proxy-authorization']?.map((h) => h.realm)).toEqual(['"other.example.org"', '"proxy.example.net"']);

    // A WWW-style session does not look at Proxy-Authorization.
    expect(digest.verifyRequest({ realm: 'proxy.example.net' }, invite, alice)).toMatchObject({ ok: false, reason: 'missing' });
    expect(digest.authenticateRequest(proxy, invite, alice)).toBe(true);

    const ok = digest.signResponse(roundTrip(proxy), response(invite, 200));
    expect(ok.headers['authentication-info']).toBeUndefined();
    expect(ok.headers['proxy-authentication-info']).toMatchObject({ qop: 'auth', nc: '00000001' });
    expect(digest.authenticateResponse(roundTrip(client), ok)).toBe(true);
  });
});

describe('several algorithms', () => {
  test('the server offers one challenge per algorithm, strongest first', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', algorithm: 'MD5, SHA-256-sess,SHA-512-256 ,MD5' };
    const rs = digest.challenge(server, response(request(), 401));
    const offered = rs.headers['www-authenticate'] ?? [];
    expect(offered.map((h) => h.algorithm)).toEqual(['SHA-512-256', 'SHA-256-sess', 'MD5']);
    // One nonce for all of them.
    expect(new Set(offered.map((h) => h.nonce)).size).toBe(1);
  });

  test('the client answers the strongest it supports; the server accepts only what it offered', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', algorithm: 'MD5,SHA-256,SHA-512-256' };
    const rq = request();
    const rs = digest.challenge(server, response(rq, 401));
    // A server that lists the weakest first: the client still picks the strongest.
    rs.headers['www-authenticate']?.reverse();

    const strongest = roundTrip(rq);
    expect(digest.signRequest({}, strongest, rs, alice)?.selectedAlgorithm).toBe('SHA-512-256');
    expect(authorizationOf(strongest).algorithm).toBe('SHA-512-256');
    expect(digest.verifyRequest(roundTrip(server), strongest, alice).ok).toBe(true);

    // Another client, its own challenge (two clients answering one nonce with nc=1 look like a replay).
    const limited = roundTrip(rq);
    const rs2 = digest.challenge(server, response(rq, 401));
    expect(digest.signRequest({ algorithm: 'MD5,SHA-256' }, limited, rs2, alice)?.selectedAlgorithm).toBe('SHA-256');
    expect(digest.verifyRequest(roundTrip(server), limited, alice).ok).toBe(true);

    const md5Only: DigestServerSession = { ...roundTrip(server), algorithm: 'MD5' };
    expect(digest.verifyRequest(md5Only, limited, alice)).toMatchObject({ ok: false, reason: 'algorithm' });
  });

  test('a client with only an MD5 hash picks MD5', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', algorithm: 'SHA-256,MD5' };
    const rq = request();
    const hash = digest.calculateUserRealmPasswordHash('alice', 'example.com', 'correct horse');
    const client = digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), { user: 'alice', hash });
    expect(client?.selectedAlgorithm).toBe('MD5');
    expect(digest.verifyRequest(server, rq, { user: 'alice', hash }).ok).toBe(true);
  });

  test('per-algorithm hashes on the server: no password stored', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', algorithm: 'SHA-256,MD5' };
    const rq = request();
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
    const stored = {
      user: 'alice',
      hash: {
        MD5: digest.calculateUserRealmPasswordHash('alice', 'example.com', 'correct horse', 'MD5'),
        'SHA-256': digest.calculateUserRealmPasswordHash('alice', 'example.com', 'correct horse', 'SHA-256'),
      },
    };
    expect(digest.verifyRequest(roundTrip(server), rq, stored).ok).toBe(true);
    // A lone MD5 hash cannot check a SHA-256 answer.
    expect(digest.verifyRequest(roundTrip(server), rq, { user: 'alice', hash: stored.hash.MD5 })).toMatchObject({ ok: false, reason: 'credentials' });
  });
});

describe('qop negotiation', () => {
  test("the client takes the server's first qop unless it states a preference", () => {
    const { digest } = clockedDigest();
    const rq = request();
    const rs = digest.challenge({ realm: 'example.com', qop: 'auth-int,auth' }, response(rq, 401));
    expect(rs.headers['www-authenticate']?.[0]?.qop).toBe('"auth,auth-int"');
    expect(digest.signRequest({}, roundTrip(rq), rs, alice)?.selectedQop).toBe('auth');
    expect(digest.signRequest({ qop: 'auth-int' }, roundTrip(rq), rs, alice)?.selectedQop).toBe('auth-int');
    // No acceptable qop: no usable challenge (sip threw here).
    const authOnly = digest.challenge({ realm: 'example.com', qop: 'auth' }, response(rq, 401));
    expect(digest.signRequest({ qop: 'auth-int' }, roundTrip(rq), authOnly, alice)).toBeNull();
  });

  test('qop=none only with "none": an RFC 2069 answer to a qop challenge is a downgrade', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com' };
    const rq = request();
    const rs = digest.challenge(server, response(rq, 401));
    delete rs.headers['www-authenticate']?.[0]?.qop; // an old client that ignores qop
    digest.signRequest({}, rq, rs, alice);
    expect(authorizationOf(rq).qop).toBeUndefined();
    expect(digest.verifyRequest(roundTrip(server), rq, alice)).toMatchObject({ ok: false, reason: 'qop' });
    // Offered `auth,none`: modern clients use auth, legacy ones are accepted too.
    const both: DigestServerSession = { ...roundTrip(server), qop: 'auth,none' };
    expect(digest.verifyRequest(both, rq, alice).ok).toBe(true);
    const modern = request();
    const offer = digest.challenge(both, response(modern, 401));
    expect(offer.headers['www-authenticate']?.[0]?.qop).toBe('"auth"');
  });

  test('a qop-less (RFC 2069) nonce serves one request: the next one on it gets stale=true, then passes', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', qop: 'none' };
    const first = request();
    const client = digest.signRequest({}, first, digest.challenge(server, response(first, 401)), alice) as DigestClientSession;
    expect(digest.verifyRequest(server, first, alice).ok).toBe(true);
    // Without nc, the same nonce again cannot be told from a replay of the first request.
    const second = request();
    digest.signRequest(client, second);
    expect(authorizationOf(second).response).toBe(authorizationOf(first).response);
    expect(digest.verifyRequest(server, second)).toMatchObject({ ok: false, reason: 'replay', stale: true });
    const rechallenge = digest.challenge(server, response(second, 401));
    expect(rechallenge.headers['www-authenticate']?.[0]?.stale).toBe('true');
    expect(digest.signRequest(client, second, rechallenge)).not.toBeNull();
    expect(digest.verifyRequest(server, second).ok).toBe(true);
  });
});

describe('mutual authentication', () => {
  function authenticated(): {
    digest: ReturnType<typeof clockedDigest>['digest'];
    clock: { now: number };
    server: DigestServerSession;
    client: DigestClientSession;
    rq: ReturnType<typeof request>;
  } {
    const { digest, clock } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', qop: 'auth-int' };
    const rq = request();
    const client = digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice) as DigestClientSession;
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    return { digest, clock, server, client, rq };
  }

  test('rspauth covers the response body with auth-int', () => {
    const { digest, server, client, rq } = authenticated();
    const ok = digest.signResponse(server, response(rq, 200, 'body'));
    const tampered = roundTrip(ok);
    tampered.content = 'other body';
    expect(digest.authenticateResponse(roundTrip(client), tampered)).toBe(false);
    expect(digest.authenticateResponse(client, ok)).toBe(true);
  });

  test('a forged rspauth, cnonce or nc is refused; no Authentication-Info is undefined', () => {
    const { digest, server, client, rq } = authenticated();
    const ok = digest.signResponse(server, response(rq, 200));
    const info = ok.headers['authentication-info'] ?? {};
    const forge = (changes: Record<string, string>): boolean | undefined =>
      digest.authenticateResponse(roundTrip(client), { ...ok, headers: { ...ok.headers, 'authentication-info': { ...info, ...changes } } });
    expect(forge({ rspauth: `"${'0'.repeat(32)}"` })).toBe(false);
    expect(forge({ rspauth: '"short"' })).toBe(false);
    expect(forge({ cnonce: '"someone else"' })).toBe(false);
    expect(forge({ nc: '00000002' })).toBe(false);
    expect(forge({ qop: 'auth' })).toBe(false);
    expect(digest.authenticateResponse(client, response(rq, 200))).toBeUndefined();
    expect(digest.authenticateResponse(client, ok)).toBe(true);
  });

  test('nextnonce: given past half the lifetime, adopted by the client, accepted by the server', () => {
    const { digest, clock, server, client } = authenticated();
    const early = digest.signResponse(server, response(request(), 200));
    expect(early.headers['authentication-info']?.nextnonce).toBeUndefined();

    clock.now += 200_000; // past half of the default 300 s
    const late = digest.signResponse(server, response(request(), 200));
    const next = late.headers['authentication-info']?.nextnonce;
    expect(next).toMatch(/^"[A-Za-z0-9_-]{44}"$/);
    const before = client.nonce;
    expect(digest.authenticateResponse(client, late)).toBe(true);
    expect(client.nonce).toBe(next?.slice(1, -1));
    expect(client.nc).toBe(0);

    const rq = request();
    digest.signRequest(client, rq);
    expect(authorizationOf(rq).nc).toBe('00000001');
    expect(digest.verifyRequest(server, rq).ok).toBe(true);
    expect(server.nonce).toBe(client.nonce);

    // The superseded nonce stays good until it expires (no nonce retires another), with its own
    // counts: each is accepted once.
    const old = request();
    digest.signRequest({ ...roundTrip(client), nonce: before, nc: 7 }, old);
    expect(digest.verifyRequest(server, old).ok).toBe(true);
    expect(digest.verifyRequest(server, old)).toMatchObject({ ok: false, reason: 'replay' });
  });

  test("nextNonce: 'always' and 'never'", () => {
    for (const nextNonce of ['always', 'never'] as const) {
      const { digest } = clockedDigest({ nextNonce });
      const server: DigestServerSession = { realm: 'example.com' };
      const rq = request();
      digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
      expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
      const info = digest.signResponse(server, response(rq, 200)).headers['authentication-info'];
      expect(info?.nextnonce !== undefined).toBe(nextNonce === 'always');
    }
  });
});

describe('userhash (RFC 7616 §3.4.4)', () => {
  test('offered by the server, the client hides its name; the server checks the hash', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', algorithm: 'SHA-512-256', hashUsername: true };
    const rq = request();
    const rs = digest.challenge(server, response(rq, 401));
    expect(rs.headers['www-authenticate']?.[0]?.userhash).toBe('true');
    const client = digest.signRequest({}, rq, rs, alice) as DigestClientSession;
    const h = authorizationOf(rq);
    // printf '%s' 'alice:example.com' | openssl dgst -sha512-256 -r
    expect(h.username).toBe('"57dfef4a5cc421c244596a418535c430e6f6586304d4df8ef4a9e5e4286c82e5"');
    expect(h.userhash).toBe('true');
    expect(JSON.stringify(h)).not.toContain('alice');
    const found = digest.getAuthorization(server, rq);
    expect(found).toMatchObject({ userhash: true, algorithm: 'SHA-512-256' });
    expect(digest.verifyRequest(roundTrip(server), rq, { user: 'bob', password: 'correct horse' })).toMatchObject({ ok: false, reason: 'username' });
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    // Later requests authenticate from the cached hash.
    const next = request();
    digest.signRequest(client, next);
    expect(digest.verifyRequest(server, next).ok).toBe(true);
  });

  test('a client may decline to hash', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', hashUsername: true };
    const rq = request();
    digest.signRequest({ hashUsername: false }, rq, digest.challenge(server, response(rq, 401)), alice);
    expect(authorizationOf(rq).username).toBe('"alice"');
    expect(authorizationOf(rq).userhash).toBeUndefined();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
  });
});

describe('opaque, domain, checkUri', () => {
  test('opaque and domain travel in the challenge; opaque comes back unchanged', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', opaque: 'op "aque"', domain: 'sip:example.com' };
    const rq = request();
    const rs = digest.challenge(server, response(rq, 401));
    expect(rs.headers['www-authenticate']?.[0]).toMatchObject({ opaque: '"op \\"aque\\""', domain: '"sip:example.com"' });
    const client = digest.signRequest({}, rq, rs, alice);
    expect(client?.domain).toBe('sip:example.com');
    expect(authorizationOf(rq).opaque).toBe('"op \\"aque\\""');
    expect(digest.verifyRequest(roundTrip(server), rq, alice).ok).toBe(true);
  });

  test('checkUri: the digest-uri must be the Request-URI', () => {
    const { digest } = clockedDigest({ checkUri: true });
    const server: DigestServerSession = { realm: 'example.com' };
    const rq = request('INVITE', 'sip:bob@example.com');
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
    const moved = roundTrip(rq);
    moved.uri = 'sip:carol@example.com';
    expect(digest.verifyRequest(roundTrip(server), moved, alice)).toMatchObject({ ok: false, reason: 'uri' });
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    // Without the option the same request passes (the digest covers its own uri field).
    const lax = clockedDigest().digest;
    const laxServer: DigestServerSession = { realm: 'example.com' };
    const rq2 = request('INVITE', 'sip:bob@example.com');
    lax.signRequest({}, rq2, lax.challenge(laxServer, response(rq2, 401)), alice);
    rq2.uri = 'sip:carol@example.com';
    expect(lax.verifyRequest(laxServer, rq2, alice).ok).toBe(true);
  });
});

describe('clusters', () => {
  test('instances sharing a secret accept each other’s nonces; others do not', () => {
    const a = clockedDigest().digest;
    const b = clockedDigest().digest;
    const c = clockedDigest({ secret: 'another secret, also long enough' }).digest;
    const rq = request();
    a.signRequest({}, rq, a.challenge({ realm: 'example.com' }, response(rq, 401)), alice);
    expect(b.verifyRequest({ realm: 'example.com' }, rq, alice).ok).toBe(true);
    // Unknown nonce with a correct digest: a re-challenge with stale=true, not a password prompt.
    const session: DigestServerSession = { realm: 'example.com' };
    expect(c.verifyRequest(session, rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
    expect(session.stale).toBe(true);
  });
});

describe('session bookkeeping', () => {
  test('challenge twice on one response replaces the realm’s challenges, keeps other realms', () => {
    const { digest } = clockedDigest();
    const rs = response(request(), 401);
    rs.headers['www-authenticate'] = [{ scheme: 'Digest', realm: '"other.example"', nonce: '"x"' }];
    const session: DigestServerSession = { realm: 'example.com', algorithm: 'SHA-256,MD5' };
    digest.challenge(session, rs);
    digest.challenge(session, rs);
    expect(rs.headers['www-authenticate']?.map((h) => h.realm)).toEqual(['"other.example"', '"example.com"', '"example.com"']);
    expect(rs.headers['www-authenticate']?.[1]?.nonce).toBe(`"${session.nonce}"`);
  });

  test('a re-challenge with the same nonce keeps cnonce and count (no self-inflicted replay)', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com' };
    const rq = request();
    const rs = digest.challenge(server, response(rq, 401));
    const client = digest.signRequest({}, rq, rs, alice) as DigestClientSession;
    const cnonce = client.cnonce;
    const again = request();
    digest.signRequest(client, again, rs, alice);
    expect(client.cnonce).toBe(cnonce);
    expect(authorizationOf(again).nc).toBe('00000002');
    // A new nonce starts over with a new cnonce.
    const fresh = request();
    digest.signRequest(client, fresh, digest.challenge(server, response(fresh, 401)), alice);
    expect(client.cnonce).not.toBe(cnonce);
    expect(authorizationOf(fresh).nc).toBe('00000001');
  });

  test('signRequest keeps credentials for other realms and replaces its own', () => {
    const { digest } = clockedDigest();
    const rq = request();
    rq.headers.authorization = [{ scheme: 'Digest', realm: '"other.example"', username: '"x"' }];
    const client = digest.signRequest({}, rq, digest.challenge({ realm: 'example.com' }, response(rq, 401)), alice) as DigestClientSession;
    digest.signRequest(client, rq);
    expect(rq.headers.authorization?.map((h) => [h.realm, h.nc])).toEqual([
      ['"other.example"', undefined],
      ['"example.com"', '00000002'],
    ]);
  });
});
