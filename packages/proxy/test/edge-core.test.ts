// The proxy at the edge on the real @sipts/core stack (UDP + TCP on 127.0.0.1, port 0): a fork
// target reached over a flow that is gone (the stack answers 430 Flow Failed, RFC 5626 §5.3) fails
// over to the other flow of the same instance, a live TCP connection, which gets the INVITE
// with two Record-Route entries: its own side (TCP, with the token of its connection) on top,
// the UDP caller's below (RFC 5658).
import { connect, type Socket } from 'node:net';
import { makeResponse, parse, stringify, type Remote, type RouteAddr, type SipRequest, type SipResponse } from '@sipts/message';
import type { SipStack } from '@sipts/core';
import { createProxy, type SipProxy } from '@sipts/proxy';
import { inviteText, udpPeer, type UdpPeer } from './udp-peer.js';

const open: { proxies: SipProxy[]; peers: UdpPeer[]; sockets: Socket[] } = { proxies: [], peers: [], sockets: [] };
afterEach(async () => {
  for (const s of open.sockets.splice(0)) s.destroy();
  for (const p of open.peers.splice(0)) p.close();
  for (const p of open.proxies.splice(0)) await p.stop();
});

/** Reads from `socket` until `done(text)`; bounded. */
function readUntil(socket: Socket, done: (text: string) => boolean, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`nothing complete within ${ms} ms; read: ${JSON.stringify(text)}`));
    }, ms);
    const onData = (d: Buffer): void => {
      text += d.toString('utf8');
      if (done(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

/** The next response from `peer` that is not a 100 Trying. */
async function finalFrom(peer: UdpPeer): Promise<SipResponse> {
  for (let i = 0; i < 10; i++) {
    const m = await peer.next();
    if ('status' in m && m.status >= 200) return m;
  }
  throw new Error('no final response');
}

test('a flow that is gone (430 from the stack) fails over to the alternate flow; it gets the INVITE with its own Record-Route entry on top', async () => {
  let live: Remote | undefined;
  let dead: Remote | undefined;
  const proxy: SipProxy = createProxy({ address: '127.0.0.1', port: 0, udp: true, tcp: true, recordRoute: true }, (rq) => {
    if (rq.method !== 'INVITE' || rq.headers.to?.params['tag'] !== undefined || live === undefined || dead === undefined) {
      proxy.send(rq);
      return;
    }
    proxy.fork(rq, [
      {
        uri: 'sip:bob@gone.invalid;transport=tcp',
        route: flowRoute(dead),
        alternates: [{ uri: 'sip:bob@live.invalid;transport=tcp', route: flowRoute(live) }],
      },
    ]);
  });
  open.proxies.push(proxy);
  await proxy.ready();
  const stack = proxy.stack as SipStack;
  // What @sipts/registrar's lookup gives for a binding reached over a flow: the flow URI with lr.
  const flowRoute = (remote: Remote): RouteAddr[] => [{ uri: { ...stack.encodeFlowUri(remote), params: { lr: null } }, params: {} }];
  const udp = stack.addresses().find((a) => a.protocol === 'UDP')?.port ?? 0;
  const tcp = stack.addresses().find((a) => a.protocol === 'TCP')?.port ?? 0;

  // The live flow: a client's connection (a keep-alive first, so the stack holds it).
  const client = connect(tcp, '127.0.0.1');
  open.sockets.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.write('\r\n\r\n');
  expect(await readUntil(client, (t) => t.length >= 2)).toBe('\r\n');
  const local = { address: '127.0.0.1', port: tcp };
  live = { protocol: 'TCP', address: '127.0.0.1', port: client.localPort as number, local };
  // The failed flow: a connection the stack does not have (closed since the client registered).
  dead = { protocol: 'TCP', address: '127.0.0.1', port: 9, local };

  const caller = await udpPeer();
  open.peers.push(caller);
  caller.send(inviteText(`sip:bob@127.0.0.1:${udp}`, caller.port), udp);

  const text = await readUntil(client, (t) => t.includes('\r\n\r\n'));
  const invite = parse(text) as SipRequest;
  expect(invite.method).toBe('INVITE');
  expect(String(invite.uri)).toBe('sip:bob@live.invalid;transport=tcp');
  const rr = (invite.headers['record-route'] ?? []).map((r) => r.uri);
  expect(rr[0]).toMatchObject({ host: '127.0.0.1', port: tcp, user: stack.encodeFlowUri(live).user, params: { transport: 'tcp', lr: null } });
  expect(rr[1]).toMatchObject({ host: '127.0.0.1', port: udp, params: { lr: null } });
  expect(rr[1]?.user).toBeUndefined();
  expect(proxy.stats().flowFailovers).toBe(1);

  const ok = makeResponse(invite, 200, 'OK', { toTag: 'live1' });
  ok.headers['record-route'] = invite.headers['record-route'] ?? [];
  client.write(stringify(ok));
  expect((await finalFrom(caller)).status).toBe(200);
});
