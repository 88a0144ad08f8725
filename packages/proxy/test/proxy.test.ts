import { makeResponse, type SipRequest, type SipResponse } from '@sipts/message';
import { SipProxy, SipProxyError, isSipProxyError } from '@sipts/proxy';
import type { ContextReleasedEvent, ProxyOwnOptions, ProxyReply, RequestHandler } from '@sipts/proxy';
import { FakeStack, cancelFor, fakeStackFactory, invite } from './fake-stack.js';

const running: SipProxy[] = [];

function setup(
  handler: (proxy: SipProxy, rq: SipRequest, reply: ProxyReply) => void = (p, rq) => p.send(rq),
  options: Omit<ProxyOwnOptions, 'stack'> = {},
): { proxy: SipProxy; stack: FakeStack; released: ContextReleasedEvent[] } {
  const stack = new FakeStack();
  const released: ContextReleasedEvent[] = [];
  let proxy: SipProxy;
  proxy = new SipProxy({ address: '10.0.0.1', port: 5060, ...options, stack: fakeStackFactory(stack) }, (rq, _remote, reply) =>
    handler(proxy, rq, reply),
  );
  proxy.on('contextReleased', (e) => released.push(e));
  running.push(proxy);
  return { proxy, stack, released };
}

const statuses = (stack: FakeStack): number[] => stack.responses.map((r) => r.status);

afterEach(() => {
  for (const p of running.splice(0)) p.stop();
  jest.useRealTimers();
});

describe('sip/proxy-compatible send', () => {
  test('INVITE: 100 at once, downstream 100 absorbed, 180 and 200 forwarded without our Via, context released', () => {
    const { proxy, stack, released } = setup();
    const rq = invite();
    stack.receive(rq);
    expect(statuses(stack)).toEqual([100]);
    expect(proxy.contextCount).toBe(1);
    const [out] = stack.sent('INVITE');
    expect(out).toBeDefined();
    stack.answer(out!, 100);
    stack.answer(out!, 180);
    stack.answer(out!, 200);
    expect(statuses(stack)).toEqual([100, 180, 200]);
    const ok = stack.responses[2] as SipResponse;
    expect(ok.headers.via).toHaveLength(1);
    // RFC 3581: the caller's Via keeps received/rport, so the stack answers where it came from.
    expect(ok.headers.via?.[0]?.params).toMatchObject({ received: '192.0.2.7', rport: '40000' });
    expect(proxy.contextCount).toBe(0);
    expect(released).toEqual([expect.objectContaining({ reason: 'final', status: 200, method: 'INVITE' })]);
  });

  test('the application may send its own 100 Trying: it goes upstream once only', () => {
    const { stack } = setup((p, rq) => {
      const trying: SipResponse = { status: 100, reason: 'Trying', headers: { ...rq.headers }, content: '' };
      p.send(trying);
      p.send(rq);
    });
    stack.receive(invite());
    expect(statuses(stack)).toEqual([100]);
  });

  test('trying: false leaves 100 to the application', () => {
    const { stack } = setup(undefined, { trying: false });
    stack.receive(invite());
    expect(statuses(stack)).toEqual([]);
  });

  test('a response the application sends in context goes upstream and releases the context', () => {
    const { proxy, stack } = setup((p, rq) => {
      const rs: SipResponse = { status: 404, reason: 'Not Found', headers: { ...rq.headers }, content: '' };
      p.send(rs);
    });
    stack.receive(invite({}, 'OPTIONS'));
    expect(statuses(stack)).toEqual([404]);
    expect(proxy.contextCount).toBe(0);
  });

  test('a callback gets responses with our Via on top; forwarding a final through send releases', () => {
    const seen: number[] = [];
    const { proxy, stack } = setup((p, rq) =>
      p.send(rq, (rs) => {
        seen.push(rs.status);
        expect(rs.headers.via?.[0]?.host).toBe('10.0.0.1');
        rs.headers.via?.shift();
        p.send(rs);
      }),
    );
    stack.receive(invite());
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    stack.answer(out!, 486);
    expect(seen).toEqual([180, 486]);
    expect(statuses(stack)).toEqual([100, 180, 486]);
    expect(proxy.contextCount).toBe(0);
  });

  test('a request or response without context goes to the stack unchanged', () => {
    const { stack } = setup();
    const rq = invite({}, 'OPTIONS');
    const stray: SipResponse = { status: 200, reason: 'OK', headers: { ...rq.headers }, content: '' };
    const proxy = new SipProxy({ stack: fakeStackFactory(stack) }, () => undefined);
    proxy.send(rq);
    proxy.send(stray);
    expect(stack.requests[0]?.request).toBe(rq);
    expect(stack.responses).toContain(stray);
  });
});

