import { Buffer } from 'node:buffer';
import {
  parse,
  stringify,
  SipParseError,
  isSipParseError,
  isRequest,
  isResponse,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '@sipts/message';

const crlf = (lines: string[]): string => lines.join('\r\n');

/** The INVITE printed in the `sip` README (doc/api.markdown), byte for byte. */
const README_INVITE = crlf([
  'INVITE sip:service@172.16.2.2:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-1075-1-0',
  'From: sipp <sip:sipp@127.0.1.1:5060>;tag=1075SIPpTag001',
  'To: sut <sip:service@172.16.2.2:5060>',
  'Call-ID: 1-1075@127.0.1.1',
  'CSeq: 1 INVITE',
  'Contact: sip:sipp@127.0.1.1:5060',
  'Max-Forwards: 70',
  'Subject: Performance Test',
  'Content-Type: application/sdp',
  'Content-Length:   127',
  '',
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.1.1',
  's=-',
  'c=IN IP4 127.0.1.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
]);

function expectError(input: string | Uint8Array, code: SipParseError['code']): SipParseError {
  try {
    parse(input);
  } catch (e) {
    expect(e).toBeInstanceOf(SipParseError);
    expect(isSipParseError(e)).toBe(true);
    const err = e as SipParseError;
    expect(err.code).toBe(code);
    expect(typeof err.offset).toBe('number');
    return err;
  }
  throw new Error('expected a SipParseError ' + code);
}

const OPTIONS = crlf([
  'OPTIONS sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@example.com>',
  'From: Alice <sip:alice@example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 63104 OPTIONS',
  'Content-Length: 0',
  '',
  '',
]);

describe('parse: the sip README example', () => {
  it('parses to exactly the object the sip README prints', () => {
    // The README shows the body without its final CRLF: Content-Length 127 cuts it there.
    const input = README_INVITE + '\r\n';
    const expected = {
      method: 'INVITE',
      uri: 'sip:service@172.16.2.2:5060',
      version: '2.0',
      headers: {
        via: [{ version: '2.0', protocol: 'UDP', host: '127.0.1.1', port: 5060, params: { branch: 'z9hG4bK-1075-1-0' } }],
        from: { name: 'sipp', uri: 'sip:sipp@127.0.1.1:5060', params: { tag: '1075SIPpTag001' } },
        to: { name: 'sut', uri: 'sip:service@172.16.2.2:5060', params: {} },
        'call-id': '1-1075@127.0.1.1',
        cseq: { seq: 1, method: 'INVITE' },
        contact: [{ name: undefined, uri: 'sip:sipp@127.0.1.1:5060', params: {} }],
        'max-forwards': '70',
        subject: 'Performance Test',
        'content-type': 'application/sdp',
        'content-length': 127,
      },
      content:
        'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.1.1\r\ns=-\r\nc=IN IP4 127.0.1.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000',
    };
    for (const form of [input, Buffer.from(input), new Uint8Array(Buffer.from(input))]) {
      const m = parse(form);
      expect(m).toStrictEqual(expected);
      // key order as printed, `name: undefined` present on the contact
      expect(Object.keys(m.headers)).toEqual(Object.keys(expected.headers));
      expect(Object.keys(m)).toEqual(['method', 'uri', 'version', 'headers', 'content']);
      expect('name' in (m.headers.contact as object[])[0]!).toBe(true);
    }
  });

  it('stringifies the printed object back to a message that parses to the same object', () => {
    const m = parse(README_INVITE + '\r\n');
    const text = stringify(m);
    expect(text).toContain('Content-Length: 127\r\n');
    expect(parse(text)).toStrictEqual(m);
  });
});

describe('parse: requests and responses', () => {
  it('narrows with isRequest / isResponse and "method" in m', () => {
    const rq: SipMessage = parse(OPTIONS);
    expect(isRequest(rq)).toBe(true);
    expect(isResponse(rq)).toBe(false);
    if ('method' in rq) expect(rq.method).toBe('OPTIONS');
    const rs = parse('SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n') as SipResponse;
    expect(isResponse(rs)).toBe(true);
    expect(rs).toMatchObject({ status: 486, reason: 'Busy Here', version: '2.0', content: '' });
    expect(Object.keys(rs)).toEqual(['status', 'reason', 'version', 'headers', 'content']);
  });

  it('keeps unknown headers raw and joins repeats with ", " in order', () => {
    const m = parse(crlf(['MESSAGE sip:a@b SIP/2.0', 'X-Thing: one', 'x-thing: two', 'X-THING: three', 'Content-Length: 0', '', '']));
    expect(m.headers['x-thing']).toBe('one, two, three');
  });

  it('lower-cases names, expands compact forms and merges list headers in order', () => {
    const m = parse(
      crlf([
        'INVITE sip:a@b SIP/2.0',
        'v: SIP/2.0/UDP one.example.com;branch=z9hG4bK1',
        'VIA: SIP/2.0/TCP two.example.com;branch=z9hG4bK2, SIP/2.0/TLS three.example.com:5061;branch=z9hG4bK3',
        'f: <sip:x@y>;tag=1',
        't: sip:z@w',
        'i: callid',
        'm: <sip:c1@h>, <sip:c2@h>',
        'Contact: <sip:c3@h>',
        'Route: <sip:p1;lr>',
        'route: <sip:p2;lr>, <sip:p3;lr>',
        'l: 0',
        '',
        '',
      ]),
    ) as SipRequest;
    expect(m.headers.via!.map((v) => v.host)).toEqual(['one.example.com', 'two.example.com', 'three.example.com']);
    expect(m.headers.via![2]).toEqual({ version: '2.0', protocol: 'TLS', host: 'three.example.com', port: 5061, params: { branch: 'z9hG4bK3' } });
    expect((m.headers.contact as { uri: string }[]).map((c) => c.uri)).toEqual(['sip:c1@h', 'sip:c2@h', 'sip:c3@h']);
    expect(m.headers.route!.map((r) => r.uri.host)).toEqual(['p1', 'p2', 'p3']);
    expect(m.headers.route![0]!.uri.params).toEqual({ lr: null });
    expect(m.headers['call-id']).toBe('callid');
    expect(m.headers['content-length']).toBe(0);
  });

  it('parses auth headers keeping quotes, several challenges in one value', () => {
    const m = parse(
      crlf([
        'SIP/2.0 401 Unauthorized',
        'WWW-Authenticate: Digest realm="atlanta.com", nonce="84a4cc6f", qop="auth", algorithm=MD5, Digest realm="b", nonce="x"',
        'Proxy-Authenticate: Digest realm="p",nonce="n"',
        'Authentication-Info: nextnonce="47364c23432d2e131a5fb210812c", qop=auth',
        'Content-Length: 0',
        '',
        '',
      ]),
    );
    expect(m.headers['www-authenticate']).toEqual([
      { scheme: 'Digest', realm: '"atlanta.com"', nonce: '"84a4cc6f"', qop: '"auth"', algorithm: 'MD5' },
      { scheme: 'Digest', realm: '"b"', nonce: '"x"' },
    ]);
    expect(m.headers['proxy-authenticate']).toEqual([{ scheme: 'Digest', realm: '"p"', nonce: '"n"' }]);
    expect(m.headers['authentication-info']).toEqual({ nextnonce: '"47364c23432d2e131a5fb210812c"', qop: 'auth' });
  });

  it('skips leading CRLFs before the start line (RFC 3261 §7.5)', () => {
    expect((parse('\r\n\r\n' + OPTIONS) as SipRequest).method).toBe('OPTIONS');
  });

  it('accepts a Refer-To name-addr, IPv6 Via hosts and a Via without port', () => {
    const m = parse(
      crlf([
        'REFER sip:a@b SIP/2.0',
        'Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKx;rport',
        'Via: SIP/2.0/UDP host',
        'r: "Bob" <sip:bob@example.com?Replaces=abc>',
        'Content-Length: 0',
        '',
        '',
      ]),
    );
    expect(m.headers.via![0]).toEqual({ version: '2.0', protocol: 'UDP', host: '[2001:db8::1]', port: 5070, params: { branch: 'z9hG4bKx', rport: null } });
    expect(m.headers.via![1]).toStrictEqual({ version: '2.0', protocol: 'UDP', host: 'host', port: undefined, params: {} });
    expect(m.headers['refer-to']).toEqual({ name: '"Bob"', uri: 'sip:bob@example.com?Replaces=abc', params: {} });
  });
});

describe('parse: bodies and Content-Length in bytes', () => {
  const body = 'Grüße aus Köln 😀';
  const bytes = Buffer.byteLength(body);

  it('cuts the body by bytes and decodes it as UTF-8', () => {
    const text = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Type: text/plain;charset=utf-8\r\nContent-Length: ' + bytes + '\r\n\r\n' + body + 'TRAILING';
    expect(bytes).toBeGreaterThan(body.length);
    expect(parse(Buffer.from(text)).content).toBe(body);
    expect(parse(text).content).toBe(body);
  });

  it('takes the rest of the datagram when Content-Length is absent, and records its length', () => {
    const m = parse(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Type: text/plain\r\n\r\n' + body));
    expect(m.content).toBe(body);
    expect(m.headers['content-length']).toBe(bytes);
  });

  it('stringify writes Content-Length as the UTF-8 byte length', () => {
    const text = stringify({ method: 'MESSAGE', uri: 'sip:a@b', headers: { 'content-type': 'text/plain' }, content: body });
    expect(text).toContain('Content-Length: ' + bytes + '\r\n');
    expect(parse(Buffer.from(text)).content).toBe(body);
  });

  it('rejects a Content-Length beyond the datagram (RFC 4475 §3.1.2.2)', () => {
    expectError('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort', 'ERR_CONTENT_LENGTH');
    // a multi-byte char counted in bytes: 2 chars, 5 bytes
    expectError(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 7\r\n\r\nü😀'), 'ERR_CONTENT_LENGTH');
    expect(parse(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nü😀')).content).toBe('ü');
  });

  it('round-trips UTF-8 display names and reason phrases', () => {
    const rs = parse(
      Buffer.from(
        crlf([
          'SIP/2.0 200 Всё хорошо',
          'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
          'From: "Jörg Müller" <sip:j@h>;tag=1',
          'To: "山田" <sip:y@h>;tag=2',
          'Call-ID: x',
          'CSeq: 1 INVITE',
          'Content-Length: 0',
          '',
          '',
        ]),
      ),
    ) as SipResponse;
    expect(rs.reason).toBe('Всё хорошо');
    expect(rs.headers.from!.name).toBe('"Jörg Müller"');
    const again = parse(Buffer.from(stringify(rs)));
    expect(again).toStrictEqual(rs);
    // a display name set by hand that needs quoting gets quoted
    const text = stringify({ ...rs, headers: { ...rs.headers, from: { name: 'Zoë, "Z"', uri: 'sip:z@h', params: {} } } });
    expect(text).toContain('From: "Zoë, \\"Z\\"" <sip:z@h>\r\n');
    expect(parse(text).headers.from!.name).toBe('"Zoë, \\"Z\\""');
  });

  it('accepts an unquoted UTF-8 display name and holds it quoted, as it goes out (RFC 3261 §25.1)', () => {
    const m = parse(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nTo: 山田 太郎 <sip:y@h>\r\nContent-Length: 0\r\n\r\n'));
    expect(m.headers.to).toEqual({ name: '"山田 太郎"', uri: 'sip:y@h', params: {} });
    expect(stringify(m)).toContain('To: "山田 太郎" <sip:y@h>\r\n');
  });
});

describe('parse: rejections', () => {
  it.each([
    ['INVITE sip:a@b SIP/2.0 \r\n\r\n', 'ERR_START_LINE'],
    ['INVITE  sip:a@b SIP/2.0\r\n\r\n', 'ERR_START_LINE'],
    ['INVITE <sip:a@b> SIP/2.0\r\n\r\n', 'ERR_START_LINE'],
    ['INVITE sip:a@b\r\n\r\n', 'ERR_START_LINE'],
    ['SIP/2.0 20 OK\r\n\r\n', 'ERR_START_LINE'],
    ['SIP/2.0 2000 OK\r\n\r\n', 'ERR_START_LINE'],
    ['SIP/2.0 700 Nope\r\n\r\n', 'ERR_START_LINE'],
    ['garbage\r\n\r\n', 'ERR_START_LINE'],
    ['INVITE sip:a@b SIP/2.0\rX: y\r\n\r\n', 'ERR_START_LINE'],
    ['INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\n: empty name\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\n folded-first: x\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nX: a\nInjected: b\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    // a bare CR after a structured value ends no line (the byte after it is not swallowed)
    ['INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\rXVia: SIP/2.0/UDP h\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nCall-ID: abc\rXVia: SIP/2.0/UDP h\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nFrom: <sip:a@b>\rXVia: SIP/2.0/UDP h\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: 0\rXVia: SIP/2.0/UDP h\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nContact: *\rXVia: SIP/2.0/UDP h\r\n\r\n', 'ERR_HEADER_SYNTAX'],
    ['INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nVia: HTTP/1.1/TCP h\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:99999\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nFrom: <sip:a@b\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nTo: a, b <sip:a@b>\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nCSeq: INVITE\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nCSeq: 4294967296 INVITE\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nCall-ID: a b\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nRoute: <tel:+1>, <sip:;>\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nContact: *, <sip:a@b>\r\n\r\n', 'ERR_HEADER_VALUE'],
    ['INVITE sip:a@b SIP/2.0\r\nCall-ID: a\r\ni: b\r\n\r\n', 'ERR_DUPLICATE_HEADER'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n', 'ERR_CONTENT_LENGTH'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n', 'ERR_CONTENT_LENGTH'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab', 'ERR_CONTENT_LENGTH'],
    ['INVITE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n', 'ERR_INCOMPLETE'],
    ['', 'ERR_INCOMPLETE'],
  ] as const)('%j -> %s', (input, code) => {
    expectError(input, code);
    expectError(Buffer.from(input), code);
  });

  it('accepts identical repeated Content-Length values', () => {
    expect(parse('INVITE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 2\r\n\r\nab').content).toBe('ab');
  });

  it('reports a header error offset inside the header it concerns', () => {
    const input = 'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;;\r\n\r\n';
    const err = expectError(input, 'ERR_HEADER_VALUE');
    expect(err.header).toBe('via');
    expect(err.offset).toBeGreaterThan(input.indexOf('Via'));
    expect(err.offset).toBeLessThan(input.indexOf('\r\n\r\n'));
  });

  it('refuses a header section over maxHeaderBytes (and sip\'s maxBytesHeaders)', () => {
    const big = 'OPTIONS sip:a@b SIP/2.0\r\nX: ' + 'a'.repeat(200) + '\r\n\r\n';
    expect(() => parse(big, { maxHeaderBytes: 100 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
    expect(() => parse(Buffer.from(big), { maxBytesHeaders: 100 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
    expect(() => parse(Buffer.from(big.slice(0, -4)), { maxBytesHeaders: 100 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
    expect(parse(big, { maxHeaderBytes: 1000 })).toBeDefined();
    // UTF-8 counts in bytes for string input too: 60 chars, 180 bytes
    const wide = 'OPTIONS sip:a@b SIP/2.0\r\nX: ' + '漢'.repeat(60) + '\r\n\r\n';
    expect(() => parse(wide, { maxHeaderBytes: 150 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
  });

  it('refuses a body over maxContentLength', () => {
    const m = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 20\r\n\r\n' + 'x'.repeat(20);
    expect(() => parse(m, { maxContentLength: 10 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
    expect(() => parse(Buffer.from(m), { maxContentLength: 10 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
  });

  it('throws SipParseError for non-byte input', () => {
    expect(() => parse(42 as unknown as string)).toThrow(SipParseError);
  });

  it('does not let a header named __proto__ or constructor touch the prototype', () => {
    const m = parse('OPTIONS sip:a@b SIP/2.0\r\n__proto__: x\r\nconstructor: y\r\nconstructor: z\r\nContent-Length: 0\r\n\r\n');
    expect(Object.getPrototypeOf(m.headers)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(m.headers, '__proto__')?.value).toBe('x');
    expect(m.headers.constructor).toBe('y, z');
  });
});
