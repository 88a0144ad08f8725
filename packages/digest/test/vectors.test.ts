// Published vectors, and vectors computed independently with openssl (commands in comments).
import {
  calculateDigest,
  calculateHA1,
  calculateUserRealmPasswordHash,
  calculateUserhash,
  kd,
  verifyRequest,
  type DigestServerSession,
} from '@sipts/digest';
import { parseAuthHeader, type SipRequest } from '@sipts/message';

describe('RFC 2617 §3.5 (Mufasa, MD5, qop=auth)', () => {
  test('response digest', () => {
    const ha1 = calculateHA1({ user: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life' });
    expect(
      calculateDigest({
        ha1,
        method: 'GET',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        nc: '00000001',
        cnonce: '0a4f113b',
        qop: 'auth',
        uri: '/dir/index.html',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  test('nc may be given as a number', () => {
    const ha1 = calculateUserRealmPasswordHash('Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(
      calculateDigest({ ha1, method: 'GET', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', nc: 1, cnonce: '0a4f113b', qop: 'auth', uri: '/dir/index.html' }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });
});

describe('RFC 7616 §3.9.1 (Mufasa, qop=auth)', () => {
  const common = {
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    qop: 'auth',
  };

  test('SHA-256', () => {
    const ha1 = calculateHA1({ user: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', algorithm: 'SHA-256' });
    expect(calculateDigest({ ...common, ha1, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });

  test('MD5', () => {
    const ha1 = calculateHA1({ user: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', algorithm: 'MD5' });
    expect(calculateDigest({ ...common, ha1, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  test('SHA-512-256, computed with openssl', () => {
    // HA1=$(printf '%s' 'Mufasa:http-auth@example.org:Circle of Life' | openssl dgst -sha512-256 -r | cut -d' ' -f1)
    //   -> fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce
    // HA2=$(printf '%s' 'GET:/dir/index.html' | openssl dgst -sha512-256 -r | cut -d' ' -f1)
    //   -> c2cc924c647b13c41e0fb8825bdaa97d0a1f2a7afb15e1e03c994229b20e1c92
    // printf '%s' "$HA1:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:$HA2" \
    //   | openssl dgst -sha512-256 -r
    //   -> 430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0
    const ha1 = calculateUserRealmPasswordHash('Mufasa', 'http-auth@example.org', 'Circle of Life', 'SHA-512-256');
    expect(ha1).toBe('fb174f5c3c7802721517cae13b98e2b8dae2e0118cb705d94ee29946319204ce');
    expect(calculateDigest({ ...common, ha1, algorithm: 'SHA-512-256' })).toBe(
      '430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0',
    );
  });
});

describe('vectors computed with openssl', () => {
  test('SHA-256-sess H(A1)', () => {
    // B=$(printf '%s' 'Mufasa:http-auth@example.org:Circle of Life' | openssl dgst -sha256 -r | cut -d' ' -f1)
    // printf '%s' "$B:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ" | openssl dgst -sha256 -r
    const ha1 = calculateHA1({
      user: 'Mufasa',
      realm: 'http-auth@example.org',
      password: 'Circle of Life',
      algorithm: 'SHA-256-sess',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    });
    expect(ha1).toBe(SHA256_SESS_HA1);
    // The same from the precomputed hash (`userhash` in sip's argument names).
    expect(
      calculateHA1({
        userhash: calculateUserRealmPasswordHash('Mufasa', 'http-auth@example.org', 'Circle of Life', 'SHA-256'),
        algorithm: 'sha-256-SESS',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      }),
    ).toBe(SHA256_SESS_HA1);
  });

  test('MD5 qop=auth-int over UTF-8 body bytes', () => {
    // BODY='v=0 café ☎'   (UTF-8: 13 bytes)
    // HB=$(printf '%s' "$BODY" | openssl dgst -md5 -r | cut -d' ' -f1)
    // HA2=$(printf '%s' "INVITE:sip:bob@example.com:$HB" | openssl dgst -md5 -r | cut -d' ' -f1)
    // HA1=$(printf '%s' 'alice:example.com:secret' | openssl dgst -md5 -r | cut -d' ' -f1)
    // printf '%s' "$HA1:abc:00000002:xyz:auth-int:$HA2" | openssl dgst -md5 -r
    const ha1 = calculateUserRealmPasswordHash('alice', 'example.com', 'secret');
    const args = { ha1, method: 'INVITE', uri: 'sip:bob@example.com', nonce: 'abc', nc: '00000002', cnonce: 'xyz', qop: 'auth-int' };
    expect(calculateDigest({ ...args, entity: 'v=0 café ☎' })).toBe(MD5_AUTH_INT);
    expect(calculateDigest({ ...args, entity: Buffer.from('v=0 café ☎', 'utf8') })).toBe(MD5_AUTH_INT);
  });

  test('RFC 2069 digest (no qop)', () => {
    // HA1=$(printf '%s' 'alice:example.com:secret' | openssl dgst -md5 -r | cut -d' ' -f1)
    // HA2=$(printf '%s' 'REGISTER:sip:example.com' | openssl dgst -md5 -r | cut -d' ' -f1)
    // printf '%s' "$HA1:abc:$HA2" | openssl dgst -md5 -r
    const ha1 = calculateUserRealmPasswordHash('alice', 'example.com', 'secret');
    expect(calculateDigest({ ha1, method: 'REGISTER', uri: 'sip:example.com', nonce: 'abc' })).toBe(MD5_NO_QOP);
  });

  test('RFC 7616 §3.4.4 userhash with SHA-512-256', () => {
    // printf '%s' 'Mufasa:http-auth@example.org' | openssl dgst -sha512-256 -r
    expect(calculateUserhash('Mufasa', 'http-auth@example.org', 'SHA-512-256')).toBe(USERHASH_512);
  });

  test("kd is sip's MD5 of colon-joined parts", () => {
    // printf '%s' 'a:b:c' | openssl dgst -md5 -r
    expect(kd('a', 'b', 'c')).toBe(KD_ABC);
  });
});

// The outputs of the openssl commands above.
const SHA256_SESS_HA1 = 'bca21f4c7d7e8bf70d96361085370c7d219947abc1b8cd628f710917b89bed5b';
const MD5_AUTH_INT = '9110e9b482fc123c7ed07a7bc50ebb0d';
const MD5_NO_QOP = 'dbe98f00688a08a2dbda0b12e8c71319';
const USERHASH_512 = 'e2dfabd1a96ddf867710b653b6e6857d1f147086de7d7ef79dcd249859872570';
const KD_ABC = '02cc8f08398a4f3113b554e8105ebe4c';

describe('RFC 7616 §3.9.1 Authorization headers through the server path', () => {
  // The RFC's nonce is not one of ours, so the best a correct answer can get is `stale`
  // (a re-challenge without asking for the password); a wrong password gets `nonce`.
  const headers = {
    'SHA-256':
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ' +
      'qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    MD5:
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", ' +
      'qop=auth, response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  };

  test.each(Object.entries(headers))('%s', (_algorithm, value) => {
    const rq: SipRequest = { method: 'GET', uri: '/dir/index.html', headers: { authorization: [parseAuthHeader(value)] } };
    const session = (): DigestServerSession => ({
      realm: 'http-auth@example.org',
      algorithm: 'SHA-256,MD5',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
    expect(verifyRequest(session(), rq, { user: 'Mufasa', password: 'Circle of Life' })).toMatchObject({ ok: false, reason: 'stale' });
    expect(verifyRequest(session(), rq, { user: 'Mufasa', password: 'Circle Of Life' })).toMatchObject({ ok: false, reason: 'nonce' });
  });
});
