// Robustness: whatever the bytes, parse() returns a message or throws SipParseError; every
// accepted message survives stringify -> parse; limits cut work short. No timing assertions:
// jest's timeout is the guard against a hang, the assertions check where the work stopped.
// FUZZ_RUNS=50000 pnpm exec jest packages/message/test/robustness runs the properties longer.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  parse,
  stringify,
  isSipParseError,
  StreamFramer,
  parseVia,
  parseNameAddr,
  parseContact,
  parseRoute,
  parseCSeq,
  parseAuthHeader,
  parseAuthHeaders,
  parseAuthenticationInfo,
  parseUri,
  stringifyUri,
  SipParseError,
  type SipMessage,
  type SipRequest,
  type Via,
  type NameAddr,
} from '@sipts/message';

const FIXTURES = join(__dirname, 'fixtures');
const CORPUS: Buffer[] = ['rfc4475', 'kirm-extra'].flatMap((dir) =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(join(FIXTURES, dir, f))),
);

const SIPP_INVITE = Buffer.from(
  'INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP 127.0.1.1:5061;branch=z9hG4bK-1075-1-0\r\n' +
    'From: sipp <sip:sipp@127.0.1.1:5061>;tag=1075SIPpTag001\r\n' +
    'To: service <sip:service@127.0.0.1:5060>\r\n' +
    'Call-ID: 1-1075@127.0.1.1\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Contact: sip:sipp@127.0.1.1:5061\r\n' +
    'Max-Forwards: 70\r\n' +
    'Record-Route: <sip:p1.example.com;lr>, "Proxy" <sip:[2001:db8::1]:5070;lr>\r\n' +
    'Proxy-Authorization: Digest username="a", realm="b", nonce="c", uri="sip:x", response="d"\r\n' +
    'Subject: Performance Test\r\n' +
    'Content-Type: application/sdp\r\n' +
    'Content-Length: 13\r\n\r\n' +
    'v=0\r\ns=-\r\nxyz',
);

/** Runs parse and classifies the result; anything but a message or SipParseError throws. */
function tryParse(input: Uint8Array | string): SipMessage | SipParseError {
  try {
    return parse(input);
  } catch (e) {
    if (isSipParseError(e)) return e;
    throw new Error(`parse threw a non-SipParseError: ${String(e)}`);
  }
}

/**
 * Expects `again` (parsed from stringify(m)) to equal `m`. A body that is not UTF-8 (mpart01's
 * binary part) decodes with U+FFFD replacements that re-encode longer, so only its
 * Content-Length changes on a round trip (README, "Bodies"); such messages are compared
 * without it.
 */
function expectSameMessage(again: SipMessage, m: SipMessage): void {
  if (Buffer.byteLength(m.content ?? '') === m.headers['content-length']) {
    expect(again).toEqual(m);
  } else {
    expect({ ...again, headers: { ...again.headers, 'content-length': -1 } }).toEqual({ ...m, headers: { ...m.headers, 'content-length': -1 } });
  }
}

/** After an accepted message: stringify works and its output parses to the same thing. */
function checkRoundTrip(m: SipMessage): void {
  const text = stringify(m);
  const again = tryParse(Buffer.from(text));
  if (isSipParseError(again)) throw new Error(`stringify output does not parse (${again.code}: ${again.message}):\n${text}`);
  expectSameMessage(again, m);
}

const INTERESTING = [13, 10, 32, 9, 58, 59, 44, 34, 60, 62, 92, 61, 64, 47, 0, 0x7f, 0x80, 0xc3, 0xff, 0x25];

/** A corpus message with a few random edits (flip, insert, delete, duplicate, truncate). */
const mutated = fc
  .tuple(
    fc.integer({ min: 0, max: CORPUS.length }),
    fc.array(
      fc.tuple(fc.integer({ min: 0, max: 4 }), fc.nat(), fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })), fc.integer({ min: 1, max: 40 })),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([which, edits]) => {
    let b = Buffer.from(which === CORPUS.length ? SIPP_INVITE : CORPUS[which]!);
    for (const [kind, at, byte, n] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (kind === 0) b[i] = byte;
      else if (kind === 1) b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      else if (kind === 2) b = Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
      else if (kind === 3) b = Buffer.concat([b.subarray(0, i + n), b.subarray(i)]);
      else b = b.subarray(0, i);
    }
    return b;
  });

