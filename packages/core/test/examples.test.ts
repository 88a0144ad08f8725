// The examples, started in-process on 127.0.0.1 port 0 and driven with real SIP.
import { digest, makeResponse, parseUri } from '@sipts/core';
import type { Remote, SipRequest, SipStack } from '@sipts/core';
import { startRedirect } from '../../../examples/redirect.js';
import { startRegistrarRedirector } from '../../../examples/registrar-redirector.js';
import { startRegistrarRedirectorAuth } from '../../../examples/registrar-redirector-auth.js';
import { optionsFromEnv, startRegistrarProxy } from '../../../examples/registrar-proxy.js';
import { makeCall } from '../../../examples/make-call.js';
import { closeAll, listeningStack, nextRequest, portOf, request, sendAndWait, stacks, tag } from './helpers.js';

// Real sockets: generous bounds so a loaded CI machine does not time out a healthy test.
jest.setTimeout(20_000);
afterEach(closeAll);

async function started(stack: SipStack): Promise<SipStack> {
  stacks.push(stack);
  await stack.ready();
  return stack;
}

const local = { address: '127.0.0.1', port: 0 } as const;

function register(user: string, registrarPort: number, contact: string, extra: Partial<SipRequest['headers']> = {}): SipRequest {
  return request('REGISTER', `sip:127.0.0.1:${registrarPort}`, {
    to: { uri: `sip:${user}@127.0.0.1`, params: {} },
    from: { uri: `sip:${user}@127.0.0.1`, params: { tag: tag() } },
    contact: [{ uri: contact, params: {} }],
    ...extra,
  });
}

describe('examples/redirect.ts', () => {
  test('answers every request 302 with the same user on the target host', async () => {
    const server = await started(startRedirect({ ...local, target: 'backup.example.net' }));
    const client = await listeningStack();
    const { response } = await sendAndWait(client, request('INVITE', `sip:alice@127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(302);
    const contact = response.headers.contact;
    expect(contact !== '*' && parseUri(contact![0]!.uri)).toMatchObject({ user: 'alice', host: 'backup.example.net' });
  });
});

describe('examples/registrar-redirector.ts', () => {
  test('REGISTER binds, INVITE is redirected to the binding, Contact: * removes it', async () => {
    const server = await started(startRegistrarRedirector(local));
    const port = portOf(server, 'UDP');
    const client = await listeningStack();
    const reg = await sendAndWait(client, register('bob', port, 'sip:bob@192.0.2.7:5070'));
    expect(reg.response.status).toBe(200);
    const bound = reg.response.headers.contact;
    expect(bound !== '*' && bound?.[0]?.params.expires).toBe('3600');

    const invite = await sendAndWait(client, request('INVITE', `sip:bob@127.0.0.1:${port}`));
    expect(invite.response.status).toBe(302);
    const contact = invite.response.headers.contact;
    expect(contact !== '*' && contact?.[0]?.uri).toBe('sip:bob@192.0.2.7:5070');

    expect((await sendAndWait(client, request('INVITE', `sip:nobody@127.0.0.1:${port}`))).response.status).toBe(404);
    expect((await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${port}`))).response.status).toBe(200);
    expect((await sendAndWait(client, request('SUBSCRIBE', `sip:bob@127.0.0.1:${port}`))).response.status).toBe(405);

    const unregister = register('bob', port, '', { contact: '*', expires: '0' });
    expect((await sendAndWait(client, unregister)).response.status).toBe(200);
    expect((await sendAndWait(client, request('INVITE', `sip:bob@127.0.0.1:${port}`))).response.status).toBe(404);
  });
});

describe('examples/registrar-redirector-auth.ts', () => {
  test('a REGISTER is challenged, then accepted when signed with the right password', async () => {
    const server = await started(startRegistrarRedirectorAuth({ ...local, accounts: { alice: 'secret' } }));
    const port = portOf(server, 'UDP');
    const client = await listeningStack();
    const rq = register('alice', port, 'sip:alice@192.0.2.9');
    const first = await sendAndWait(client, rq);
    expect(first.response.status).toBe(401);
    expect(first.response.headers['www-authenticate']?.[0]?.scheme).toBe('Digest');

    const retry = register('alice', port, 'sip:alice@192.0.2.9', { 'call-id': rq.headers['call-id']!, cseq: { seq: 2, method: 'REGISTER' } });
    const session = digest.signRequest({}, retry, first.response, { user: 'alice', password: 'secret' });
    expect(session).not.toBeNull();
    expect((await sendAndWait(client, retry)).response.status).toBe(200);

    const wrong = register('alice', port, 'sip:alice@192.0.2.9', { cseq: { seq: 3, method: 'REGISTER' } });
    digest.signRequest({}, wrong, first.response, { user: 'alice', password: 'guess' });
    expect((await sendAndWait(client, wrong)).response.status).toBe(401);
  });

  test('an unknown user gets the same challenge (no account enumeration)', async () => {
    const server = await started(startRegistrarRedirectorAuth(local));
    const client = await listeningStack();
    const { response } = await sendAndWait(client, register('mallory', portOf(server, 'UDP'), 'sip:m@192.0.2.1'));
    expect(response.status).toBe(401);
  });
});

