// Programmer errors throw a DigestError with a documented code; network input never does.
import { createDigest, DigestError, isDigestError, type DigestErrorCode } from '@sipts/digest';
import { clockedDigest, request, response } from './helpers.js';

function codeOf(fn: () => unknown): DigestErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (isDigestError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('DigestError', () => {
  const { digest } = clockedDigest();

  test('challenge needs a realm', () => {
    expect(codeOf(() => digest.challenge({} as never, response(request(), 401)))).toBe('ERR_NO_REALM');
    expect(codeOf(() => digest.challenge({ realm: '' }, response(request(), 401)))).toBe('ERR_NO_REALM');
    expect(codeOf(() => digest.challenge({ realm: 'a\r\nX-Injected: 1' }, response(request(), 401)))).toBe('ERR_NO_REALM');
    expect(codeOf(() => digest.authenticateRequest({} as never, request()))).toBe('ERR_NO_REALM');
  });

  test('bad session configuration', () => {
    expect(codeOf(() => digest.challenge({ realm: 'r', algorithm: 'SHA-1' }, response(request(), 401)))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => digest.challenge({ realm: 'r', qop: 'auth-conf' }, response(request(), 401)))).toBe('ERR_INVALID_QOP');
    expect(codeOf(() => digest.challenge({ realm: 'r', opaque: 'a\nb' }, response(request(), 401)))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => digest.calculateHA1({ algorithm: 'SHA3' }))).toBe('ERR_UNSUPPORTED_ALGORITHM');
  });

  test('client misuse', () => {
    const rs = digest.challenge({ realm: 'r' }, response(request(), 401));
    expect(codeOf(() => digest.signRequest({}, request(), rs))).toBe('ERR_NO_CREDENTIALS');
    expect(codeOf(() => digest.signRequest({}, request(), rs, { password: 'x' }))).toBe('ERR_INVALID_CREDENTIALS');
    expect(codeOf(() => digest.signRequest({}, request(), rs, { user: 'alice' }))).toBe('ERR_INVALID_CREDENTIALS');
    expect(codeOf(() => digest.signRequest({}, request()))).toBe('ERR_NO_CHALLENGE');
    expect(codeOf(() => digest.signRequest(null, request()))).toBe('ERR_NO_CHALLENGE');
  });

  test('signResponse before any success', () => {
    const session = { realm: 'r' };
    digest.challenge(session, response(request(), 401));
    expect(codeOf(() => digest.signResponse(session, response(request(), 200)))).toBe('ERR_NOT_AUTHENTICATED');
  });

  test('createDigest options', () => {
    expect(codeOf(() => createDigest({ secret: 'short' }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => createDigest({ secret: new Uint8Array(8) }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => createDigest({ nonceLifetime: 0 }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => createDigest({ nonceLifetime: Number.NaN }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => createDigest({ nextNonce: 'sometimes' as never }))).toBe('ERR_INVALID_OPTION');
    expect(codeOf(() => createDigest({ secret: new Uint8Array(16) }))).toBeUndefined();
  });

  test('cause is kept when given, absent otherwise', () => {
    const cause = new Error('redis: connection refused');
    const err = new DigestError('ERR_REPLAY_STORE', 'replayStore.checkAndRecord failed', { cause });
    expect(err.cause).toBe(cause);
    expect('cause' in new DigestError('ERR_NO_REALM', 'no realm')).toBe(false);
  });

  test('class, name, code, message; instanceof works across copies through the brand', () => {
    const err = new DigestError('ERR_NO_REALM', 'no realm');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(DigestError);
    expect(err.name).toBe('DigestError');
    expect(err.code).toBe('ERR_NO_REALM');
    expect(err.message).toBe('no realm');
    // What an error from another copy of the package looks like: a different class, same brand.
    const foreign = Object.create(Object.defineProperty({}, Symbol.for('@sipts/digest.DigestError'), { value: true })) as object;
    expect(isDigestError(foreign)).toBe(true);
    expect(foreign instanceof DigestError).toBe(true);
    expect(isDigestError(new Error('x'))).toBe(false);
    expect(new Error('x') instanceof DigestError).toBe(false);
    expect(isDigestError(null)).toBe(false);
  });
});
