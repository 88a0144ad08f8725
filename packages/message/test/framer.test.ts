import { Buffer } from 'node:buffer';
import { StreamFramer, SipParseError, parse, type SipMessage, type SipRequest } from '@sipts/message';

function message(body: string, extra = ''): string {
  return (
    'MESSAGE sip:bob@example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK1\r\n' +
    'From: "Zoë" <sip:zoe@example.com>;tag=1\r\n' +
    'To: <sip:bob@example.com>\r\n' +
    'Call-ID: c1\r\n' +
    'CSeq: 1 MESSAGE\r\n' +
    extra +
    'Content-Length: ' +
    Buffer.byteLength(body) +
    '\r\n\r\n' +
    body
  );
}

interface Recorder {
  framer: StreamFramer;
  messages: SipMessage[];
  errors: SipParseError[];
  invalid: SipParseError[];
  pings: number;
}

function record(options: { maxHeaderBytes?: number; maxContentLength?: number; maxBytesHeaders?: number } = {}): Recorder {
  const r: Recorder = { messages: [], errors: [], invalid: [], pings: 0 } as unknown as Recorder;
  r.framer = new StreamFramer({
    ...options,
    onMessage: (m) => r.messages.push(m),
    onError: (e) => r.errors.push(e),
    onInvalid: (e) => r.invalid.push(e),
    onKeepAlive: () => r.pings++,
  });
  return r;
}

const BODY = 'Grüße 😀 héllo';
const ONE = message(BODY);
const TWO = message('second');
const STREAM = Buffer.from('\r\n\r\n' + ONE + '\r\n' + TWO + '\r\n\r\n' + message(''));

describe('StreamFramer', () => {
  it('emits whole messages from one chunk, skipping keep-alive CRLFs', () => {
    const r = record();
    r.framer.push(STREAM);
    expect(r.errors).toEqual([]);
    expect(r.messages.map((m) => m.content)).toEqual([BODY, 'second', '']);
    expect(r.messages[0]).toStrictEqual(parse(ONE));
    // RFC 5626 §4.4.1: two CRLFCRLF pings (one before the first message, one between)
    expect(r.pings).toBe(2);
  });

  it('gives the same messages whatever the split points, even inside CRLFCRLF or a UTF-8 char', () => {
    const whole = record();
    whole.framer.push(STREAM);
    // every single split point
    for (let cut = 1; cut < STREAM.length; cut++) {
      const r = record();
      r.framer.push(STREAM.subarray(0, cut));
      r.framer.push(STREAM.subarray(cut));
      expect(r.errors).toEqual([]);
      expect(r.messages).toStrictEqual(whole.messages);
    }
    // byte by byte
    const r = record();
    for (let i = 0; i < STREAM.length; i++) r.framer.push(STREAM.subarray(i, i + 1));
    expect(r.messages).toStrictEqual(whole.messages);
    expect(r.pings).toBe(2);
    // random chunk sizes
    for (let round = 0; round < 50; round++) {
      const rr = record();
      let i = 0;
      while (i < STREAM.length) {
        const n = 1 + ((round * 7 + i * 13) % 37);
        rr.framer.push(new Uint8Array(STREAM.subarray(i, i + n)));
        i += n;
      }
      expect(rr.messages).toStrictEqual(whole.messages);
    }
  });

  it('reports a missing Content-Length once and stops (RFC 3261 §18.3)', () => {
    const r = record();
    const noLength = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n';
    r.framer.push(Buffer.from(noLength + ONE));
    r.framer.push(Buffer.from(ONE));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toBeInstanceOf(SipParseError);
    expect(r.errors[0]!.code).toBe('ERR_CONTENT_LENGTH');
    expect(r.messages).toHaveLength(0);
    expect(r.framer.stopped).toBe(true);
  });

  it('refuses an endless header section as soon as it passes maxHeaderBytes, without buffering more', () => {
    const r = record({ maxHeaderBytes: 1000 });
    r.framer.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nX: '));
    const line = Buffer.alloc(100, 0x61);
    let pushes = 0;
    while (r.errors.length === 0 && pushes < 100) {
      r.framer.push(line);
      pushes++;
      expect(r.framer.bufferedBytes).toBeLessThanOrEqual(1000);
    }
    expect(pushes).toBeLessThan(11);
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_TOO_LARGE']);
    r.framer.push(Buffer.from(ONE));
    expect(r.messages).toHaveLength(0);
    expect(r.errors).toHaveLength(1);
  });

  it('reads maxBytesHeaders as sip does, and refuses a header section that ends past the limit', () => {
    const r = record({ maxBytesHeaders: 100 });
    r.framer.push(Buffer.from(ONE));
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_TOO_LARGE']);
    expect(r.framer.maxHeaderBytes).toBe(100);
  });

  it('refuses a Content-Length over maxContentLength before buffering the body', () => {
    const r = record({ maxContentLength: 10 });
    r.framer.push(Buffer.from(message('x'.repeat(11)).slice(0, -11)));
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_TOO_LARGE']);
    expect(r.framer.bufferedBytes).toBe(0);
  });

  it('skips a message with a malformed header but a readable Content-Length, and goes on', () => {
    const r = record();
    const bad = message('abc').replace('CSeq: 1 MESSAGE', 'CSeq: one MESSAGE');
    r.framer.push(Buffer.from(bad + TWO));
    expect(r.invalid.map((e) => e.code)).toEqual(['ERR_HEADER_VALUE']);
    expect(r.messages.map((m) => (m as SipRequest).content)).toEqual(['second']);
    expect(r.errors).toEqual([]);
  });

  it('stops on a malformed message whose length cannot be known', () => {
    const r = record();
    r.framer.push(Buffer.from('garbage line\r\nContent-Length: abc\r\n\r\n' + TWO));
    expect(r.errors).toHaveLength(1);
    expect(r.messages).toHaveLength(0);
  });

  it('stops on conflicting Content-Length values (RFC 4475 §3.3.9)', () => {
    const r = record();
    r.framer.push(Buffer.from(message('abc', 'l: 5\r\n')));
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_CONTENT_LENGTH']);
  });

  it('waits for a body split over many chunks and emits it once', () => {
    const big = 'b'.repeat(5000) + 'é';
    const bytes = Buffer.from(message(big));
    const r = record();
    for (let i = 0; i < bytes.length; i += 100) r.framer.push(bytes.subarray(i, i + 100));
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]!.content).toBe(big);
  });

  it('keeps its place when a callback throws: the next push resumes with the rest', () => {
    const seen: string[] = [];
    let pings = 0;
    const framer = new StreamFramer({
      onMessage: (m) => {
        seen.push(m.content ?? '');
        if (seen.length === 1) throw new Error('handler failed');
      },
      onKeepAlive: () => {
        if (++pings === 1) throw new Error('pong failed');
      },
      onError: () => undefined,
    });
    expect(() => framer.push(Buffer.from(ONE + TWO))).toThrow('handler failed');
    expect(framer.bufferedBytes).toBe(Buffer.byteLength(TWO));
    framer.push(Buffer.alloc(0));
    expect(seen).toEqual([BODY, 'second']);
    expect(() => framer.push(Buffer.from('\r\n\r\n' + message('third')))).toThrow('pong failed');
    framer.push(Buffer.from(message('fourth')));
    expect(seen).toEqual([BODY, 'second', 'third', 'fourth']);
    expect(framer.stopped).toBe(false);
  });
});

