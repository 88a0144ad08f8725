import {
  parse,
  parseVia,
  stringifyVia,
  parseNameAddr,
  stringifyNameAddr,
  parseContact,
  parseRoute,
  parseCSeq,
  stringifyCSeq,
  parseAuthHeader,
  parseAuthHeaders,
  stringifyAuthHeader,
  parseAuthenticationInfo,
  quoteDisplayName,
  canonicalHeaderName,
  prettyHeaderName,
  SipParseError,
  PARSE_ERROR_CODES,
  isSipParseError,
} from '@sipts/message';

function errorOf(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (e) {
    if (isSipParseError(e)) return e;
    throw e;
  }
  throw new Error('expected a SipParseError');
}

describe('Via', () => {
  it('parses several values with LWS and writes each back', () => {
    const vias = parseVia('SIP/2.0/UDP a.example.com:5060;branch=z9hG4bK1;rport , SIP / 2.0 / tcp [2001:db8::1];received=2001:db8::2;maddr=x');
    expect(vias).toEqual([
      { version: '2.0', protocol: 'UDP', host: 'a.example.com', port: 5060, params: { branch: 'z9hG4bK1', rport: null } },
      { version: '2.0', protocol: 'TCP', host: '[2001:db8::1]', port: undefined, params: { received: '2001:db8::2', maddr: 'x' } },
    ]);
    expect(vias.map(stringifyVia)).toEqual(['SIP/2.0/UDP a.example.com:5060;branch=z9hG4bK1;rport', 'SIP/2.0/TCP [2001:db8::1];received=2001:db8::2;maddr=x']);
  });

  it('lower-cases parameter names and keeps quoted values', () => {
    expect(parseVia('SIP/2.0/UDP h;BRANCH=z9hG4bKx;X-Note="a;b"')[0]!.params).toEqual({ branch: 'z9hG4bKx', 'x-note': '"a;b"' });
  });

  it('writes a bare IPv6 host with brackets and a default version', () => {
    expect(stringifyVia({ version: '', protocol: 'udp', host: '::1', port: 5060, params: {} })).toBe('SIP/2.0/UDP [::1]:5060');
  });

  it.each(['', 'SIP/2.0/UDP', 'SIP/2.0 UDP h', 'SIP/2.0/UDP h;', 'SIP/2.0/UDP h,', 'SIP/2.0/UDP h:70000', 'SIP/2.0/UDP [::1'])('refuses %j', (v) => {
    const err = errorOf(() => parseVia(v));
    expect(err.code).toBe('ERR_HEADER_VALUE');
    expect(err.header).toBe('via');
  });
});

describe('name-addr', () => {
  it('parses name-addr and addr-spec forms', () => {
    expect(parseNameAddr('"Alice A." <sip:alice@atlanta.com>;tag=88sja8x')).toEqual({ name: '"Alice A."', uri: 'sip:alice@atlanta.com', params: { tag: '88sja8x' } });
    expect(parseNameAddr('Bob <sips:bob@biloxi.com;transport=tcp>')).toEqual({ name: 'Bob', uri: 'sips:bob@biloxi.com;transport=tcp', params: {} });
    // addr-spec: ";" starts header parameters
    expect(parseNameAddr('sip:carol@chicago.com;tag=1')).toEqual({ name: undefined, uri: 'sip:carol@chicago.com', params: { tag: '1' } });
    expect(parseNameAddr('<tel:+12125551212>')).toEqual({ name: undefined, uri: 'tel:+12125551212', params: {} });
  });

  it('writes them back, quoting names that need it', () => {
    expect(stringifyNameAddr({ name: '"Alice A."', uri: 'sip:alice@atlanta.com', params: { tag: '88sja8x' } })).toBe('"Alice A." <sip:alice@atlanta.com>;tag=88sja8x');
    expect(stringifyNameAddr({ uri: 'sip:x@y', params: { expires: '60', lr: null } })).toBe('<sip:x@y>;expires=60;lr');
    expect(stringifyNameAddr({ name: 'Bob Smith', uri: 'sip:b@y', params: {} })).toBe('Bob Smith <sip:b@y>');
    expect(stringifyNameAddr({ name: 'O"Brien, \\x', uri: 'sip:b@y', params: {} })).toBe('"O\\"Brien, \\\\x" <sip:b@y>');
    expect(stringifyNameAddr({ name: 'x', uri: { schema: 'sip', user: 'u', host: 'h', params: {}, headers: {} }, params: {} })).toBe('x <sip:u@h>');
    expect(quoteDisplayName('a"b')).toBe('"a\\"b"');
  });

  it.each(['', 'Bob', '"unterminated <sip:a@b>', '<sip:a@b', 'a, b <sip:a@b>', '<sip:a@b>;', '<>', '<sip:a b>'])('refuses %j', (v) => {
    expect(errorOf(() => parseNameAddr(v)).code).toBe('ERR_HEADER_VALUE');
  });
});

