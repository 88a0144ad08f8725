// Fuzzing: whatever the input, the parsers and the helpers that read network input return or
// throw an SdpError, nothing else; what parses writes back and reads again as the same model;
// well-formed descriptions round-trip exactly.
import fc from 'fast-check';
import {
  createAnswer,
  createHoldOffer,
  getCandidates,
  getCodecs,
  getSessionDirection,
  isHold,
  isSdpError,
  parse,
  parseSdp,
  rewriteConnection,
  stringify,
  stringifySdp,
  type LocalDescription,
  type SdpSession,
} from '@sipts/sdp';
import { CORPUS } from './corpus.js';

/** Runs fn; an SdpError is an accepted outcome, anything else thrown fails the property. */
function onlySdpErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (isSdpError(e)) return undefined;
    throw e;
  }
}

const local: LocalDescription = {
  address: '127.0.0.1',
  origin: { sessionId: '1' },
  media: [
    { media: 'audio', port: 4000, codecs: [{ name: 'PCMU', clockRate: 8000 }, { name: 'opus', clockRate: 48000, channels: 2 }, { name: 'telephone-event', clockRate: 8000 }] },
    { media: 'video', port: 4002, codecs: [{ name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1' }, { name: 'VP8', clockRate: 90000 }] },
  ],
};

/** Everything an application may do with an SDP it received. */
function exercise(text: string | Uint8Array): void {
  const session = onlySdpErrors(() => parseSdp(text));
  onlySdpErrors(() => stringify(parse(text)));
  if (session === undefined) return;
  const written = stringifySdp(session); // a parsed session is always writable
  expect(parseSdp(written)).toEqual(session);
  for (const m of session.media) {
    getCodecs(m);
    getCandidates(m);
  }
  isHold(session);
  getSessionDirection(session);
  onlySdpErrors(() => stringifySdp(createAnswer(session, local)));
  onlySdpErrors(() => stringifySdp(createHoldOffer(session)));
  stringifySdp(rewriteConnection(session, { address: '127.0.0.2', ports: session.media.map((_, i) => 5000 + 2 * i) }));
}

const runs = { numRuns: 1500 };

describe('fuzz: only SdpError comes out', () => {
  test('random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => exercise(s)), runs);
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => exercise('v=0\r\n' + s)), runs);
  });

  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => exercise(b)), runs);
  });

  test('random lines of SDP-ish pieces', () => {
    const piece = fc.constantFrom(
      'v=', 'o=', 's=', 'c=', 't=', 'b=', 'm=', 'a=', 'x=', 'k=', '0', '1', '8', '96', '127', '65535', '99999', '/', ':', ' ', '  ', '\t',
      'IN', 'IP4', 'IP6', 'audio', 'video', 'RTP/AVP', 'udptl', 'rtpmap:', 'fmtp:', 'candidate:', 'rtcp:', 'sendonly', 'inactive', 'typ',
      'host', 'raddr', 'rport', 'PCMU/8000', 'opus/48000/2', 'H264/90000', 'packetization-mode=1', ';', '=', '0.0.0.0', '224.0.0.1', '::',
      'é', '\u2028', '\r', '\n', '\r\n',
    );
    const line = fc.array(piece, { maxLength: 10 }).map((ps) => ps.join(''));
    const text = fc
      .tuple(fc.array(line, { maxLength: 20 }), fc.constantFrom('\r\n', '\n'))
      .map(([ls, eol]) => ['v=0', ...ls].join(eol) + eol);
    fc.assert(fc.property(text, (t) => exercise(t)), { numRuns: 3000 });
  });

  test('mutated corpus descriptions', () => {
    const mutation = fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ unit: 'binary', maxLength: 6 }));
    const mutated = fc
      .tuple(fc.constantFrom(...CORPUS.map((c) => c.text)), fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([text, ms]) => ms.reduce((t, [at, drop, insert]) => {
        const i = at % (t.length + 1);
        return t.slice(0, i) + insert + t.slice(i + drop);
      }, text));
    fc.assert(fc.property(mutated, (t) => exercise(t)), { numRuns: 3000 });
  });
});

describe('well-formed descriptions round-trip exactly', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9.\-+/_]{1,10}$/);
  const digits = fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,19}$/));
  const text = fc.stringMatching(/^[^\r\n\0]{0,20}$/);
  const attribute = fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.option(text, { nil: undefined }))
    .map(([name, value]) => (value === undefined ? `a=${name}` : `a=${name}:${value}`));
  const connection = fc.oneof(
    fc.constantFrom('127.0.0.1', 'host.example.com').map((a) => `c=IN IP4 ${a}`),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined })).map(([ttl, n]) => `c=IN IP4 224.2.1.1/${ttl}${n === undefined ? '' : '/' + n}`),
    fc.constantFrom('::1', 'ff15::101/3').map((a) => `c=IN IP6 ${a}`),
  );
  const bandwidth = fc.tuple(fc.constantFrom('AS', 'CT', 'TIAS', 'X-YZ'), fc.integer({ min: 0, max: 1e9 })).map(([t, n]) => `b=${t}:${n}`);
  const textLine = fc.tuple(fc.constantFrom('i', 'u', 'e', 'p', 'k', 'r', 'z', 'y', 'X'), text).map(([l, v]) => `${l}=${v}`);
  const mediaLine = fc
    .tuple(fc.constantFrom('audio', 'video', 'application', 'image'), fc.integer({ min: 0, max: 65535 }), fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }), fc.constantFrom('RTP/AVP', 'UDP/TLS/RTP/SAVPF', 'udptl'), fc.array(fc.oneof(token, digits), { minLength: 1, maxLength: 6 }))
    .map(([m, port, n, proto, fmts]) => `m=${m} ${port}${n === undefined ? '' : '/' + n} ${proto} ${fmts.join(' ')}`);
  const sectionLine = fc.oneof(attribute, attribute, connection, bandwidth, textLine);
  const sdp = fc
    .tuple(
      token,
      digits,
      digits,
      text,
      fc.array(sectionLine, { maxLength: 6 }),
      fc.array(fc.tuple(digits, digits), { minLength: 1, maxLength: 2 }),
      fc.array(fc.tuple(mediaLine, fc.array(sectionLine, { maxLength: 8 })), { maxLength: 4 }),
      fc.constantFrom('\r\n', '\n'),
    )
    .map(([user, id, version, name, session, times, media, eol]) =>
      [
        'v=0',
        `o=${user} ${id} ${version} IN IP4 127.0.0.1`,
        `s=${name}`,
        ...session,
        ...times.map(([a, b]) => `t=${a} ${b}`),
        ...media.flatMap(([m, ls]) => [m, ...ls]),
      ]
        .map((l) => l + eol)
        .join(''),
    );

  test('stringifySdp(parseSdp(x)) === x', () => {
    fc.assert(
      fc.property(sdp, (x) => {
        const s: SdpSession = parseSdp(x);
        expect(stringifySdp(s)).toBe(x);
        // and from bytes
        expect(stringifySdp(parseSdp(Buffer.from(x)))).toBe(x);
      }),
      { numRuns: 2000 },
    );
  });
});
