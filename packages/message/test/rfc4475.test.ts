// RFC 4475 torture messages: every file behaves as index.json says (accept / reject), the
// "either" files as this package documents (README, "RFC 4475 choices"), and the values the
// RFC calls out parse to what it says. The fixtures are byte-exact copies of
// ../shared/conformance (checked against the sha256 in index.json).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parse,
  parseUri,
  validateMessage,
  isSipParseError,
  StreamFramer,
  type ParseErrorCode,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type NameAddr,
} from '@sipts/message';

interface Entry {
  file: string;
  section: string | null;
  parse: 'accept' | 'reject' | 'either';
  expect: 'valid' | 'invalid';
  sha256: string;
  framing: { contentLength: string[]; bodyBytes: number | null; headerEndFound: boolean };
}

const FIXTURES = join(__dirname, 'fixtures');
const load = (dir: string): Entry[] => (JSON.parse(readFileSync(join(FIXTURES, dir, 'index.json'), 'utf8')) as { entries: Entry[] }).entries;
const RFC4475 = load('rfc4475');
const EXTRA = load('kirm-extra');
const bytes = (dir: string, file: string): Buffer => readFileSync(join(FIXTURES, dir, file));
const rfc = (file: string): SipMessage => parse(bytes('rfc4475', file));

/** Outcome of parse(): 'accept', or the SipParseError code. Anything else fails the test. */
function outcome(buf: Buffer): 'accept' | ParseErrorCode {
  try {
    parse(buf);
    return 'accept';
  } catch (e) {
    if (!isSipParseError(e)) throw e;
    return e.code;
  }
}

/**
 * The documented choices for `parse: either` (README, "RFC 4475 choices"): the parser's
 * outcome, and what validateMessage then says about an accepted message.
 */
const EITHER: Record<string, { parse: 'accept' | ParseErrorCode; validate?: ParseErrorCode }> = {
  'quotbal.dat': { parse: 'ERR_HEADER_VALUE' }, // §3.1.2.6 unterminated quoted string
  'ltgtruri.dat': { parse: 'ERR_START_LINE' }, // §3.1.2.7 Request-URI in <>
  'lwsruri.dat': { parse: 'ERR_START_LINE' }, // §3.1.2.8 LWS inside the Request-URI
  'lwsstart.dat': { parse: 'ERR_START_LINE' }, // §3.1.2.9 two SPs in the Request-Line
  'trws.dat': { parse: 'ERR_START_LINE' }, // §3.1.2.10 SPs after SIP-Version
  'escruri.dat': { parse: 'accept' }, // §3.1.2.11 escaped headers in the Request-URI: a valid URI
  'baddate.dat': { parse: 'accept' }, // §3.1.2.12 Date is kept raw
  'regbadct.dat': { parse: 'accept' }, // §3.1.2.13 "?" kept in an addr-spec Contact URI
  'badaspec.dat': { parse: 'accept' }, // §3.1.2.14 spaces inside <> tolerated
  'baddn.dat': { parse: 'ERR_INCOMPLETE' }, // §3.1.2.15 no empty line (and an unquoted comma)
  'badvers.dat': { parse: 'accept', validate: 'ERR_VERSION' }, // §3.1.2.16 SIP/7.0: answer 505
  'mismatch01.dat': { parse: 'accept', validate: 'ERR_HEADER_VALUE' }, // §3.1.2.17 CSeq method
  'mismatch02.dat': { parse: 'accept', validate: 'ERR_HEADER_VALUE' }, // §3.1.2.18 CSeq method
  'insuf.dat': { parse: 'accept', validate: 'ERR_MISSING_HEADER' }, // §3.3.1 no Call-ID/From/To
  'multi01.dat': { parse: 'ERR_DUPLICATE_HEADER' }, // §3.3.8 two To, From, Call-ID, CSeq
};

