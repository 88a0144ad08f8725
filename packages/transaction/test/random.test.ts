// Random interleavings of requests, responses, retransmissions, ACKs, CANCELs, TU answers,
// transport failures and time: nothing throws, and once time runs out every table is empty.
import fc from 'fast-check';
import type { Remote, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import { InviteClientTransaction, ManualClock, TransactionLayer, type ServerTransaction } from '@sipts/transaction';
import { FakeTransport } from './helpers.js';

const methods = ['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE', 'invite'] as const;

const step = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    method: fc.constantFrom(...methods),
    dialog: fc.integer({ min: 0, max: 3 }),
    cookie: fc.boolean(),
    toTag: fc.constantFrom('', 't1', 't2'),
    udp: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('response' as const),
    status: fc.constantFrom(100, 180, 200, 202, 302, 404, 487, 503),
    target: fc.integer({ min: 0, max: 7 }),
    method: fc.constantFrom('INVITE', 'OPTIONS', 'CANCEL'),
  }),
  fc.record({ kind: fc.constant('send' as const), method: fc.constantFrom('INVITE', 'OPTIONS'), udp: fc.boolean() }),
  fc.record({
    kind: fc.constant('answer' as const),
    which: fc.integer({ min: 0, max: 7 }),
    status: fc.constantFrom(100, 180, 200, 404, 487),
  }),
  fc.record({ kind: fc.constant('cancel' as const), which: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('fail' as const), on: fc.boolean() }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 40000 }) }),
  fc.record({ kind: fc.constant('junk' as const), variant: fc.integer({ min: 0, max: 4 }) }),
);

const remote: Remote = { protocol: 'UDP', address: '192.0.2.5', port: 5060 };

function build(method: string, dialog: number, cookie: boolean, toTag: string): SipRequest {
  return {
    method,
    uri: 'sip:x@example.com',
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: 'h.example.com', port: 5060, params: cookie ? { branch: 'z9hG4bK' + dialog } : {} }],
      from: { uri: 'sip:a@example.com', params: { tag: 'f' + dialog } },
      to: { uri: 'sip:x@example.com', params: toTag ? { tag: toTag } : {} },
      'call-id': 'r' + dialog,
      cseq: { seq: 1, method: method === 'ACK' ? 'ACK' : method },
    },
    content: '',
  };
}

function respond(rq: SipRequest, status: number, method?: string): SipResponse {
  return {
    status,
    reason: 'X',
    version: '2.0',
    headers: {
      via: rq.headers.via!,
      from: rq.headers.from!,
      to: { uri: 'sip:x@example.com', params: { tag: 'srv' } },
      'call-id': rq.headers['call-id']!,
      cseq: method ? { seq: rq.headers.cseq!.seq, method } : rq.headers.cseq!,
    },
    content: '',
  };
}

test('random interleavings never throw and always drain', async () => {
  let created = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 80 }), async (steps) => {
      const clock = new ManualClock();
      const udp = new FakeTransport('UDP', clock);
      const tcp = new FakeTransport('TCP', clock);
      const servers: Array<{ rq: SipRequest; tx: ServerTransaction }> = [];
      const sent: SipRequest[] = [];
      const layer = new TransactionLayer({
        clock,
        onRequest: (rq, _r, tx) => servers.push({ rq, tx }),
        onAck: () => {},
        onStrayResponse: () => {},
      });
      for (const s of steps) {
        switch (s.kind) {
          case 'request':
            layer.receive(build(s.method, s.dialog, s.cookie, s.toTag), remote, s.udp ? udp : tcp);
            break;
          case 'response': {
            const rq = sent[s.target % Math.max(1, sent.length)];
            if (rq) layer.receive(respond(rq, s.status, s.method), remote, udp);
            break;
          }
          case 'send': {
            const rq = build(s.method, 9, true, '');
            sent.push(rq);
            layer.sendRequest(rq, s.udp ? udp : tcp, remote, () => {});
            break;
          }
          case 'answer': {
            const entry = servers[s.which % Math.max(1, servers.length)];
            if (entry) entry.tx.send(respond(entry.rq, s.status));
            break;
          }
          case 'cancel': {
            const rq = sent[s.which % Math.max(1, sent.length)];
            const tx = rq && layer.findClientTransaction(String(rq.headers.via![0]!.params.branch), 'INVITE');
            if (tx instanceof InviteClientTransaction) tx.cancel();
            break;
          }
          case 'fail':
            udp.fail = s.on ? new Error('down') : undefined;
            tcp.fail = udp.fail;
            break;
          case 'time':
            clock.advance(s.ms);
            await Promise.resolve();
            break;
          case 'junk': {
            const junk: SipMessage[] = [
              { method: 'INVITE', uri: 'sip:x', headers: {} },
              { method: 'INVITE', uri: 'sip:x', headers: { via: [], cseq: { seq: 1, method: 'INVITE' }, 'call-id': 'j' } },
              { status: 200, reason: 'OK', headers: { via: [{ version: '2.0', protocol: 'UDP', host: 'h', params: {} }], cseq: { seq: 1, method: 'INVITE' }, 'call-id': 'j' } },
              { status: 200, reason: 'OK', headers: { cseq: { seq: 1, method: 'INVITE' } } },
              { method: 'ACK', uri: 'sip:x', headers: { via: [{ version: '2.0', protocol: 'UDP', host: 'h', params: { branch: null } }], cseq: { seq: 1, method: 'ACK' }, 'call-id': 'j' } },
            ];
            layer.receive(junk[s.variant]!, remote, udp);
            break;
          }
        }
      }
      udp.fail = undefined;
      tcp.fail = undefined;
      for (let i = 0; i < 100; i++) {
        clock.advance(10_000);
        await Promise.resolve();
        await Promise.resolve();
      }
      expect(layer.size()).toEqual({ client: 0, server: 0 });
      expect(layer.stats().timers).toBe(0);
      expect(layer.stats().terminated).toBe(layer.stats().clientCreated + layer.stats().serverCreated);
      created += layer.stats().terminated;
      layer.shutdown();
    }),
    { numRuns: 300 },
  );
  expect(created).toBeGreaterThan(2000); // the property exercised real transactions
});