describe('Contact, Route, CSeq', () => {
  it('parses "*" and lists', () => {
    expect(parseContact(' * ')).toBe('*');
    expect(parseContact('<sip:a@b>;expires=0, "X" <sip:c@d>;q=0.5')).toEqual([
      { name: undefined, uri: 'sip:a@b', params: { expires: '0' } },
      { name: '"X"', uri: 'sip:c@d', params: { q: '0.5' } },
    ]);
  });

  it('parses Route URIs', () => {
    const r = parseRoute('<sip:p1.example.com;lr>, <sip:10.0.0.1:5070;transport=tcp;lr>');
    expect(r.map((x) => [x.uri.host, x.uri.port, x.uri.params])).toEqual([
      ['p1.example.com', undefined, { lr: null }],
      ['10.0.0.1', 5070, { transport: 'tcp', lr: null }],
    ]);
    expect(errorOf(() => parseRoute('<sip:;lr>')).code).toBe('ERR_HEADER_VALUE');
  });

  it('parses and writes CSeq', () => {
    expect(parseCSeq('4711 INVITE')).toEqual({ seq: 4711, method: 'INVITE' });
    expect(stringifyCSeq({ seq: 1, method: 'ACK' })).toBe('1 ACK');
    for (const bad of ['INVITE', '1', '-1 INVITE', '1 INVITE x', '99999999999 INVITE']) expect(errorOf(() => parseCSeq(bad)).code).toBe('ERR_HEADER_VALUE');
  });
});

describe('auth headers', () => {
  it('parses one value, keeping quotes, and writes it back', () => {
    const a = parseAuthHeader('Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", response="6629fae4", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"');
    expect(a).toEqual({
      scheme: 'Digest',
      username: '"bob"',
      realm: '"biloxi.com"',
      nonce: '"dcd98b"',
      uri: '"sip:bob@biloxi.com"',
      response: '"6629fae4"',
      algorithm: 'MD5',
      qop: 'auth',
      nc: '00000001',
      cnonce: '"0a4f113b"',
    });
    expect(parseAuthHeader(stringifyAuthHeader(a))).toEqual(a);
  });

  it('splits several challenges and refuses them where one is expected', () => {
    const value = 'Digest realm="a", nonce="1", algorithm=SHA-256, Digest realm="a", nonce="2"';
    expect(parseAuthHeaders(value).map((c) => c.algorithm ?? 'MD5')).toEqual(['SHA-256', 'MD5']);
    expect(errorOf(() => parseAuthHeader(value)).code).toBe('ERR_HEADER_VALUE');
  });

  it('parses Authentication-Info', () => {
    expect(parseAuthenticationInfo('nextnonce="47364c23432d2e131a5fb210812c", qop=auth, rspauth="abc"')).toEqual({
      nextnonce: '"47364c23432d2e131a5fb210812c"',
      qop: 'auth',
      rspauth: '"abc"',
    });
    expect(stringifyAuthHeader({ nextnonce: '"x"', qop: 'auth' })).toBe('nextnonce="x", qop=auth');
  });

  it.each(['', 'Digest realm', 'Digest realm=', 'Digest realm="a', 'Digest ,realm="a"'])('refuses %j', (v) => {
    expect(errorOf(() => parseAuthHeaders(v)).code).toBe('ERR_HEADER_VALUE');
  });
});

