// What an attacker or a broken peer can send: stale and forged nonces, replayed or decreasing
// nonce counts, wrong passwords, other realms, malformed and huge headers. Nothing throws.
import fc from 'fast-check';
import type { AuthHeader, SipRequest } from '@sipts/message';
import { DEFAULT_NONCE_LIFETIME, type DigestClientSession, type DigestServerSession } from '@sipts/digest';
import { authorizationOf, clockedDigest, request, response, roundTrip, withAuthorization } from './helpers.js';

const alice = { user: 'alice', password: 'correct horse' };

function signed(options: Parameters<typeof clockedDigest>[0] = {}): {
  digest: ReturnType<typeof clockedDigest>['digest'];
  clock: { now: number };
  server: DigestServerSession;
  client: DigestClientSession;
  rq: SipRequest;
} {
  const { digest, clock } = clockedDigest(options);
  const server: DigestServerSession = { realm: 'example.com' };
  const rq = request();
  const client = digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice) as DigestClientSession;
  return { digest, clock, server, client, rq };
}

describe('stale nonces (RFC 7616 §3.3)', () => {
  test('an expired nonce with a correct digest gets a stale=true re-challenge; the client re-signs without asking', () => {
    const { digest, clock, server, client, rq } = signed();
    clock.now += DEFAULT_NONCE_LIFETIME + 1;
    let stored = roundTrip(server);
    expect(digest.verifyRequest(stored, rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
    expect(stored.stale).toBe(true);
    stored = roundTrip(stored);

    const rechallenge = digest.challenge(stored, response(rq, 401));
    const header = rechallenge.headers['www-authenticate']?.[0];
    expect(header?.stale).toBe('true');
    expect(header?.nonce).not.toBe(`"${client.nonce}"`);
    expect(stored.stale).toBeUndefined();

    // No credentials: the client answers from the hash kept in its session.
    const retry = request();
    expect(digest.signRequest(roundTrip(client), retry, rechallenge)).not.toBeNull();
    expect(authorizationOf(retry).nc).toBe('00000001');
    expect(digest.verifyRequest(stored, retry, alice).ok).toBe(true);

    // The next challenge is no longer stale.
    expect(digest.challenge(stored, response(rq, 401)).headers['www-authenticate']?.[0]?.stale).toBeUndefined();
  });

  test('still fresh at exactly the lifetime, stale one millisecond later', () => {
    const { digest, clock, server, rq } = signed({ nonceLifetime: 10_000 });
    clock.now += 10_000;
    expect(digest.verifyRequest(roundTrip(server), rq, alice).ok).toBe(true);
    clock.now += 1;
    expect(digest.verifyRequest(roundTrip(server), rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
  });

  test('jest fake timers drive the default clock too', () => {
    jest.useFakeTimers({ now: Date.UTC(2026, 5, 1) });
    try {
      const digest = clockedDigest({ now: () => Date.now() }).digest;
      const server: DigestServerSession = { realm: 'example.com' };
      const rq = request();
      digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
      jest.advanceTimersByTime(DEFAULT_NONCE_LIFETIME + 1000);
      expect(digest.verifyRequest(server, rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
    } finally {
      jest.useRealTimers();
    }
  });

  test('an expired nonce with a wrong password is a plain failure, not stale', () => {
    const { digest, clock } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com' };
    const rq = request();
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), { user: 'alice', password: 'guess' });
    clock.now += DEFAULT_NONCE_LIFETIME + 1;
    expect(digest.verifyRequest(server, rq, alice)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(server.stale).toBeUndefined();
  });

  test('a nonce stamped in the future (beyond clock skew) is not ours', () => {
    const { digest, clock } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com' };
    clock.now += 3_600_000;
    const rq = request();
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
    clock.now -= 3_600_000;
    expect(digest.verifyRequest({ realm: 'example.com' }, rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
  });
});

describe('nonce-count replay protection', () => {
  test('the same request twice: the second is a replay, also after a JSON round trip', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    expect(digest.verifyRequest(roundTrip(server), rq, alice)).toMatchObject({ ok: false, reason: 'replay' });
    expect(digest.authenticateRequest(server, rq)).toBe(false);
  });

  test('gaps are allowed (lost requests); a lower count not yet seen is accepted once (reordering)', () => {
    const { digest, server, client, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    const second = request();
    const third = request();
    const fourth = request();
    digest.signRequest(client, second);
    digest.signRequest(client, third);
    digest.signRequest(client, fourth);
    expect(digest.verifyRequest(server, third).ok).toBe(true); // nc 3, 2 has not arrived yet
    expect(digest.verifyRequest(server, second).ok).toBe(true); // nc 2 overtaken by 3: accepted once
    expect(digest.verifyRequest(server, second)).toMatchObject({ ok: false, reason: 'replay', stale: true });
    expect(digest.verifyRequest(server, third)).toMatchObject({ ok: false, reason: 'replay' });
    expect(digest.verifyRequest(server, fourth).ok).toBe(true);
    expect(server.nc).toBe(4);
  });

  test('counts more than the window below the highest are refused', () => {
    const { digest, server, client, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true); // nc 1
    const signedAt = new Map<number, ReturnType<typeof request>>();
    for (let nc = 2; nc <= 40; nc++) {
      const next = request();
      digest.signRequest(client, next);
      signedAt.set(nc, next);
    }
    expect(digest.verifyRequest(server, signedAt.get(40)!).ok).toBe(true);
    expect(digest.verifyRequest(server, signedAt.get(9)!).ok).toBe(true); // 40 - 31: inside the window
    expect(digest.verifyRequest(server, signedAt.get(8)!)).toMatchObject({ ok: false, reason: 'replay' }); // below it
  });

  test('a captured request cannot come back with a higher nc: the digest covers nc', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    expect(digest.verifyRequest(server, withAuthorization(rq, { nc: '00000009' }), alice)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  test('nonces are independent: a newer nonce on the session does not retire an older one', () => {
    const { digest, clock, server, client, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    clock.now += 1000;
    const newer = request();
    digest.signRequest({}, newer, digest.challenge({ realm: 'example.com' }, response(newer, 401)), alice);
    expect(digest.verifyRequest(server, newer, alice).ok).toBe(true); // the session moves on
    const late = request();
    digest.signRequest(client, late); // old nonce, next count
    expect(digest.verifyRequest(server, late, alice).ok).toBe(true);
    // ...and each keeps its own counts.
    expect(digest.verifyRequest(server, late, alice)).toMatchObject({ ok: false, reason: 'replay' });
    expect(digest.verifyRequest(server, rq, alice)).toMatchObject({ ok: false, reason: 'replay' });
  });

  test('replay state lives in the instance, not the session: a fresh session still refuses a replay', () => {
    const { digest, rq } = signed();
    expect(digest.verifyRequest({ realm: 'example.com' }, rq, alice).ok).toBe(true);
    expect(digest.verifyRequest({ realm: 'example.com' }, rq, alice)).toMatchObject({ ok: false, reason: 'replay', stale: true });
  });

  test('a replay marks the session stale: the next challenge carries stale=true', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    expect(digest.authenticateRequest(server, rq, alice)).toBe(false);
    expect(server.stale).toBe(true);
    expect(digest.challenge(server, response(rq, 401)).headers['www-authenticate']?.[0]?.stale).toBe('true');
  });

  test('a failed attempt changes nothing in the session', () => {
    const { digest, server, rq } = signed();
    const before = roundTrip(server);
    digest.verifyRequest(server, withAuthorization(rq, { response: `"${'a'.repeat(32)}"` }), alice);
    expect(server).toEqual(before);
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
  });
});

describe('wrong credentials and realms', () => {
  test('wrong password', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com' };
    const rq = request();
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), { user: 'alice', password: 'Correct horse' });
    expect(digest.authenticateRequest(server, rq, alice)).toBe(false);
    expect(digest.verifyRequest(server, rq, alice)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  test('username that is not the account being checked', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq, { user: 'bob', password: 'correct horse' })).toMatchObject({ ok: false, reason: 'username' });
  });

  test('realm mismatch on the server: credentials for another realm do not count', () => {
    const { digest, rq } = signed();
    expect(digest.verifyRequest({ realm: 'other.example.org' }, rq, alice)).toMatchObject({ ok: false, reason: 'realm' });
    expect(digest.verifyRequest({ realm: 'example.com' }, request(), alice)).toMatchObject({ ok: false, reason: 'missing' });
    // Changing the realm field invalidates the digest (and the nonce, bound to its realm).
    expect(digest.verifyRequest({ realm: 'evil.example' }, withAuthorization(rq, { realm: '"evil.example"' }), alice).ok).toBe(false);
  });

  test('realm mismatch on the client: no challenge for the wanted realm means no answer', () => {
    const { digest } = clockedDigest();
    const rq = request();
    const rs = digest.challenge({ realm: 'example.com' }, response(rq, 401));
    expect(digest.signRequest({}, rq, rs, { ...alice, realm: 'other.example.org' })).toBeNull();
    expect(rq.headers.authorization).toBeUndefined();
    expect(digest.signRequest({}, rq, rs, { ...alice, realm: '"example.com"' })).not.toBeNull();
  });

  test('no credentials and nothing cached: refused, not thrown', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq)).toMatchObject({ ok: false, reason: 'credentials' });
  });

  test('the cached hash serves only the user it was made for', () => {
    const { digest, server, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    const mallory = request();
    const challenged = digest.challenge({ realm: 'example.com' }, response(mallory, 401));
    digest.signRequest({}, mallory, challenged, { user: 'mallory', password: 'correct horse' });
    expect(digest.verifyRequest(server, mallory)).toMatchObject({ ok: false, reason: 'credentials' });
  });

  test('opaque changed by the client', () => {
    const { digest } = clockedDigest();
    const server: DigestServerSession = { realm: 'example.com', opaque: 'abc' };
    const rq = request();
    digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), alice);
    expect(digest.verifyRequest(roundTrip(server), withAuthorization(rq, { opaque: '"abd"' }), alice)).toMatchObject({ ok: false, reason: 'opaque' });
  });
});

describe('forged nonces', () => {
  test('a nonce that is not ours, with a wrong digest, is reported as such', () => {
    const { digest, server, rq } = signed();
    const forged = withAuthorization(rq, { nonce: `"${'A'.repeat(44)}"` });
    expect(digest.verifyRequest(server, forged, alice)).toMatchObject({ ok: false, reason: 'nonce' });
    expect(server.stale).toBeUndefined();
  });

  test('a nonce from another realm of the same instance is not accepted as fresh', () => {
    const { digest } = clockedDigest();
    const rq = request();
    const rs = digest.challenge({ realm: 'a.example' }, response(rq, 401));
    const nonce = rs.headers['www-authenticate']?.[0]?.nonce ?? '';
    const crafted = digest.challenge({ realm: 'b.example' }, response(rq, 401));
    const header = crafted.headers['www-authenticate']?.[0] as AuthHeader;
    header.nonce = nonce;
    digest.signRequest({}, rq, crafted, alice);
    expect(digest.verifyRequest({ realm: 'b.example' }, rq, alice)).toMatchObject({ ok: false, reason: 'stale' });
  });

  test('nonce helpers: time stamp back, tampering and other tags refused', () => {
    const { digest } = clockedDigest();
    const when = new Date(Date.UTC(2026, 2, 3, 4, 5, 6, 789));
    const nonce = digest.generateNonce('1234', when);
    expect(digest.extractNonceTimestamp(nonce, '1234')).toEqual(when);
    expect(digest.extractNonceTimestamp(nonce, '1235')).toBeUndefined();
    const flipped = (nonce[5] === 'A' ? 'B' : 'A');
    expect(digest.extractNonceTimestamp(nonce.slice(0, 5) + flipped + nonce.slice(6), '1234')).toBeUndefined();
    expect(digest.extractNonceTimestamp(nonce + '=', '1234')).toBeUndefined();
    expect(digest.extractNonceTimestamp('', '1234')).toBeUndefined();
    expect(clockedDigest({ secret: 'a different secret of enough size' }).digest.extractNonceTimestamp(nonce, '1234')).toBeUndefined();
    expect(digest.generateNonce('1234', when)).not.toBe(nonce); // random part
    expect(digest.extractNonceTimestamp(digest.generateNonce())).toEqual(new Date(Date.UTC(2026, 0, 1)));
  });

  test('nonces and cnonces come from crypto, not Math.random', () => {
    const random = jest.spyOn(Math, 'random');
    try {
      const { digest, server, rq } = signed();
      digest.verifyRequest(server, rq, alice);
      digest.generateNonce('x');
      expect(random).not.toHaveBeenCalled();
    } finally {
      random.mockRestore();
    }
  });
});

describe('constant-time comparison', () => {
  test('digests are compared with crypto.timingSafeEqual', () => {
    // The module object itself (not an interop wrapper), as the compiled source sees it.
    const cryptoModule = require('node:crypto') as typeof import('node:crypto');
    const spy = jest.spyOn(cryptoModule, 'timingSafeEqual');
    try {
      const { digest, server, rq } = signed();
      spy.mockClear();
      expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
      const compared = spy.mock.calls.map(([a]) => Buffer.from(a as Uint8Array).toString('latin1'));
      const sent = authorizationOf(rq).response?.slice(1, -1);
      expect(compared).toContain(sent);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('malformed Authorization never throws', () => {
  const huge = `"${'x'.repeat(1_000_000)}"`;
  const cases: Array<[string, Record<string, string | undefined>, string]> = [
    ['no username', { username: undefined }, 'malformed'],
    ['no nonce', { nonce: undefined }, 'malformed'],
    ['no uri', { uri: undefined }, 'malformed'],
    ['no response', { response: undefined }, 'malformed'],
    ['no realm', { realm: undefined }, 'malformed'],
    ['unterminated quote', { username: '"alice' }, 'malformed'],
    ['quote at the end only', { nonce: 'abc"' }, 'malformed'],
    ['bare quote inside', { nonce: '"ab"c"' }, 'malformed'],
    ['trailing backslash', { username: '"alice\\"' }, 'malformed'],
    ['CR LF inside', { username: '"ali\r\nce"' }, 'malformed'],
    ['response too short', { response: '"abc"' }, 'malformed'],
    ['response not hex', { response: `"${'z'.repeat(32)}"` }, 'malformed'],
    ['nc not 8 hex digits', { nc: '1' }, 'malformed'],
    ['nc zero', { nc: '00000000' }, 'malformed'],
    ['nc with junk', { nc: '0000000g' }, 'malformed'],
    ['no cnonce with qop', { cnonce: undefined }, 'malformed'],
    ['no nc with qop', { nc: undefined }, 'malformed'],
    ['unknown qop', { qop: 'auth-conf' }, 'qop'],
    ['unknown algorithm', { algorithm: 'SHA-1' }, 'algorithm'],
    ['absurd algorithm', { algorithm: 'x'.repeat(100_000) }, 'algorithm'],
    ['userhash neither true nor false', { userhash: 'maybe' }, 'malformed'],
    ['huge username', { username: huge }, 'malformed'],
    ['huge nonce', { nonce: huge }, 'malformed'],
    ['huge uri', { uri: huge }, 'malformed'],
    ['huge opaque', { opaque: huge }, 'malformed'],
    ['huge cnonce', { cnonce: huge }, 'malformed'],
  ];

  test.each(cases)('%s', (_name, changes, reason) => {
    const { digest, server, rq } = signed();
    const bad = withAuthorization(rq, changes);
    expect(digest.verifyRequest(roundTrip(server), bad, alice)).toMatchObject({ ok: false, reason });
    expect(digest.authenticateRequest(roundTrip(server), bad, alice)).toBe(false);
  });

  test('odd header shapes', () => {
    const { digest, server, rq } = signed();
    const base = authorizationOf(rq);
    const shapes: unknown[] = [
      'Digest username="alice"',
      42,
      null,
      [null, 7, 'x'],
      [{ scheme: 'Basic', realm: '"example.com"' }],
      [{ ...base, scheme: 'Digest', Nonce: base.nonce }], // the same param twice, in two cases
      Array.from({ length: 10_000 }, () => ({ scheme: 'Digest', realm: '"elsewhere"' })),
      [Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, 'v']))],
      [{ scheme: 'Digest', realm: 42 }],
    ];
    for (const shape of shapes) {
      const bad = roundTrip(rq);
      (bad.headers as Record<string, unknown>).authorization = shape;
      const result = digest.verifyRequest(roundTrip(server), bad, alice);
      expect(result.ok).toBe(false);
    }
    const noHeaders = { method: 'REGISTER', uri: 'sip:x' } as unknown as SipRequest;
    expect(digest.verifyRequest(server, noHeaders, alice)).toMatchObject({ ok: false, reason: 'missing' });
    expect(digest.getAuthorization(server, noHeaders)).toBeUndefined();
  });

  test('an uppercase hex response and uppercase qop/algorithm tokens are accepted', () => {
    const { digest, server, rq } = signed();
    const h = authorizationOf(rq);
    const loud = withAuthorization(rq, { response: (h.response ?? '').toUpperCase(), qop: 'AUTH', algorithm: 'md5', Scheme: undefined });
    expect(digest.verifyRequest(server, loud, alice).ok).toBe(true);
  });

  test('property: arbitrary Authorization params never throw', () => {
    const { digest, server, rq } = signed();
    const base = authorizationOf(rq);
    const value = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('""', '"', '\\', '"\\"', '00000001', 'auth', 'MD5'), fc.integer() as fc.Arbitrary<unknown>);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce', 'algorithm', 'opaque', 'userhash', 'scheme'), value), (changes) => {
        const bad = roundTrip(rq);
        bad.headers.authorization = [{ ...base, ...changes } as AuthHeader];
        const result = digest.verifyRequest(roundTrip(server), bad, alice);
        return typeof result.ok === 'boolean';
      }),
      { numRuns: 500 },
    );
  });

  test('property: arbitrary challenges never make the client throw', () => {
    const { digest } = clockedDigest();
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom('scheme', 'realm', 'nonce', 'qop', 'algorithm', 'opaque', 'stale', 'userhash', 'domain'), fc.string({ maxLength: 40 })), { maxLength: 5 }), (headers) => {
        const rq = request();
        const rs = response(rq, 401);
        rs.headers['www-authenticate'] = headers.map((h) => ({ scheme: 'Digest', ...h }));
        const out = digest.signRequest({}, rq, rs, alice);
        return out === null || typeof out.nonce === 'string';
      }),
      { numRuns: 500 },
    );
  });

  test('malformed Authentication-Info is undefined or false, never a throw', () => {
    const { digest, server, client, rq } = signed();
    expect(digest.verifyRequest(server, rq, alice).ok).toBe(true);
    const ok = digest.signResponse(server, response(rq, 200));
    for (const info of [42, 'rspauth="x"', [], [{ rspauth: '"' }], { rspauth: '"unterminated' }, { rspauth: `"${'x'.repeat(100_000)}"` }]) {
      const rs = roundTrip(ok);
      (rs.headers as Record<string, unknown>)['authentication-info'] = info;
      expect([undefined, false]).toContain(digest.authenticateResponse(client, rs));
    }
  });
});
