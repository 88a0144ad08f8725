import {
  parse,
  stringify,
  makeResponse,
  defaultReason,
  copyMessage,
  validateMessage,
  stampReceived,
  SipParseError,
  parseUri,
  type NameAddr,
  type SipRequest,
} from '@sipts/message';

const INVITE =
  'INVITE sip:bob@biloxi.com SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport\r\n' +
  'Via: SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bKnashds8\r\n' +
  'Max-Forwards: 70\r\n' +
  'To: Bob <sip:bob@biloxi.com>\r\n' +
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n' +
  'Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n' +
  'CSeq: 314159 INVITE\r\n' +
  'Contact: <sip:alice@pc33.atlanta.com>\r\n' +
  'Content-Length: 0\r\n\r\n';

const request = (): SipRequest => parse(INVITE) as SipRequest;

describe('makeResponse', () => {
  it('copies Via, To, From, Call-ID, CSeq and uses the RFC reason phrase by default', () => {
    const rq = request();
    const rs = makeResponse(rq, 486);
    expect(rs).toEqual({
      status: 486,
      reason: 'Busy Here',
      version: '2.0',
      headers: { via: rq.headers.via, to: rq.headers.to, from: rq.headers.from, 'call-id': rq.headers['call-id'], cseq: rq.headers.cseq },
    });
    expect(Object.keys(rs.headers)).toEqual(['via', 'to', 'from', 'call-id', 'cseq']);
    expect(makeResponse(rq, 200, 'Fine').reason).toBe('Fine');
    expect(makeResponse(rq, 299).reason).toBe('');
  });

  it('does not let a To tag or a Via added to the response change the request', () => {
    const rq = request();
    const rs = makeResponse(rq, 180);
    rs.headers.to!.params.tag = 'abc';
    rs.headers.via!.unshift({ version: '2.0', protocol: 'UDP', host: 'x', params: {} });
    expect(rq.headers.to!.params).toEqual({});
    expect(rq.headers.via).toHaveLength(2);
  });

  it('the sip README redirect example: a hand-built Contact with a parsed URI stringifies to a valid message', () => {
    const rq = request();
    const rs = makeResponse(rq, 302, 'Moved Temporarily');
    const uri = parseUri(rq.uri)!;
    uri.host = 'backup.somewhere.net';
    rs.headers.contact = [{ uri } as NameAddr];
    const text = stringify(rs);
    expect(text.startsWith('SIP/2.0 302 Moved Temporarily\r\n')).toBe(true);
    expect(text).toContain('Contact: <sip:bob@backup.somewhere.net>\r\n');
    const back = parse(text);
    expect(validateMessage(back)).toBeUndefined();
    expect(back.headers.contact).toEqual([{ name: undefined, uri: 'sip:bob@backup.somewhere.net', params: {} }]);
  });

  it('applies extension headers and content', () => {
    const rs = makeResponse(request(), 302, undefined, { headers: { contact: [{ uri: 'sip:backup@example.net', params: {} }] }, content: 'x' });
    expect(rs.reason).toBe('Moved Temporarily');
    expect(rs.content).toBe('x');
    expect(stringify(rs)).toContain('Contact: <sip:backup@example.net>\r\n');
  });
});

describe('defaultReason', () => {
  it.each([
    [100, 'Trying'],
    [180, 'Ringing'],
    [200, 'OK'],
    [401, 'Unauthorized'],
    [407, 'Proxy Authentication Required'],
    [481, 'Call/Transaction Does Not Exist'],
    [503, 'Service Unavailable'],
    [603, 'Decline'],
    [999, ''],
  ])('%d -> %s', (status, reason) => {
    expect(defaultReason(status)).toBe(reason);
  });
});