describe('CANCEL (RFC 3261 §16.10)', () => {
  test('answered 200, the ringing branch cancelled through its own transaction (the object sent), 487 forwarded, context released', () => {
    const { proxy, stack, released } = setup();
    const rq = invite();
    stack.receive(rq);
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    stack.receive(cancelFor(rq));
    expect(statuses(stack)).toEqual([100, 180, 200]);
    // No CANCEL built by the proxy: the stack's INVITE transaction sends it (RFC 3261 §9.1).
    expect(stack.sent('CANCEL')).toHaveLength(0);
    expect(stack.cancels).toHaveLength(1);
    expect(stack.cancels[0]).toBe(out!.request);
    expect(proxy.stats()).toMatchObject({ cancelsReceived: 1, branchesCancelled: 1 });
    expect(proxy.contextCount).toBe(1);
    stack.answer(out!, 487);
    expect(statuses(stack)).toEqual([100, 180, 200, 487]);
    expect(proxy.contextCount).toBe(0);
    expect(released[0]?.reason).toBe('cancelled');
  });

  test('a CANCEL that gets no 487 still releases the context after cancelTimeout', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup(undefined, { cancelTimeout: 2000 });
    const rq = invite();
    stack.receive(rq);
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    stack.receive(cancelFor(rq));
    jest.advanceTimersByTime(1999);
    expect(proxy.contextCount).toBe(1);
    jest.advanceTimersByTime(1);
    expect(proxy.contextCount).toBe(0);
    expect(statuses(stack).at(-1)).toBe(487);
    // A late 487 is absorbed.
    stack.answer(out!, 487);
    expect(statuses(stack).filter((s) => s === 487)).toHaveLength(1);
  });

  test('CANCEL before any provisional response: the stack is asked at once (its transaction waits for one, §9.1)', () => {
    const { stack } = setup();
    const rq = invite();
    stack.receive(rq);
    const [out] = stack.sent('INVITE');
    stack.receive(cancelFor(rq));
    expect(stack.cancels).toEqual([out!.request]);
    stack.answer(out!, 180);
    // A provisional after the CANCEL still goes upstream (no final yet) and asks for nothing more.
    expect(stack.cancels).toHaveLength(1);
    stack.answer(out!, 487);
    expect(statuses(stack)).toEqual([100, 200, 180, 487]);
  });

  test('CANCEL without a context gets 481', () => {
    const { stack } = setup();
    stack.receive(cancelFor(invite()));
    expect(statuses(stack)).toEqual([481]);
  });

  test('CANCEL before the application forwarded: 487 at once, later forwarding is ignored', () => {
    let later: (() => void) | undefined;
    const { proxy, stack } = setup((p, rq) => {
      later = () => p.send(rq);
    });
    const rq = invite();
    stack.receive(rq);
    stack.receive(cancelFor(rq));
    expect(statuses(stack)).toEqual([100, 200, 487]);
    expect(proxy.contextCount).toBe(0);
    later?.();
    expect(stack.sent('INVITE')).toHaveLength(0);
  });

  test('fork after the context was cancelled does nothing (no orphan branches, no throw)', () => {
    let later: (() => void) | undefined;
    const { stack } = setup((p, rq) => {
      later = () => p.fork(rq, ['sip:b1@10.0.0.3']);
    });
    const rq = invite();
    stack.receive(rq);
    stack.receive(cancelFor(rq));
    expect(() => later?.()).not.toThrow();
    expect(stack.sent('INVITE')).toHaveLength(0);
  });

  test('CANCEL is propagated to every pending branch', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    const rq = invite();
    stack.receive(rq);
    const outs = stack.sent('INVITE');
    expect(outs).toHaveLength(2);
    for (const o of outs) stack.answer(o, 180);
    stack.receive(cancelFor(rq));
    expect(stack.cancels).toEqual(outs.map((o) => o.request));
    expect(stack.cancels.map((c) => c.uri)).toEqual(['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']);
  });
});

