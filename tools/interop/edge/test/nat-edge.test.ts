// A NATed UDP phone as callee, simulated on loopback (its Via and Contact say 127.0.0.5:5099,
// it sends from another port of 127.0.0.1), behind examples/proxy-registrar.ts (in-process, port
// 0): the INVITE reaches it at the address its REGISTER came from, with two Record-Route
// entries, the one on top carrying the flow token of that NAT binding (RFC 5626 §5.3); the
// caller's ACK and BYE, sent to the phone's unreachable Contact through that route set, reach the
// phone too. Raw UDP sockets on both ends, no SIPp needed.
import { createSocket, type Socket } from 'node:dgram';
import { makeResponse, parse, stringify } from '@sipts/message';
import type { SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { SipProxy } from '@sipts/proxy';
import { startProxyRegistrar } from '../../../../examples/proxy-registrar.js';

jest.setTimeout(20_000);

const open: { proxies: SipProxy[]; sockets: Socket[] } = { proxies: [], sockets: [] };
afterEach(async () => {
  for (const s of open.sockets.splice(0)) s.close();
  for (const p of open.proxies.splice(0)) await p.stop();
});

interface Peer {
  port: number;
  send(message: SipMessage): void;
  /** The next message `accept` takes (others are dropped); rejects after 4 s. */
  next(accept: (m: SipMessage) => boolean, what: string): Promise<SipMessage>;
}

async function peer(proxyPort: number): Promise<Peer> {
  const socket = createSocket('udp4');
  open.sockets.push(socket);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const inbox: SipMessage[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (data) => {
    try {
      inbox.push(parse(data));
    } catch {
      return;
    }
    wake?.();
  });
  return {
    port: socket.address().port,
    send: (m) => socket.send(stringify(m), proxyPort, '127.0.0.1'),
    async next(accept, what) {
      const deadline = Date.now() + 4000;
      for (;;) {
        const i = inbox.findIndex(accept);
        if (i >= 0) return inbox.splice(i, 1)[0] as SipMessage;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} within 4 s`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}

const isRequest = (method: string) => (m: SipMessage): boolean => 'method' in m && m.method === method;
const isFinal = (method: string) => (m: SipMessage): boolean => 'status' in m && m.status >= 200 && m.headers.cseq?.method === method;

test('a NATed phone gets the INVITE with a flow-token Record-Route on top, and the caller\'s ACK and BYE reach it at its NAT address', async () => {
  const proxy = startProxyRegistrar({ address: '127.0.0.1', port: 0 });
  open.proxies.push(proxy);
  await proxy.ready();
  const udp = proxy.stack.addresses?.().find((a) => a.protocol === 'UDP')?.port ?? 0;

  // The phone believes it is 127.0.0.5:5099 (its Via and Contact); it sends from 127.0.0.1.
  const phone = await peer(udp);
  const phoneContact = 'sip:natbob@127.0.0.5:5099';
  phone.send({
    method: 'REGISTER',
    uri: `sip:127.0.0.1:${udp}`,
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.5', port: 5099, params: { branch: 'z9hG4bKnatreg1', rport: null } }],
      from: { uri: 'sip:natbob@127.0.0.1', params: { tag: 'r1' } },
      to: { uri: 'sip:natbob@127.0.0.1', params: {} },
      'call-id': 'nat-edge-register',
      cseq: { seq: 1, method: 'REGISTER' },
      contact: [{ uri: phoneContact, params: {} }],
      expires: '600',
      'max-forwards': 70,
    },
    content: '',
  });
  expect(((await phone.next(isFinal('REGISTER'), '200 to REGISTER')) as SipResponse).status).toBe(200);

  const caller = await peer(udp);
  const callerContact = `sip:caller@127.0.0.1:${caller.port}`;
  const dialogHeaders = {
    from: { uri: 'sip:caller@127.0.0.1', params: { tag: 'c1' } },
    'call-id': 'nat-edge-call',
    'max-forwards': 70,
  };
  caller.send({
    method: 'INVITE',
    uri: `sip:natbob@127.0.0.1:${udp}`,
    version: '2.0',
    headers: {
      ...dialogHeaders,
      via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: caller.port, params: { branch: 'z9hG4bKnatinv1', rport: null } }],
      to: { uri: 'sip:natbob@127.0.0.1', params: {} },
      cseq: { seq: 1, method: 'INVITE' },
      contact: [{ uri: callerContact, params: {} }],
    },
    content: '',
  });

  const invite = (await phone.next(isRequest('INVITE'), 'INVITE at the phone')) as SipRequest;
  const rr = (invite.headers['record-route'] ?? []).map((r) => r.uri);
  expect(rr).toHaveLength(2);
  // The phone's side: UDP as the caller's, but only its flow token reaches it behind the NAT.
  expect(rr[0]).toMatchObject({ host: '127.0.0.1', port: udp, params: { lr: null } });
  expect(rr[0]?.user).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  expect(rr[1]).toMatchObject({ host: '127.0.0.1', port: udp, params: { lr: null } });
  expect(rr[1]?.user).toBeUndefined();

  const ok = makeResponse(invite, 200, 'OK', { toTag: 'p1', headers: { contact: [{ uri: phoneContact, params: {} }] } });
  ok.headers['record-route'] = invite.headers['record-route'] ?? [];
  phone.send(ok);
  const answered = (await caller.next(isFinal('INVITE'), '200 to INVITE at the caller')) as SipResponse;
  expect(answered.status).toBe(200);

  // RFC 3261 §12.1.2: the caller's route set is the 200's Record-Route reversed; its requests
  // go to the phone's Contact (127.0.0.5:5099, where nobody listens) through it.
  const routeSet = [...(answered.headers['record-route'] ?? [])].reverse();
  const inDialog = (method: string, seq: number): SipRequest => ({
    method,
    uri: phoneContact,
    version: '2.0',
    headers: {
      ...dialogHeaders,
      via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: caller.port, params: { branch: `z9hG4bKnat${method}${seq}`, rport: null } }],
      to: { uri: 'sip:natbob@127.0.0.1', params: { tag: String(answered.headers.to?.params['tag']) } },
      cseq: { seq, method },
      route: routeSet,
    },
    content: '',
  });
  caller.send(inDialog('ACK', 1));
  await phone.next(isRequest('ACK'), 'ACK at the phone');
  caller.send(inDialog('BYE', 2));
  const bye = (await phone.next(isRequest('BYE'), 'BYE at the phone')) as SipRequest;
  expect(bye.headers.route ?? []).toEqual([]);
  phone.send(makeResponse(bye, 200, 'OK'));
  expect(((await caller.next(isFinal('BYE'), '200 to BYE at the caller')) as SipResponse).status).toBe(200);
});
