// parseSdp / stringifySdp: the typed model, lossless round trips, errors with code and line.
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_LINES,
  isSdpError,
  parseSdp,
  SdpError,
  stringifySdp,
  type SdpErrorCode,
  type SdpSession,
} from '@sipts/sdp';
import { CORPUS, MULTI_STREAM_OFFER, PHONE_OFFER, SESSION_LEVEL_ODDITIES } from './corpus.js';

function failure(fn: () => unknown): { code: SdpErrorCode; line: number } | undefined {
  try {
    fn();
  } catch (e) {
    if (isSdpError(e)) return { code: e.code, line: e.line };
    throw e;
  }
  return undefined;
}

describe('parseSdp: the typed model', () => {
  test('session-level lines in order, typed', () => {
    const s = parseSdp(MULTI_STREAM_OFFER);
    expect(s.lines).toEqual([
      { type: 'v', version: 0 },
      {
        type: 'o',
        username: 'alice',
        sessionId: '2890844526',
        sessionVersion: '2890844526',
        netType: 'IN',
        addrType: 'IP4',
        address: '198.51.100.7',
      },
      { type: 's', value: '-' },
      { type: 'c', netType: 'IN', addrType: 'IP4', address: '198.51.100.7' },
      { type: 'b', bwtype: 'AS', bandwidth: 2048 },
      { type: 't', start: '0', stop: '0' },
    ]);
    expect(s.lineEnding).toBe('\r\n');
  });

  test('media sections: m= fields and the lines after them', () => {
    const s = parseSdp(MULTI_STREAM_OFFER);
    expect(s.media.map((m) => [m.media, m.port, m.proto, m.formats])).toEqual([
      ['audio', 49170, 'RTP/AVP', ['0', '8', '97']],
      ['video', 51372, 'RTP/AVP', ['31', '32', '98']],
      ['audio', 49174, 'RTP/AVP', ['96']],
      ['image', 49176, 'udptl', ['t38']],
    ]);
    expect(s.media[0]?.lines).toEqual([
      { type: 'b', bwtype: 'AS', bandwidth: 64 },
      { type: 'a', name: 'rtpmap', value: '0 PCMU/8000' },
      { type: 'a', name: 'rtpmap', value: '8 PCMA/8000' },
      { type: 'a', name: 'rtpmap', value: '97 iLBC/8000' },
      { type: 'a', name: 'fmtp', value: '97 mode=30' },
    ]);
    expect(s.media[1]?.lines.at(-1)).toEqual({ type: 'a', name: 'recvonly', value: undefined });
  });

  test('multicast connection, port count, text lines and unknown lines', () => {
    const s = parseSdp(SESSION_LEVEL_ODDITIES);
    expect(s.lines[3]).toEqual({ type: 'c', netType: 'IN', addrType: 'IP4', address: '224.2.17.12', ttl: 127, count: 2 });
    expect(s.lines.slice(5, 10)).toEqual([
      { type: 'r', value: '7d 1h 0 25h' },
      { type: 'z', value: '2882844526 -1h 2898848070 0' },
      { type: 'k', value: 'clear:secret' },
      { type: 'a', name: 'recvonly', value: undefined },
      { type: 'unknown', letter: 'x', value: 'an unknown line type' },
    ]);
    expect(s.media[0]).toMatchObject({ port: 49170, portCount: 2 });
    expect(s.media[0]?.lines[0]).toEqual({ type: 'c', netType: 'IN', addrType: 'IP6', address: 'ff15::101', count: 3 });
  });

  test('an attribute value is everything after the first colon', () => {
    const s = parseSdp('v=0\r\na=fingerprint:sha-256 AB:CD\r\na=x:\r\na=:y\r\na=\r\n');
    expect(s.lines.slice(1)).toEqual([
      { type: 'a', name: 'fingerprint', value: 'sha-256 AB:CD' },
      { type: 'a', name: 'x', value: '' },
      { type: 'a', name: '', value: 'y' },
      { type: 'a', name: '', value: undefined },
    ]);
  });

  test('bytes are UTF-8; strings and bytes give the same model', () => {
    const text = 'v=0\r\ns=Café ☕\r\ni=日本\r\n';
    expect(parseSdp(Buffer.from(text))).toEqual(parseSdp(text));
    expect(parseSdp(new TextEncoder().encode(text))).toEqual(parseSdp(text));
    expect(failure(() => parseSdp(Buffer.from([0x76, 0x3d, 0x30, 0x0d, 0x0a, 0x73, 0x3d, 0xff, 0x0d, 0x0a])))).toEqual({
      code: 'ERR_ENCODING',
      line: 0,
    });
  });
});

