// The README example, run: a UAS answering OPTIONS 200, INVITE 486, CANCEL 200 + 487, and a
// client OPTIONS reported as a synthesised 408 when nobody answers.
import { makeResponse, type Remote, type SipRequest } from '@sipts/message';
import { ManualClock, TransactionLayer } from '@sipts/transaction';
import { FakeTransport, again, peer, request } from './helpers.js';

test('the README example works as written', () => {
  const clock = new ManualClock();
  const udp = new FakeTransport('UDP', clock);
  const layer = new TransactionLayer({
    clock,
    onRequest(rq, _remote, tx) {
      if (rq.method === 'CANCEL') {
        tx.send(makeResponse(rq, tx.invite ? 200 : 481));
        if (tx.invite && !tx.invite.finalSent) tx.invite.send(makeResponse(tx.invite.request!, 487));
        return;
      }
      if (rq.method === 'INVITE') return; // let it ring, to be cancelled
      tx.send(makeResponse(rq, rq.method === 'OPTIONS' ? 200 : 486));
    },
  });
  layer.receive(request({ method: 'OPTIONS' }), peer, udp);
  const invite = request();
  layer.receive(invite, peer, udp);
  clock.advance(300);
  layer.receive(again(invite, 'CANCEL'), peer, udp);
  expect(udp.sent.map((s) => s.text.slice(0, 11))).toEqual(['SIP/2.0 200', 'SIP/2.0 100', 'SIP/2.0 200', 'SIP/2.0 487']);
  expect(udp.sent[3]!.message.headers.cseq).toEqual({ seq: 1, method: 'INVITE' });

  const options: SipRequest = {
    method: 'OPTIONS',
    uri: 'sip:bob@192.0.2.1',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '192.0.2.9', port: 5060, params: {} }],
      from: { uri: 'sip:alice@192.0.2.9', params: { tag: 'a1' } },
      to: { uri: 'sip:bob@192.0.2.1', params: {} },
      'call-id': 'c1@192.0.2.9',
      cseq: { seq: 1, method: 'OPTIONS' },
      'max-forwards': 70,
    },
    content: '',
  };
  const reports: Array<[number, Remote | undefined]> = [];
  layer.sendRequest(options, udp, { protocol: 'UDP', address: '192.0.2.1', port: 5060 }, (rs, from) =>
    reports.push([rs.status, from]),
  );
  clock.advance(32000);
  expect(reports).toEqual([[408, undefined]]);
  layer.shutdown();
  expect(layer.size()).toEqual({ client: 0, server: 0 });
});
