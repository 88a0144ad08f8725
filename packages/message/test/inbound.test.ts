import {
  DEFAULT_MESSAGE_LIMITS,
  acceptMessage,
  invalidLimitOption,
  messageLimits,
  parse,
  readMessage,
  rejectBytes,
  type Remote,
} from '@sipts/message';

const remote: Remote = { protocol: 'UDP', address: '127.0.0.9', port: 5099 };

const options =
  'OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKinbound;rport\r\n' +
  'From: <sip:alice@127.0.0.1>;tag=a\r\n' +
  'To: <sip:bob@127.0.0.1>\r\n' +
  'Call-ID: inbound-1\r\n' +
  'CSeq: 1 OPTIONS\r\n' +
  'Content-Length: 0\r\n\r\n';

describe('readMessage: the one inbound path of every transport', () => {
  test('a valid request comes out stamped with received and rport (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
    const inbound = readMessage(Buffer.from(options), remote);
    expect(inbound.kind).toBe('message');
    if (inbound.kind !== 'message') return;
    const via = inbound.message.headers.via?.[0];
    expect(via?.params.received).toBe('127.0.0.9');
    expect(via?.params.rport).toBe('5099');
  });

  test('strings are read as their UTF-8 bytes', () => {
    expect(readMessage(options, remote).kind).toBe('message');
  });

  test('CRLF noise is a keep-alive; exactly CRLFCRLF is a ping (RFC 5626 §4.4.1)', () => {
    expect(readMessage(Buffer.from('\r\n\r\n'), remote)).toEqual({ kind: 'keepalive', ping: true });
    expect(readMessage(Buffer.from('\r\n'), remote)).toEqual({ kind: 'keepalive', ping: false });
    expect(readMessage(Buffer.alloc(0), remote)).toEqual({ kind: 'keepalive', ping: false });
  });

  test('over a stream, a request missing CSeq is rejected with a 400 that copies Via, From, To and Call-ID', () => {
    const inbound = readMessage(Buffer.from(options.replace('CSeq: 1 OPTIONS\r\n', '')), { ...remote, protocol: 'TCP' });
    expect(inbound.kind).toBe('rejected');
    if (inbound.kind !== 'rejected') return;
    expect(inbound.status).toBe(400);
    expect(inbound.error.code).toBe('ERR_MISSING_HEADER');
    const reply = inbound.reply?.toString('utf8') ?? '';
    expect(reply.startsWith('SIP/2.0 400 ')).toBe(true);
    expect(reply).toContain('Call-ID: inbound-1\r\n');
    expect(reply).toMatch(/To: <sip:bob@127\.0\.0\.1>;tag=[0-9a-f]+\r\n/);
  });

  test('over UDP (unverified source) nothing a client cannot match is answered, and no reply is larger than its request', () => {
    const noCSeq = readMessage(Buffer.from(options.replace('CSeq: 1 OPTIONS\r\n', '')), remote);
    expect(noCSeq.kind === 'rejected' && noCSeq.reply === undefined).toBe(true);
    const noCallId = Buffer.from(options.replace('Call-ID: inbound-1\r\n', ''));
    const inbound = readMessage(noCallId, remote);
    expect(inbound.kind).toBe('rejected');
    if (inbound.kind !== 'rejected') return;
    expect(inbound.status).toBe(400);
    // At most the request plus the To tag the reply must add (RFC 3261 §8.2.6.2): no amplification.
    expect(inbound.reply?.length).toBeLessThanOrEqual(noCallId.length + 32);
    expect(inbound.reply?.toString('utf8').startsWith('SIP/2.0 400 Bad Request\r\n')).toBe(true);
    // The same bytes over TCP may carry the parse error in the reason.
    const tcp = readMessage(noCallId, { ...remote, protocol: 'TCP' });
    expect(tcp.kind === 'rejected' && tcp.reply?.toString('utf8').startsWith('SIP/2.0 400 Bad Request (')).toBe(true);
  });

  test('SIP/3.0 gets 505 (RFC 3261 §8.2.2)', () => {
    const inbound = readMessage(Buffer.from(options.replace('SIP/2.0\r\n', 'SIP/3.0\r\n')), remote);
    expect(inbound.kind).toBe('rejected');
    if (inbound.kind === 'rejected') expect(inbound.status).toBe(505);
  });

  test('a bad response or an ACK is dropped without a reply (RFC 3261 §17.2.1)', () => {
    const ack = readMessage(Buffer.from(options.replace(/OPTIONS/g, 'ACK').replace('Call-ID: inbound-1\r\n', '')), remote);
    expect(ack.kind === 'rejected' && ack.reply === undefined && ack.status === 0).toBe(true);
    const junk = readMessage(Buffer.from('SIP/2.0 200 OK\r\nVia: x\r\n\r\n'), remote);
    expect(junk.kind === 'rejected' && junk.reply === undefined).toBe(true);
  });

  test('the header limit applies', () => {
    const inbound = readMessage(Buffer.from(options), remote, { maxHeaderBytes: 64, maxContentLength: 10 });
    expect(inbound.kind === 'rejected' && inbound.error.code === 'ERR_TOO_LARGE').toBe(true);
  });

  test('acceptMessage validates what a framer parsed; without bytes there is no reply', () => {
    const message = parse(options.replace('Call-ID: inbound-1\r\n', ''), { maxHeaderBytes: 1000 });
    const inbound = acceptMessage(message, remote);
    expect(inbound).toMatchObject({ kind: 'rejected', reply: undefined, status: 0 });
  });

  test('rejectBytes wraps a foreign error as ERR_START_LINE', () => {
    const r = rejectBytes(Buffer.from(options), new Error('boom'));
    expect(r.error.code).toBe('ERR_START_LINE');
    expect(r.status).toBe(400);
  });
});

describe('limits: one definition', () => {
  test('defaults are those of sip', () => {
    expect(messageLimits()).toBe(DEFAULT_MESSAGE_LIMITS);
    expect(DEFAULT_MESSAGE_LIMITS).toEqual({ maxHeaderBytes: 60480, maxContentLength: 604800 });
    expect(messageLimits({ maxBytesHeaders: 100 })).toEqual({ maxHeaderBytes: 100, maxContentLength: 604800 });
    expect(messageLimits({ maxHeaderBytes: 50, maxBytesHeaders: 100, maxContentLength: 0 })).toEqual({ maxHeaderBytes: 50, maxContentLength: 0 });
  });

  test('invalidLimitOption names the first unusable size', () => {
    expect(invalidLimitOption({})).toBeUndefined();
    expect(invalidLimitOption({ maxHeaderBytes: 0 })).toBe('maxHeaderBytes');
    expect(invalidLimitOption({ maxBytesHeaders: -1 })).toBe('maxBytesHeaders');
    expect(invalidLimitOption({ maxContentLength: 1.5 })).toBe('maxContentLength');
    expect(invalidLimitOption({ maxContentLength: 0 })).toBeUndefined();
  });
});