describe('parse: only a message or a SipParseError', () => {
  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        tryParse(bytes);
        tryParse(Buffer.concat([Buffer.from('INVITE sip:a@b SIP/2.0\r\n'), bytes, Buffer.from('\r\n\r\n')]));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });

  it('on random strings (any UTF-16, lone surrogates included)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        tryParse(s);
        tryParse('OPTIONS sip:a@b SIP/2.0\r\nVia: ' + s + '\r\nFrom: ' + s + '\r\nX: ' + s + '\r\n\r\n');
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
  });

  it('on mutated corpus messages, and every accepted one round-trips through stringify', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        const m = tryParse(bytes);
        if (!isSipParseError(m)) checkRoundTrip(m);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 3000) },
    );
  });

  it('StreamFramer on mutated streams: messages, onInvalid or one onError, never a throw', () => {
    fc.assert(
      fc.property(fc.array(mutated, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), (messages, chunk) => {
        const stream = Buffer.concat(messages);
        let errors = 0;
        const framer = new StreamFramer({
          onMessage: (m) => expect(typeof m.headers).toBe('object'),
          onInvalid: (e) => expect(isSipParseError(e)).toBe(true),
          onError: (e) => {
            expect(isSipParseError(e)).toBe(true);
            errors++;
          },
        });
        for (let i = 0; i < stream.length; i += chunk) framer.push(stream.subarray(i, i + chunk));
        expect(errors).toBeLessThanOrEqual(1);
        expect(framer.bufferedBytes).toBeLessThanOrEqual(framer.maxHeaderBytes + framer.maxContentLength);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
    );
  });
});

describe('header helpers: a value or a SipParseError, parseUri never throws', () => {
  const helpers = [parseVia, parseNameAddr, parseContact, parseRoute, parseCSeq, parseAuthHeader, parseAuthHeaders, parseAuthenticationInfo];
  // strings made of the pieces SIP values are made of, so the scanners get deep
  const sipish = fc
    .array(fc.constantFrom('sip:', 'tel:', 'a', 'Bob', '@', ';', '=', '"', '<', '>', ',', ' ', '\t', '\\', ':', '[', ']', '::1', '?', '&', 'SIP/2.0/UDP ', 'Digest ', '%', '1', '5060', 'branch', 'tag', '\r\n ', 'é'), { maxLength: 24 })
    .map((parts) => parts.join(''));
  it('on random and SIP-ish strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), sipish, fc.constantFrom('sip:a@b', '<sip:a@b>;tag=1', 'SIP/2.0/UDP h;branch=1', 'Digest a=b', '1 INVITE')), (v) => {
        for (const helper of helpers) {
          try {
            helper(v);
          } catch (e) {
            if (!isSipParseError(e)) throw e;
          }
        }
        const uri = parseUri(v);
        if (uri !== undefined) expect(parseUri(stringifyUri(uri))).toEqual(uri);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });
});

describe('parse(stringify(parse(x))) equals parse(x)', () => {
  it('for every accepted corpus message', () => {
    let accepted = 0;
    for (const bytes of [...CORPUS, SIPP_INVITE]) {
      const m = tryParse(bytes);
      if (isSipParseError(m)) continue;
      accepted++;
      const again = parse(stringify(m));
      expectSameMessage(again, m);
    }
    expect(accepted).toBeGreaterThan(35);
  });
});

// ---- Generated messages in the parsed shape: stringify then parse gives them back ----

const tokenChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~'.split('');
const token = fc.array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
const lowerToken = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'.split('')), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
const hostname = fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((a) => '[' + a.map((x) => x.toString(16)).join(':') + ']');
const host = fc.oneof(hostname, ipv4, ipv6);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const uriParams = fc.dictionary(lowerToken, fc.option(lowerToken, { nil: null }), { maxKeys: 3 });
const sipUri = fc
  .record({ user: fc.option(token, { nil: undefined }), host, port, params: uriParams })
  .map(({ user, host: h, port: p, params }) => {
    let s = 'sip:' + (user !== undefined ? user + '@' : '') + h + (p !== undefined ? ':' + p : '');
    for (const k in params) s += ';' + k + (params[k] === null ? '' : '=' + params[k]);
    return s;
  });