describe('contexts are released on every path', () => {
  test('handler throws: 500 upstream, error reported, context released', () => {
    const errors: unknown[] = [];
    const { proxy, stack } = setup(() => {
      throw new Error('boom');
    });
    proxy.on('error', (e) => errors.push(e));
    stack.receive(invite());
    expect(statuses(stack)).toEqual([100, 500]);
    expect(proxy.contextCount).toBe(0);
    expect(isSipProxyError(errors[0]) && errors[0].code).toBe('ERR_HANDLER');
  });

  test('a callback that throws: 500 upstream, pending branches cancelled', () => {
    const { proxy, stack } = setup((p, rq) =>
      p.send(rq, () => {
        throw new Error('bad callback');
      }),
    );
    proxy.on('error', () => undefined);
    stack.receive(invite());
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    expect(statuses(stack)).toEqual([100, 500]);
    expect(proxy.contextCount).toBe(0);
    expect(stack.cancels).toHaveLength(1);
  });

  test('transport error (503 from the stack) goes upstream as 500 (§16.7 step 6)', () => {
    const { proxy, stack } = setup();
    stack.receive(invite());
    stack.answer(stack.sent('INVITE')[0]!, 503);
    expect(statuses(stack)).toEqual([100, 500]);
    expect(proxy.contextCount).toBe(0);
  });

  test('a stack that throws on send: 500 upstream, context released', () => {
    const { proxy, stack } = setup();
    proxy.on('error', () => undefined);
    stack.throwOnSend = true;
    stack.receive(invite());
    expect(statuses(stack)).toEqual([100, 500]);
    expect(proxy.contextCount).toBe(0);
  });

  test('all branches time out: 408 upstream, context released', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup((p, rq) => p.fork(rq, ['sip:a@10.0.0.3', 'sip:b@10.0.0.4'], { timeout: 1000 }));
    stack.receive(invite());
    jest.advanceTimersByTime(1000);
    expect(statuses(stack)).toEqual([100, 408]);
    expect(proxy.contextCount).toBe(0);
  });

  test('a handler that never answers: the context expires (contextTimeout) with 408', () => {
    jest.useFakeTimers();
    const { proxy, stack, released } = setup(() => undefined, { contextTimeout: 5000 });
    stack.receive(invite());
    jest.advanceTimersByTime(6000);
    expect(proxy.contextCount).toBe(0);
    expect(statuses(stack)).toEqual([100, 408]);
    expect(released[0]?.reason).toBe('timeout');
  });

  test('ACK gets no context and is forwarded with Max-Forwards decremented', () => {
    const { proxy, stack } = setup();
    const ack = invite({ 'max-forwards': 10 }, 'ACK');
    stack.receive(ack);
    expect(proxy.contextCount).toBe(0);
    const [out] = stack.sent('ACK');
    expect(out?.request.headers['max-forwards']).toBe(9);
  });

  test('stop() clears contexts and timers and destroys the stack', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup((p, rq) => p.fork(rq, ['sip:a@10.0.0.3'], { timeout: 1000 }));
    stack.receive(invite());
    proxy.stop();
    expect(stack.destroyed).toBe(true);
    expect(proxy.contextCount).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    expect(() => proxy.fork(invite(), [])).toThrow(expect.objectContaining({ code: 'ERR_STOPPED' }));
  });
});

