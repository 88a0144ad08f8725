import { buildBadRequest, requestLineMethod } from '../src/bad-request.js';

const text = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('utf8'));

describe('requestLineMethod', () => {
  it('accepts METHOD SP Request-URI SP SIP/x.y and nothing else', () => {
    expect(requestLineMethod('INVITE sip:bob@example.com SIP/2.0')).toBe('INVITE');
    expect(requestLineMethod('NEWMETHOD.x-y sip:a SIP/7.10')).toBe('NEWMETHOD.x-y');
    expect(requestLineMethod('SIP/2.0 200 OK')).toBeUndefined();
    expect(requestLineMethod('INVITE  sip:bob SIP/2.0')).toBeUndefined();
    expect(requestLineMethod('INVITE sip:bob HTTP/1.1')).toBeUndefined();
    expect(requestLineMethod('INVITE sip:bob SIP/2.')).toBeUndefined();
    expect(requestLineMethod('INV@TE sip:bob SIP/2.0')).toBeUndefined();
    expect(requestLineMethod('')).toBeUndefined();
  });
});

describe('buildBadRequest', () => {
  it('copies compact (as spelled) and folded Via, From, To, Call-ID and CSeq, accepting bare LF line ends', () => {
    const raw = Buffer.from(
      'MESSAGE sip:bob@example.com SIP/2.0\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nv: SIP/2.0/UDP\n 10.0.0.2;branch=z9hG4bK2\n' +
        'f: <sip:a@example.com>;tag=1\nt: <sip:bob@example.com>;TAG=x\ni: abc\nCSeq: 1 MESSAGE\nContent-Length: 99\n\nbody',
    );
    expect(text(buildBadRequest(raw, 400, 'Bad Request', 60480))).toBe(
      'SIP/2.0 400 Bad Request\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nv: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2\r\n' +
        'f: <sip:a@example.com>;tag=1\r\nt: <sip:bob@example.com>;TAG=x\r\ni: abc\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('answers nothing to responses, ACKs and unreadable start lines', () => {
    expect(buildBadRequest(Buffer.from('SIP/2.0 200 OK\r\nVia: x\r\n\r\n'), 400, 'x', 60480)).toBeUndefined();
    expect(buildBadRequest(Buffer.from('ACK sip:b SIP/2.0\r\nVia: x\r\n\r\n'), 400, 'x', 60480)).toBeUndefined();
    expect(buildBadRequest(Buffer.from('\x00\x01garbage'), 400, 'x', 60480)).toBeUndefined();
  });

  it('keeps CR, LF and control characters out of the reason phrase', () => {
    const out = text(buildBadRequest(Buffer.from('BYE sip:b SIP/2.0\r\n\r\n'), 400, 'Bad\r\nInjected: yes\u0000', 60480));
    expect(out.split('\r\n')[0]).toBe('SIP/2.0 400 Bad  Injected: yes');
    expect(out).not.toContain('\r\nInjected');
  });

  it('reads no further than the limit', () => {
    const raw = Buffer.from(`OPTIONS sip:b SIP/2.0\r\nCall-ID: early\r\nX: ${'a'.repeat(100)}\r\nCSeq: 1 OPTIONS\r\n\r\n`);
    const out = text(buildBadRequest(raw, 505, 'Version Not Supported', 60));
    expect(out).toContain('\r\nCall-ID: early\r\n');
    expect(out).not.toContain('CSeq');
    expect(out.startsWith('SIP/2.0 505 Version Not Supported\r\n')).toBe(true);
  });

  it('over UDP, answers with at most the request plus the To tag it adds, trying shorter forms, else not at all', () => {
    const request = 'OPTIONS sip:a@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nt: <sip:b@h>\r\ni: j\r\nCSeq: 1 OPTIONS\r\n\r\n';
    const raw = Buffer.from(request);
    // The detailed reason does not fit: the standard phrase without Content-Length does.
    const reply = text(buildBadRequest(raw, 400, 'Missing From header, and a long explanation', 60480, true));
    expect(reply.startsWith('SIP/2.0 400 Bad Request\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nt: <sip:b@h>;tag=')).toBe(true);
    expect(reply).not.toContain('Content-Length');
    expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(raw.length + 21);
    // 505's standard phrase is longer than this request line: an empty phrase is used.
    const v3 = Buffer.from(request.replace('SIP/2.0\r\n', 'SIP/3.0\r\n'));
    const reply505 = text(buildBadRequest(v3, 505, 'Version Not Supported', 60480, true));
    expect(reply505.startsWith('SIP/2.0 505 \r\n')).toBe(true);
    expect(Buffer.byteLength(reply505)).toBeLessThanOrEqual(v3.length + 21);
    // Over a stream (no amplification to a forged source) the detailed form is sent as is.
    expect(text(buildBadRequest(raw, 400, 'Missing From header', 60480))).toContain('400 Missing From header\r\n');
    // Nothing fits a request shorter than the status line and copied lines: no reply.
    const tiny = Buffer.from('A s SIP/2.0\r\nv:x\r\nCSeq:1 A\r\n\r\n');
    expect(buildBadRequest(tiny, 400, 'x', 60480, true)).toBeUndefined();
  });
});
