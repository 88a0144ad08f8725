// Issue 18 problem 9 on the session (sip) API: password guessing is limited per user and per
// source, blocked attempts are not even checked, counters show it; duplicated parameters in
// the credentials fail authentication; plugged-in stores that fail surface as DigestErrors.
import { parse, stringify, type AuthHeader, type SipRequest } from '@sipts/message';
import {
  DEFAULT_MAX_SOURCE_FAILURES,
  DEFAULT_MAX_USER_FAILURES,
  MemoryFailureLimiter,
  isDigestError,
  type DigestClientSession,
  type DigestReplayStore,
  type DigestServerSession,
} from '@sipts/digest';
import { authorizationOf, clockedDigest, request, response, roundTrip } from './helpers.js';

const alice = { user: 'alice', password: 'correct horse' };

/** A REGISTER from `address` (its top Via stamped received=address, as a transport does). */
function from(address: string, rq: SipRequest = request()): SipRequest {
  const via = rq.headers.via?.[0];
  if (via !== undefined) via.params = { ...via.params, received: address };
  return rq;
}

function answered(digest: ReturnType<typeof clockedDigest>['digest'], password: string, address: string): SipRequest {
  const rq = from(address);
  digest.signRequest({}, rq, digest.challenge({ realm: 'example.com' }, response(rq, 401)), { user: 'alice', password });
  return rq;
}

describe('guessing passwords through authenticateRequest', () => {
  test('one source: blocked after the default 20 failures; blocked answers are not checked', () => {
    const { digest, clock } = clockedDigest();
    const session: DigestServerSession = { realm: 'example.com' };
    let refused = 0;
    for (let i = 0; i < DEFAULT_MAX_SOURCE_FAILURES; i++) {
      const result = digest.verifyRequest(session, answered(digest, `guess${i}`, '203.0.113.9'), alice);
      if (!result.ok && result.reason === 'mismatch') refused++;
    }
    expect(refused).toBe(20);
    // The 21st attempt, even with the right password, is refused without looking at it.
    const right = answered(digest, 'correct horse', '203.0.113.9');
    const blocked = digest.verifyRequest(session, right, alice);
    expect(blocked).toEqual({ ok: false, reason: 'blocked', stale: false, retryAfter: 300 });
    clock.now += 299_000;
    expect(digest.verifyRequest(session, right, alice)).toMatchObject({ reason: 'blocked', retryAfter: 1 });
    clock.now += 1000;
    expect(digest.verifyRequest(session, right, alice).ok).toBe(true);
    expect(digest.stats()).toMatchObject({
      accepted: 1,
      failed: { mismatch: 20, blocked: 2 },
      limiter: { failures: 20, blocked: 2 },
    });
  });

  test('many sources against one user: blocked per user, but not the phone that registered before', () => {
    const { digest } = clockedDigest();
    const session: DigestServerSession = { realm: 'example.com' };
    // alice's phone registers from 192.0.2.10.
    const phone: DigestClientSession = {};
    const first = from('192.0.2.10');
    digest.signRequest(phone, first, digest.challenge(session, response(first, 401)), alice);
    expect(digest.authenticateRequest(session, first, alice)).toBe(true);
    // Guesses from 40 addresses (one each: far under the per-source limit).
    for (let i = 0; i < 40; i++) digest.verifyRequest(session, answered(digest, `guess${i}`, `203.0.113.${i}`), alice);
    expect(digest.verifyRequest(session, answered(digest, 'correct horse', '198.51.100.1'), alice)).toMatchObject({ reason: 'blocked' });
    // The phone refreshes: its source authenticated alice before, so it is trusted.
    const refresh = from('192.0.2.10');
    digest.signRequest(phone, refresh);
    expect(digest.verifyRequest(session, refresh, alice).ok).toBe(true);
    expect(digest.stats().failed.mismatch).toBe(DEFAULT_MAX_USER_FAILURES);
  });

  test('the source is the top Via: received, else its host; an explicit source wins', () => {
    const limiter = new MemoryFailureLimiter({ maxSourceFailures: 1, maxUserFailures: 100 });
    const { digest } = clockedDigest({ limiter });
    const blocked = (source: string): boolean => {
      const wait = limiter.acquire('x', source);
      if (wait === 0) limiter.settle('x', source, 'neutral');
      return wait > 0;
    };
    const session: DigestServerSession = { realm: 'example.com' };
    digest.verifyRequest(session, answered(digest, 'guess', '203.0.113.9'), alice);
    expect(blocked('udp:203.0.113.9')).toBe(true);
    const noReceived = request();
    digest.signRequest({}, noReceived, digest.challenge({ realm: 'example.com' }, response(noReceived, 401)), { user: 'alice', password: 'nope' });
    digest.verifyRequest(session, noReceived, alice);
    expect(blocked('udp:192.0.2.10')).toBe(true); // helpers' Via host
    const explicit = answered(digest, 'nope', '203.0.113.10');
    digest.verifyRequest(session, explicit, alice, { source: 'ws:flow-17' });
    expect(blocked('ws:flow-17')).toBe(true);
    expect(blocked('udp:203.0.113.10')).toBe(false);
  });

  test('failures that cost no guess are not counted (no credentials, stale, replay, malformed)', () => {
    const limiter = new MemoryFailureLimiter({ maxSourceFailures: 1, maxUserFailures: 1 });
    const { digest, clock } = clockedDigest({ limiter });
    const session: DigestServerSession = { realm: 'example.com' };
    const rq = answered(digest, 'correct horse', '203.0.113.9');
    expect(digest.verifyRequest(session, from('203.0.113.9'), alice)).toMatchObject({ reason: 'missing' });
    const malformed = roundTrip(rq);
    malformed.headers.authorization = [{ ...authorizationOf(rq), nc: 'zz' }];
    expect(digest.verifyRequest(session, malformed, alice)).toMatchObject({ reason: 'malformed' });
    expect(digest.verifyRequest(session, rq, alice).ok).toBe(true);
    expect(digest.verifyRequest(session, rq, alice)).toMatchObject({ reason: 'replay' });
    clock.now += 600_000;
    expect(digest.verifyRequest(session, rq, alice)).toMatchObject({ reason: 'stale' });
    expect(limiter.stats().failures).toBe(0);
  });

  test('limiter: false turns it off', () => {
    const { digest } = clockedDigest({ limiter: false });
    const session: DigestServerSession = { realm: 'example.com' };
    for (let i = 0; i < 50; i++) digest.verifyRequest(session, answered(digest, `guess${i}`, '203.0.113.9'), alice);
    expect(digest.verifyRequest(session, answered(digest, 'correct horse', '203.0.113.9'), alice).ok).toBe(true);
    expect(digest.stats().limiter).toBeUndefined();
  });
});

