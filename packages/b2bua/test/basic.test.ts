// A call through the B2BUA between two dialog UAs on real sockets: the B leg is a new call (its
// own Call-ID, tags, Via, Contact), provisional and final responses cross with their reason
// phrases and SDP, the 2xx is ACKed on each hop, and a BYE on one side ends the other.
import type { SipRequest } from '@sipts/core';
import type { IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, closeAll, isRequest, middle, party, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

test('a basic call: new Call-ID, tags and Via on the B leg; 180 and 200 relayed; BYE from A ends B', async () => {
  const bob = await party();
  const calls: IncomingCall[] = [];
  bob.ua.on('invite', (call) => {
    calls.push(call);
    void call.progress(180, { reason: 'Ringing Loudly', headers: { 'alert-info': '<http://127.0.0.1/ring.wav>' } });
    setTimeout(() => void call.accept({ sdp: ANSWER }), 20);
  });
  const mid = await middle({ target: bob.uri() });
  const events: string[] = [];
  mid.b2bua.on('legStart', (e) => events.push(`start ${e.side}`));
  mid.b2bua.on('legEnd', (e) => events.push(`end ${e.side} ${e.reason}`));
  const alice = await party();
  const progress: string[] = [];
  const dialog = await alice.ua.invite(mid.uri(), {
    sdp: OFFER,
    headers: { subject: 'hello', 'record-route': undefined },
    onProgress: (rs) => progress.push(`${rs.status} ${rs.reason} ${String(rs.headers['alert-info'])}`),
  });
  expect(progress).toContain('180 Ringing Loudly <http://127.0.0.1/ring.wav>');
  expect(dialog.remoteSdp).toBe(ANSWER);
  await until(() => calls[0]?.dialog?.state === 'confirmed' && bob.received.some(isRequest('ACK')));
  const invite = bob.received.find(isRequest('INVITE')) as SipRequest;
  const aInvite = mid.received.find(isRequest('INVITE')) as SipRequest;
  // Topology hiding: nothing of A's Call-ID, Via, Contact or tags reaches B.
  expect(invite.headers['call-id']).not.toBe(aInvite.headers['call-id']);
  expect(invite.headers.via).toHaveLength(1);
  expect(invite.headers.via?.[0]?.port).toBe(mid.port);
  expect(invite.headers.via?.[0]?.params.branch).not.toBe(aInvite.headers.via?.[0]?.params.branch);
  expect(JSON.stringify(invite.headers.contact)).toContain(`:${mid.port}`);
  expect(JSON.stringify(invite.headers.contact)).not.toContain(`:${alice.port}`);
  expect(invite.headers.from?.params.tag).not.toBe(aInvite.headers.from?.params.tag);
  expect(invite.headers.subject).toBe('hello');
  expect(invite.content).toBe(OFFER);
  expect(mid.b2bua.stats()).toMatchObject({ calls: 1, legs: 2, callsCreated: 1 });
  await dialog.bye();
  await until(() => calls[0]?.dialog?.state === 'terminated');
  expect(calls[0]?.dialog?.terminationReason?.cause).toBe('remote-bye');
  await until(() => mid.b2bua.stats().calls === 0);
  expect(mid.b2bua.stats()).toMatchObject({ calls: 0, legs: 0, callsEnded: { answered: 1 } });
  expect(events).toEqual(['start a', 'start b', 'end a remote-bye', 'end b local-bye']);
});
