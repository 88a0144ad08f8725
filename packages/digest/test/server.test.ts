// createDigestServer: the asynchronous, sessionless server API a registrar uses, with account
// lookup, replay store and limiter that may all answer with Promises.
import { makeResponse, parse, stringify, type SipRequest, type SipResponse } from '@sipts/message';
import {
  calculateUserRealmPasswordHash,
  createDigest,
  createDigestServer,
  isDigestError,
  MemoryFailureLimiter,
  MemoryReplayStore,
  signRequest,
  authenticateResponse,
  type DigestAccount,
  type DigestClientSession,
  type DigestFailureLimiter,
  type DigestReplayStore,
  type DigestResult,
  type DigestServer,
  type DigestServerOptions,
} from '@sipts/digest';
import { SECRET, START, authorizationOf, request } from './helpers.js';

const accounts = new Map<string, DigestAccount>([
  ['alice', { password: 'correct horse' }],
  ['bob', { ha1: createDigest().calculateUserRealmPasswordHash('bob', 'example.com', 'battery staple') }],
]);

function server(options: Partial<DigestServerOptions> = {}): { server: DigestServer; clock: { now: number } } {
  const clock = { now: START };
  return {
    clock,
    server: createDigestServer({
      realm: 'example.com',
      secret: SECRET,
      now: () => clock.now,
      lookup: async (username) => accounts.get(username),
      ...options,
    }),
  };
}

function wire<T>(message: T): T {
  return parse(stringify(message as never)) as T;
}

/** One registration: challenge, answer, verify. Returns the client session and the result. */
async function register(
  s: DigestServer,
  credentials = { user: 'alice', password: 'correct horse' },
  client: DigestClientSession = {},
): Promise<{ client: DigestClientSession; rq: SipRequest; result: DigestResult }> {
  const rq = request();
  const challenged = wire(s.challenge(makeResponse(rq, 401)));
  signRequest(client, rq, challenged, credentials);
  return { client, rq, result: await s.verify(wire(rq)) };
}