describe('duplicated parameters in the credentials fail authentication', () => {
  function signed(): { digest: ReturnType<typeof clockedDigest>['digest']; rq: SipRequest } {
    const { digest } = clockedDigest();
    const rq = request();
    digest.signRequest({}, rq, digest.challenge({ realm: 'example.com' }, response(rq, 401)), alice);
    return { digest, rq };
  }

  test('the same name in two cases, through parse', () => {
    const { digest, rq } = signed();
    const wire = stringify(rq).replace(/, nonce="([^"]*)"/, ', nonce="$1", Nonce="$1"');
    expect(wire).toContain('Nonce=');
    expect(digest.verifyRequest({ realm: 'example.com' }, parse(wire) as SipRequest, alice)).toMatchObject({ ok: false, reason: 'duplicate' });
  });

  test.each(['nonce', 'response', 'username', 'realm', 'uri', 'nc', 'cnonce', 'qop', 'algorithm'])(
    "'%s' twice, as the parser marks it",
    (name) => {
      const { digest, rq } = signed();
      const header = { ...authorizationOf(rq) } as AuthHeader;
      Object.defineProperty(header, Symbol.for('@sipts/message.duplicateAuthParam'), { value: name, enumerable: false });
      const marked = roundTrip(rq);
      marked.headers.authorization = [header];
      expect(digest.verifyRequest({ realm: 'example.com' }, marked, alice)).toMatchObject({ ok: false, reason: 'duplicate' });
      expect(digest.stats().failed.duplicate).toBe(1);
    },
  );

  // @sipts/message keeps the last of two equal names (`nonce="a", nonce="b"`): digest cannot see
  // the first. This passes once the parser marks such headers (README, "Duplicated parameters").
  test('the same name twice in the same case, through parse (the parser marks it)', () => {
    const { digest, rq } = signed();
    const wire = stringify(rq).replace(/, nonce="([^"]*)"/, ', nonce="AAAA", nonce="$1"');
    expect(digest.verifyRequest({ realm: 'example.com' }, parse(wire) as SipRequest, alice)).toMatchObject({ ok: false, reason: 'duplicate' });
  });
});

describe('plugged-in stores and limiters', () => {
  test('an asynchronous store on the synchronous API is ERR_ASYNC_STORE, and its Promise is not left unhandled', () => {
    const store: DigestReplayStore = { checkAndRecord: () => Promise.reject(new Error('redis down')) };
    const { digest } = clockedDigest({ replayStore: store });
    const rq = answered(digest, 'correct horse', '192.0.2.10');
    let caught: unknown;
    try {
      digest.authenticateRequest({ realm: 'example.com' }, rq, alice);
    } catch (e) {
      caught = e;
    }
    expect(isDigestError(caught) && caught.code).toBe('ERR_ASYNC_STORE');
  });

  test('a store that throws is ERR_REPLAY_STORE with the cause', () => {
    const boom = new Error('disk on fire');
    const { digest } = clockedDigest({ replayStore: { checkAndRecord: () => { throw boom; } } });
    const rq = answered(digest, 'correct horse', '192.0.2.10');
    expect(() => digest.authenticateRequest({ realm: 'example.com' }, rq, alice)).toThrow(
      expect.objectContaining({ code: 'ERR_REPLAY_STORE', cause: boom }),
    );
  });

  test('an attempt whose store throws is taken back from the limiter', () => {
    const limiter = new MemoryFailureLimiter({ maxSourceFailures: 1 });
    const { digest } = clockedDigest({ limiter, replayStore: { checkAndRecord: () => { throw new Error('x'); } } });
    expect(() => digest.verifyRequest({ realm: 'example.com' }, answered(digest, 'correct horse', '192.0.2.10'), alice)).toThrow();
    expect(() => digest.verifyRequest({ realm: 'example.com' }, answered(digest, 'correct horse', '192.0.2.10'), alice)).toThrow(
      expect.objectContaining({ code: 'ERR_REPLAY_STORE' }),
    );
    expect(limiter.stats()).toMatchObject({ failures: 0, blocked: 0 });
  });

  test('a limiter that throws is ERR_LIMITER with the cause', () => {
    const boom = new Error('nope');
    const { digest } = clockedDigest({
      limiter: { acquire: () => { throw boom; }, settle: () => undefined },
    });
    const rq = answered(digest, 'correct horse', '192.0.2.10');
    expect(() => digest.verifyRequest({ realm: 'example.com' }, rq, alice)).toThrow(expect.objectContaining({ code: 'ERR_LIMITER', cause: boom }));
  });

  test('bad store and limiter options', () => {
    expect(() => clockedDigest({ replayStore: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => clockedDigest({ limiter: { acquire: () => 0 } as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