describe('copyMessage', () => {
  it('shallow: new message, headers and Via array; values shared', () => {
    const rq = request();
    const c = copyMessage(rq);
    expect(c).toEqual(rq);
    expect(c).not.toBe(rq);
    expect(c.headers).not.toBe(rq.headers);
    expect(c.headers.via).not.toBe(rq.headers.via);
    expect(c.headers.to).toBe(rq.headers.to);
    c.headers.via!.shift();
    expect(rq.headers.via).toHaveLength(2);
  });

  it('deep: nothing shared', () => {
    const rq = request();
    const c = copyMessage(rq, true);
    expect(c).toStrictEqual(rq);
    c.headers.to!.params.tag = 'x';
    c.headers.via![0]!.params.received = '1.2.3.4';
    expect(rq.headers.to!.params).toEqual({});
    expect(rq.headers.via![0]!.params.received).toBeUndefined();
  });
});

describe('validateMessage', () => {
  it('accepts a complete request and response', () => {
    expect(validateMessage(request())).toBeUndefined();
    expect(validateMessage(makeResponse(request(), 200))).toBeUndefined();
  });

  it.each([
    ['via', 'ERR_MISSING_HEADER'],
    ['from', 'ERR_MISSING_HEADER'],
    ['to', 'ERR_MISSING_HEADER'],
    ['call-id', 'ERR_MISSING_HEADER'],
    ['cseq', 'ERR_MISSING_HEADER'],
  ])('reports a missing %s', (name, code) => {
    const rq = request();
    delete rq.headers[name];
    const err = validateMessage(rq);
    expect(err).toBeInstanceOf(SipParseError);
    expect(err!.code).toBe(code);
    expect(err!.header).toBe(name);
    expect(err!.offset).toBe(-1);
  });

  it('reports an empty Via list, malformed values, a CSeq method mismatch and another version', () => {
    const a = request();
    a.headers.via = [];
    expect(validateMessage(a)!.code).toBe('ERR_MISSING_HEADER');
    const b = request();
    b.headers.cseq = { seq: 1, method: 'BYE' };
    expect(validateMessage(b)!.code).toBe('ERR_HEADER_VALUE');
    const c = request();
    c.version = '7.0';
    expect(validateMessage(c)!.code).toBe('ERR_VERSION');
    const d = request();
    d.headers['call-id'] = '';
    expect(validateMessage(d)!.code).toBe('ERR_HEADER_VALUE');
    const e = request();
    e.headers.cseq = { seq: -1, method: 'INVITE' };
    expect(validateMessage(e)!.code).toBe('ERR_HEADER_VALUE');
    const f = makeResponse(request(), 200);
    f.status = 99;
    expect(validateMessage(f)!.code).toBe('ERR_START_LINE');
  });
});

describe('stampReceived', () => {
  it('RFC 3581 §4: fills a valueless rport and always adds received', () => {
    const rq = stampReceived(request(), '192.0.2.4', 34567);
    expect(rq.headers.via![0]!.params).toEqual({ branch: 'z9hG4bK776asdhds', rport: '34567', received: '192.0.2.4' });
    // only the top Via
    expect(rq.headers.via![1]!.params).toEqual({ branch: 'z9hG4bKnashds8' });
    expect(stringify(rq)).toContain('Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport=34567;received=192.0.2.4\r\n');
  });

  it('RFC 3261 §18.2.1: adds received only when the sent-by host differs from the source', () => {
    const same = parse('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n') as SipRequest;
    expect(stampReceived(same, '192.0.2.4', 5060).headers.via![0]!.params).toEqual({ branch: 'z9hG4bK1' });
    const v6 = parse('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP [2001:DB8::1];branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n') as SipRequest;
    expect(stampReceived(v6, '2001:db8::1', 5060).headers.via![0]!.params).toEqual({ branch: 'z9hG4bK1' });
    const other = parse('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP client.example.com;branch=z9hG4bK1;rport=1234\r\nContent-Length: 0\r\n\r\n') as SipRequest;
    // an rport that already has a value is left alone
    expect(stampReceived(other, '2001:db8::2', 5060).headers.via![0]!.params).toEqual({ branch: 'z9hG4bK1', rport: '1234', received: '2001:db8::2' });
  });

  it('leaves a request without Via unchanged', () => {
    const rq: SipRequest = { method: 'OPTIONS', uri: 'sip:a', headers: {} };
    expect(stampReceived(rq, '1.2.3.4', 5)).toEqual({ method: 'OPTIONS', uri: 'sip:a', headers: {} });
  });
});
