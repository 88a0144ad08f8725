import { FlowTokenCodec } from '@sipts/core';

const flow = { protocol: 'TCP', address: '192.0.2.7', port: 40123, local: { address: '192.0.2.1', port: 5060 } };

describe('flow tokens', () => {
  test('a token round-trips to the exact flow', () => {
    const codec = new FlowTokenCodec();
    expect(codec.decode(codec.encode(flow))).toEqual(flow);
  });

  test('IPv6 flows round-trip', () => {
    const codec = new FlowTokenCodec();
    const v6 = { protocol: 'WS', address: '2001:db8::7', port: 1, local: { address: '::1', port: 8080 } };
    expect(codec.decode(codec.encode(v6))).toEqual(v6);
  });

  test('a token is URI-safe: only unreserved characters (RFC 3261 §25.1 user part)', () => {
    const token = new FlowTokenCodec().encode(flow);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  test('a token minted with another secret is not a flow', () => {
    const a = new FlowTokenCodec();
    const b = new FlowTokenCodec();
    expect(b.decode(a.encode(flow))).toBeUndefined();
  });

  test('a configured secret lets a cluster decode each other\'s tokens', () => {
    const a = new FlowTokenCodec('cluster-secret');
    const b = new FlowTokenCodec(Buffer.from('cluster-secret'));
    expect(b.decode(a.encode(flow))).toEqual(flow);
  });

  test('altering the flow part invalidates the token', () => {
    const codec = new FlowTokenCodec('k');
    const token = codec.encode(flow);
    const [mac] = token.split('.');
    const forged = `${mac}.${Buffer.from('TCP,203.0.113.66,5060,192.0.2.1,5060').toString('base64url')}`;
    expect(codec.decode(forged)).toBeUndefined();
  });

  test('garbage, empty, oversized and missing tokens are not flows', () => {
    const codec = new FlowTokenCodec();
    for (const bad of [undefined, '', '.', 'abc', 'a.b', '....', 'x'.repeat(10_000), 'Zm9v.Zm9v']) {
      expect(codec.decode(bad)).toBeUndefined();
    }
  });
});
