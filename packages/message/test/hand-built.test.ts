// Messages built by hand the way code written for `sip` builds them: a single Via / Contact /
// Route object instead of a list, raw strings, missing optional headers. stringify() writes
// every header that is there (a single Via was silently dropped before) and copyMessage()
// copies a single Via (it threw `via.slice is not a function`).
import { copyMessage, makeResponse, parse, stringify, type SipRequest } from '@sipts/message';

function handBuilt(extra: Record<string, unknown> = {}): SipRequest {
  return {
    method: 'INVITE',
    uri: 'sip:bob@127.0.0.1',
    headers: {
      via: { version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: 5070, params: { branch: 'z9hG4bK-h1' } },
      from: { uri: 'sip:alice@127.0.0.1', params: { tag: 'a' } },
      to: { uri: 'sip:bob@127.0.0.1', params: {} },
      'call-id': 'hand@127.0.0.1',
      cseq: { seq: 1, method: 'INVITE' },
      ...extra,
    },
  } as unknown as SipRequest;
}

describe('stringify of a hand-built message', () => {
  test('a single Via object is written', () => {
    const text = stringify(handBuilt());
    expect(text).toContain('\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-h1\r\n');
    expect(parse(text).headers.via).toEqual([{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: 5070, params: { branch: 'z9hG4bK-h1' } }]);
  });

  test('single Contact, Route, Record-Route and Path objects are written', () => {
    const text = stringify(
      handBuilt({
        contact: { uri: 'sip:alice@127.0.0.1:5070', params: { expires: '60' } },
        route: { uri: 'sip:p1@127.0.0.1;lr', params: {} },
        'record-route': { uri: 'sip:p2@127.0.0.1;lr', params: {} },
        path: { uri: 'sip:p3@127.0.0.1;lr', params: {} },
      }),
    );
    expect(text).toContain('\r\nContact: <sip:alice@127.0.0.1:5070>;expires=60\r\n');
    expect(text).toContain('\r\nRoute: <sip:p1@127.0.0.1;lr>\r\n');
    expect(text).toContain('\r\nRecord-Route: <sip:p2@127.0.0.1;lr>\r\n');
    expect(text).toContain('\r\nPath: <sip:p3@127.0.0.1;lr>\r\n');
  });

  test('a single auth header object and raw strings are written', () => {
    const text = stringify(
      handBuilt({
        authorization: { scheme: 'Digest', username: '"alice"', realm: '"r"' },
        'proxy-authorization': 'Digest username="bob"',
        contact: '*',
        route: '<sip:raw@127.0.0.1;lr>',
        via: 'SIP/2.0/TCP 127.0.0.1:5080;branch=z9hG4bK-raw',
      }),
    );
    expect(text).toContain('\r\nAuthorization: Digest username="alice", realm="r"\r\n');
    expect(text).toContain('\r\nProxy-Authorization: Digest username="bob"\r\n');
    expect(text).toContain('\r\nContact: *\r\n');
    expect(text).toContain('\r\nRoute: <sip:raw@127.0.0.1;lr>\r\n');
    expect(text).toContain('\r\nVia: SIP/2.0/TCP 127.0.0.1:5080;branch=z9hG4bK-raw\r\n');
    expect(() => parse(text)).not.toThrow();
  });

  test('lists are written as before', () => {
    const rq = parse(stringify(handBuilt()));
    rq.headers.via!.unshift({ version: '2.0', protocol: 'UDP', host: '127.0.0.2', params: { branch: 'z9hG4bK-2' } });
    expect(stringify(rq).match(/\r\nVia: /g)).toHaveLength(2);
  });
});

describe('copyMessage of a hand-built message', () => {
  test('a single Via object is copied as one (as sip clones it)', () => {
    const rq = handBuilt();
    const copy = copyMessage(rq);
    expect(copy.headers.via).toEqual(rq.headers.via);
    expect(copy.headers.via).not.toBe(rq.headers.via);
    expect(copy.headers).not.toBe(rq.headers);
  });

  test('no Via at all', () => {
    const rq = { method: 'OPTIONS', uri: 'sip:127.0.0.1', headers: {} } as unknown as SipRequest;
    expect(copyMessage(rq).headers.via).toBeUndefined();
  });

  test('makeResponse takes the single Via as a list', () => {
    expect(makeResponse(handBuilt(), 180).headers.via).toHaveLength(1);
  });
});