/** The code each rejected file gets. */
const REJECT_CODES: Record<string, ParseErrorCode> = {
  'badinv01.dat': 'ERR_HEADER_VALUE',
  'clerr.dat': 'ERR_CONTENT_LENGTH',
  'ncl.dat': 'ERR_CONTENT_LENGTH',
  'scalar02.dat': 'ERR_HEADER_VALUE',
  'scalarlg.dat': 'ERR_HEADER_VALUE',
  'bigcode.dat': 'ERR_START_LINE',
  'mcl01.dat': 'ERR_CONTENT_LENGTH',
  'test.dat': 'ERR_START_LINE',
  'badcseq.dat': 'ERR_HEADER_VALUE',
};

describe('RFC 4475 corpus', () => {
  it('has all 50 files, byte-exact', () => {
    expect(RFC4475).toHaveLength(50);
    for (const [dir, entries] of [['rfc4475', RFC4475], ['kirm-extra', EXTRA]] as const) {
      for (const e of entries) expect([e.file, createHash('sha256').update(bytes(dir, e.file)).digest('hex')]).toEqual([e.file, e.sha256]);
    }
  });

  it('documents a choice for every "either" file and nothing else', () => {
    expect(RFC4475.filter((e) => e.parse === 'either').map((e) => e.file).sort()).toEqual(Object.keys(EITHER).sort());
  });

  describe.each([...RFC4475.map((e) => ['rfc4475', e] as const), ...EXTRA.map((e) => ['kirm-extra', e] as const)])('%s', (dir, entry) => {
    it(`${entry.file} (${entry.section ?? 'no section'}): ${entry.parse}`, () => {
      const buf = bytes(dir, entry.file);
      const result = outcome(buf);
      if (entry.parse === 'accept') {
        expect(result).toBe('accept');
        // every well-formed one also has what an element needs to process it
        if (entry.expect === 'valid') expect(validateMessage(parse(buf))).toBeUndefined();
      } else if (entry.parse === 'reject') {
        expect(result).toBe(REJECT_CODES[entry.file]);
      } else {
        const choice = EITHER[entry.file]!;
        expect(result).toBe(choice.parse);
        if (choice.parse === 'accept') expect(validateMessage(parse(buf))?.code).toBe(choice.validate);
      }
    });
  });

  it('frames every accepted message with an exact Content-Length the same way on a stream', () => {
    for (const e of RFC4475) {
      const cl = e.framing.contentLength;
      if (outcome(bytes('rfc4475', e.file)) !== 'accept' || cl.length !== 1 || Number(cl[0]) !== e.framing.bodyBytes) continue;
      const buf = bytes('rfc4475', e.file);
      const got: SipMessage[] = [];
      const errors: unknown[] = [];
      const framer = new StreamFramer({ onMessage: (m) => got.push(m), onError: (err) => errors.push(err) });
      for (let i = 0; i < buf.length; i += 7) framer.push(buf.subarray(i, i + 7));
      expect([e.file, errors]).toEqual([e.file, []]);
      expect([e.file, got]).toEqual([e.file, [parse(buf)]]);
    }
  });
});

