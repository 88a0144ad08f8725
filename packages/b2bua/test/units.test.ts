// The pure parts: header values (token lists, o= lines, RFC 3326 Reason, RFC 3420 sipfrag,
// Refer-To with an embedded Replaces, the SDP body test), header copying, and option checks.
import { DEFAULT_RELAY_HEADERS, NEVER_RELAYED } from '@sipts/b2bua';
import { copyHeaders, hasToken, originLine, reasonHeader, sdpOf, sipfrag, splitReferTo } from '../src/headers.js';
import { callOptions, normalizeB2buaOptions } from '../src/options.js';
import { OFFER } from './helpers.js';

test('hasToken: case-insensitive, whitespace around items, no partial matches, non-strings', () => {
  expect(hasToken('timer, 100REL', '100rel')).toBe(true);
  expect(hasToken(' 100rel ', '100rel')).toBe(true);
  expect(hasToken('100relx, x100rel', '100rel')).toBe(false);
  expect(hasToken(',,,', '100rel')).toBe(false);
  expect(hasToken(undefined, '100rel')).toBe(false);
  expect(hasToken('a,'.repeat(5000) + '100rel', '100rel')).toBe(true);
});

test('originLine, sdpOf', () => {
  expect(originLine(OFFER)).toBe('o=alice 1 1 IN IP4 127.0.0.1');
  expect(originLine('o=x 1 2 IN IP4 h\nv=0')).toBe('o=x 1 2 IN IP4 h');
  expect(originLine('v=0\r\ns=-\r\n')).toBe('');
  expect(originLine(undefined)).toBe('');
  const message = (type: string | undefined, content: string) => ({ status: 200, reason: 'OK', headers: type === undefined ? {} : { 'content-type': type }, content });
  expect(sdpOf(message('application/sdp', OFFER))).toBe(OFFER);
  expect(sdpOf(message('Application/SDP; charset=x', OFFER))).toBe(OFFER);
  expect(sdpOf(message(undefined, OFFER))).toBe(OFFER);
  expect(sdpOf(message('message/sipfrag', 'SIP/2.0 200 OK'))).toBeUndefined();
  expect(sdpOf(message('application/sdp', ''))).toBeUndefined();
  expect(sdpOf(undefined)).toBeUndefined();
});

test('reasonHeader and sipfrag keep quoted strings clean and bounded', () => {
  expect(reasonHeader(408, 'ACK Timeout')).toBe('SIP ;cause=408 ;text="ACK Timeout"');
  expect(reasonHeader(500, 'a "quoted" \\ thing\r\n')).toBe('SIP ;cause=500 ;text="a quoted  thing"');
  expect(reasonHeader(500, 'x'.repeat(1000)).length).toBeLessThan(160);
  expect(sipfrag(486, 'Busy Here')).toBe('SIP/2.0 486 Busy Here\r\n');
  expect(sipfrag(200, 'OK\r\nVia: injected')).toBe('SIP/2.0 200 OKVia: injected\r\n');
});

test('splitReferTo: the URI to call and an embedded Replaces (RFC 3891 §5)', () => {
  expect(splitReferTo('sip:carol@127.0.0.1')).toEqual({ uri: 'sip:carol@127.0.0.1', replaces: undefined });
  expect(splitReferTo('sip:carol@127.0.0.1?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2&X=y')).toEqual({
    uri: 'sip:carol@127.0.0.1',
    replaces: 'abc@host;to-tag=1;from-tag=2',
  });
  expect(splitReferTo('sip:carol@127.0.0.1?replaces=%E0%A4%A')).toEqual({ uri: 'sip:carol@127.0.0.1', replaces: '%E0%A4%A' });
});

test('copyHeaders allocates only when a header is there', () => {
  expect(copyHeaders({ via: [], subject: 'x' }, ['subject', 'priority'], undefined)).toEqual({ subject: 'x' });
  expect(copyHeaders({ via: [] }, ['subject'], undefined)).toBeUndefined();
  const into = { a: 1 };
  expect(copyHeaders({ priority: 'urgent' }, ['priority'], into)).toBe(into);
});

test('options: defaults, per-call overrides, the relayed list never holds a per-leg header', () => {
  const o = normalizeB2buaOptions({});
  expect(o).toMatchObject({ maxCalls: 10000, retryAfter: 5, target: undefined, ua: { maxDialogs: 40016, rel100: 'supported', attach: false } });
  expect(o.call).toMatchObject({ rel100: 'end-to-end', targetTimeout: 0, maxCallDuration: 4 * 3600 * 1000, relayHeaders: DEFAULT_RELAY_HEADERS });
  const c = callOptions(o.call, { rel100: 'local', maxCallDuration: 0, relayHeaders: ['X-Account'] });
  expect(c).toMatchObject({ rel100: 'local', maxCallDuration: 0, relayHeaders: ['x-account'] });
  expect(normalizeB2buaOptions({ ua: { maxDialogs: 5 } }).ua.maxDialogs).toBe(5);
  for (const name of DEFAULT_RELAY_HEADERS) expect(NEVER_RELAYED.has(name)).toBe(false);
  expect(() => normalizeB2buaOptions({ ua: 'x' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
});