describe('header names', () => {
  it('expands compact forms and lower-cases', () => {
    expect(['i', 'M', 'e', 'l', 'c', 'F', 's', 'k', 't', 'v', 'o', 'u', 'r', 'b', 'x', 'y', 'Call-ID', 'WWW-AUTHENTICATE', 'X-Custom'].map(canonicalHeaderName)).toEqual([
      'call-id', 'contact', 'content-encoding', 'content-length', 'content-type', 'from', 'subject', 'supported', 'to', 'via',
      'event', 'allow-events', 'refer-to', 'referred-by', 'session-expires', 'identity', 'call-id', 'www-authenticate', 'x-custom',
    ]);
  });

  it('writes canonical spellings', () => {
    expect(['call-id', 'cseq', 'www-authenticate', 'max-forwards', 'x-my-header', 'min-se'].map(prettyHeaderName)).toEqual([
      'Call-ID', 'CSeq', 'WWW-Authenticate', 'Max-Forwards', 'X-My-Header', 'Min-SE',
    ]);
  });
});

describe('a bare CR', () => {
  it.each([
    ['via', () => parseVia('SIP/2.0/UDP h\rjunk')],
    ['from', () => parseNameAddr('<sip:a@b>\rjunk')],
    ['contact', () => parseContact('<sip:a@b>\rjunk')],
    ['route', () => parseRoute('<sip:a@b>\rjunk')],
    ['cseq', () => parseCSeq('1 INVITE\rjunk')],
    ['authorization', () => parseAuthHeader('Digest a=b\rjunk')],
    ['authentication-info', () => parseAuthenticationInfo('nextnonce="x"\rjunk')],
  ] as const)('%s: ends no value; what follows it is not dropped', (_name, fn) => {
    expect(errorOf(fn).code).toBe('ERR_HEADER_SYNTAX');
  });
});

describe('SipParseError', () => {
  it('has a literal code, an offset, a name and a cross-copy brand', () => {
    const e = new SipParseError('ERR_TOO_LARGE', 'big', 12, 'via');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.offset, e.header, e.message]).toEqual(['SipParseError', 'ERR_TOO_LARGE', 12, 'via', 'big']);
    expect(isSipParseError(e)).toBe(true);
    // another copy of the package: same brand, different class
    const foreign = Object.assign(new Error('x'), { [Symbol.for('@sipts/message.SipParseError')]: true, code: 'ERR_START_LINE' });
    expect(isSipParseError(foreign)).toBe(true);
    expect(isSipParseError(new Error('x'))).toBe(false);
    expect(isSipParseError(null)).toBe(false);
    expect(PARSE_ERROR_CODES).toContain('ERR_MISSING_HEADER');
  });
});

describe('repeated auth-params (RFC 7616 §3.4: each parameter once)', () => {
  const mark = Symbol.for('@sipts/message.duplicateAuthParam');
  test('a repeated name leaves a non-enumerable mark naming it; a clean header has none', () => {
    const [dup] = parseAuthHeaders('Digest username="a", nonce="x", nonce="y", response="r"');
    expect((dup as unknown as Record<symbol, unknown>)[mark]).toBe('nonce');
    expect(Object.keys(dup as object)).toEqual(['scheme', 'username', 'nonce', 'response']);
    expect(JSON.stringify(dup)).not.toContain('duplicate');
    const [clean] = parseAuthHeaders('Digest username="a", nonce="x", response="r"');
    expect((clean as unknown as Record<symbol, unknown>)[mark]).toBeUndefined();
    const [odd] = parseAuthHeaders('Digest Foo=1, Foo=2');
    expect((odd as unknown as Record<symbol, unknown>)[mark]).toBe('foo');
  });
});

describe('Request-URI host and port (RFC 3261 §25.1, RFC 5118 §4.2)', () => {
  const rq = (uri: string): string =>
    `OPTIONS ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
  test.each(['sip:a@host:99999', 'sip:a@host:123456', 'sip:2001:db8::10', 'sips:host:5060:1', 'sip:a@host:', 'sip:a@[::1'])('%s is refused', (uri) => {
    expect(() => parse(rq(uri))).toThrow(/Request-URI/);
  });
  test.each(['sip:a@host:65535', 'sip:[2001:db8::10]:5060', 'sip:user:pass@host:5060;transport=tcp', 'sip:a@host;x=1:2', 'tel:+1-555:1234', 'SIP:A@HOST:5060?subject=x'])('%s is accepted', (uri) => {
    expect(() => parse(rq(uri))).not.toThrow();
  });
});
