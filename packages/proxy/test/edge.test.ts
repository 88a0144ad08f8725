// The proxy at the edge, on a fake stack that listens on UDP 5060, TCP 5070 and WS 8080 and mints
// flow tokens: Record-Route per side (RFC 5658), flow tokens towards WebSocket and outbound
// clients (RFC 5626 §5.3), both of our Route entries removed when a request comes back, a flow
// token naming the flow a request arrived on removed, one naming another flow kept for the
// stack, and failover to the other flows of an instance on 430 or a transport error.
import type { Remote, RouteAddr, SipRequest, SipUri } from '@sipts/message';
import { SipProxy, type ForkTarget, type ProxyOwnOptions, type SipProxy as Proxy } from '@sipts/proxy';
import { FakeStack, fakeStackFactory, invite } from './fake-stack.js';

/** A FakeStack with listening addresses and flow tokens (`F.<json>`, recognised under its own host only). */
class FlowStack extends FakeStack {
  constructor(private readonly bound: { protocol: string; address: string; port: number }[] = []) {
    super('10.0.0.1', 5060);
  }

  addresses(): { protocol: string; address: string; port: number }[] {
    return this.bound.length > 0
      ? this.bound
      : [
          { protocol: 'UDP', address: '10.0.0.1', port: 5060 },
          { protocol: 'TCP', address: '10.0.0.1', port: 5070 },
          { protocol: 'WS', address: '10.0.0.1', port: 8080 },
        ];
  }

  sentBy(): string {
    return '10.0.0.1';
  }

  encodeFlowUri(flow: Remote): SipUri {
    return { schema: 'sip', user: `F.${Buffer.from(JSON.stringify(flow)).toString('base64url')}`, host: '10.0.0.1', params: {}, headers: {} };
  }

  decodeFlowUri(uri: string | SipUri): Remote | undefined {
    if (typeof uri === 'string' || uri.host !== '10.0.0.1' || uri.user?.startsWith('F.') !== true) return undefined;
    try {
      return JSON.parse(Buffer.from(uri.user.slice(2), 'base64url').toString()) as Remote;
    } catch {
      return undefined;
    }
  }
}

const UDP_CALLER: Remote = { protocol: 'UDP', address: '10.0.0.2', port: 5062, local: { address: '10.0.0.1', port: 5060 } };
const WS_CLIENT: Remote = { protocol: 'WS', address: '10.0.0.7', port: 50123, local: { address: '10.0.0.1', port: 8080 } };
const TCP_CLIENT: Remote = { protocol: 'TCP', address: '10.0.0.8', port: 40001, local: { address: '10.0.0.1', port: 5070 } };

const running: Proxy[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.stop();
});

function setup(
  handler: (proxy: Proxy, rq: SipRequest) => void = (p, rq) => p.send(rq),
  options: Omit<ProxyOwnOptions, 'stack'> = {},
  stack = new FlowStack(),
): { proxy: Proxy; stack: FlowStack; seen: SipRequest[] } {
  const seen: SipRequest[] = [];
  const proxy: Proxy = new SipProxy({ address: '10.0.0.1', port: 5060, recordRoute: true, ...options, stack: fakeStackFactory(stack) }, (rq) => {
    seen.push(rq);
    handler(proxy, rq);
  });
  running.push(proxy);
  return { proxy, stack, seen };
}

const route = (uri: SipUri): RouteAddr => ({ uri, params: {} });
const sipUri = (host: string, port: number | undefined, params: Record<string, string | null> = {}, user?: string): SipUri => ({
  schema: 'sip',
  ...(user !== undefined ? { user } : {}),
  host,
  ...(port !== undefined ? { port } : {}),
  params,
  headers: {},
});
const rrOf = (stack: FakeStack, method = 'INVITE'): RouteAddr[] => stack.sent(method).at(-1)?.request.headers['record-route'] ?? [];
const tokenOf = (stack: FlowStack, remote: Remote): string => stack.encodeFlowUri(remote).user as string;