describe('forking and response aggregation (§16.7)', () => {
  test('parallel: 486 then 200: the 200 goes upstream, the 486 is absorbed', () => {
    const { proxy, stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    stack.receive(invite());
    const [b1, b2] = stack.sent('INVITE');
    stack.answer(b1!, 486);
    expect(statuses(stack)).toEqual([100]);
    stack.answer(b2!, 200);
    expect(statuses(stack)).toEqual([100, 200]);
    expect(proxy.contextCount).toBe(0);
  });

  test('parallel: a 2xx cancels the other branches; a second 2xx is still forwarded', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    stack.receive(invite());
    const [b1, b2] = stack.sent('INVITE');
    stack.answer(b1!, 180);
    stack.answer(b2!, 180);
    stack.answer(b1!, 200);
    expect(stack.cancels).toEqual([b2!.request]);
    stack.answer(b2!, 200);
    expect(statuses(stack)).toEqual([100, 180, 180, 200, 200]);
  });

  test('a 6xx cancels the others and wins over a later 2xx-less outcome', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    stack.receive(invite());
    const [b1, b2] = stack.sent('INVITE');
    stack.answer(b2!, 180);
    stack.answer(b1!, 603);
    expect(stack.cancels.map((c) => c.uri)).toEqual(['sip:b2@10.0.0.4']);
    stack.answer(b2!, 487);
    expect(statuses(stack)).toEqual([100, 180, 603]);
  });

  test('best response: lowest class, 4xx preference for challenges, 401/407 challenges merged', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4', 'sip:b3@10.0.0.5']));
    stack.receive(invite());
    const [b1, b2, b3] = stack.sent('INVITE');
    stack.answer(b1!, 404);
    stack.answer(b2!, 401, { 'www-authenticate': [{ scheme: 'Digest', realm: '"a"' }] });
    stack.answer(b3!, 407, { 'proxy-authenticate': [{ scheme: 'Digest', realm: '"b"' }] });
    const final = stack.responses.at(-1) as SipResponse;
    expect(final.status).toBe(401);
    expect(final.headers['www-authenticate']).toEqual([{ scheme: 'Digest', realm: '"a"' }]);
    expect(final.headers['proxy-authenticate']).toEqual([{ scheme: 'Digest', realm: '"b"' }]);
    expect(final.headers.via).toHaveLength(1);
  });

  test('sequential: the next target after a non-2xx final, none after a 2xx', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4', 'sip:b3@10.0.0.5'], { mode: 'sequential' }));
    stack.receive(invite());
    expect(stack.sent('INVITE')).toHaveLength(1);
    stack.answer(stack.sent('INVITE')[0]!, 480);
    expect(stack.sent('INVITE').map((s) => s.request.uri)).toEqual(['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']);
    stack.answer(stack.sent('INVITE')[1]!, 200);
    expect(stack.sent('INVITE')).toHaveLength(2);
    expect(statuses(stack)).toEqual([100, 200]);
  });

  test('sequential with timeout: a silent target counts as 408, a ringing one is CANCELled', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup((p, rq) =>
      p.fork(rq, ['sip:silent@10.0.0.3', 'sip:ringing@10.0.0.4', 'sip:answers@10.0.0.5'], { mode: 'sequential', timeout: 2000 }),
    );
    stack.receive(invite());
    jest.advanceTimersByTime(2000);
    const outs = stack.sent('INVITE');
    expect(outs.map((o) => o.request.uri)).toEqual(['sip:silent@10.0.0.3', 'sip:ringing@10.0.0.4']);
    // The silent branch counts as 408; its transaction is asked to cancel it should it ring late (§9.1).
    expect(stack.cancels.map((c) => c.uri)).toEqual(['sip:silent@10.0.0.3']);
    stack.answer(outs[1]!, 180);
    jest.advanceTimersByTime(2000);
    expect(stack.cancels.map((c) => c.uri)).toEqual(['sip:silent@10.0.0.3', 'sip:ringing@10.0.0.4']);
    stack.answer(outs[1]!, 487);
    const third = stack.sent('INVITE')[2];
    expect(third?.request.uri).toBe('sip:answers@10.0.0.5');
    stack.answer(third!, 200);
    expect(statuses(stack)).toEqual([100, 180, 200]);
    expect(proxy.contextCount).toBe(0);
    // A late provisional on the silent branch is not forwarded and asks for nothing more.
    stack.answer(outs[0]!, 180);
    expect(statuses(stack)).toEqual([100, 180, 200]);
    expect(stack.cancels).toHaveLength(2);
    expect(proxy.stats().branchesTimedOut).toBe(1);
  });

  test('each branch is its own copy; targets may carry Route entries', () => {
    const route = [{ uri: { schema: 'sip', host: '10.9.9.9', port: 5080, params: { lr: null }, headers: {} }, params: {} }];
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', { uri: 'sip:b2@10.0.0.4', route }]));
    stack.receive(invite());
    const [b1, b2] = stack.sent('INVITE');
    expect(b1!.request).not.toBe(b2!.request);
    expect(b1!.request.headers.via).not.toBe(b2!.request.headers.via);
    expect(b1!.request.headers.route).toBeUndefined();
    expect(b2!.request.headers.route).toEqual(route);
  });

  test('once a forked branch has its final response, the copy the stack holds is emptied; the application\'s object never is', () => {
    let appRequest: SipRequest | undefined;
    const { stack } = setup((p, rq) => {
      appRequest = rq;
      p.fork(rq, ['sip:b1@10.0.0.3']);
    });
    stack.receive(invite());
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    expect(out!.request.headers.from).toBeDefined();
    stack.answer(out!, 200);
    expect(Object.keys(out!.request.headers).sort()).toEqual(['call-id', 'cseq', 'via']);
    expect(out!.request.headers.via).toHaveLength(1);
    expect(appRequest?.headers.from).toBeDefined();
    expect(appRequest?.headers.contact).toBeDefined();
    // sip/proxy-style send: the application's own object goes to the stack and is left alone.
    const compat = setup();
    compat.stack.receive(invite());
    const [sent] = compat.stack.sent('INVITE');
    compat.stack.answer(sent!, 200);
    expect(sent!.request.headers.contact).toBeDefined();
  });

  test('fork without targets answers 480; fork of an unknown request throws ERR_NO_CONTEXT', () => {
    const { proxy, stack } = setup((p, rq) => p.fork(rq, []));
    stack.receive(invite());
    expect(statuses(stack)).toEqual([100, 480]);
    expect(() => proxy.fork(invite(), ['sip:x@y'])).toThrow(expect.objectContaining({ code: 'ERR_NO_CONTEXT' }));
  });

  test('non-INVITE: provisional ignored, best final forwarded, no CANCEL ever', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    stack.receive(invite({}, 'MESSAGE'));
    const [b1, b2] = stack.sent('MESSAGE');
    stack.answer(b1!, 200);
    stack.answer(b2!, 404);
    expect(statuses(stack)).toEqual([200]);
    expect(stack.cancels).toHaveLength(0);
  });
});