describe('createDigestServer', () => {
  test.each([
    ['MD5', 'auth'],
    ['MD5', 'auth-int'],
    ['SHA-256', 'auth'],
    ['SHA-256', 'auth-int'],
    ['SHA-512-256', 'auth'],
  ] as const)('%s qop=%s: challenge, verify, Authentication-Info, next count, replay', async (algorithm, qop) => {
    const { server: s } = server({ algorithm, qop });
    const { client, rq, result } = await register(s);
    expect(result).toEqual({
      ok: true,
      username: 'alice',
      user: 'alice',
      realm: 'example.com',
      algorithm,
      qop,
      nonce: client.nonce,
      nc: 1,
    });
    if (!result.ok) throw new Error('unreachable');
    const ok = s.signResponse(makeResponse(rq, 200), result);
    expect(ok.headers['authentication-info']).toMatchObject({ qop, nc: '00000001' });
    expect(authenticateResponse(client, wire(ok))).toBe(true);
    // The same request again: a replay, answered with a stale challenge.
    const replay = await s.verify(wire(rq));
    expect(replay).toEqual({ ok: false, reason: 'replay', stale: true });
    expect(s.challenge(makeResponse(rq, 401), replay).headers['www-authenticate']?.[0]?.stale).toBe('true');
    // The next count on the nonce.
    const next = request();
    signRequest(client, next);
    expect(await s.verify(wire(next))).toMatchObject({ ok: true, nc: 2 });
  });

  test('an attacker triggering 60 challenges does not invalidate the user\'s nonce', async () => {
    const { server: s } = server({ algorithm: 'SHA-256' });
    const rq = request();
    const client: DigestClientSession = {};
    signRequest(client, rq, wire(s.challenge(makeResponse(rq, 401))), { user: 'alice', password: 'correct horse' });
    for (let i = 0; i < 60; i++) {
      const hostile = request();
      expect(await s.verify(hostile)).toMatchObject({ reason: 'missing' });
      s.challenge(makeResponse(hostile, 401));
    }
    expect((await s.verify(wire(rq))).ok).toBe(true);
    expect((await s.verify(wire(rq))).ok).toBe(false);
  });

  test('RFC 2069 (qop none): one request per nonce, then stale=true', async () => {
    const { server: s } = server({ qop: 'none' });
    const { client, rq, result } = await register(s);
    expect(result).toMatchObject({ ok: true, qop: undefined, nc: undefined });
    const again = request();
    signRequest(client, again);
    const second = await s.verify(wire(again));
    expect(second).toEqual({ ok: false, reason: 'replay', stale: true });
    signRequest(client, again, wire(s.challenge(makeResponse(rq, 401), second)));
    expect((await s.verify(wire(again))).ok).toBe(true);
  });

  test('a stored H(A1) instead of a password; a wrong password; an unknown user', async () => {
    const { server: s } = server();
    expect((await register(s, { user: 'bob', password: 'battery staple' })).result).toMatchObject({ ok: true, user: 'bob' });
    expect((await register(s, { user: 'bob', password: 'wrong' })).result).toEqual({ ok: false, reason: 'mismatch', stale: false });
    expect((await register(s, { user: 'mallory', password: 'x' })).result).toEqual({ ok: false, reason: 'unknown', stale: false });
    expect(s.stats()).toMatchObject({ accepted: 1, failed: { mismatch: 1, unknown: 1 }, limiter: { failures: 2 } });
  });

  test('an expired nonce with the right password: stale', async () => {
    const { server: s, clock } = server();
    const rq = request();
    signRequest({}, rq, s.challenge(makeResponse(rq, 401)), { user: 'alice', password: 'correct horse' });
    clock.now += 300_001;
    const result = await s.verify(rq);
    expect(result).toEqual({ ok: false, reason: 'stale', stale: true });
    expect(s.challenge(makeResponse(rq, 401), result).headers['www-authenticate']?.[0]?.stale).toBe('true');
  });

  test('blocked: Retry-After seconds; the source of the request (or the one given) is the key', async () => {
    const { server: s } = server({ limiter: new MemoryFailureLimiter({ now: () => START, maxSourceFailures: 3 }) });
    for (let i = 0; i < 3; i++) await register(s, { user: 'alice', password: `guess${i}` });
    const { result } = await register(s);
    expect(result).toEqual({ ok: false, reason: 'blocked', stale: false, retryAfter: 300 });
    // Another source is not blocked.
    const rq = request();
    signRequest({}, rq, s.challenge(makeResponse(rq, 401)), { user: 'alice', password: 'correct horse' });
    expect((await s.verify(rq, { source: 'tcp:198.51.100.4' })).ok).toBe(true);
  });

  test('a burst of concurrent guesses cannot pass the limit while earlier ones are in flight', async () => {
    // A lookup answered in one batch, as a database pool under load does: every guess is in
    // flight at once, and all of them resume together.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server: s } = server({ lookup: async (username) => gate.then(() => accounts.get(username)) });
    const guesses = Array.from({ length: 200 }, (_, i) => {
      const rq = request();
      signRequest({}, rq, s.challenge(makeResponse(rq, 401)), { user: 'alice', password: `guess${i}` });
      return wire(rq);
    });
    const pending = Promise.all(guesses.map((rq) => s.verify(rq, { source: 'udp:203.0.113.9' })));
    release();
    const results = await pending;
    expect(results.filter((r) => !r.ok && r.reason === 'mismatch')).toHaveLength(20);
    expect(results.filter((r) => !r.ok && r.reason === 'blocked')).toHaveLength(180);
  });

  test('userhash: the lookup gets the hashed name and gives the account name', async () => {
    const d = createDigest();
    const byHash = new Map([[d.calculateUserhash('alice', 'example.com', 'SHA-256'), 'alice']]);
    const seen: Array<{ username: string; userhash: boolean }> = [];
    const { server: s } = server({
      algorithm: 'SHA-256',
      hashUsername: true,
      lookup: (username, { userhash }) => {
        seen.push({ username, userhash });
        const user = userhash ? byHash.get(username) : username;
        return user === 'alice' ? { user, password: 'correct horse' } : undefined;
      },
    });
    const { rq, result } = await register(s);
    expect(authorizationOf(rq).userhash).toBe('true');
    expect(seen).toEqual([{ username: byHash.keys().next().value, userhash: true }]);
    expect(result).toMatchObject({ ok: true, user: 'alice' });
  });

  test('proxy: 407, Proxy-Authorization, Proxy-Authentication-Info', async () => {
    const { server: s } = server({ proxy: true });
    const rq = request('INVITE', 'sip:bob@example.com');
    const challenged = s.challenge(makeResponse(rq, 407));
    expect(challenged.headers['proxy-authenticate']).toHaveLength(1);
    const client = signRequest({}, rq, wire(challenged), { user: 'alice', password: 'correct horse' });
    expect(rq.headers['proxy-authorization']).toHaveLength(1);
    const result = await s.verify(wire(rq));
    if (!result.ok) throw new Error(`refused: ${result.reason}`);
    const ok: SipResponse = s.signResponse(makeResponse(rq, 200), result);
    expect(ok.headers['proxy-authentication-info']).toBeDefined();
    expect(authenticateResponse(client!, wire(ok))).toBe(true);
  });

  test('asynchronous replay store and limiter (a shared store, as in Redis)', async () => {
    const memory = new MemoryReplayStore();
    const calls: string[] = [];
    const replayStore: DigestReplayStore = {
      checkAndRecord: async (nonce, nc, expiresAt) => {
        calls.push(`replay ${nc} ${expiresAt - START}`);
        return memory.checkAndRecord(nonce, nc, expiresAt);
      },
    };
    const limits = new MemoryFailureLimiter();
    const limiter: DigestFailureLimiter = {
      acquire: async (user, source) => {
        calls.push(`acquire ${user} ${source}`);
        return limits.acquire(user, source);
      },
      settle: async (user, source, outcome) => {
        calls.push(`settle ${user} ${source} ${outcome}`);
        limits.settle(user, source, outcome);
      },
    };
    const { server: s } = server({ replayStore, limiter });
    const { result } = await register(s);
    expect(result.ok).toBe(true);
    // The entry expires with the nonce (5 min after it was issued).
    expect(calls).toEqual(['acquire alice udp:192.0.2.10', 'replay 1 300000', 'settle alice udp:192.0.2.10 success']);
  });

  test('a lookup, store or limiter that fails rejects with a DigestError carrying the cause', async () => {
    const boom = new Error('database unreachable');
    const cases: Array<[Partial<DigestServerOptions>, string]> = [
      [{ lookup: async () => Promise.reject(boom) }, 'ERR_LOOKUP'],
      [{ replayStore: { checkAndRecord: async () => Promise.reject(boom) } }, 'ERR_REPLAY_STORE'],
      [{ limiter: { acquire: () => { throw boom; }, settle: () => undefined } }, 'ERR_LIMITER'],
    ];
    for (const [options, code] of cases) {
      const { server: s } = server(options);
      const rejected = await register(s).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDigestError(rejected) && rejected.code).toBe(code);
      expect((rejected as Error).cause).toBe(boom);
    }
  });

  test('signResponse only for this server\'s successes; bad options', async () => {
    const { server: s } = server();
    const forged = { ok: true, username: 'alice', user: 'alice', realm: 'example.com', algorithm: 'MD5', qop: 'auth', nonce: 'n', nc: 1 } as const;
    expect(() => s.signResponse(makeResponse(request(), 200), forged)).toThrow(expect.objectContaining({ code: 'ERR_NOT_AUTHENTICATED' }));
    expect(() => createDigestServer({ realm: '', lookup: () => undefined })).toThrow(expect.objectContaining({ code: 'ERR_NO_REALM' }));
    expect(() => createDigestServer({ realm: 'r' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => createDigestServer({ realm: 'r', lookup: () => undefined, qop: 'auth-conf' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_QOP' }));
    expect(() => createDigestServer({ realm: 'r', lookup: () => undefined, algorithm: 'SHA-1' })).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_ALGORITHM' }),
    );
  });

  test('nothing in a request makes verify reject', async () => {
    const { server: s } = server();
    const shapes: unknown[] = ['Digest x', 42, null, [null], [{ scheme: 'Digest', realm: '"example.com"', username: 7 }], [{}]];
    for (const shape of shapes) {
      const rq = request();
      (rq.headers as Record<string, unknown>).authorization = shape;
      expect((await s.verify(rq)).ok).toBe(false);
    }
    expect((await s.verify({ method: 'REGISTER' } as unknown as SipRequest)).ok).toBe(false);
  });
});

describe('README example (createDigestServer)', () => {
  // ---- verbatim from README.md, "Asynchronous server" ----
  // H(user:realm:password) per account, one per hash algorithm offered: no passwords stored.
  const ha1s = new Map([['alice', {
    'SHA-256': calculateUserRealmPasswordHash('alice', 'example.com', 'correct horse', 'SHA-256'),
    MD5: calculateUserRealmPasswordHash('alice', 'example.com', 'correct horse', 'MD5'),
  }]]);

  const auth = createDigestServer({
    realm: 'example.com',
    algorithm: 'SHA-256,MD5',
    secret: process.env.DIGEST_SECRET ?? 'the same secret on every node of the cluster',
    replayStore: new MemoryReplayStore(), // the default; a cluster plugs a shared store in here
    lookup: async (username) => {
      const ha1 = ha1s.get(username); // a database query in real life
      return ha1 === undefined ? undefined : { ha1 }; // or { password }
    },
  });

  async function onRegister(rq: SipRequest, source: string): Promise<SipResponse> {
    const result = await auth.verify(rq, { source }); // source: e.g. `udp:${remote.address}`
    if (result.ok) return auth.signResponse(makeResponse(rq, 200), result); // + Authentication-Info
    if (result.reason === 'blocked') {
      return makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(result.retryAfter) } });
    }
    return auth.challenge(makeResponse(rq, 401), result); // stale=true when result.stale
  }
  // ---- end of the README example ----

  test('401, then 200 with Authentication-Info; SHA-256 and MD5 clients; 503 after 20 guesses', async () => {
    const first = await onRegister(request(), 'udp:192.0.2.10');
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']?.map((h) => h.algorithm)).toEqual(['SHA-256', 'MD5']);
    for (const algorithm of ['SHA-256', 'MD5']) {
      const rq = request();
      const challenged = algorithm === 'SHA-256' ? first : await onRegister(request(), 'udp:192.0.2.11');
      const client = signRequest({ algorithm }, rq, wire(challenged), { user: 'alice', password: 'correct horse' });
      const ok = await onRegister(wire(rq), algorithm === 'SHA-256' ? 'udp:192.0.2.10' : 'udp:192.0.2.11');
      expect(ok.status).toBe(200);
      expect(authenticateResponse(client!, wire(ok))).toBe(true);
    }
    let last: SipResponse | undefined;
    for (let i = 0; i < 21; i++) {
      const rq = request();
      signRequest({}, rq, wire(await onRegister(request(), 'udp:203.0.113.9')), { user: 'alice', password: `guess${i}` });
      last = await onRegister(wire(rq), 'udp:203.0.113.9');
    }
    expect(last?.status).toBe(503);
    expect(last?.headers['retry-after']).toBe('300');
  });
});