describe('examples/registrar-proxy.ts (pnpm start)', () => {
  /** A UAS that registers `user` at the proxy and answers INVITE with 180 then 200 (or rings only). */
  async function uas(proxyPort: number, user: string, mode: 'answer' | 'ring' = 'answer') {
    const seen: SipRequest[] = [];
    const invites = new Map<string, SipRequest>();
    const stack = await listeningStack({}, (rq) => {
      seen.push(rq);
      if (rq.method === 'INVITE') {
        invites.set(rq.headers['call-id']!, rq);
        stack.send(makeResponse(rq, 180, 'Ringing'));
        if (mode === 'answer') {
          const ok = makeResponse(rq, 200, 'OK');
          ok.headers.to = { ...ok.headers.to!, params: { tag: 'uas' } };
          ok.headers.contact = [{ uri: `sip:${user}@127.0.0.1:${portOf(stack, 'UDP')}`, params: {} }];
          stack.send(ok);
        }
      } else if (rq.method === 'CANCEL') {
        stack.send(makeResponse(rq, 200));
        const invite = invites.get(rq.headers['call-id']!);
        if (invite) stack.send(makeResponse(invite, 487));
      } else if (rq.method !== 'ACK') {
        stack.send(makeResponse(rq, 200));
      }
    });
    const reg = await sendAndWait(stack, register(user, proxyPort, `sip:${user}@127.0.0.1:${portOf(stack, 'UDP')}`));
    expect(reg.response.status).toBe(200);
    return { stack, seen };
  }

  test('a call through the proxy: 100 at once, 180 and 200 relayed, ACK and BYE forwarded', async () => {
    const proxy = await started(startRegistrarProxy(local));
    const port = portOf(proxy, 'UDP');
    const callee = await uas(port, 'carol');
    const caller = await listeningStack();
    const invite = request('INVITE', `sip:carol@127.0.0.1:${port}`);
    const { response, all } = await sendAndWait(caller, invite);
    expect(all.map((r) => r.status)).toEqual([100, 180, 200]);
    expect(response.headers.via).toHaveLength(1);

    const ackArrives = nextRequest(callee.stack, (rq) => rq.method === 'ACK');
    caller.send({
      method: 'ACK',
      uri: `sip:carol@127.0.0.1:${port}`, // as SIPp's uac does: through the proxy
      headers: { to: response.headers.to!, from: response.headers.from!, 'call-id': response.headers['call-id']!, cseq: { seq: 1, method: 'ACK' }, via: [] },
    });
    const ack = (await ackArrives).request;
    expect(ack.headers.via).toHaveLength(2);
    expect(Number(ack.headers['max-forwards'])).toBe(69);

    const bye = request('BYE', `sip:carol@127.0.0.1:${port}`, {
      to: response.headers.to!,
      from: invite.headers.from!,
      'call-id': invite.headers['call-id']!,
      cseq: { seq: 2, method: 'BYE' },
    });
    expect((await sendAndWait(caller, bye)).response.status).toBe(200);
  });

  test('recordRoute: the BYE of a dialog comes back through the proxy (RFC 3261 §16.6 step 4)', async () => {
    const proxy = await started(startRegistrarProxy({ ...local, recordRoute: true }));
    const port = portOf(proxy, 'UDP');
    const byes: SipRequest[] = [];
    const callee = await listeningStack({}, (rq) => {
      if (rq.method === 'INVITE') {
        const ok = makeResponse(rq, 200, 'OK');
        ok.headers.to = { ...ok.headers.to!, params: { tag: 'rr' } };
        ok.headers.contact = [{ uri: `sip:gina@127.0.0.1:${portOf(callee, 'UDP')}`, params: {} }];
        ok.headers['record-route'] = rq.headers['record-route']; // RFC 3261 §12.1.1
        callee.send(ok);
      } else if (rq.method === 'BYE') {
        byes.push(rq);
        callee.send(makeResponse(rq, 200));
      }
    });
    expect((await sendAndWait(callee, register('gina', port, `sip:gina@127.0.0.1:${portOf(callee, 'UDP')}`))).response.status).toBe(200);
    const caller = await listeningStack();
    const invite = request('INVITE', `sip:gina@127.0.0.1:${port}`);
    const ok = await caller.request(invite);
    const rr = ok.headers['record-route'];
    expect(rr?.[0]?.uri).toMatchObject({ host: '127.0.0.1', port, params: { lr: null } });
    // The caller's route set is the Record-Route reversed (RFC 3261 §12.1.2); BYE to the Contact.
    const contact = ok.headers.contact;
    const bye = request('BYE', String(contact !== '*' && contact?.[0]?.uri), {
      to: ok.headers.to!,
      from: invite.headers.from!,
      'call-id': invite.headers['call-id']!,
      cseq: { seq: 2, method: 'BYE' },
      route: rr!.slice().reverse(),
    });
    expect((await caller.request(bye)).status).toBe(200);
    expect(byes).toHaveLength(1);
    expect(byes[0]?.headers.via).toHaveLength(2); // it went through the proxy
    expect(byes[0]?.headers.route).toBeUndefined(); // which removed its own Route entry
  });

  test('CANCEL is answered and propagated; the 487 comes back', async () => {
    const proxy = await started(startRegistrarProxy(local));
    const port = portOf(proxy, 'UDP');
    const callee = await uas(port, 'dave', 'ring');
    const caller = await listeningStack();
    const controller = new AbortController();
    const rs = await caller.request(request('INVITE', `sip:dave@127.0.0.1:${port}`), {
      signal: controller.signal,
      onProvisional: (r) => {
        if (r.status === 180) controller.abort();
      },
    });
    expect(rs.status).toBe(487);
    expect(callee.seen.map((r) => r.method)).toContain('CANCEL');
  });

  test('OPTIONS to the proxy is answered 200; unknown users 404; Max-Forwards 0 gets 483', async () => {
    const proxy = await started(startRegistrarProxy(local));
    const port = portOf(proxy, 'UDP');
    await uas(port, 'erin');
    const client = await listeningStack();
    const options = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${port}`));
    expect(options.response.status).toBe(200);
    expect(String(options.response.headers.allow)).toMatch(/INVITE/);
    expect((await sendAndWait(client, request('INVITE', `sip:nobody@127.0.0.1:${port}`))).response.status).toBe(404);
    const looped = request('MESSAGE', `sip:erin@127.0.0.1:${port}`, { 'max-forwards': 0 });
    expect((await sendAndWait(client, looped)).response.status).toBe(483);
  });

  test('a WebSocket client is reached over the connection it registered on (flow)', async () => {
    const proxy = await started(startRegistrarProxy({ ...local, ws_port: 0 }));
    const wsPort = portOf(proxy, 'WS');
    let arrived: { request: SipRequest; remote: Remote } | undefined;
    const browser = await listeningStack({ udp: false, tcp: false, ws_port: 0 }, (rq, remote) => {
      arrived = { request: rq, remote };
      browser.send(makeResponse(rq, 200));
    });
    // RFC 7118 §5: a WebSocket client's Contact host is unreachable (".invalid").
    const reg = register('web', wsPort, 'sip:web@df7jal23ls0d.invalid;transport=ws');
    reg.uri = `sip:127.0.0.1:${wsPort};transport=ws`;
    expect((await sendAndWait(browser, reg)).response.status).toBe(200);
    const caller = await listeningStack();
    const { response } = await sendAndWait(caller, request('MESSAGE', `sip:web@127.0.0.1:${portOf(proxy, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(arrived?.remote).toMatchObject({ protocol: 'WS', port: wsPort });

    // The browser goes away: its binding goes with its connection, so the next request gets 404.
    const closed = new Promise((resolve) => proxy.once('connectionClose', resolve));
    await browser.close();
    await closed;
    const after = await sendAndWait(caller, request('MESSAGE', `sip:web@127.0.0.1:${portOf(proxy, 'UDP')}`));
    expect(after.response.status).toBe(404);
  });

  test('examples/make-call.ts places a call through the proxy and hangs up with BYE', async () => {
    const proxy = await started(startRegistrarProxy(local));
    const port = portOf(proxy, 'UDP');
    const callee = await uas(port, 'frank');
    const lines: string[] = [];
    const result = await makeCall({ target: `sip:frank@127.0.0.1:${port}`, holdMs: 20, log: (l) => lines.push(l) });
    expect(result).toEqual({ status: 200, ended: 'local-bye', byeStatus: 200 });
    expect(callee.seen.map((r) => r.method)).toEqual(['INVITE', 'ACK', 'BYE']);
    expect(lines.some((l) => l.startsWith('call answered'))).toBe(true);
  });

  test('optionsFromEnv: 127.0.0.1, 5060 and WS 8080 by default; SIP_PORT / WS_PORT override', () => {
    expect(optionsFromEnv({})).toEqual({ address: '127.0.0.1', port: 5060, ws_port: 8080 });
    expect(optionsFromEnv({ SIP_PORT: '5070', WS_PORT: 'off' })).toEqual({ address: '127.0.0.1', port: 5070 });
    expect(optionsFromEnv({ WS_PORT: '8090', SIP_ADDRESS: '0.0.0.0' })).toEqual({ address: '0.0.0.0', port: 5060, ws_port: 8090 });
    expect(optionsFromEnv({ RECORD_ROUTE: '1' })).toMatchObject({ recordRoute: true });
  });
});