describe('Record-Route per side (RFC 5658)', () => {
  test('UDP in, TCP out: two entries, the callee side (TCP) on top, the caller side (UDP) below', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090;transport=tcp']));
    stack.receive(invite(), UDP_CALLER);
    const rr = rrOf(stack);
    expect(rr.map((r) => r.uri)).toEqual([
      sipUri('10.0.0.1', 5070, { transport: 'tcp', lr: null }),
      sipUri('10.0.0.1', 5060, { lr: null }),
    ]);
  });

  test('the same transport on both sides: one entry (auto), two with always, the legacy one with never', () => {
    const auto = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']));
    auto.stack.receive(invite(), UDP_CALLER);
    expect(rrOf(auto.stack).map((r) => r.uri)).toEqual([sipUri('10.0.0.1', 5060, { lr: null })]);

    const tcp = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090;transport=tcp']));
    tcp.stack.receive(invite(), TCP_CLIENT);
    expect(rrOf(tcp.stack).map((r) => r.uri)).toEqual([sipUri('10.0.0.1', 5070, { transport: 'tcp', lr: null })]);

    const always = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']), { doubleRecordRoute: 'always' });
    always.stack.receive(invite(), UDP_CALLER);
    expect(rrOf(always.stack).map((r) => r.uri)).toEqual([sipUri('10.0.0.1', 5060, { lr: null }), sipUri('10.0.0.1', 5060, { lr: null })]);

    const never = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090;transport=tcp']), { doubleRecordRoute: 'never' });
    never.stack.receive(invite(), WS_CLIENT);
    expect(rrOf(never.stack).map((r) => r.uri)).toEqual([sipUri('10.0.0.1', 5060, { lr: null })]);
  });

  test('the outbound side follows the first Route entry that is not ours, then sips:', () => {
    const viaTls = setup((p, rq) => {
      rq.headers.route = [route(sipUri('10.0.0.1', 5060, { lr: null })), route(sipUri('edge.example.com', undefined, { transport: 'tcp', lr: null }))];
      p.send(rq);
    });
    viaTls.stack.receive(invite(), UDP_CALLER);
    expect(rrOf(viaTls.stack)[0]?.uri).toEqual(sipUri('10.0.0.1', 5070, { transport: 'tcp', lr: null }));

    const asText = setup((p, rq) => {
      rq.headers.route = [{ uri: 'sip:edge.example.com;transport=tcp;lr' as unknown as SipUri, params: {} }];
      p.send(rq);
    });
    asText.stack.receive(invite(), UDP_CALLER);
    expect(rrOf(asText.stack)[0]?.uri).toEqual(sipUri('10.0.0.1', 5070, { transport: 'tcp', lr: null }));

    const sips = setup((p, rq) => p.fork(rq, ['sips:bob@example.com']));
    sips.stack.receive(invite(), UDP_CALLER);
    // No TLS transport here: the entry keeps the TLS form on the first port, as @sipts/core's localUri.
    expect(rrOf(sips.stack)[0]?.uri).toMatchObject({ schema: 'sips', params: { transport: 'tcp', lr: null } });
  });

  test('on a wildcard stack each side gets the address its flow reached (multi-homed)', () => {
    const stack = new FlowStack([
      { protocol: 'UDP', address: '0.0.0.0', port: 5060 },
      { protocol: 'TCP', address: '0.0.0.0', port: 5070 },
    ]);
    const { stack: s } = setup(
      (p, rq) => p.fork(rq, [{ uri: 'sip:bob@192.0.2.50:5090', route: [route(sipUri('10.0.0.1', undefined, { lr: null }, tokenOf(stack, TCP_CLIENT)))] }]),
      { address: '0.0.0.0' },
      stack,
    );
    s.receive(invite(), { protocol: 'UDP', address: '198.51.100.2', port: 5062, local: { address: '198.51.100.1', port: 5060 } });
    const rr = rrOf(s).map((r) => r.uri);
    expect(rr[0]).toMatchObject({ host: '10.0.0.1', port: 5070, params: { transport: 'tcp', lr: null } });
    expect(rr[1]).toMatchObject({ host: '198.51.100.1', port: 5060, params: { lr: null } });
  });

  test('recordRouteHost names both entries', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090;transport=tcp']), { recordRouteHost: 'proxy.example.com' });
    stack.receive(invite(), UDP_CALLER);
    expect(rrOf(stack).map((r) => r.uri.host)).toEqual(['proxy.example.com', 'proxy.example.com']);
  });
});

