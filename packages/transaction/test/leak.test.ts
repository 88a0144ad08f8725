// Bounded memory: 100,000 transactions of every outcome, on fake time; afterwards every table and
// the timer queue are empty and every transaction reached Terminated.
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import {
  ManualClock,
  TransactionLayer,
  type BoundAddress,
  type InviteClientTransaction,
  type ServerTransaction,
  type Transport,
  type TransportProtocol,
} from '@sipts/transaction';

/** Counts sends; sends to port 9 fail (a dead peer). */
class CountingTransport implements Transport {
  sends = 0;
  constructor(readonly protocol: TransportProtocol) {}
  get reliable(): boolean {
    return this.protocol !== 'UDP';
  }
  send(_data: Uint8Array | string, target: Remote): Promise<void> {
    this.sends++;
    return target.port === 9 ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve();
  }
  listen(): Promise<BoundAddress> {
    return Promise.resolve({ address: '127.0.0.1', port: 5060, family: 'IPv4' });
  }
  address(): BoundAddress | undefined {
    return undefined;
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const alive: Remote = { protocol: 'UDP', address: '192.0.2.1', port: 5060 };
const dead: Remote = { protocol: 'UDP', address: '192.0.2.1', port: 9 };

function makeRequest(method: string, i: number, branch?: string): SipRequest {
  return {
    method,
    uri: 'sip:bob@example.com',
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: 'peer.example.com', port: 5060, params: branch ? { branch } : {} }],
      from: { uri: 'sip:alice@example.com', params: { tag: 'f' + i } },
      to: { uri: 'sip:bob@example.com', params: {} },
      'call-id': 'leak-' + i,
      cseq: { seq: 1, method },
      'max-forwards': 70,
    },
    content: '',
  };
}

function answer(rq: SipRequest, status: number): SipResponse {
  return {
    status,
    reason: 'R',
    version: '2.0',
    headers: {
      via: rq.headers.via!,
      from: rq.headers.from!,
      to: { uri: 'sip:bob@example.com', params: { tag: 't' } },
      'call-id': rq.headers['call-id']!,
      cseq: rq.headers.cseq!,
    },
    content: '',
  };
}

function ackOf(rq: SipRequest): SipRequest {
  const ack = makeRequest('ACK', 0);
  ack.headers = { ...rq.headers, cseq: { seq: 1, method: 'ACK' }, to: { uri: 'sip:bob@example.com', params: { tag: 't' } } };
  return ack;
}

test('after 100,000 transactions of mixed outcomes the tables and timers are empty', async () => {
  const clock = new ManualClock();
  const pendingServer: Array<{ rq: SipRequest; tx: ServerTransaction; plan: number }> = [];
  const layer = new TransactionLayer({
    clock,
    ringTimeLimit: 20000,
    onRequest: (rq, _remote, tx) => pendingServer.push({ rq, tx, plan: Number(rq.headers['call-id']!.slice(5)) % 8 }),
  });
  const udp = new CountingTransport('UDP');
  const tcp = new CountingTransport('TCP');
  let created = 0;
  let reported = 0;
  const onResponse = (): void => {
    reported++;
  };

  const total = 100_000;
  for (let i = 0; i < total; i++) {
    const transport = i % 3 === 0 ? tcp : udp;
    const kind = i % 2; // client or server
    const plan = (i >> 1) % 8;
    if (kind === 0) {
      const invite = plan < 5;
      const rq = makeRequest(invite ? 'INVITE' : 'OPTIONS', i);
      const tx = layer.sendRequest(rq, transport, plan === 4 ? dead : alive, onResponse);
      created++;
      switch (plan) {
        case 0: // 2xx
          layer.receive(answer(rq, 200), alive, transport);
          break;
        case 1: // 180 then 486
          layer.receive(answer(rq, 180), alive, transport);
          layer.receive(answer(rq, 486), alive, transport);
          break;
        case 2: // 180 then nothing: ring time limit, CANCEL, grace
          layer.receive(answer(rq, 180), alive, transport);
          created++; // the CANCEL's own transaction
          break;
        case 3: // nothing at all: Timer B
          if (i % 4 === 2) {
            (tx as InviteClientTransaction).cancel();
          }
          break;
        case 4: // transport error
          break;
        case 5: // OPTIONS 200
          layer.receive(answer(rq, 200), alive, transport);
          break;
        case 6: // OPTIONS 100 then Timer F
          layer.receive(answer(rq, 100), alive, transport);
          break;
        default: // OPTIONS unanswered
          break;
      }
    } else {
      const invite = plan < 5;
      const rq = makeRequest(invite ? 'INVITE' : 'MESSAGE', i, 'z9hG4bK' + i);
      if (plan === 4) rq.headers.via![0]!.params = {}; // RFC 2543 style
      layer.receive(rq, plan === 3 ? dead : alive, transport);
      created++;
      const entry = pendingServer.pop()!;
      const tx = entry.tx;
      layer.receive(rq, alive, transport); // a retransmission
      switch (plan) {
        case 0: // 2xx, ACK for 2xx goes to the TU (none here)
          tx.send(answer(rq, 200));
          break;
        case 1: // non-2xx and its ACK
          tx.send(answer(rq, 486));
          layer.receive(ackOf(rq), alive, transport);
          break;
        case 2: {
          // CANCEL, answered; the INVITE answered 487 by the layer after 64*T1
          const cancel = { ...rq, method: 'CANCEL', headers: { ...rq.headers, cseq: { seq: 1, method: 'CANCEL' } } };
          layer.receive(cancel, alive, transport);
          created++;
          pendingServer.pop()!.tx.send(answer(cancel, 200));
          break;
        }
        case 3: // the response cannot be sent
          tx.send(answer(rq, 180));
          break;
        case 4: // RFC 2543 INVITE, non-2xx, no ACK: Timer H
          tx.send(answer(rq, 500));
          break;
        case 5: // MESSAGE answered
          tx.send(answer(rq, 202));
          break;
        case 6: // MESSAGE never answered
          break;
        default: // provisional then final
          tx.send(answer(rq, 100));
          tx.send(answer(rq, 200));
          break;
      }
    }
    if (i % 1000 === 999) {
      clock.advance(100);
      await Promise.resolve();
    }
  }
  for (let s = 0; s < 60; s++) {
    clock.advance(10_000);
    for (let k = 0; k < 5; k++) await Promise.resolve();
  }
  const stats = layer.stats();
  expect(pendingServer).toHaveLength(0);
  expect(layer.size()).toEqual({ client: 0, server: 0 });
  expect(stats.timers).toBe(0);
  expect(stats.clientCreated + stats.serverCreated).toBe(created);
  expect(stats.terminated).toBe(created);
  expect(created).toBeGreaterThan(total);
  expect(reported).toBeGreaterThan(0);
  expect(stats.retransmissions.A + stats.retransmissions.E + stats.retransmissions.G).toBeGreaterThan(0);
  expect(stats.transportErrors).toBeGreaterThan(0);
  expect(stats.timeouts).toBeGreaterThan(0);
  expect(udp.sends + tcp.sends).toBeGreaterThan(total);
  layer.shutdown();
  expect(clock.pending()).toBe(0);
}, 60_000);