describe('RFC 4475 values', () => {
  it('§3.1.1.1 wsinv: folding, LWS everywhere, compact forms, unknown headers', () => {
    const m = rfc('wsinv.dat') as SipRequest;
    const h = m.headers;
    expect(m.uri).toBe('sip:vivekg@chair-dnrc.example.com;unknownparam');
    // "TO :\r\n sip:..." and "s :" (compact Subject, empty)
    expect(h.to).toEqual({ name: undefined, uri: 'sip:vivekg@chair-dnrc.example.com', params: { tag: '1918181833n' } });
    expect(h.subject).toBe('');
    // a folded display name with escaped quotes keeps its quotes; the param folded over 3 lines
    expect(h.from).toEqual({ name: '"J Rosenberg \\\\\\""', uri: 'sip:jdrosen@example.com', params: { tag: '98asjd8' } });
    expect(h['max-forwards']).toBe('0068');
    expect(h.cseq).toEqual({ seq: 9, method: 'INVITE' });
    // Via over three lines, then v: with two values, in order
    expect(h.via).toEqual([
      { version: '2.0', protocol: 'UDP', host: '192.0.2.2', port: undefined, params: { branch: '390skdjuw' } },
      { version: '2.0', protocol: 'TCP', host: 'spindle.example.com', port: undefined, params: { branch: 'z9hG4bK9ikj8' } },
      { version: '2.0', protocol: 'UDP', host: '192.168.255.111', port: undefined, params: { branch: 'z9hG4bK30239' } },
    ]);
    // unknown headers kept; a folded value joined with one SP (RFC 3261 §7.3.1)
    expect(h.newfangledheader).toBe('newfangled value continued newfangled value');
    expect(h.unknownheaderwithunusualvalue).toBe(';;,,;;,;');
    expect(h.route).toEqual([
      { name: undefined, uri: { schema: 'sip', user: undefined, password: undefined, host: 'services.example.com', port: undefined, params: { lr: null, unknownwith: 'value', 'unknown-no-value': null }, headers: {} }, params: {} },
    ]);
    // m: compact Contact, params over a fold, "q = 0.33"
    expect(h.contact).toEqual([{ name: '"Quoted string \\"\\""', uri: 'sip:jdrosen@example.com', params: { newparam: 'newvalue', secondparam: null, q: '0.33' } }]);
    expect(h['content-length']).toBe(150);
    expect(Buffer.byteLength(m.content!)).toBe(150);
  });

  it('§3.1.1.2 intmeth: unusual token characters, quoted controls, UTF-8', () => {
    const m = rfc('intmeth.dat') as SipRequest;
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.headers.cseq).toEqual({ seq: 139122385, method: m.method });
    expect(m.headers['call-id']).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.headers.to!.name).toBe('"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"');
    expect(m.headers.from!.params).toEqual({ "fromparam''~+*_!.-%": '"работающий"', tag: "_token~1'+`*%!-." });
    expect(m.headers["extensionheader-!.%*+_`'~"]).toBe('\ufeff大停電');
    const uri = parseUri(m.uri)!;
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  });

  it('§3.1.1.3 esc01 / §3.1.1.4 escnull: escapes kept in URIs, equal once decoded', () => {
    const m = rfc('esc01.dat') as SipRequest;
    const ruri = parseUri(m.uri)!;
    expect(ruri.user).toBe('sips%3Auser%40example.com');
    expect(decodeURIComponent(ruri.user!)).toBe('sips:user@example.com');
    expect(ruri.host).toBe('example.net');
    expect(decodeURIComponent(parseUri(m.headers.to!.uri)!.user!)).toBe('user');
    expect(decodeURIComponent(parseUri(m.headers.from!.uri)!.user!)).toBe('I have spaces');
    const contact = parseUri((m.headers.contact as NameAddr[])[0]!.uri)!;
    expect(contact.params).toEqual({ '%6C%72': null, 'n%61me': 'v%61lue%25%34%31' });
    const n = rfc('escnull.dat');
    expect(n.headers.to!.uri).toBe('sip:null-%00-null@example.com');
    expect((n.headers.contact as NameAddr[]).map((c) => parseUri(c.uri)!.user)).toEqual(['%00', '%00%00']);
  });

  it('§3.1.1.5 esc02: % in a method and header name is not an escape', () => {
    const m = rfc('esc02.dat') as SipRequest;
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.headers.cseq!.method).toBe('RE%47IST%45R');
    expect(m.headers.to!.name).toBe('"%Z%45"');
    expect((m.headers.contact as NameAddr[]).map((c) => c.uri)).toEqual(['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com']);
    expect(m.headers['c%6fntact']).toBe('<sip:alias2@host2.example.com>');
  });

  it('§3.1.1.6 lwsdisp: no LWS between display name and <', () => {
    expect(rfc('lwsdisp.dat').headers.from).toEqual({ name: 'caller', uri: 'sip:caller@example.com', params: { tag: '323' } });
  });

  it('§3.1.1.7 longreq: long values, 34 Via values across compact and long forms', () => {
    const m = rfc('longreq.dat');
    expect(m.headers.via).toHaveLength(34);
    expect(m.headers['call-id']!.length).toBeGreaterThan(100);
    expect(m.headers.to!.name!.length).toBeGreaterThan(90);
  });

  it('§3.1.1.8 dblreq: octets after Content-Length are ignored', () => {
    const m = rfc('dblreq.dat') as SipRequest;
    expect(m.method).toBe('REGISTER');
    expect(m.content).toBe('');
  });

  it('§3.1.1.9 semiuri: ";" in the user part; folded Accept on one line', () => {
    const m = rfc('semiuri.dat') as SipRequest;
    expect(parseUri(m.uri)).toMatchObject({ user: 'user;par=u%40example.net', host: 'example.com', params: {} });
    expect(m.headers.accept).toBe('application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag');
  });

  it('§3.1.1.10 transports: unknown transports accepted', () => {
    expect(rfc('transports.dat').headers.via!.map((v) => v.protocol)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('§3.1.1.11 mpart01: Content-Length counts bytes of a binary body', () => {
    const m = rfc('mpart01.dat');
    expect(m.headers['content-length']).toBe(553);
    expect(m.content!.startsWith('--7a9cbec02ceef655')).toBe(true);
    expect(m.content!.trimEnd().endsWith('--7a9cbec02ceef655--')).toBe(true);
  });

  it('§3.1.1.12 unreason / §3.1.1.13 noreason: UTF-8 and empty reason phrases', () => {
    expect((rfc('unreason.dat') as SipResponse).reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(rfc('noreason.dat')).toMatchObject({ status: 100, reason: '' });
  });

  it('§3.2.1 badbranch, §3.3.10 bcast: parsed as written', () => {
    expect(rfc('badbranch.dat').headers.via![0]!.params.branch).toBe('z9hG4bK');
    expect(rfc('bcast.dat').headers.via![1]!.host).toBe('255.255.255.255');
  });

  it('§3.3.2-4 unknown URI schemes parse (opaque)', () => {
    expect((rfc('unkscm.dat') as SipRequest).uri).toBe('nobodyKnowsThisScheme:totallyopaquecontent');
    expect((rfc('novelsc.dat') as SipRequest).uri).toBe('soap.beep://192.0.2.103:3002');
    const m = rfc('unksm2.dat');
    expect(m.headers.to!.uri).toBe('isbn:2983792873');
    expect(parseUri(m.headers.to!.uri)).toMatchObject({ schema: 'isbn', opaque: '2983792873' });
    expect(m.headers.from!.uri).toBe('http://www.example.com');
    expect((m.headers.contact as NameAddr[])[0]!.uri).toBe('name:John_Smith');
  });

  it('§3.3.7 regaut01: unknown authorization scheme', () => {
    expect(rfc('regaut01.dat').headers.authorization).toEqual([{ scheme: 'NoOneKnowsThisScheme', 'opaque-data': 'here' }]);
  });

  it('§3.3.12-14 cparam01/02, regescrt: header vs URI parameters, escaped URI headers', () => {
    expect((rfc('cparam01.dat').headers.contact as NameAddr[])[0]).toEqual({ name: undefined, uri: 'sip:+19725552222@gw1.example.net', params: { unknownparam: null } });
    expect((rfc('cparam02.dat').headers.contact as NameAddr[])[0]).toEqual({ name: undefined, uri: 'sip:+19725552222@gw1.example.net;unknownparam', params: {} });
    const contact = (rfc('regescrt.dat').headers.contact as NameAddr[])[0]!;
    expect(parseUri(contact.uri)!.headers).toEqual({ Route: '%3Csip:sip.example.com%3E' });
  });

  it('§3.4.1 inv2543: no Content-Length, the body is the rest of the datagram', () => {
    const m = rfc('inv2543.dat');
    expect(m.headers['content-length']).toBe(105);
    expect(m.content!.startsWith('v=0\r\n')).toBe(true);
    expect(m.headers.via![0]!.params).toEqual({});
  });
});
