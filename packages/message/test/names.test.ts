// Header-name recognition: the one-pass compare of canonical spellings (wireHeaderAt) must
// agree with the general path (token scan + headerIdAt) on every name, and refuse near misses.
import { Buffer } from 'node:buffer';
import { parse } from '@sipts/message';
import { HEADER_NAMES, headerIdAt, wireHeaderAt } from '../src/names.js';

const CANONICAL_SPELLINGS = [
  'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Route', 'Record-Route', 'Path', 'Content-Length',
  'Content-Type', 'Content-Encoding', 'Content-Disposition', 'Max-Forwards', 'WWW-Authenticate',
  'Proxy-Authenticate', 'Authorization', 'Proxy-Authorization', 'Authentication-Info', 'Refer-To',
  'Referred-By', 'Subject', 'Supported', 'Allow', 'Allow-Events', 'Event', 'Expires', 'Min-Expires',
  'User-Agent', 'Server', 'Accept', 'Require', 'Proxy-Require', 'Unsupported', 'Session-Expires',
  'Min-SE', 'Date', 'Warning', 'Retry-After', 'Privacy', 'P-Asserted-Identity', 'RSeq', 'RAck',
  'Reason', 'Timestamp', 'Organization', 'Subscription-State',
];

const bytes = (text: string): Uint8Array => Buffer.from(text + '\r\n\r\n', 'latin1');

describe('wireHeaderAt', () => {
  test.each(CANONICAL_SPELLINGS)('%s: followed by ":" gives the id of the general lookup and the name length', (name) => {
    const id = headerIdAt(bytes(name), 0, name.length);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(HEADER_NAMES[id]).toBe(name.toLowerCase());
    expect(wireHeaderAt(bytes(name + ': x'), 0)).toBe((id << 5) | name.length);
    // at an offset too
    expect(wireHeaderAt(bytes('xx' + name + ':x'), 2)).toBe((id << 5) | name.length);
  });

  test.each(CANONICAL_SPELLINGS)('%s: near misses fall through to the general path (-1)', (name) => {
    expect(wireHeaderAt(bytes(name), 0)).toBe(-1); // no colon
    expect(wireHeaderAt(bytes(name + ' :'), 0)).toBe(-1); // LWS before the colon
    expect(wireHeaderAt(bytes(name + 'x:'), 0)).toBe(-1); // longer name
    expect(wireHeaderAt(bytes(name.slice(0, -1) + ':'), 0)).toBe(-1); // shorter name
    // every single changed byte (a different letter case included) misses, unless the
    // result is itself another name in its canonical spelling
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      const swapped = c >= 65 && c <= 90 ? c + 32 : c >= 97 && c <= 122 ? c - 32 : 120;
      const other = name.slice(0, i) + String.fromCharCode(swapped) + name.slice(i + 1);
      if (!CANONICAL_SPELLINGS.includes(other)) expect(wireHeaderAt(bytes(other + ':'), 0)).toBe(-1);
    }
  });

  test('other spellings still parse through the general path', () => {
    const message = parse(
      Buffer.from(
        [
          'OPTIONS sip:a@example.com SIP/2.0',
          'via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1',
          'FROM : <sip:b@example.com>;tag=1',
          't: <sip:a@example.com>',
          'Call-Id: x@y',
          'CSEQ: 1 OPTIONS',
          'Content-Lengthy: 5',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ),
    );
    expect(message.headers.via?.[0]?.host).toBe('10.0.0.1');
    expect(message.headers.from?.params.tag).toBe('1');
    expect(message.headers.to?.uri).toBe('sip:a@example.com');
    expect(message.headers['call-id']).toBe('x@y');
    expect(message.headers.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(message.headers['content-lengthy']).toBe('5');
    expect(message.headers['content-length']).toBe(0);
  });
});
