// RFC 3263 §4.3 failover: a target that times out (Timer B/F) or fails at the transport is left
// for the next target, and is tried last by the requests that follow for deadTargetTtl.
import { makeResponse } from '@sipts/core';
import type { Resolver } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

test('a silent first target times out, the second answers; the next request skips the silent one', async () => {
  const silent = new RawUdpPeer();
  const silentPort = await silent.bind();
  const uas = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  const resolver: Resolver = {
    resolve: () =>
      Promise.resolve([
        { protocol: 'UDP', address: '127.0.0.1', port: silentPort },
        { protocol: 'UDP', address: '127.0.0.1', port: portOf(uas, 'UDP') },
      ]),
  };
  // t1 = 10 ms: Timer F fires after 640 ms.
  const uac = await listeningStack({ resolver, t1: 10, tcp: false });
  const first = await sendAndWait(uac, request('OPTIONS', 'sip:service@example.invalid'));
  expect(first.response.status).toBe(200);
  const seenBySilent = silent.all.length;
  expect(seenBySilent).toBeGreaterThan(0);
  expect(uac.stats()).toMatchObject({ deadTargets: 1, deadTargetsMarked: 1 });

  const second = await sendAndWait(uac, request('OPTIONS', 'sip:service@example.invalid'));
  expect(second.response.status).toBe(200);
  // Straight to the live target: the silent one got nothing new.
  expect(silent.all.length).toBe(seenBySilent);
  await silent.close();
});

test('with deadTargetTtl 0 every request tries the targets in resolver order', async () => {
  const silent = new RawUdpPeer();
  const silentPort = await silent.bind();
  const uas = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  const resolver: Resolver = {
    resolve: () =>
      Promise.resolve([
        { protocol: 'UDP', address: '127.0.0.1', port: silentPort },
        { protocol: 'UDP', address: '127.0.0.1', port: portOf(uas, 'UDP') },
      ]),
  };
  const uac = await listeningStack({ resolver, t1: 10, tcp: false, deadTargetTtl: 0 });
  await sendAndWait(uac, request('OPTIONS', 'sip:service@example.invalid'));
  const before = silent.all.length;
  const second = await sendAndWait(uac, request('OPTIONS', 'sip:service@example.invalid'));
  expect(second.response.status).toBe(200);
  expect(silent.all.length).toBeGreaterThan(before);
  await silent.close();
});

test('a target that rang and then hit the ring limit is not failed over (it is alive)', async () => {
  let invites = 0;
  const ringing = await listeningStack({}, (rq, _remote, reply) => {
    if (rq.method === 'INVITE') {
      invites++;
      reply.reply(makeResponse(rq, 180));
    } else if (rq.method === 'CANCEL') reply.reply(makeResponse(rq, 200));
  });
  const other = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  const resolver: Resolver = {
    resolve: () =>
      Promise.resolve([
        { protocol: 'UDP', address: '127.0.0.1', port: portOf(ringing, 'UDP') },
        { protocol: 'UDP', address: '127.0.0.1', port: portOf(other, 'UDP') },
      ]),
  };
  const uac = await listeningStack({ resolver, ringTimeLimit: 300, tcp: false });
  const { response } = await sendAndWait(uac, request('INVITE', 'sip:service@example.invalid'));
  expect(response.status).toBe(408);
  expect(invites).toBe(1);
  expect(uac.stats().deadTargetsMarked).toBe(0);
});

describe('OptionsProber', () => {
  test('a node that answers is up (whatever the status), a silent one goes down; down nodes come back up', async () => {
    const { OptionsProber } = await import('@sipts/core');
    const silent = new RawUdpPeer();
    const silentPort = await silent.bind();
    let answer = 404;
    const node = await listeningStack({}, (rq, _remote, reply) => reply.reply(makeResponse(rq, answer)));
    const stack = await listeningStack({ t1: 10, tcp: false });
    const prober = new OptionsProber(stack, { interval: 100, failures: 2 });
    const events: string[] = [];
    prober.on('up', (t) => events.push(`up ${t}`));
    prober.on('down', (t) => events.push(`down ${t}`));
    const live = `sip:127.0.0.1:${portOf(node, 'UDP')}`;
    const dead = `sip:127.0.0.1:${silentPort}`;
    prober.add(live);
    prober.add(dead);
    for (let i = 0; i < 200 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(prober.state(live)).toBe('up');
    expect(prober.state(dead)).toBe('down');
    expect(prober.up()).toEqual([live]);
    // The silent node starts answering: up again.
    answer = 200;
    silent.socket.on('message', (data) => {
      const text = data.toString('utf8');
      const via = /Via: ([^\r]+)/.exec(text)?.[1] ?? '';
      const m = /Via: SIP\/2\.0\/UDP [^:]+:(\d+)/.exec(text);
      const header = (name: string): string => new RegExp(`^${name}: ([^\\r]+)`, 'm').exec(text)?.[1] ?? '';
      const rs = `SIP/2.0 200 OK\r\nVia: ${via}\r\nFrom: ${header('From')}\r\nTo: ${header('To')};tag=x\r\nCall-ID: ${header('Call-ID')}\r\nCSeq: ${header('CSeq')}\r\nContent-Length: 0\r\n\r\n`;
      if (m) silent.socket.send(rs, Number(m[1]), '127.0.0.1');
    });
    for (let i = 0; i < 200 && prober.state(dead) !== 'up'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(prober.state(dead)).toBe('up');
    expect(events).toContain(`up ${dead}`);
    prober.stop();
    await silent.close();
  });
});