describe('request processing (§16.3, §16.4, §16.6, RFC 3327)', () => {
  test('Max-Forwards is decremented; absent means 70; 0 gets 483 and nothing is forwarded', () => {
    const { stack } = setup();
    stack.receive(invite({ 'max-forwards': 5 }));
    expect(stack.sent('INVITE')[0]?.request.headers['max-forwards']).toBe(4);
    const none = invite();
    delete none.headers['max-forwards'];
    stack.receive(none);
    expect(stack.sent('INVITE')[1]?.request.headers['max-forwards']).toBe(70);
    stack.receive(invite({ 'max-forwards': '0' }));
    expect(stack.sent('INVITE')).toHaveLength(2);
    expect(statuses(stack).at(-1)).toBe(483);
  });

  test('Record-Route with lr on top of the existing ones when recordRoute is on', () => {
    const existing = [{ uri: { schema: 'sip', host: 'p1.example.com', params: { lr: null }, headers: {} }, params: {} }];
    const { stack } = setup(undefined, { recordRoute: true });
    stack.receive(invite({ 'record-route': existing }));
    const rr = stack.sent('INVITE')[0]?.request.headers['record-route'];
    expect(rr).toHaveLength(2);
    expect(rr?.[0]?.uri).toMatchObject({ schema: 'sip', host: '10.0.0.1', port: 5060, params: { lr: null } });
    expect(rr?.[1]).toEqual(existing[0]);
  });

  test('no Record-Route without the option, none in REGISTER; Path only when the UA supports it', () => {
    const { stack } = setup(undefined, { recordRoute: true, path: true });
    stack.receive(invite({}, 'REGISTER'));
    stack.receive(invite({ supported: 'outbound, path' }, 'REGISTER'));
    const [plain, withPath] = stack.sent('REGISTER');
    expect(plain?.request.headers['record-route']).toBeUndefined();
    expect(plain?.request.headers.path).toBeUndefined();
    expect(withPath?.request.headers.path?.[0]?.uri).toMatchObject({ host: '10.0.0.1', port: 5060, params: { lr: null } });
    const off = setup();
    off.stack.receive(invite());
    expect(off.stack.sent('INVITE')[0]?.request.headers['record-route']).toBeUndefined();
  });

  test('a top Route naming this proxy is removed before the handler sees the request (§16.4)', () => {
    let seen: SipRequest | undefined;
    const { stack } = setup((_p, rq) => {
      seen = rq;
    });
    const mine = { uri: { schema: 'sip', host: '10.0.0.1', port: 5060, params: { lr: null }, headers: {} }, params: {} };
    const next = { uri: { schema: 'sip', host: 'p2.example.com', params: { lr: null }, headers: {} }, params: {} };
    stack.receive(invite({ route: [mine, next] }));
    expect(seen?.headers.route).toEqual([next]);
    const otherPort = { uri: { ...mine.uri, port: 5070 }, params: {} };
    stack.receive(invite({ route: [otherPort] }));
    expect(seen?.headers.route).toEqual([otherPort]);
  });

  test('a strict router put our Record-Route into the Request-URI: the last Route becomes the URI (§16.4)', () => {
    let seen: SipRequest | undefined;
    const { stack } = setup((_p, rq) => {
      seen = rq;
    });
    const target = { uri: { schema: 'sip', user: 'bob', host: '10.0.0.8', port: 5090, params: {}, headers: {} }, params: {} };
    const rq = invite({ route: [target] });
    rq.uri = 'sip:10.0.0.1;lr';
    stack.receive(rq);
    expect(seen?.uri).toEqual(target.uri);
    expect(seen?.headers.route).toEqual([]);
  });

  test('loop detection: the request coming back unchanged gets 482, a spiral is forwarded (§16.3)', () => {
    const { stack } = setup();
    const first = invite();
    stack.receive(first);
    const out = stack.sent('INVITE')[0]!.request;
    // The same request comes back to us (our Via below the next hop's).
    const back = invite({
      via: [{ version: '2.0', protocol: 'UDP', host: '10.0.0.7', port: 5060, params: { branch: 'z9hG4bKnext' } }, ...(out.headers.via ?? [])],
      'call-id': first.headers['call-id'],
      from: first.headers.from,
      to: first.headers.to,
    });
    back.uri = first.uri;
    stack.receive(back);
    expect(statuses(stack).at(-1)).toBe(482);
    expect(stack.sent('INVITE')).toHaveLength(1);
    // A spiral: same request, retargeted upstream (different Request-URI).
    const spiral = invite({ via: back.headers.via, 'call-id': first.headers['call-id'], from: first.headers.from, to: first.headers.to });
    spiral.headers.via = [{ version: '2.0', protocol: 'UDP', host: '10.0.0.7', port: 5060, params: { branch: 'z9hG4bKnext2' } }, ...(out.headers.via ?? [])];
    spiral.uri = 'sip:carol@example.com';
    stack.receive(spiral);
    expect(stack.sent('INVITE')).toHaveLength(2);
  });

  test('stateless forwarding: no context kept, Max-Forwards decremented, sent without a transaction', () => {
    const { proxy, stack } = setup((p, rq) => p.forwardStateless(rq));
    const options = invite({ 'max-forwards': 3 }, 'OPTIONS');
    stack.receive(structuredClone(options));
    expect(proxy.contextCount).toBe(0);
    expect(stack.requests).toHaveLength(0);
    expect(stack.stateless).toHaveLength(1);
    expect((stack.stateless[0] as SipRequest).headers['max-forwards']).toBe(2);
    // RFC 3261 §16.11: our Via on top, its branch the same for a retransmission.
    const vias = (stack.stateless[0] as SipRequest).headers.via ?? [];
    expect(vias).toHaveLength(2);
    expect(vias[0]?.host).toBe(stack.hostname());
    stack.receive(structuredClone(options)); // a retransmission
    expect((stack.stateless[1] as SipRequest).headers.via?.[0]?.params['branch']).toBe(vias[0]?.params['branch']);
  });
});