// Display names as the parser returns them: token words, or a quoted string (any text).
const quoted = fc.string({ maxLength: 12 }).filter((s) => !/[\r\n]/.test(s) && !/[\ud800-\udfff]/.test(s)).map((s) => '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"');
const displayName = fc.option(fc.oneof(fc.array(token, { minLength: 1, maxLength: 3 }).map((w) => w.join(' ')), quoted), { nil: undefined });
const headerParams = fc.dictionary(lowerToken.filter((k) => k !== '__proto__'), fc.option(token, { nil: null }), { maxKeys: 3 });
const nameAddr: fc.Arbitrary<NameAddr> = fc.record({ name: displayName, uri: sipUri, params: headerParams });
const via: fc.Arbitrary<Via> = fc.record({
  version: fc.constant('2.0'),
  protocol: fc.constantFrom('UDP', 'TCP', 'TLS', 'WS', 'WSS', 'SCTP'),
  host,
  port,
  params: fc.record({ branch: token.map((t) => 'z9hG4bK' + t) }),
});
const rawValue = fc
  .string({ maxLength: 40 })
  .map((s) => s.replace(/[\r\n\ud800-\udfff]/g, '').trim())
  .filter((s) => s.length > 0);
const bodyText = fc.string({ unit: 'grapheme', maxLength: 200 });

const generated: fc.Arbitrary<SipRequest> = fc
  .record({
    method: fc.constantFrom('INVITE', 'REGISTER', 'OPTIONS', 'BYE', 'MESSAGE'),
    uri: sipUri,
    via: fc.array(via, { minLength: 1, maxLength: 4 }),
    from: nameAddr,
    to: nameAddr,
    callId: fc.tuple(token, hostname).map(([a, b]) => a + '@' + b),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    contact: fc.array(nameAddr, { minLength: 1, maxLength: 3 }),
    maxForwards: fc.integer({ min: 0, max: 255 }).map(String),
    extra: fc.dictionary(lowerToken.map((t) => 'x-' + t), rawValue, { maxKeys: 3 }),
    content: bodyText,
  })
  .map((r) => {
    const headers: SipRequest['headers'] = {
      via: r.via,
      from: r.from,
      to: r.to,
      'call-id': r.callId,
      cseq: { seq: r.seq, method: r.method },
      contact: r.contact,
      'max-forwards': r.maxForwards,
      ...r.extra,
      'content-length': Buffer.byteLength(r.content),
    };
    return { method: r.method, uri: r.uri, version: '2.0', headers, content: r.content };
  });