describe('flow tokens in Record-Route (RFC 5626 §5.3)', () => {
  test('towards a WebSocket caller: the entry below carries the token of its connection', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']));
    stack.receive(invite({ contact: [{ uri: 'sip:alice@df7jal23ls0d.invalid;transport=ws', params: {} }] }), WS_CLIENT);
    const rr = rrOf(stack).map((r) => r.uri);
    expect(rr).toEqual([sipUri('10.0.0.1', 5060, { lr: null }), sipUri('10.0.0.1', 8080, { transport: 'ws', lr: null }, tokenOf(stack, WS_CLIENT))]);
  });

  test('towards a callee reached over its flow (a registrar flow route): the entry on top carries that token', () => {
    const { stack } = setup((p, rq) => {
      const flowRoute = route(sipUri('10.0.0.1', undefined, { lr: null }, tokenOf(stack, WS_CLIENT)));
      p.fork(rq, [{ uri: 'sip:bob@x8f3.invalid;transport=ws', route: [flowRoute] }]);
    });
    stack.receive(invite(), UDP_CALLER);
    const rr = rrOf(stack).map((r) => r.uri);
    expect(rr).toEqual([sipUri('10.0.0.1', 8080, { transport: 'ws', lr: null }, tokenOf(stack, WS_CLIENT)), sipUri('10.0.0.1', 5060, { lr: null })]);
  });

  test('an outbound client over UDP: a Contact with ob, or our Route entry with ob, gets a token', () => {
    const byContact = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']));
    byContact.stack.receive(invite({ contact: [{ uri: 'sip:alice@10.0.0.2:5062;ob', params: {} }] }), UDP_CALLER);
    expect(rrOf(byContact.stack).map((r) => r.uri.user)).toEqual([undefined, tokenOf(byContact.stack, UDP_CALLER)]);

    const byRoute = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']));
    byRoute.stack.receive(invite({ route: [route(sipUri('10.0.0.1', 5060, { lr: null, ob: null }))] }), UDP_CALLER);
    expect(rrOf(byRoute.stack).map((r) => r.uri.user)).toEqual([undefined, tokenOf(byRoute.stack, UDP_CALLER)]);

    const plain = setup((p, rq) => p.fork(rq, ['sip:bob@10.0.0.9:5090']));
    plain.stack.receive(invite(), UDP_CALLER);
    expect(rrOf(plain.stack)).toHaveLength(1);
    expect(rrOf(plain.stack)[0]?.uri.user).toBeUndefined();
  });
});

describe('our Route entries coming back (RFC 3261 §16.4, RFC 5658, RFC 5626 §5.3)', () => {
  function inDialog(routeSet: RouteAddr[], uri = 'sip:alice@10.0.0.2:5062'): SipRequest {
    const rq = invite({ route: routeSet, to: { uri: 'sip:bob@example.com', params: { tag: 'b1' } } }, 'BYE');
    rq.uri = uri;
    return rq;
  }

  test('both plain entries of ours are removed: the handler sees the rest only', () => {
    const { stack, seen } = setup();
    const other = route(sipUri('p2.example.com', undefined, { lr: null }));
    stack.receive(inDialog([route(sipUri('10.0.0.1', 5060, { lr: null })), route(sipUri('10.0.0.1', 5070, { transport: 'tcp', lr: null })), other]), UDP_CALLER);
    expect(seen[0]?.headers.route).toEqual([other]);
  });

  test('from the UDP side towards a WebSocket callee: our UDP entry goes, the flow entry stays for the stack', () => {
    const { stack, seen } = setup();
    const token = tokenOf(stack, WS_CLIENT);
    stack.receive(inDialog([route(sipUri('10.0.0.1', 5060, { lr: null })), route(sipUri('10.0.0.1', 8080, { transport: 'ws', lr: null }, token))], 'sip:bob@x8f3.invalid;transport=ws'), UDP_CALLER);
    expect(seen[0]?.headers.route?.map((r) => r.uri)).toEqual([sipUri('10.0.0.1', undefined, { lr: null }, token)]);
    expect(stack.sent('BYE')[0]?.request.headers.route?.[0]?.uri.user).toBe(token);
  });

  test('from the WebSocket client itself: the entry naming its own flow is removed with ours, nothing loops back to it', () => {
    const { stack, seen } = setup();
    const token = tokenOf(stack, WS_CLIENT);
    stack.receive(inDialog([route(sipUri('10.0.0.1', 8080, { transport: 'ws', lr: null }, token)), route(sipUri('10.0.0.1', 5060, { lr: null }))]), WS_CLIENT);
    expect(seen[0]?.headers.route ?? []).toEqual([]);
    expect(stack.sent('BYE')[0]?.request.uri).toBe('sip:alice@10.0.0.2:5062');
  });

  test('a forged token is no flow: the entry names our host and port, so it is a plain entry of ours and goes', () => {
    const { stack, seen } = setup();
    const forged = route(sipUri('10.0.0.1', 8080, { transport: 'ws', lr: null }, 'F.not-json'));
    stack.receive(inDialog([forged]), UDP_CALLER);
    expect(seen[0]?.headers.route ?? []).toEqual([]);
  });
});

