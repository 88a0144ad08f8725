// The seams of the architecture step: replies through the handle of the server transaction
// (no lookup), CANCEL through the client transaction, one serialisation per request, a request
// never sent to the stack itself, and stray responses relayed only when we really sent them.
import { makeResponse } from '@sipts/core';
import type { ServerReply, SipRequest, SipResponse } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, portOf, request, sendAndWait, tag } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('reply handles', () => {
  test('a response sent through the handle needs no server-transaction lookup; send() does one', async () => {
    const handles: ServerReply[] = [];
    const uas = await listeningStack({}, (rq, _remote, reply) => {
      handles.push(reply);
      expect(reply.finalSent).toBe(false);
      expect(reply.reply(makeResponse(rq, 200))).toBe(true);
      expect(reply.finalSent).toBe(true);
      // After the final response the transaction discards anything else (RFC 3261 §17.2.2).
      expect(reply.reply(makeResponse(rq, 500))).toBe(false);
    });
    const uac = await listeningStack();
    const { response } = await sendAndWait(uac, request('OPTIONS', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(handles).toHaveLength(1);
    expect(uas.stats().serverLookups).toBe(0);

    // The sip way still works and still looks the transaction up.
    uas.removeAllListeners('request');
    uas.on('request', (rq) => uas.send(makeResponse(rq, 202)));
    const second = await sendAndWait(uac, request('OPTIONS', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`));
    expect(second.response.status).toBe(202);
    expect(uas.stats().serverLookups).toBe(1);
  });

  test('every response of one handle carries the same To tag (RFC 3261 §8.2.6.2, §12.1.1)', async () => {
    const uas = await listeningStack({}, (rq, _remote, reply) => {
      reply.reply(makeResponse(rq, 180));
      reply.reply(makeResponse(rq, 200));
    });
    const uac = await listeningStack();
    const { all } = await sendAndWait(uac, request('INVITE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`));
    const tags = all.filter((rs) => rs.status > 100).map((rs) => rs.headers.to?.params.tag);
    expect(tags).toHaveLength(2);
    expect(typeof tags[0]).toBe('string');
    expect(tags[1]).toBe(tags[0]);
  });

  test('an ACK for a 2xx comes with a handle that sends nothing', async () => {
    const acks: ServerReply[] = [];
    const uas = await listeningStack({}, (rq, _remote, reply) => {
      if (rq.method === 'ACK') acks.push(reply);
      else reply.reply(makeResponse(rq, 200));
    });
    const uac = await listeningStack();
    const invite = request('INVITE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`);
    const { response } = await sendAndWait(uac, invite);
    const ack: SipRequest = request('ACK', invite.uri as string, {
      'call-id': invite.headers['call-id'],
      from: invite.headers.from,
      to: response.headers.to,
      cseq: { seq: 1, method: 'ACK' },
    });
    uac.send(ack);
    for (let i = 0; i < 100 && acks.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(acks).toHaveLength(1);
    expect(acks[0]?.transaction).toBeUndefined();
    expect(acks[0]?.reply(makeResponse(invite, 200))).toBe(false);
  });

  test('a CANCEL marks the INVITE handle cancelled (RFC 3261 §9.2)', async () => {
    let inviteReply: ServerReply | undefined;
    let invite: SipRequest | undefined;
    const uas = await listeningStack({}, (rq, _remote, reply) => {
      if (rq.method === 'INVITE') {
        invite = rq;
        inviteReply = reply;
        reply.reply(makeResponse(rq, 180));
      } else if (rq.method === 'CANCEL') {
        reply.reply(makeResponse(rq, 200));
        expect(inviteReply?.cancelled).toBe(true);
        inviteReply?.reply(makeResponse(invite!, 487));
      }
    });
    const uac = await listeningStack();
    const rq = request('INVITE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`);
    const final = await new Promise<number>((resolve) => {
      uac.send(rq, (rs) => {
        if (rs.status === 180) expect(uac.cancel(rq)).toBe(true);
        if (rs.status >= 200) resolve(rs.status);
      });
    });
    expect(final).toBe(487);
  });
});

describe('one serialisation per request', () => {
  test('a UDP request is serialised once: the bytes measured for RFC 3261 §18.1.1 are the bytes sent', async () => {
    const peer = new RawUdpPeer();
    const port = await peer.bind();
    const stack = await listeningStack();
    let reads = 0;
    const rq = request('OPTIONS', `sip:peer@127.0.0.1:${port}`);
    // An unknown header whose value is read only by stringify: it counts serialisations.
    rq.headers['x-probe'] = {
      get uri(): string {
        reads++;
        return 'sip:probe@127.0.0.1';
      },
      params: {},
    };
    stack.send(rq, () => {});
    const first = await peer.next();
    expect(first.text).toContain('X-Probe: <sip:probe@127.0.0.1>');
    // Timer E retransmits the same bytes, never a new serialisation.
    const again = await peer.next();
    expect(again.text).toBe(first.text);
    expect(reads).toBe(1);
    await peer.close();
  });

  test('over the allowance with TCP enabled, the request goes over TCP (§18.1.1)', async () => {
    // The switch keeps the resolved port: the UAS needs TCP on its UDP port (port 0 usually gets it).
    let uas = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    for (let i = 0; i < 5 && portOf(uas, 'UDP') !== portOf(uas, 'TCP'); i++) {
      uas = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    }
    expect(portOf(uas, 'TCP')).toBe(portOf(uas, 'UDP'));
    const uac = await listeningStack();
    const rq = request('MESSAGE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`);
    rq.content = 'x'.repeat(1500);
    rq.headers['content-type'] = 'text/plain';
    const via = new Promise<string>((resolve) => uas.once('request', (m) => resolve(m.headers.via?.[0]?.protocol ?? '')));
    const { response } = await sendAndWait(uac, rq);
    expect(response.status).toBe(200);
    expect(await via).toBe('TCP');
  });

  test('over the allowance without TCP, UDP carries it all the same (no other transport)', async () => {
    const uas = await listeningStack({ tcp: false }, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const uac = await listeningStack({ tcp: false });
    const rq = request('MESSAGE', `sip:uas@127.0.0.1:${portOf(uas, 'UDP')}`);
    rq.content = 'x'.repeat(1500);
    const { response } = await sendAndWait(uac, rq);
    expect(response.status).toBe(200);
  });
});

describe('never to ourselves (issue: one ACK looped 255 times through the proxy)', () => {
  test('an ACK whose next hop is this stack is not sent, and counted', async () => {
    const seen: string[] = [];
    const stack = await listeningStack({}, (rq) => seen.push(rq.method));
    stack.send(request('ACK', `sip:nobody@127.0.0.1:${portOf(stack, 'UDP')}`));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([]);
    expect(stack.stats().selfLoopsRefused).toBe(1);
  });

  test('a request whose only target is this stack gets 482 Loop Detected', async () => {
    const seen: string[] = [];
    const stack = await listeningStack({}, (rq) => seen.push(rq.method));
    const { response } = await sendAndWait(stack, request('OPTIONS', `sip:nobody@127.0.0.1:${portOf(stack, 'UDP')}`));
    expect(response.status).toBe(482);
    expect(seen).toEqual([]);
  });

  test('sendStateless to ourselves is refused too', async () => {
    const stack = await listeningStack();
    const rq = request('MESSAGE', `sip:x@127.0.0.1:${portOf(stack, 'UDP')}`, {
      via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.5', port: 5999, params: { branch: 'z9hG4bKabc' } }],
    });
    stack.sendStateless(rq);
    await new Promise((r) => setTimeout(r, 200));
    expect(stack.stats().selfLoopsRefused).toBe(1);
  });
});

describe('stray responses (RFC 3261 §16.7 step 1, §18.1.2)', () => {
  test('a forged response with our Via on top is not relayed to the Via below it', async () => {
    const victim = new RawUdpPeer();
    const victimPort = await victim.bind();
    const attacker = new RawUdpPeer();
    await attacker.bind();
    const stack = await listeningStack();
    const ours = `SIP/2.0/UDP ${stack.sentBy()}:${portOf(stack, 'UDP')};branch=z9hG4bKforged.x`;
    const text =
      'SIP/2.0 200 OK\r\n' +
      `Via: ${ours}\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${victimPort};branch=z9hG4bKvictim\r\n` +
      `From: <sip:a@127.0.0.1>;tag=${tag()}\r\nTo: <sip:b@127.0.0.1>;tag=${tag()}\r\n` +
      `Call-ID: ${tag()}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`;
    await attacker.send(text, portOf(stack, 'UDP'));
    for (let i = 0; i < 50 && stack.stats().strayResponsesDropped === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(stack.stats().strayResponsesDropped).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(victim.all).toHaveLength(0);
    await victim.close();
    await attacker.close();
  });

  test('a response to a request the stack forwarded statelessly is relayed (signed branch)', async () => {
    const uas = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
    const proxy = await listeningStack({}, (rq) => {
      rq.headers.via!.unshift({ version: '2.0', protocol: 'UDP', host: proxy.sentBy(), params: {} });
      rq.uri = `sip:b@127.0.0.1:${portOf(uas, 'UDP')}`;
      proxy.sendStateless(rq);
    });
    const uac = await listeningStack();
    const { response } = await sendAndWait(uac, request('MESSAGE', `sip:b@127.0.0.1:${portOf(proxy, 'UDP')}`));
    expect(response.status).toBe(200);
    expect(proxy.stats().strayResponsesDropped).toBe(0);
  });
});

describe('hand-built messages as sip users write them', () => {
  test('makeResponse accepts a single Via object (sip did)', () => {
    const rq = request('OPTIONS', 'sip:a@127.0.0.1') as SipRequest & { headers: { via: unknown } };
    (rq.headers as Record<string, unknown>).via = { version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: 5060, params: { branch: 'z9hG4bKx' } };
    const rs: SipResponse = makeResponse(rq, 200);
    expect(rs.headers.via).toHaveLength(1);
    expect(rs.headers.via?.[0]?.params.branch).toBe('z9hG4bKx');
  });
});
