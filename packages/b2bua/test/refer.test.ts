// REFER on a bridged call (RFC 3515): refused without a hook (403) or by it; accepted, the B2BUA
// calls the target itself (an INVITE without SDP, the new leg's offer answered by the transferee
// through a re-INVITE: RFC 3725 flow I), NOTIFYs the transferor with sipfrag bodies, ends the
// transferor's leg, and the transferee and the new leg are bridged from then on.
import { makeResponse, type SipRequest } from '@sipts/core';
import { ANSWER, OFFER_B, bridged, closeAll, isRequest, party, until, version } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

test('REFER without an onRefer hook is refused 403; a hook can refuse with its own status', async () => {
  const { a, mid } = await bridged();
  const rs = await a.request('REFER', { headers: { 'refer-to': { uri: 'sip:carol@127.0.0.1', params: {} } } });
  expect(rs.status).toBe(403);
  const { a: a2 } = await bridged({ b2bua: { onRefer: () => ({ action: 'reject', status: 603, reason: 'No Transfers' }) } });
  const rs2 = await a2.request('REFER', { headers: { 'refer-to': { uri: 'sip:carol@127.0.0.1', params: {} } } });
  expect([rs2.status, rs2.reason]).toEqual([603, 'No Transfers']);
  expect(mid.b2bua.stats().transfersRefused).toBe(1);
  expect((await a2.request('REFER')).status).toBe(400);
});

test('REFER from A accepted: 202, NOTIFY 100 then 200 (sipfrag), C called, B re-INVITEd with C\'s offer, A ended; B and C bridged', async () => {
  const carol = await party();
  const carolCall = new Promise<import('@sipts/dialog').Dialog>((resolve) => {
    carol.ua.on('invite', (call) => {
      // No offer in the INVITE: carol offers in her 200, the answer comes in the ACK.
      expect(call.offer).toBeUndefined();
      void call.accept({ sdp: version(OFFER_B, 3) }).then(resolve);
    });
  });
  const refers: string[] = [];
  const { a, b, bob, mid } = await bridged({
    b2bua: {
      onRefer: (refer) => {
        refers.push(`${refer.from} ${refer.referTo} ${String(refer.replaces)}`);
        return { action: 'accept' };
      },
    },
  });
  const starts: string[] = [];
  mid.b2bua.on('legStart', (e) => starts.push(`${e.side} ${e.target}`));
  const notifies: string[] = [];
  a.on('request', (rq, _remote, reply) => {
    notifies.push(`${rq.method} ${String(rq.headers.event)} ${String(rq.headers['subscription-state'])} ${String(rq.headers['content-type'])} ${rq.content ?? ''}`);
    reply.reply(makeResponse(rq, 200));
  });
  const rs = await a.request('REFER', { headers: { 'refer-to': { uri: carol.uri('carol'), params: {} }, 'referred-by': '<sip:alice@127.0.0.1>' } });
  expect(rs.status).toBe(202);
  const c = await carolCall;
  await until(() => a.state === 'terminated' && notifies.length === 2);
  expect(refers).toEqual([`a ${carol.uri('carol')} undefined`]);
  expect(notifies).toEqual([
    'NOTIFY refer active;expires=60 message/sipfrag;version=2.0 SIP/2.0 100 Trying\r\n',
    'NOTIFY refer terminated;reason=noresource message/sipfrag;version=2.0 SIP/2.0 200 OK\r\n',
  ]);
  expect(starts).toEqual([`b ${carol.uri('carol')}`]);
  // Bob got carol's offer in a re-INVITE and answered it; carol's ACK carried bob's answer.
  expect(b.remoteSdp).toBe(version(OFFER_B, 3));
  await until(() => c.remoteSdp === ANSWER);
  const invite = carol.received.find(isRequest('INVITE')) as SipRequest;
  expect(invite.headers['referred-by']).toBe('<sip:alice@127.0.0.1>');
  expect(mid.b2bua.stats()).toMatchObject({ transfers: 1, calls: 1 });
  // From now on carol's BYE ends bob's leg.
  await c.bye();
  await until(() => b.state === 'terminated');
  expect(bob.received.filter(isRequest('BYE'))).toHaveLength(1);
  await until(() => mid.b2bua.stats().calls === 0);
});

test('a transfer whose target fails: NOTIFY with its status; the call goes on', async () => {
  const carol = await party();
  carol.ua.on('invite', (call) => call.reject(486));
  const { a, b } = await bridged({ b2bua: { onRefer: () => ({ action: 'accept' }) } });
  const notifies: string[] = [];
  a.on('request', (rq, _remote, reply) => {
    notifies.push(rq.content ?? '');
    reply.reply(makeResponse(rq, 200));
  });
  expect((await a.request('REFER', { headers: { 'refer-to': { uri: carol.uri('carol'), params: {} } } })).status).toBe(202);
  await until(() => notifies.length === 2);
  expect(notifies[1]).toBe('SIP/2.0 486 Busy Here\r\n');
  expect([a.state, b.state]).toEqual(['confirmed', 'confirmed']);
  const info = await a.info('x', 'text/plain');
  expect(info.status).toBe(200);
});

test('REFER from B works the same way: A is re-INVITEd with the new leg\'s offer, B is ended', async () => {
  const carol = await party();
  carol.ua.on('invite', (call) => void call.accept({ sdp: version(OFFER_B, 9) }));
  const { a, b, alice, mid } = await bridged({ b2bua: { onRefer: (refer) => ({ action: 'accept', target: refer.from === 'b' ? carol.uri('carol') : undefined }) } });
  b.on('request', (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  expect((await b.request('REFER', { headers: { 'refer-to': { uri: 'sip:ignored@127.0.0.1', params: {} } } })).status).toBe(202);
  await until(() => b.state === 'terminated');
  expect(a.state).toBe('confirmed');
  expect(a.remoteSdp).toBe(version(OFFER_B, 9));
  expect(alice.received.filter(isRequest('INVITE'))).toHaveLength(1);
  expect(mid.b2bua.call(a.callId)?.b?.target).toBe(carol.uri('carol'));
  await a.bye();
  await until(() => mid.b2bua.stats().calls === 0);
});