describe('failover to the other flows of an instance (RFC 5626 §5.3)', () => {
  const target = (n: number): ForkTarget => ({ uri: `sip:bob@10.0.0.${n}:5090;ob`, route: [] });

  test('a 430 moves to the next alternate; the 200 from it goes upstream; the 430 is not weighed', () => {
    const { proxy, stack } = setup((p, rq) => p.fork(rq, [{ uri: 'sip:bob@10.0.0.20:5090;ob', alternates: [target(21), target(22)] }]));
    stack.receive(invite(), UDP_CALLER);
    expect(stack.sent('INVITE').map((s) => s.request.uri)).toEqual(['sip:bob@10.0.0.20:5090;ob']);
    stack.answer(stack.sent('INVITE')[0]!, 430);
    expect(stack.sent('INVITE').map((s) => s.request.uri)).toEqual(['sip:bob@10.0.0.20:5090;ob', 'sip:bob@10.0.0.21:5090;ob']);
    // A transport error on the second (the stack's own 503, no remote): the third.
    stack.sent('INVITE')[1]!.callback?.({ status: 503, reason: 'Service Unavailable', headers: { ...stack.sent('INVITE')[1]!.request.headers }, content: '' });
    expect(stack.sent('INVITE').map((s) => s.request.uri).at(-1)).toBe('sip:bob@10.0.0.22:5090;ob');
    stack.answer(stack.sent('INVITE')[2]!, 200);
    expect(stack.responses.map((r) => r.status)).toEqual([100, 200]);
    expect(proxy.stats().flowFailovers).toBe(2);
    expect(proxy.contextCount).toBe(0);
  });

  test('a 503 from downstream (with a remote) and the last alternate failing end the branch as usual', () => {
    const { proxy, stack } = setup((p, rq) => p.fork(rq, [{ uri: 'sip:bob@10.0.0.20:5090;ob', alternates: [target(21)] }]));
    stack.receive(invite(), UDP_CALLER);
    stack.answer(stack.sent('INVITE')[0]!, 503);
    expect(stack.sent('INVITE')).toHaveLength(1);
    expect(stack.responses.map((r) => r.status)).toEqual([100, 500]); // a lone 503 goes up as 500 (§16.7)
    expect(proxy.stats().flowFailovers).toBe(0);

    const last = setup((p, rq) => p.fork(rq, [{ uri: 'sip:bob@10.0.0.20:5090;ob', alternates: [target(21)] }]));
    last.stack.receive(invite(), UDP_CALLER);
    last.stack.answer(last.stack.sent('INVITE')[0]!, 430);
    last.stack.answer(last.stack.sent('INVITE')[1]!, 430);
    expect(last.stack.sent('INVITE')).toHaveLength(2);
    expect(last.stack.responses.map((r) => r.status)).toEqual([100, 430]);
  });

  test('alternates must be targets (ERR_INVALID_TARGET)', () => {
    const errors: unknown[] = [];
    const { stack } = setup((p, rq) => {
      try {
        p.fork(rq, [{ uri: 'sip:bob@10.0.0.20', alternates: [42 as unknown as ForkTarget] }]);
      } catch (e) {
        errors.push(e);
        p.send(rq);
      }
    });
    stack.receive(invite(), UDP_CALLER);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_INVALID_TARGET' })]);
  });
});