describe('lossless round trip', () => {
  test.each(CORPUS)('$name', ({ text }) => {
    expect(stringifySdp(parseSdp(text))).toBe(text);
  });

  test('LF-only descriptions stay LF-only; a missing final line ending is added', () => {
    const lf = PHONE_OFFER.replaceAll('\r\n', '\n');
    const s = parseSdp(lf);
    expect(s.lineEnding).toBe('\n');
    expect(stringifySdp(s)).toBe(lf);
    expect(stringifySdp(parseSdp(PHONE_OFFER.slice(0, -2)))).toBe(PHONE_OFFER);
  });

  test('trailing empty lines are dropped', () => {
    expect(stringifySdp(parseSdp(PHONE_OFFER + '\r\n\r\n'))).toBe(PHONE_OFFER);
  });

  test('lines not in canonical form are written as they came while unchanged', () => {
    const odd = [
      'v=00',
      'o=-  1 2 IN IP4 192.0.2.1 ',
      's=',
      'c=IN\tIP4 192.0.2.1/010',
      'b=AS: 64',
      't=0  0',
      'm=audio 0049170 RTP/AVP 0 8 ',
      'a= sendrecv ',
      'a=rtpmap:0 PCMU/8000 ',
    ].map((l) => l + '\r\n').join('');
    const s = parseSdp(odd);
    expect(stringifySdp(s)).toBe(odd);
    expect(s.lines[1]).toMatchObject({ type: 'o', username: '-', sessionId: '1', raw: 'o=-  1 2 IN IP4 192.0.2.1 ' });
    expect(s.lines[3]).toMatchObject({ type: 'c', address: '192.0.2.1', ttl: 10 });
    expect(s.media[0]).toMatchObject({ port: 49170, formats: ['0', '8'] });
    expect(s.media[0]?.lines[0]).toMatchObject({ type: 'a', name: 'sendrecv', value: undefined });
    // A changed field wins over the text it came from, for that line only.
    (s.media[0] as { port: number }).port = 50000;
    (s.lines[1] as { sessionVersion: string }).sessionVersion = '3';
    const out = stringifySdp(s);
    expect(out).toContain('\r\nm=audio 50000 RTP/AVP 0 8\r\n');
    expect(out).toContain('\r\no=- 1 3 IN IP4 192.0.2.1\r\n');
    expect(out).toContain('\r\nt=0  0\r\n');
    expect(out).toContain('\r\na= sendrecv \r\n');
  });

  test('a JSON copy of the model writes the same text (raw travels with the line)', () => {
    const text = 'v=0\r\no=- 1 1  IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n';
    const copy = JSON.parse(JSON.stringify(parseSdp(text))) as SdpSession;
    expect(stringifySdp(copy)).toBe(text);
  });

  test('a raw that does not say what the fields say is ignored', () => {
    const s = parseSdp('v=0\r\ns=-\r\n');
    s.lines.push({ type: 't', start: '0', stop: '0', raw: 't=1 1' });
    s.lines.push({ type: 'a', name: 'x', raw: 'a=x\r\nINJECTED' });
    expect(stringifySdp(s)).toBe('v=0\r\ns=-\r\nt=0 0\r\na=x\r\n');
  });
});