describe('generated messages', () => {
  it('stringify then parse returns the same object (UTF-8 names and bodies included)', () => {
    fc.assert(
      fc.property(generated, (m) => {
        const text = stringify(m);
        expect(parse(Buffer.from(text))).toEqual(m);
        expect(parse(text)).toEqual(m);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
  });
});

describe('bounded work on hostile input', () => {
  const MB = 1024 * 1024;

  it('refuses a 1 MB header line at the header limit, not at its end', () => {
    const line = Buffer.concat([Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nX: '), Buffer.alloc(MB, 0x61), Buffer.from('\r\n\r\n')]);
    const err = tryParse(line) as SipParseError;
    expect(err.code).toBe('ERR_TOO_LARGE');
    expect(err.offset).toBe(60480);
    const framer = new StreamFramer({ onMessage: () => undefined, onError: () => undefined });
    for (let i = 0; i < line.length; i += 65536) framer.push(line.subarray(i, i + 65536));
    expect(framer.stopped).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });

  it.each([
    ['Via: SIP/2.0/UDP h' + ';a'.repeat(20000), 'accept'],
    ['Via: SIP/2.0/UDP h' + ';'.repeat(20000), 'ERR_HEADER_VALUE'],
    ['Via: ' + 'SIP/2.0/UDP h,'.repeat(3000) + 'SIP/2.0/UDP h', 'accept'],
    ['Contact: ' + '<sip:a@b>,'.repeat(4000) + '<sip:a@b>', 'accept'],
    ['Contact: ' + '<'.repeat(40000), 'ERR_HEADER_VALUE'],
    ['From: "' + '\\"'.repeat(20000), 'ERR_HEADER_VALUE'],
    ['From: ' + 'a '.repeat(20000) + '<sip:a@b>', 'accept'],
    ['From: ' + 'a '.repeat(20000), 'ERR_HEADER_VALUE'],
    ['To: <sip:' + 'a'.repeat(50000) + '>', 'accept'],
    ['X: ' + ' '.repeat(50000) + 'x', 'accept'],
    ['X: x' + '\r\n '.repeat(15000), 'accept'],
    ['Authorization: Digest ' + 'a=b,'.repeat(10000) + 'a=b', 'accept'],
    ['Route: ' + '<sip:a;lr>,'.repeat(4000) + '<sip:a;lr>', 'accept'],
  ])('%#: a long pathological header is parsed once, linearly', (header, expected) => {
    const input = 'OPTIONS sip:a@b SIP/2.0\r\n' + header + '\r\nContent-Length: 0\r\n\r\n';
    const result = tryParse(input);
    expect(isSipParseError(result) ? result.code : 'accept').toBe(expected);
  });
});

describe('the single-pass Route URI agrees with the general path', () => {
  // A display name sends a Route value through the general path (scanAddr, then uriAt);
  // without one, `<sip:...>` takes the single pass. Both must accept and reject alike and
  // build the same URI and parameters.
  const piece = (chars: string, max: number): fc.Arbitrary<string> =>
    fc.array(fc.constantFrom(...chars.split('')), { maxLength: max }).map((a) => a.join(''));
  const uriText = fc
    .tuple(
      fc.constantFrom('sip:', 'SIP:', 'sips:', 'sIpS:', 'tel:', 'sipx:', 'si:'),
      fc.option(piece('ab1.-_;:=@%+', 6), { nil: undefined }),
      piece('ab1.-_[]:', 8),
      fc.option(piece('0123456789x', 6), { nil: undefined }),
      fc.array(fc.tuple(piece('lrtagfTRANSPORT+.-_!~@?', 5), fc.option(piece('ab1=.-_@?,&"< ', 5), { nil: undefined })), { maxLength: 3 }),
      fc.option(piece('ab=&', 4), { nil: undefined }),
    )
    .map(([scheme, user, host, port, params, headers]) =>
      scheme + (user === undefined ? '' : user + '@') + host + (port === undefined ? '' : ':' + port) + params.map(([n, v]) => ';' + n + (v === undefined ? '' : '=' + v)).join('') + (headers === undefined ? '' : '?' + headers),
    );
  const outcome = (value: string): unknown => {
    try {
      return parseRoute(value).map((r) => ({ uri: r.uri, params: r.params }));
    } catch (e) {
      if (isSipParseError(e)) return e.code;
      throw e;
    }
  };

  it('on generated URIs', () => {
    fc.assert(
      fc.property(uriText, fc.constantFrom('', ';lr', ';x=1;y'), (uri, headerParams) => {
        expect(outcome(`<${uri}>${headerParams}`)).toEqual(outcome(`"n" <${uri}>${headerParams}`));
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 3000) },
    );
  });

  it.each([
    'sip:proxy.example.com;lr;ftag=as1a2b3c4d;did=0f3.b1c2',
    'sips:alice@10.0.0.1:5061;transport=tls;lr',
    'sip:a@b@c',
    'sip:a;x=y@h',
    'sip:h;x=a@b',
    'sip:h:99999',
    'sip:h:',
    'sip:h;',
    'sip:h;x=',
    'sip:h;=x',
    'sip:h;a=b=c',
    'sip:h?x=y',
    'sip:[2001:db8::1]:5060;lr',
    'sip:u:pw@h',
    'sip:h;é=1',
  ])('%s', (uri) => {
    expect(outcome(`<${uri}>`)).toEqual(outcome(`"n" <${uri}>`));
  });
});