describe('several proxies coexist', () => {
  test('contexts are per proxy', () => {
    const a = setup(() => undefined);
    const b = setup(() => undefined);
    a.stack.receive(invite());
    expect(a.proxy.contextCount).toBe(1);
    expect(b.proxy.contextCount).toBe(0);
    a.proxy.stop();
    b.proxy.stop();
  });

  test('options are checked', () => {
    const stack = new FakeStack();
    expect(() => new SipProxy({ stack: fakeStackFactory(stack), cancelTimeout: -1 }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});

describe('reply handles', () => {
  test("the proxy answers on the stack's reply handle: 100, 180, 200 go out with no lookup by Via", () => {
    const { stack } = setup();
    stack.receive(invite());
    const [out] = stack.sent('INVITE');
    stack.answer(out!, 180);
    stack.answer(out!, 200);
    expect(statuses(stack)).toEqual([100, 180, 200]);
    expect(stack.replies[0]?.sent.map((r) => r.status)).toEqual([100, 180, 200]);
    expect(stack.lookups).toBe(0);
  });

  test('every 2xx of a forked INVITE goes up the handle, the later one too', () => {
    const { stack } = setup((p, rq) => p.fork(rq, ['sip:b1@10.0.0.3', 'sip:b2@10.0.0.4']));
    stack.receive(invite());
    const [b1, b2] = stack.sent('INVITE');
    stack.answer(b1!, 200);
    stack.answer(b2!, 200);
    expect(stack.replies[0]?.sent.map((r) => r.status)).toEqual([100, 200, 200]);
    expect(stack.lookups).toBe(0);
  });

  test('a stack that hands no reply handle (a sip@0.0.6-style call): responses go through send', () => {
    const { proxy, stack } = setup();
    stack.replyHandles = false;
    stack.receive(invite());
    stack.answer(stack.sent('INVITE')[0]!, 486);
    expect(statuses(stack)).toEqual([100, 486]);
    expect(stack.lookups).toBe(2);
    expect(proxy.contextCount).toBe(0);
  });

  test("CANCEL is answered on its own transaction's handle: 200 with a context, 481 without", () => {
    const { stack } = setup();
    const rq = invite();
    stack.receive(rq);
    stack.receive(cancelFor(rq));
    stack.receive(cancelFor(invite()));
    stack.answer(stack.sent('INVITE')[0]!, 487);
    expect(stack.replies[1]?.sent.map((r) => r.status)).toEqual([200]);
    expect(stack.replies[2]?.sent.map((r) => r.status)).toEqual([481]);
    expect(stack.replies[0]?.sent.map((r) => r.status)).toEqual([100, 487]);
    expect(stack.lookups).toBe(0);
  });

  test("the handler's handle: reply() is proxy.send(response) for its context", () => {
    let handle: ProxyReply | undefined;
    const { proxy, stack, released } = setup((_p, rq, reply) => {
      handle = reply;
      expect(reply.finalSent).toBe(false);
      expect(reply.reply(makeResponse(rq, 180))).toBe(true);
      expect(reply.reply(makeResponse(rq, 486))).toBe(true);
    });
    stack.receive(invite());
    expect(statuses(stack)).toEqual([100, 180, 486]);
    expect(stack.lookups).toBe(0);
    expect(proxy.contextCount).toBe(0);
    expect(released).toEqual([expect.objectContaining({ reason: 'final', status: 486 })]);
    expect(handle?.finalSent).toBe(true);
    // One final only; a late non-2xx is refused.
    expect(handle?.reply({ status: 500, reason: 'x', headers: {}, content: '' })).toBe(false);
    expect(statuses(stack)).toEqual([100, 180, 486]);
  });

  test("the handler's handle reports a CANCEL and answers the 487 itself", () => {
    let handle: ProxyReply | undefined;
    let request: SipRequest | undefined;
    const { proxy, stack } = setup(
      (_p, rq, reply) => {
        handle = reply;
        request = rq;
      },
      { trying: false },
    );
    const rq = invite();
    stack.receive(rq);
    expect(handle?.cancelled).toBe(false);
    stack.receive(cancelFor(rq));
    // Nothing was forwarded: the proxy ends the INVITE with 487 as a UAS would (§16.10).
    expect(handle?.cancelled).toBe(true);
    expect(statuses(stack)).toEqual([200, 487]);
    expect(handle?.reply(makeResponse(request!, 486))).toBe(false);
    expect(statuses(stack)).toEqual([200, 487]);
    expect(proxy.contextCount).toBe(0);
  });

  test('an ACK comes with a handle that answers nothing', () => {
    let handle: ProxyReply | undefined;
    const { stack } = setup((p, rq, reply) => {
      handle = reply;
      p.send(rq);
    });
    const ack = invite({}, 'ACK');
    stack.receive(ack);
    expect(handle?.reply(makeResponse(ack, 200))).toBe(false);
    expect(stack.responses).toHaveLength(0);
  });
});

describe('maxBranches (fork amplification)', () => {
  const targets = (n: number): string[] => Array.from({ length: n }, (_, i) => `sip:b${i}@10.0.1.${i + 1}`);
  /** A copy of `rq` for another target, with its own header table and Via list (the stack pushes its Via). */
  const to = (rq: SipRequest, uri: string): SipRequest => ({ ...rq, uri, headers: { ...rq.headers, via: rq.headers.via?.slice() } });

  test('default 20: a fork to 25 targets goes to the first 20 in order; counted, warned and emitted once', () => {
    const warnings: string[] = [];
    const limits: unknown[] = [];
    const { proxy, stack } = setup((p, rq) => p.fork(rq, targets(25)), { logger: { warn: (m) => warnings.push(m) } });
    proxy.on('branchLimit', (e) => limits.push(e));
    stack.receive(invite());
    const outs = stack.sent('INVITE');
    expect(outs.map((o) => o.request.uri)).toEqual(targets(20));
    expect(proxy.stats()).toMatchObject({ branches: 20, forksTruncated: 1, forkTargetsDropped: 5, branchesRefused: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('maxBranches (20)');
    expect(limits).toEqual([expect.objectContaining({ method: 'INVITE', maxBranches: 20, overLimit: 5 })]);
    // The forked branches decide the outcome as usual.
    for (const o of outs) stack.answer(o, 486);
    expect(statuses(stack)).toEqual([100, 486]);
  });

  test('the cap is per context across fork, sequential targets and send: past it a branch ends at once with 500 Too Many Branches', () => {
    const limits: unknown[] = [];
    const seen: number[] = [];
    let request: SipRequest | undefined;
    const { proxy, stack } = setup(
      (p, rq) => {
        request = rq;
        p.fork(rq, targets(2));
      },
      { maxBranches: 3 },
    );
    proxy.on('branchLimit', (e) => limits.push(e));
    stack.receive(invite());
    expect(stack.sent('INVITE')).toHaveLength(2);
    // A third branch (an application's recursion on a 3xx, say) still fits; a fourth does not.
    proxy.send(to(request!, 'sip:third@10.0.2.1'), (rs) => seen.push(rs.status));
    proxy.send(to(request!, 'sip:fourth@10.0.2.2'), (rs) => seen.push(rs.status));
    expect(stack.sent('INVITE')).toHaveLength(3);
    expect(seen).toEqual([500]);
    // A fork with no room left: its first target is refused, the rest dropped.
    proxy.fork(request!, targets(4));
    expect(stack.sent('INVITE')).toHaveLength(3);
    expect(proxy.stats()).toMatchObject({ branches: 3, branchesRefused: 2, forksTruncated: 1, forkTargetsDropped: 3 });
    expect(limits).toHaveLength(1);
    for (const o of stack.sent('INVITE').slice(0, 2)) stack.answer(o, 404);
    expect(statuses(stack)).toEqual([100]); // the callback branch is the application's
    stack.answer(stack.sent('INVITE')[2]!, 486);
    expect(seen).toEqual([500, 486]);
  });

  test('a refused branch takes part in the aggregation: its 500 loses to a 486 (§16.7 step 6)', () => {
    const { stack } = setup((p, rq) => {
      p.send(to(rq, 'sip:first@10.0.2.1'));
      p.send(to(rq, 'sip:second@10.0.2.2'));
    }, { maxBranches: 1 });
    stack.receive(invite());
    expect(stack.sent('INVITE')).toHaveLength(1);
    stack.answer(stack.sent('INVITE')[0]!, 486);
    expect(statuses(stack)).toEqual([100, 486]);
  });

  test('sequential: the queue holds only the targets that fit', () => {
    const { proxy, stack } = setup((p, rq) => p.fork(rq, targets(5), { mode: 'sequential' }), { maxBranches: 2 });
    stack.receive(invite());
    stack.answer(stack.sent('INVITE')[0]!, 480);
    stack.answer(stack.sent('INVITE')[1]!, 480);
    expect(stack.sent('INVITE').map((o) => o.request.uri)).toEqual(targets(2));
    expect(statuses(stack)).toEqual([100, 480]);
    expect(proxy.stats().forkTargetsDropped).toBe(3);
  });
});

describe('stats() and options', () => {
  test('counts contexts, branches, loops (482), Max-Forwards (483), unmatched CANCELs and timeouts', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup(undefined, { contextTimeout: 1000 });
    const first = invite();
    stack.receive(first);
    const out = stack.sent('INVITE')[0]!.request;
    const back = invite({
      via: [{ version: '2.0', protocol: 'UDP', host: '10.0.0.7', port: 5060, params: { branch: 'z9hG4bKnext' } }, ...(out.headers.via ?? [])],
      'call-id': first.headers['call-id'],
      from: first.headers.from,
      to: first.headers.to,
    });
    back.uri = first.uri;
    stack.receive(back);
    stack.receive(invite({ 'max-forwards': 0 }));
    stack.receive(cancelFor(invite()));
    jest.advanceTimersByTime(2000);
    expect(proxy.stats()).toEqual({
      contexts: 0,
      contextsCreated: 2,
      branches: 1,
      branchesCancelled: 1,
      cancelsReceived: 0,
      cancelsUnmatched: 1,
      forksTruncated: 0,
      forkTargetsDropped: 0,
      branchesRefused: 0,
      loopsDetected: 1,
      tooManyHops: 1,
      contextsTimedOut: 1,
      branchesTimedOut: 0,
      statelessForwarded: 0,
      flowFailovers: 0,
    });
  });

  test('every own option is checked (ERR_INVALID_OPTION)', () => {
    const stack = new FakeStack();
    const bad: Record<string, unknown>[] = [
      { maxBranches: 0 },
      { maxBranches: 2.5 },
      { cancelTimeout: -1 },
      { contextTimeout: '5' },
      { maxForwards: 0 },
      { recordRoute: 'yes' },
      { doubleRecordRoute: 'sometimes' },
      { path: 1 },
      { trying: null },
      { loopDetection: 'no' },
      { aliases: 'proxy.example.com' },
      { recordRouteHost: '' },
      { logger: 'console' },
    ];
    for (const options of bad) {
      expect(() => new SipProxy({ stack: fakeStackFactory(stack), ...options }, () => undefined)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
      );
    }
    expect(() => new SipProxy({ stack: fakeStackFactory(stack) }, 'handler' as unknown as RequestHandler)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });

  test('a stack without cancel(request) is refused and destroyed (sip@0.0.6 create() has none)', () => {
    const stack = new FakeStack();
    const noCancel = Object.create(stack) as FakeStack;
    (noCancel as { cancel: unknown }).cancel = undefined;
    expect(() => new SipProxy({ stack: () => noCancel }, () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(noCancel.destroyed).toBe(true);
  });

  test('fork options and targets are checked', () => {
    let request: SipRequest | undefined;
    const { proxy, stack } = setup((_p, rq) => {
      request = rq;
    });
    stack.receive(invite());
    expect(() => proxy.fork(request!, ['sip:a@10.0.0.3'], { mode: 'serial' as 'sequential' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
    expect(() => proxy.fork(request!, ['sip:a@10.0.0.3'], { timeout: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
    expect(() => proxy.fork(request!, [42 as unknown as string])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_TARGET' }));
    expect(() => proxy.fork(request!, [{ uri: { user: 'x' } } as unknown as string])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_TARGET' }),
    );
    expect(stack.sent('INVITE')).toHaveLength(0);
  });

  test('SipProxyError: code, cause, the brand across copies, instanceof', () => {
    const cause = new Error('boom');
    const errors: unknown[] = [];
    const { proxy, stack } = setup(() => {
      throw cause;
    });
    proxy.on('error', (e) => errors.push(e));
    stack.receive(invite());
    const error = errors[0] as SipProxyError;
    expect(error).toBeInstanceOf(SipProxyError);
    expect(error.code).toBe('ERR_HANDLER');
    expect(error.cause).toBe(cause);
    const foreign = Object.assign(new Error('from another copy'), { [Symbol.for('@sipts/proxy.SipProxyError')]: true, code: 'ERR_STOPPED' });
    expect(isSipProxyError(foreign)).toBe(true);
    expect(foreign instanceof SipProxyError).toBe(true);
    expect(isSipProxyError(new Error('plain'))).toBe(false);
  });
});

describe('branch events (for tracing; emitted only while someone listens)', () => {
  test('each branch starts once and ends once with its status and why', () => {
    const { proxy, stack } = setup((p, rq) =>
      p.fork(rq, ['sip:a@192.0.2.21', 'sip:b@192.0.2.22']),
    );
    const events: string[] = [];
    proxy.on('branchStart', (e) => events.push(`start ${e.branch} ${e.method} ${e.target}`));
    proxy.on('branchEnd', (e) => events.push(`end ${e.branch} ${e.status} ${e.reason}`));
    stack.receive(invite());
    const [a, b] = stack.sent('INVITE');
    stack.answer(a!, 180);
    stack.answer(b!, 486);
    stack.answer(a!, 200);
    expect(events).toEqual([
      'start b1 INVITE sip:a@192.0.2.21',
      'start b2 INVITE sip:b@192.0.2.22',
      'end b2 486 response',
      'end b1 200 response',
    ]);
  });

  test('a branch whose fork timeout fires ends as a timeout', () => {
    jest.useFakeTimers();
    const { proxy, stack } = setup((p, rq) => p.fork(rq, ['sip:a@192.0.2.21'], { timeout: 1000 }));
    const ends: string[] = [];
    proxy.on('branchEnd', (e) => ends.push(`${e.status} ${e.reason}`));
    stack.receive(invite());
    jest.advanceTimersByTime(1001);
    expect(ends).toEqual(['408 timeout']);
  });
});
