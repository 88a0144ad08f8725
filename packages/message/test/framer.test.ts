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


describe('StreamFramer memory and progress (hostile peers)', () => {
  // A header section sent one byte per TCP segment: before, each segment stayed alive as its own
  // Buffer view (~85 bytes of heap per byte received); now the bytes are copied into one buffer.
  it('holds a header section trickled one byte per chunk in one buffer, at most twice its size, never a chunk', () => {
    const r = record();
    const text = Buffer.from(message('x', 'X-Filler: ' + 'f'.repeat(50_000) + '\r\n'));
    const headerEnd = text.indexOf('\r\n\r\n') + 4;
    // Every byte arrives in its own chunk, which is scribbled over once push() returns:
    // a framer that kept views of the chunks would parse the scribbles.
    const chunk = new Uint8Array(1);
    let maxHeld = 0;
    for (let i = 0; i < headerEnd - 1; i++) {
      chunk[0] = text[i]!;
      r.framer.push(chunk);
      chunk[0] = 0x21;
      const held = r.framer.heldBytes;
      maxHeld = Math.max(maxHeld, held);
      if (i > 1000 && held > 2 * (i + 1)) throw new Error(`${held} bytes held for ${i + 1} received`);
    }
    expect(r.framer.bufferedBytes).toBe(headerEnd - 1);
    expect(maxHeld).toBeLessThanOrEqual(r.framer.maxHeaderBytes);
    expect(r.framer.phase).toBe('header');
    r.framer.push(text.subarray(headerEnd - 1));
    expect(r.errors).toEqual([]);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toStrictEqual(parse(text));
    // The holding buffer is released with the message.
    expect(r.framer.heldBytes).toBe(0);
    expect(r.framer.phase).toBe('idle');
  });

  it('keeps no part of a large chunk while it waits for the rest of a body: only a copy of the header section', () => {
    const r = record();
    const tail = Buffer.from(message('y'.repeat(1000)));
    const filler = Buffer.from(TWO.repeat(Math.ceil(60_000 / TWO.length)));
    const chunk = Buffer.concat([filler, tail.subarray(0, tail.length - 500)]);
    r.framer.push(chunk);
    expect(r.framer.phase).toBe('body');
    const headBytes = tail.indexOf('\r\n\r\n') + 4;
    // the 500 body bytes received so far (in a buffer no larger than the 1000-byte body) plus the header copy
    expect(r.framer.heldBytes).toBeLessThanOrEqual(1000 + headBytes);
    expect(r.framer.heldBytes).toBeGreaterThanOrEqual(500 + headBytes);
    chunk.fill(0x21); // the chunk is not referenced any more
    r.framer.push(tail.subarray(tail.length - 500));
    expect(r.messages.at(-1)!.content).toBe('y'.repeat(1000));
    expect(r.framer.heldBytes).toBe(0);
  });

  it('sizes a held body by what arrived, not by the Content-Length it announces', () => {
    const r = record();
    const text = message('z'.repeat(600_000));
    r.framer.push(Buffer.from(text.slice(0, text.length - 600_000 + 10)));
    expect(r.framer.phase).toBe('body');
    expect(r.framer.heldBytes).toBeLessThan(2_000);
  });

  it('progress changes when a header section or body starts or a message ends, not while a unit grows', () => {
    const r = record();
    const text = Buffer.from(message('body'));
    const p0 = r.framer.progress;
    r.framer.push(Buffer.from('\r\n'));
    expect(r.framer.progress).toBe(p0);
    expect(r.framer.phase).toBe('idle');
    r.framer.push(text.subarray(0, 1));
    const p1 = r.framer.progress;
    expect(p1).not.toBe(p0);
    expect(r.framer.phase).toBe('header');
    for (let i = 1; i < 20; i++) r.framer.push(text.subarray(i, i + 1));
    expect(r.framer.progress).toBe(p1);
    r.framer.push(text.subarray(20, text.length - 2));
    expect(r.framer.phase).toBe('body');
    const p2 = r.framer.progress;
    expect(p2).not.toBe(p1);
    r.framer.push(text.subarray(text.length - 2, text.length - 1));
    expect(r.framer.progress).toBe(p2);
    r.framer.push(text.subarray(text.length - 1));
    expect(r.framer.phase).toBe('idle');
    expect(r.framer.progress).not.toBe(p2);
    expect(r.messages).toHaveLength(1);
  });

  it('hands on the header section with each message and each error, for a 400', () => {
    const heads: string[] = [];
    const framer = new StreamFramer({
      maxContentLength: 10,
      onMessage: (_m, head) => heads.push('message ' + Buffer.from(head).toString().split('\r\n')[0]),
      onInvalid: (e, head) => heads.push(`invalid ${e.code} ${Buffer.from(head).toString().split('\r\n')[0]}`),
      onError: (e, head) => heads.push(`error ${e.code} ${head === undefined ? '-' : Buffer.from(head).toString().split('\r\n')[0]}`),
    });
    const bad = message('abc').replace('CSeq: 1 MESSAGE', 'CSeq: one MESSAGE');
    const all = Buffer.from(message('ok') + bad + message('x'.repeat(11)));
    for (let i = 0; i < all.length; i += 7) framer.push(all.subarray(i, i + 7));
    expect(heads).toEqual([
      'message MESSAGE sip:bob@example.com SIP/2.0',
      'invalid ERR_HEADER_VALUE MESSAGE sip:bob@example.com SIP/2.0',
      'error ERR_TOO_LARGE MESSAGE sip:bob@example.com SIP/2.0',
    ]);
  });

  it('hands on what it holds of an oversize header section with ERR_TOO_LARGE', () => {
    let got: Uint8Array | undefined;
    const framer = new StreamFramer({ maxHeaderBytes: 100, onMessage: () => undefined, onError: (_e, head) => (got = head) });
    const text = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nX: ' + 'a'.repeat(200));
    for (let i = 0; i < text.length; i++) framer.push(text.subarray(i, i + 1));
    expect(Buffer.from(got!).toString().startsWith('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h')).toBe(true);
    expect(got!.length).toBeLessThanOrEqual(100);
    expect(framer.heldBytes).toBe(0);
  });

  it('stop() releases what it holds and ignores further input, without onError', () => {
    const r = record();
    r.framer.push(Buffer.from(ONE.slice(0, 40)));
    expect(r.framer.heldBytes).toBeGreaterThan(0);
    r.framer.stop();
    expect(r.framer.heldBytes).toBe(0);
    expect(r.framer.phase).toBe('stopped');
    expect(r.framer.stopped).toBe(true);
    r.framer.push(Buffer.from(TWO));
    expect(r.messages).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  it('a callback may stop() the framer: the rest of the chunk is not delivered', () => {
    const seen: string[] = [];
    const framer: StreamFramer = new StreamFramer({
      onMessage: (m) => {
        seen.push(m.content ?? '');
        framer.stop();
      },
      onError: () => undefined,
    });
    framer.push(Buffer.from(ONE + TWO));
    expect(seen).toEqual([BODY]);
  });
});
