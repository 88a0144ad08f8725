// The `sip/digest` API and session semantics: sip's own digest tests run against this package,
// and both directions of interop with sip@0.0.6's implementation.
import type { SipRequest, SipResponse } from '@sipts/message';
import * as digest from '@sipts/digest';
import { request, response, roundTrip } from './helpers.js';

interface SipDigest {
  challenge(ctx: object, rs: SipResponse): SipResponse;
  authenticateRequest(ctx: object, rq: SipRequest, creds?: object): boolean;
  signResponse(ctx: object, rs: SipResponse): SipResponse;
  signRequest(ctx: object, rq: SipRequest, rs?: SipResponse, creds?: object): unknown;
  authenticateResponse(ctx: object, rs: SipResponse): boolean | undefined;
}
// sip@0.0.6 is a devDependency of the workspace root (CommonJS, untyped).
const sipDigest = require('sip/digest') as SipDigest;

function options(): SipRequest {
  return request('OPTIONS', 'sip:carol@chicago.com');
}

describe("sip's digest tests, on this package's module-level API", () => {
  test('test2: 401 challenge, answer, mutual auth, reuse of the sessions', () => {
    const rq = options();
    const server: digest.DigestServerSession = { realm: 'test' };
    const rs = digest.challenge(server, response(rq, 401));
    expect(rs.headers['www-authenticate']).toBeDefined();

    const client: digest.DigestClientSession = {};
    digest.signRequest(client, rq, rs, { user: 'carol', password: '1234' });
    expect(digest.authenticateRequest(server, rq, { user: 'carol', password: '1234' })).toBe(true);
    expect(digest.authenticateResponse(client, digest.signResponse(server, response(rq, 200)))).toBe(true);

    digest.signRequest(client, rq);
    expect(rq.headers.authorization).toHaveLength(1);
    expect(digest.authenticateRequest(server, rq)).toBe(true);
    expect(digest.authenticateResponse(client, digest.signResponse(server, response(rq, 200)))).toBe(true);
  });

  test('test3: 407 challenge', () => {
    const rq = options();
    const server: digest.DigestServerSession = { realm: 'test' };
    const rs = digest.challenge(server, response(rq, 407));
    expect(rs.headers['proxy-authenticate']).toBeDefined();
    const client: digest.DigestClientSession = {};
    digest.signRequest(client, rq, rs, { user: 'carol', password: '1234' });
    expect(digest.authenticateRequest(server, rq, { user: 'carol', password: '1234' })).toBe(true);
    digest.signRequest(client, rq);
    expect(digest.authenticateRequest(server, rq)).toBe(true);
  });

  test('test4: time-stamped nonces', () => {
    const stamp = digest.extractNonceTimestamp(digest.generateNonce('1234'), '1234');
    expect(stamp).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - (stamp as Date).getTime())).toBeLessThan(60_000);
  });

  test('signRequest with a null session creates and returns one', () => {
    const rq = options();
    const server: digest.DigestServerSession = { realm: 'test' };
    const client = digest.signRequest(null, rq, digest.challenge(server, response(rq, 401)), { user: 'carol', password: '1234' });
    expect(client).toMatchObject({ realm: 'test', user: 'carol', nc: 1 });
    expect(digest.authenticateRequest(server, rq, { user: 'carol', password: '1234' })).toBe(true);
  });

  test('sessions hold only JSON data', () => {
    const rq = options();
    const server: digest.DigestServerSession = { realm: 'test', opaque: 'o' };
    const client = digest.signRequest({}, rq, digest.challenge(server, response(rq, 401)), { user: 'carol', password: '1234' });
    digest.authenticateRequest(server, rq, { user: 'carol', password: '1234' });
    for (const session of [server, client]) {
      for (const value of Object.values(session ?? {})) expect(['string', 'number', 'boolean']).toContain(typeof value);
      expect(roundTrip(session)).toEqual(session);
    }
  });
});

describe('interop with sip@0.0.6', () => {
  test('sip client answers our challenge', () => {
    const rq = options();
    const server: digest.DigestServerSession = { realm: 'test' };
    const rs = digest.challenge(server, response(rq, 401));
    const sipClient = {};
    sipDigest.signRequest(sipClient, rq, roundTrip(rs), { user: 'carol', password: '1234' });
    expect(digest.verifyRequest(server, rq, { user: 'carol', password: '1234' })).toMatchObject({ ok: true, username: 'carol' });
    // The same request again is a replay, whatever session it is checked against.
    expect(digest.authenticateRequest(roundTrip(server), rq, { user: 'carol', password: '1234' })).toBe(false);
    // ...and checks our rspauth.
    expect(sipDigest.authenticateResponse(sipClient, digest.signResponse(server, response(rq, 200)))).toBe(true);
    // Its next request (next nc, same nonce) passes without credentials.
    sipDigest.signRequest(sipClient, rq);
    expect(digest.authenticateRequest(server, rq)).toBe(true);
    // A wrong password from sip's client is refused.
    const bad = options();
    const badServer: digest.DigestServerSession = { realm: 'test' };
    sipDigest.signRequest({}, bad, digest.challenge(badServer, response(bad, 401)), { user: 'carol', password: '4321' });
    expect(digest.authenticateRequest(badServer, bad, { user: 'carol', password: '1234' })).toBe(false);
  });

  test("we answer sip's challenge, and check its rspauth", () => {
    const rq = options();
    const sipServer = { realm: 'test' };
    const rs = sipDigest.challenge(sipServer, response(rq, 401));
    const client = digest.signRequest({}, rq, roundTrip(rs), { user: 'carol', password: '1234' }) as digest.DigestClientSession;
    expect(client.selectedAlgorithm).toBe('MD5');
    expect(sipDigest.authenticateRequest(sipServer, rq, { user: 'carol', password: '1234' })).toBe(true);
    expect(digest.authenticateResponse(client, sipDigest.signResponse(sipServer, response(rq, 200)))).toBe(true);
    digest.signRequest(client, rq);
    expect(sipDigest.authenticateRequest(sipServer, rq)).toBe(true);
  });

  test('same low-level results as sip', () => {
    const ha1 = sipDigest as unknown as { calculateHA1(a: object): string; calculateDigest(a: object): string; kd(...a: string[]): string };
    const args = { user: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', algorithm: 'md5-sess', nonce: 'n', cnonce: 'c' };
    expect(digest.calculateHA1(args)).toBe(ha1.calculateHA1(args));
    const d = { ha1: 'x', method: 'INVITE', nonce: 'n', nc: '00000001', cnonce: 'c', qop: 'auth-int', uri: 'sip:a@b', entity: 'body' };
    expect(digest.calculateDigest(d)).toBe(ha1.calculateDigest(d));
    expect(digest.calculateDigest({ ...d, qop: undefined })).toBe(ha1.calculateDigest({ ...d, qop: undefined }));
    expect(digest.kd('a', 'b')).toBe(ha1.kd('a', 'b'));
  });
});