describe('errors: a code and the line number', () => {
  const cases: Array<[string, string, SdpErrorCode, number]> = [
    ['empty', '', 'ERR_STRUCTURE', 1],
    ['only line endings', '\r\n\r\n', 'ERR_STRUCTURE', 1],
    ['not v= first', 's=-\r\nv=0\r\n', 'ERR_STRUCTURE', 1],
    ['not SDP', 'hello world\r\n', 'ERR_LINE_SYNTAX', 1],
    ['digit type', 'v=0\r\n1=x\r\n', 'ERR_LINE_SYNTAX', 2],
    ['no equals', 'v=0\r\ns-\r\n', 'ERR_LINE_SYNTAX', 2],
    ['empty line inside', 'v=0\r\n\r\ns=-\r\n', 'ERR_LINE_SYNTAX', 2],
    ['bare CR', 'v=0\r\ns=a\rb\r\n', 'ERR_LINE_SYNTAX', 2],
    ['final bare CR', 'v=0\r\ns=-\r', 'ERR_LINE_SYNTAX', 2],
    ['NUL', 'v=0\r\ns=-\r\ni=a\0b\r\n', 'ERR_LINE_SYNTAX', 3],
    ['version', 'v=x\r\n', 'ERR_VERSION', 1],
    ['origin fields', 'v=0\r\no=- 1 1 IN IP4\r\n', 'ERR_ORIGIN', 2],
    ['connection fields', 'v=0\r\nc=IN IP4\r\n', 'ERR_CONNECTION', 2],
    ['connection ttl', 'v=0\r\nc=IN IP4 224.0.0.1/x\r\n', 'ERR_CONNECTION', 2],
    ['connection ttl range', 'v=0\r\nc=IN IP4 224.0.0.1/256\r\n', 'ERR_CONNECTION', 2],
    ['ip6 with ttl', 'v=0\r\nc=IN IP6 ff15::1/1/2\r\n', 'ERR_CONNECTION', 2],
    ['bandwidth colon', 'v=0\r\nb=AS64\r\n', 'ERR_BANDWIDTH', 2],
    ['bandwidth number', 'v=0\r\nb=AS:x\r\n', 'ERR_BANDWIDTH', 2],
    ['timing', 'v=0\r\nt=0\r\n', 'ERR_TIMING', 2],
    ['timing digits', 'v=0\r\nt=now 0\r\n', 'ERR_TIMING', 2],
    ['media fields', 'v=0\r\nm=audio 1\r\n', 'ERR_MEDIA', 2],
    ['media port', 'v=0\r\nm=audio x RTP/AVP 0\r\n', 'ERR_MEDIA', 2],
    ['media port range', 'v=0\r\nm=audio 65536 RTP/AVP 0\r\n', 'ERR_MEDIA', 2],
    ['media port count', 'v=0\r\nm=audio 1/x RTP/AVP 0\r\n', 'ERR_MEDIA', 2],
  ];
  test.each(cases)('%s', (_name, text, code, line) => {
    expect(failure(() => parseSdp(text))).toEqual({ code, line });
  });

  test('the error: class, name, message with the line, instanceof through the brand', () => {
    let caught: unknown;
    try {
      parseSdp('v=0\r\nm=audio x RTP/AVP 0\r\n');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SdpError);
    expect(caught).toBeInstanceOf(Error);
    const err = caught as SdpError;
    expect(err.name).toBe('SdpError');
    expect(err.message).toBe("line 2: bad port 'x' in m=");
    const foreign = Object.assign(Object.create(Error.prototype) as object, { [Symbol.for('@sipts/sdp.SdpError')]: true });
    expect(foreign instanceof SdpError).toBe(true);
    expect(isSdpError(new Error('x'))).toBe(false);
  });

  test('input that is not text', () => {
    expect(failure(() => parseSdp(undefined as never))).toEqual({ code: 'ERR_INVALID_ARGUMENT', line: 0 });
    expect(failure(() => parseSdp({} as never))).toEqual({ code: 'ERR_INVALID_ARGUMENT', line: 0 });
  });
});

