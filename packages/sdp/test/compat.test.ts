// The sip-compatible parse / stringify against sip@0.0.6's own sdp.js, on a corpus, on odd
// inputs and on random ones: the same objects (keys, key order, undefined values, numbers) and
// the same text; where sip throws, ours throws an SdpError.
import { inspect, isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { isSdpError, parse, stringify, type SdpErrorCode, type SipSdp } from '@sipts/sdp';
import { isJsWhitespace, splitJsWhitespace } from '../src/compat.js';
import { CORPUS, PHONE_OFFER } from './corpus.js';

interface SipSdpModule {
  parse(sdp: string): unknown;
  stringify(sdp: unknown): string;
}
// sip@0.0.6 is a CommonJS package without types.
const sip = require('sip/sdp') as SipSdpModule;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function run(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Objects equal including key order and keys holding undefined. */
function sameShape(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) && inspect(a, { depth: null }) === inspect(b, { depth: null });
}

function expectSameParse(text: string): void {
  const theirs = run(() => sip.parse(text));
  const ours = run(() => parse(text));
  if (theirs.ok) {
    if (!ours.ok) throw new Error(`ours threw on ${JSON.stringify(text)}: ${String(ours.error)}`);
    if (!sameShape(ours.value, theirs.value)) {
      throw new Error(`parse differs on ${JSON.stringify(text)}:\nsip:  ${inspect(theirs.value, { depth: null })}\nours: ${inspect(ours.value, { depth: null })}`);
    }
  } else {
    if (ours.ok || !isSdpError(ours.error)) throw new Error(`sip threw on ${JSON.stringify(text)}, ours did not throw an SdpError`);
  }
}

function expectSameStringify(object: unknown, copy: unknown = structuredClone(object)): void {
  const theirs = run(() => sip.stringify(object));
  const ours = run(() => stringify(copy as SipSdp));
  if (theirs.ok) {
    if (!ours.ok) throw new Error(`ours threw on ${inspect(object)}: ${String(ours.error)}`);
    expect(ours.value).toBe(theirs.value);
  } else {
    if (ours.ok || !isSdpError(ours.error)) throw new Error(`sip threw on ${inspect(object)}, ours did not throw an SdpError`);
  }
}

const ODD_INPUTS: string[] = [
  '',
  '\r\n',
  'v=0',
  'v=0\n',
  // LF-only: sip splits on CRLF only, so this is one line and `.` stops at the first LF
  PHONE_OFFER.replaceAll('\r\n', '\n'),
  'v=0\r\no=\r\ns=\r\nc=\r\nt=\r\n',
  'v=0\r\no= - 1  2 IN\tIP4 a b c \r\nc=IN  IP4\u00a0192.0.2.1\u3000x\r\n',
  'v=0\r\no=a\u2028b c\r\ns=x\u2029y\r\ni=a\rb\r\n',
  'v=0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\nb=AS:1\r\nb=AS:2\r\na=x\r\nv=1\r\no=a b c\r\n',
  'a=session-level first\r\nv=0\r\n',
  '1=digit type\r\n_=underscore\r\nX=upper\r\n==x\r\n a=leading space\r\nab=no\r\n',
  'v=0\r\nm=video 49170/2 RTP/AVP 31\r\n',
  'v=0\r\nm=video 49170/0 RTP/AVP 31\r\n',
  'v=0\r\nm=audio 08 RTP/AVP 00 08 101\r\n',
  'v=0\r\nm=audio  1   RTP/AVP 0   8  x 9\r\n',
  'v=0\r\nm=audio 1 RTP/AVP 0 8 101x 7\r\n',
  'v=0\r\nm=audio 1 RTP/AVP 0\t8\r\n',
  'v=0\r\nm=audio 99999999999999999999999 RTP/AVP 123456789012345678901234567890\r\n',
  'v=0\r\nm=a_1 1 x 0\r\n',
  'v=0\r\nm=audio 1 RTP/AVP 0\r\nm=video 2 RTP/AVP 1\r\na=y\r\nm=text 3 RTP/AVP 2\r\n',
  // where sip throws (TypeError on a null match)
  'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n',
  'v=0\r\nm=audio 1/12 RTP/AVP 0\r\n',
  'v=0\r\nm=audio 1 RTP/AVP  0\r\n',
  'v=0\r\nm=audio x RTP/AVP 0\r\n',
  'v=0\r\nm=x-foo 1 RTP/AVP 0\r\n',
  'v=0\r\nm=\r\n',
  'v=0\r\nm=audio 1 RTP/AVP\r\n',
];

describe('parse: same objects as sip/sdp', () => {
  test.each(CORPUS)('$name', ({ text }) => {
    expectSameParse(text);
  });

  test.each(ODD_INPUTS.map((text) => [JSON.stringify(text).slice(0, 70), text]))('odd input %s', (_name, text) => {
    expectSameParse(text);
  });

  test('the shape, spelled out', () => {
    expect(parse('v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\nm=video 49170/2 RTP/AVP 31 32\r\na=recvonly\r\n')).toStrictEqual({
      m: [{ media: 'video', port: 49170, portnum: 2, proto: 'RTP/AVP', fmt: [31, 32], a: ['recvonly'] }],
      v: '0',
      o: { username: '-', id: '1', version: '2', nettype: 'IN', addrtype: 'IP4', address: '192.0.2.1' },
    });
  });

  test('where sip throws a TypeError, ours throws ERR_MEDIA with the line', () => {
    let code: SdpErrorCode | undefined;
    let line = -1;
    try {
      parse(CORPUS.find((c) => c.name === 'data channel offer')?.text ?? '');
    } catch (e) {
      if (isSdpError(e)) ({ code, line } = e);
    }
    expect({ code, line }).toEqual({ code: 'ERR_MEDIA', line: 6 });
    expect(() => sip.parse('v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n')).toThrow(TypeError);
  });

  test('bytes are read as UTF-8 text; limits apply', () => {
    expect(parse(Buffer.from(PHONE_OFFER))).toEqual(parse(PHONE_OFFER));
    expect(() => parse(PHONE_OFFER, { maxBytes: 10 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_LARGE' }) as Error);
    expect(() => parse(PHONE_OFFER, { maxLines: 3 })).toThrow(expect.objectContaining({ code: 'ERR_TOO_MANY_LINES', line: 4 }) as Error);
    expect(() => parse(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error);
  });

  test('random line soup: same object, or sip throws and ours throws an SdpError', () => {
    const char = fc.constantFrom('v', 'o', 'm', 'a', 'c', 'b', 't', 's', '1', '_', '=', ' ', '  ', '\t', '/', '0', '8', '49170', 'audio', 'RTP/AVP', 'IN', 'IP4', '\u00a0', '\u2028', '\r', '\n', 'x', ':');
    const line = fc.array(char, { maxLength: 12 }).map((cs) => cs.join(''));
    const typed = fc
      .tuple(fc.constantFrom('v', 'o', 'm', 'a', 'c', 'b', 's', 't', 'k', 'z', '1'), line)
      .map(([t, rest]) => `${t}=${rest}`);
    const mLine = fc
      .tuple(
        fc.constantFrom('audio', 'video', 'a-b', ''),
        fc.constantFrom(' ', '  ', '\t'),
        fc.constantFrom('0', '49170', '1/2', '1/23', '007', 'x'),
        fc.constantFrom(' ', '  '),
        fc.constantFrom('RTP/AVP', 'udptl', ''),
        fc.constantFrom(' ', '  ', '\t'),
        fc.array(fc.constantFrom('0', '8', '101', 't38', ' ', '  '), { maxLength: 6 }),
      )
      .map(([media, s1, port, s2, proto, s3, fmts]) => `m=${media}${s1}${port}${s2}${proto}${s3}${fmts.join(' ')}`);
    const text = fc.array(fc.oneof(typed, mLine, line), { maxLength: 12 }).map((ls) => ls.join('\r\n'));
    fc.assert(
      fc.property(text, (t) => {
        expectSameParse(t);
      }),
      { numRuns: 3000 },
    );
  });

  test('random full-unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (t) => {
        expectSameParse('v=0\r\n' + t);
        expectSameParse('o=' + t);
        expectSameParse('m=audio 1 RTP/AVP ' + t);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('stringify: same text as sip/sdp', () => {
  // sip cannot parse a data channel or a T.38 m= line (non-numeric formats)
  test.each(CORPUS.filter((c) => run(() => sip.parse(c.text)).ok))('$name, parsed by sip', ({ text }) => {
    expectSameStringify(sip.parse(text));
  });

  const objects: Array<[string, unknown]> = [
    ['empty m', { m: [] }],
    ['defaults', { m: [{ port: 1000, fmt: [0] }], o: {}, c: {} }],
    ['numbers and arrays', { v: 1, s: 42, b: ['AS:1', 'TIAS:2'], o: [{ id: 1, version: 2, address: 'x' }, { username: 'u' }], m: [{ media: 'video', port: '5', proto: '', fmt: [], a: 'single' }] }],
    ['null fields', { v: null, s: null, m: [{ port: 1, fmt: [1], c: { address: null }, b: null }] }],
    ['portnum is not written (as sip)', { m: [{ media: 'video', port: 49170, portnum: 2, proto: 'RTP/AVP', fmt: [31] }] }],
    ['key order does not matter', { a: ['z'], m: [], k: 'k', t: '1 2', c: { address: '192.0.2.1' }, v: 0 }],
    ['objects and sparse arrays', { s: { toString: () => 'named' }, a: [, 'x'], m: [{ port: 1, fmt: [1, , 2] }] }],
    // where sip throws
    ['no m', {}],
    ['m not an array', { m: 'x' }],
    ['no fmt', { m: [{ port: 1 }] }],
    ['null o', { o: null, m: [] }],
    ['null medium', { m: [null] }],
    ['undefined medium', { m: [undefined] }],
  ];
  test.each(objects)('%s', (_name, object) => {
    // functions cannot be structured-cloned: give both the same object (neither mutates it)
    expectSameStringify(object, object);
  });

  test('not an object', () => {
    for (const bad of [null, undefined, 'v=0', 1]) {
      expect(() => stringify(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) as Error);
    }
    let cause: unknown;
    try {
      stringify({} as SipSdp);
    } catch (e) {
      cause = (e as Error).cause;
    }
    expect(cause).toBeInstanceOf(TypeError);
  });

  test('random objects', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null), fc.constant(undefined), fc.boolean());
    const origin = fc.record(
      { username: scalar, id: scalar, version: scalar, nettype: scalar, addrtype: scalar, address: scalar },
      { requiredKeys: [] },
    );
    const conn = fc.record({ nettype: scalar, addrtype: scalar, address: scalar }, { requiredKeys: [] });
    const lineValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
    const media = fc.record(
      {
        media: scalar,
        port: scalar,
        portnum: scalar,
        proto: scalar,
        fmt: fc.oneof(fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxLength: 4 }), scalar),
        i: lineValue,
        c: fc.oneof(conn, scalar),
        b: lineValue,
        k: lineValue,
        a: lineValue,
      },
      { requiredKeys: [] },
    );
    const sdp = fc.record(
      {
        v: scalar,
        o: fc.oneof(origin, fc.array(origin, { maxLength: 2 }), scalar),
        s: lineValue,
        i: lineValue,
        u: lineValue,
        e: lineValue,
        p: lineValue,
        c: fc.oneof(conn, scalar),
        b: lineValue,
        t: lineValue,
        r: lineValue,
        z: lineValue,
        k: lineValue,
        a: lineValue,
        m: fc.oneof(fc.array(media, { maxLength: 3 }), scalar),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(sdp, (object) => {
        expectSameStringify(object);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the character classes behind sip expressions', () => {
  test('isJsWhitespace is \\s for every UTF-16 code unit', () => {
    const differing: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (/\s/.test(String.fromCharCode(c)) !== isJsWhitespace(c)) differing.push(c);
    }
    expect(differing).toEqual([]);
  });

  test('splitJsWhitespace is split(/\\s+/)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', '\u00a0', '\u3000', '\ufeff', '\u2028') }), (s) => {
        expect(splitJsWhitespace(s)).toEqual(s.split(/\s+/));
      }),
      { numRuns: 2000 },
    );
  });
});
