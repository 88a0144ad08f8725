import { create, makeResponse, SipCoreError, stringify } from '@sipts/core';
import type { Remote, SipRequest, SipResponse } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, nextRequest, portOf, request, sendAndWait, tag } from './helpers.js';

// Real sockets: generous bounds so a loaded CI machine does not time out a healthy test.
jest.setTimeout(20_000);
afterEach(closeAll);

describe('the sip API: send and onRequest', () => {
  test('UDP and TCP share one port picked with port 0, on the configured address', async () => {
    const stack = await listeningStack();
    const udp = portOf(stack, 'UDP');
    expect(udp).toBeGreaterThan(0);
    expect(portOf(stack, 'TCP')).toBe(udp);
    expect(stack.addresses().every((a) => a.address === '127.0.0.1')).toBe(true);
  });

  test('close() while the transports bind: ready() rejects ERR_STOPPED and no socket is left open', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'TCPServerWrap');
    // A closed handle leaves the list in the loop's close phase, after close() has resolved.
    const settled = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    const fixedPort = portOf(await listeningStack(), 'UDP');
    await closeAll();
    await settled();
    for (const port of [0, fixedPort]) {
      const before = sockets();
      // With port 0, UDP and TCP are attached once both are bound: after this close().
      const stack = create({ address: '127.0.0.1', port });
      const closed = stack.close();
      await expect(stack.ready()).rejects.toMatchObject({ code: 'ERR_STOPPED' });
      await closed;
      await settled();
      expect({ port, open: sockets() }).toEqual({ port, open: before });
    }
  });

  test('a request over UDP reaches onRequest(request, remote); the response reaches the callback', async () => {
    let seen: { request: SipRequest; remote: Remote } | undefined;
    const server = await listeningStack({}, (rq, remote) => {
      seen = { request: rq, remote };
      server.send(makeResponse(rq, 200, 'OK'));
    });
    const client = await listeningStack();
    const { response, remote } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(remote).toMatchObject({ protocol: 'UDP', address: '127.0.0.1', port: portOf(server, 'UDP') });
    expect(seen?.remote).toMatchObject({ protocol: 'UDP', address: '127.0.0.1', port: portOf(client, 'UDP') });
  });

  test('the top Via carries the bound address (never a host name), the port, rport and a crypto branch', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const client = await listeningStack();
    client.send(request('OPTIONS', `sip:127.0.0.1:${port}`));
    const { message } = await peer.next();
    const via = message.headers.via?.[0];
    expect(via).toMatchObject({ protocol: 'UDP', host: '127.0.0.1', port: portOf(client, 'UDP') });
    expect(via?.params.rport).toBeNull();
    expect(String(via?.params.branch)).toMatch(/^z9hG4bK[0-9a-f]{20,}$/);
    // RFC 3261 §8.1.1.6: Max-Forwards is added when missing.
    expect(Number(message.headers['max-forwards'])).toBe(70);
    await peer.close();
  });

  test('rport: false leaves rport out; publicAddress goes into Via', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const client = await listeningStack({ rport: false, publicAddress: '192.0.2.44' });
    client.send(request('OPTIONS', `sip:127.0.0.1:${port}`));
    const { message } = await peer.next();
    const via = message.headers.via?.[0];
    expect(via?.host).toBe('192.0.2.44');
    expect(via?.params).not.toHaveProperty('rport');
    await peer.close();
  });

  test('transport=tcp in the URI sends over TCP and the response comes back on the connection', async () => {
    let remoteSeen: Remote | undefined;
    const server = await listeningStack({}, (rq, remote) => {
      remoteSeen = remote;
      server.send(makeResponse(rq, 200));
    });
    const client = await listeningStack();
    const rq = request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'TCP')};transport=tcp`);
    const { response } = await sendAndWait(client, rq);
    expect(response.status).toBe(200);
    expect(remoteSeen?.protocol).toBe('TCP');
    expect(rq.headers.via?.[0]?.protocol).toBe('TCP');
  });

  test('a handler that throws gets a 500 sent and the error logged', async () => {
    const errors: unknown[] = [];
    const server = await listeningStack({ logger: { error: (e) => errors.push(e) } }, () => {
      throw new Error('handler bug');
    });
    const client = await listeningStack();
    const { response } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(500);
    expect(errors.some((e) => e instanceof Error && e.message === 'handler bug')).toBe(true);
  });

  test('logger.recv and logger.send see messages; a throwing logger breaks nothing', async () => {
    const recv: string[] = [];
    const server = await listeningStack(
      {
        logger: {
          recv: (m) => {
            recv.push('method' in m ? m.method : String(m.status));
            throw new Error('logger bug');
          },
          send: () => {
            throw new Error('logger bug');
          },
        },
      },
      (rq) => server.send(makeResponse(rq, 200)),
    );
    const client = await listeningStack();
    const { response } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(recv).toEqual(['OPTIONS']);
  });

  test('INVITE: every response reaches the callback; the 2xx ACK sent with via: [] reaches onRequest with a new branch', async () => {
    const server = await listeningStack({}, (rq) => {
      if (rq.method !== 'INVITE') return;
      server.send(makeResponse(rq, 180, 'Ringing'));
      const ok = makeResponse(rq, 200, 'OK');
      ok.headers.to = { ...ok.headers.to!, params: { tag: 'callee' } };
      ok.headers.contact = [{ uri: `sip:callee@127.0.0.1:${portOf(server, 'UDP')}`, params: {} }];
      server.send(ok);
    });
    const client = await listeningStack();
    const invite = request('INVITE', `sip:callee@127.0.0.1:${portOf(server, 'UDP')}`);
    const { response, all } = await sendAndWait(client, invite);
    expect(all.map((r) => r.status)).toEqual(expect.arrayContaining([180, 200]));
    const ackArrives = nextRequest(server, (rq) => rq.method === 'ACK');
    client.send({
      method: 'ACK',
      uri: String(response.headers.contact !== '*' && response.headers.contact?.[0]?.uri),
      headers: {
        to: response.headers.to!,
        from: response.headers.from!,
        'call-id': response.headers['call-id']!,
        cseq: { method: 'ACK', seq: response.headers.cseq!.seq },
        via: [],
      },
    });
    const { request: ack } = await ackArrives;
    expect(ack.headers.via).toHaveLength(1);
    expect(ack.headers.via?.[0]?.params.branch).not.toBe(invite.headers.via?.[0]?.params.branch);
    expect(ack.headers.via?.[0]?.host).toBe('127.0.0.1');
    expect(Number(ack.headers['max-forwards'])).toBe(70);
  });

  test('an ACK honours Route: it goes to the route, not to the Request-URI (sip ignored it)', async () => {
    const viaRoute = await listeningStack();
    const routed = nextRequest(viaRoute, (rq) => rq.method === 'ACK');
    const client = await listeningStack();
    const peer = new RawUdpPeer();
    const peerPort = await peer.bind();
    client.send({
      method: 'ACK',
      uri: `sip:callee@127.0.0.1:${peerPort}`,
      headers: {
        to: { uri: 'sip:callee@127.0.0.1', params: { tag: 'x' } },
        from: { uri: 'sip:caller@127.0.0.1', params: { tag: 'y' } },
        'call-id': tag(),
        cseq: { method: 'ACK', seq: 1 },
        route: [{ uri: { schema: 'sip', host: '127.0.0.1', port: portOf(viaRoute, 'UDP'), params: { lr: null }, headers: {} }, params: {} }],
      },
    });
    const { request: ack } = await routed;
    expect(ack.method).toBe('ACK');
    expect(peer.all).toHaveLength(0);
    await peer.close();
  });

  test('a CANCEL built sip-style without a Via gets the INVITE branch and goes to the INVITE target', async () => {
    let onCancel: (rq: SipRequest) => void = () => {};
    const cancelSeen = new Promise<SipRequest>((resolve) => (onCancel = resolve));
    const server = await listeningStack({}, (rq) => {
      if (rq.method === 'INVITE') server.send(makeResponse(rq, 180));
      if (rq.method === 'CANCEL') {
        server.send(makeResponse(rq, 200));
        onCancel(rq);
      }
    });
    const port = portOf(server, 'UDP');
    const client = await listeningStack();
    const invite = request('INVITE', `sip:callee@127.0.0.1:${port}`);
    await sendAndWait(client, invite, (rs) => rs.status === 180);
    const cancelResponse = new Promise<SipResponse>((resolve) => {
      client.send(
        {
          method: 'CANCEL',
          uri: invite.uri,
          headers: {
            to: invite.headers.to!,
            from: invite.headers.from!,
            'call-id': invite.headers['call-id']!,
            cseq: { method: 'CANCEL', seq: invite.headers.cseq!.seq },
          },
        },
        resolve,
      );
    });
    const cancel = await cancelSeen;
    expect(cancel.headers.via).toHaveLength(1);
    expect(cancel.headers.via?.[0]?.params.branch).toBe(invite.headers.via?.[0]?.params.branch);
    expect((await cancelResponse).status).toBe(200);
  });

  test('send(response) for a request with no transaction is sent statelessly to the Via (RFC 3261 §18.2.2)', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const stack = await listeningStack();
    stack.send({
      status: 200,
      reason: 'OK',
      headers: {
        via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port, params: { branch: 'z9hG4bKstateless' } }],
        to: { uri: 'sip:a@127.0.0.1', params: { tag: '1' } },
        from: { uri: 'sip:b@127.0.0.1', params: { tag: '2' } },
        'call-id': tag(),
        cseq: { seq: 1, method: 'MESSAGE' },
      },
    });
    const { message } = await peer.next();
    expect('status' in message && message.status).toBe(200);
    await peer.close();
  });

  test('a response to an ACK is never sent', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const stack = await listeningStack();
    stack.send({
      status: 200,
      reason: 'OK',
      headers: {
        via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port, params: { branch: 'z9hG4bKack' } }],
        to: { uri: 'sip:a@127.0.0.1', params: {} },
        from: { uri: 'sip:b@127.0.0.1', params: {} },
        'call-id': tag(),
        cseq: { seq: 1, method: 'ACK' },
      },
    });
    // Send something after it on the same path: if the ACK response were sent it would come first.
    stack.send(request('OPTIONS', `sip:127.0.0.1:${port}`));
    const { message } = await peer.next();
    expect('method' in message && message.method).toBe('OPTIONS');
    await peer.close();
  });

  test('a request with no request handler is answered 500 at once', async () => {
    const server = await listeningStack();
    const client = await listeningStack();
    const { response } = await sendAndWait(client, request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`));
    expect(response.status).toBe(500);
  });

  test('malformed messages are refused synchronously with ERR_INVALID_MESSAGE', async () => {
    const stack = await listeningStack();
    expect(() => stack.send({ method: 'OPTIONS', uri: 'not a uri', headers: {} })).toThrow(SipCoreError);
    const noCallId = request('OPTIONS', 'sip:127.0.0.1');
    delete noCallId.headers['call-id'];
    try {
      stack.send(noCallId);
      throw new Error('did not throw');
    } catch (e) {
      expect(e).toBeInstanceOf(SipCoreError);
      expect((e as SipCoreError).code).toBe('ERR_INVALID_MESSAGE');
    }
  });

  test('odd message shapes never throw anything but ERR_INVALID_MESSAGE', async () => {
    const stack = await listeningStack();
    const odd: unknown[] = [
      { status: 200, headers: {} },
      { status: 200, reason: 'OK', headers: { via: 'SIP/2.0/UDP x' } },
      { ...request('CANCEL', 'sip:127.0.0.1:9'), headers: { ...request('CANCEL', 'sip:127.0.0.1:9').headers, via: 'garbage' } },
      { ...request('OPTIONS', 'sip:127.0.0.1:9'), headers: { ...request('OPTIONS', 'sip:127.0.0.1:9').headers, via: [null] } },
      { method: 'OPTIONS', uri: 'sip:127.0.0.1:9', headers: null },
      null,
    ];
    for (const m of odd) {
      try {
        stack.send(m as never, () => {});
      } catch (e) {
        expect([JSON.stringify(m), (e as SipCoreError).code, String(e)]).toEqual([JSON.stringify(m), 'ERR_INVALID_MESSAGE', expect.any(String)]);
      }
    }
  });

  test('a CSeq given as a string is parsed (sip accepted it)', async () => {
    const server = await listeningStack({}, (rq) => server.send(makeResponse(rq, 200)));
    const client = await listeningStack();
    const rq = request('OPTIONS', `sip:127.0.0.1:${portOf(server, 'UDP')}`, { cseq: '7 OPTIONS' as unknown as { seq: number; method: string } });
    const { response } = await sendAndWait(client, rq);
    expect(response.headers.cseq).toEqual({ seq: 7, method: 'OPTIONS' });
  });

  test('invalid options are refused with ERR_INVALID_OPTION', () => {
    expect(() => create({ port: 70000 })).toThrow(/options.port/);
    expect(() => create({ address: 'not-an-ip' })).toThrow(SipCoreError);
    expect(() => create({ maxContentLength: -1 })).toThrow(/maxContentLength/);
  });

  test('stringify is exported and recomputes Content-Length in bytes', () => {
    const text = stringify({ ...request('MESSAGE', 'sip:a@127.0.0.1'), content: 'é' });
    expect(text).toMatch(/Content-Length: 2\r\n/i);
  });
});