describe('limits', () => {
  test('defaults', () => {
    expect(DEFAULT_MAX_BYTES).toBe(65536);
    expect(DEFAULT_MAX_LINES).toBe(4096);
    expect(failure(() => parseSdp('v=0\r\ns=' + 'x'.repeat(DEFAULT_MAX_BYTES) + '\r\n'))).toEqual({ code: 'ERR_TOO_LARGE', line: 0 });
    expect(failure(() => parseSdp('v=0\r\n' + 'a=x\r\n'.repeat(DEFAULT_MAX_LINES)))).toEqual({
      code: 'ERR_TOO_MANY_LINES',
      line: DEFAULT_MAX_LINES + 1,
    });
    expect(parseSdp('v=0\r\n' + 'a=x\r\n'.repeat(DEFAULT_MAX_LINES - 1)).lines).toHaveLength(DEFAULT_MAX_LINES);
  });

  test('options', () => {
    expect(failure(() => parseSdp(PHONE_OFFER, { maxBytes: 100 }))).toEqual({ code: 'ERR_TOO_LARGE', line: 0 });
    expect(failure(() => parseSdp(Buffer.from(PHONE_OFFER), { maxBytes: 100 }))).toEqual({ code: 'ERR_TOO_LARGE', line: 0 });
    expect(failure(() => parseSdp(PHONE_OFFER, { maxLines: 5 }))).toEqual({ code: 'ERR_TOO_MANY_LINES', line: 6 });
    expect(parseSdp(PHONE_OFFER, { maxLines: 14, maxBytes: PHONE_OFFER.length }).media).toHaveLength(1);
    for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
      expect(failure(() => parseSdp(PHONE_OFFER, { maxBytes: bad as number }))).toEqual({ code: 'ERR_INVALID_OPTION', line: 0 });
      expect(failure(() => parseSdp(PHONE_OFFER, { maxLines: bad as number }))).toEqual({ code: 'ERR_INVALID_OPTION', line: 0 });
    }
  });

  test('linear time on inputs built to defeat forward searches', () => {
    // Thousands of colon-less attributes, then one colon at the very end; LF-only lines with
    // one CR at the end. Each search must move forward only; quadratic work would show as a
    // very slow test run (no timing assertion: a bounded input that completes is the check).
    const noColons = 'v=0\n' + 'a=sendrecv\n'.repeat(4000) + 'a=x:y\n';
    expect(parseSdp(noColons).lines).toHaveLength(4002);
    const crAtEnd = 'v=0\n' + 'a=sendrecv\n'.repeat(4000) + 'a=x:y\r\n';
    expect(parseSdp(crAtEnd).lines).toHaveLength(4002);
  });
});

describe('stringifySdp refuses what would not read back', () => {
  const base = (): SdpSession => parseSdp(PHONE_OFFER);
  const cases: Array<[string, (s: SdpSession) => void, number]> = [
    ['CR in an attribute value', (s) => s.media[0]?.lines.push({ type: 'a', name: 'x', value: 'a\r\nb=evil' }), 15],
    ['LF in a session name', (s) => ((s.lines[2] as { value: string }).value = 'a\nb'), 3],
    ['NUL in a text line', (s) => ((s.lines[2] as { value: string }).value = 'a\0b'), 3],
    ['colon in an attribute name', (s) => s.lines.push({ type: 'a', name: 'a:b' }), 6],
    ['space in a token', (s) => ((s.lines[1] as { username: string }).username = 'a b'), 2],
    ['empty token', (s) => ((s.lines[1] as { address: string }).address = ''), 2],
    ['port out of range', (s) => ((s.media[0] as { port: number }).port = 70000), 6],
    ['fractional port', (s) => ((s.media[0] as { port: number }).port = 1.5), 6],
    ['space in a format', (s) => s.media[0]?.formats.push('1 2'), 6],
    ['non-digit time', (s) => ((s.lines[4] as { start: string }).start = 'now'), 5],
    ['unknown line type', (s) => s.lines.push({ type: 'q' } as never), 6],
    ['unknown line without letter', (s) => s.lines.push({ type: 'unknown', letter: '', value: '' }), 6],
    ['ttl range', (s) => s.lines.push({ type: 'c', netType: 'IN', addrType: 'IP4', address: '224.0.0.1', ttl: 300 }), 6],
  ];
  test.each(cases)('%s', (_name, change, line) => {
    const s = base();
    change(s);
    expect(failure(() => stringifySdp(s))).toEqual({ code: 'ERR_INVALID_VALUE', line });
  });

  test('not a session', () => {
    expect(failure(() => stringifySdp(null as never))).toEqual({ code: 'ERR_INVALID_ARGUMENT', line: 0 });
    expect(failure(() => stringifySdp({ lines: [] } as never))).toEqual({ code: 'ERR_INVALID_ARGUMENT', line: 0 });
    expect(failure(() => stringifySdp({ lines: [], media: [null] } as never))).toEqual({ code: 'ERR_INVALID_VALUE', line: 1 });
  });

  test('a model built by hand', () => {
    const s: SdpSession = {
      lines: [
        { type: 'v', version: 0 },
        { type: 'o', username: '-', sessionId: '1', sessionVersion: '1', netType: 'IN', addrType: 'IP6', address: '::1' },
        { type: 's', value: '-' },
        { type: 'c', netType: 'IN', addrType: 'IP6', address: '::1' },
        { type: 't', start: '0', stop: '0' },
      ],
      media: [{ media: 'audio', port: 4000, proto: 'RTP/AVP', formats: ['0'], lines: [{ type: 'a', name: 'sendrecv' }] }],
    };
    expect(stringifySdp(s)).toBe('v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n');
  });
});
