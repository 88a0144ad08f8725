// A call through the B2BUA between two dialog UAs on real sockets: the B leg is a new call (its
// own Call-ID, tags, Via, Contact), provisional and final responses cross with their reason
// phrases and SDP, the 2xx is ACKed on each hop, and a BYE on one side ends the other.
import { makeResponse, stringify, type SipRequest, type SipResponse } from '@sipts/core';
import type { IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, RawPeer, closeAll, isRequest, isResponse, middle, party, tag, until, wire } from './helpers.js';

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
    headers: { subject: 'hello' },
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

test('topology hiding both ways: A\'s Record-Route and Contact never reach B; B\'s Record-Route, Contact and Call-ID never reach A', async () => {
  const callee = await RawPeer.create();
  const caller = await RawPeer.create();
  const mid = await middle({ target: `sip:bob@127.0.0.1:${callee.port}` });
  const callId = `${tag()}@caller`;
  await caller.send(
    wire(`INVITE ${mid.uri()} SIP/2.0`, caller.port, [
      `Record-Route: <sip:127.0.0.1:${caller.port};lr;x=alice-rr>`,
      `From: <sip:alice@127.0.0.1:${caller.port}>;tag=${tag()}`,
      `To: <${mid.uri()}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:alice@127.0.0.1:${caller.port};x=alice-contact>`,
    ], OFFER),
    mid.port,
  );
  const atB = await callee.next(isRequest('INVITE'));
  expect(atB.text).not.toContain('alice-rr');
  expect(atB.text).not.toContain('alice-contact');
  expect(atB.text).not.toContain(callId);
  // Only From keeps A's URI (the caller's identity, `from` option to change it).
  expect(atB.text.split('\r\n').filter((l) => l.includes(`:${caller.port}`))).toEqual([expect.stringMatching(/^From: <sip:alice@/)]);
  const invite = atB.message as SipRequest;
  const ok = makeResponse(invite, 200, 'OK', { toTag: tag() });
  ok.headers['record-route'] = invite.headers['record-route'];
  ok.headers['content-type'] = 'application/sdp';
  const text = stringify({ ...ok, content: ANSWER })
    .replace('\r\n', `\r\nRecord-Route: <sip:127.0.0.1:${callee.port};lr;x=bob-rr>\r\nContact: <sip:bob@127.0.0.1:${callee.port};x=bob-contact>\r\n`);
  await callee.send(text, mid.port);
  const atA = await caller.next(isResponse(200, 'INVITE'));
  expect(atA.text).not.toContain('bob-rr');
  expect(atA.text).not.toContain('bob-contact');
  expect(atA.text).not.toContain(String(invite.headers['call-id']));
  expect(atA.text).toContain(callId);
  // A's own Record-Route comes back to A (RFC 3261 §12.1.1), nothing of B's.
  expect((atA.message as SipResponse).headers['record-route']?.map((r) => r.uri.params.x)).toEqual(['alice-rr']);
  // B's ACK follows B's route set (its Record-Route), as a UAC's must.
  const ack = await callee.next(isRequest('ACK'));
  expect((ack.message as SipRequest).headers.route?.[0]?.uri.params.x).toBe('bob-rr');
  const aOk = atA.message as SipResponse;
  await caller.send(
    wire(`ACK ${String((aOk.headers.contact as Array<{ uri: string }>)[0]?.uri)} SIP/2.0`, caller.port, [
      `From: <sip:alice@127.0.0.1:${caller.port}>;tag=${String(aOk.headers.from?.params.tag)}`,
      `To: <${mid.uri()}>;tag=${String(aOk.headers.to?.params.tag)}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 ACK',
    ]),
    mid.port,
  );
  await until(() => mid.b2bua.call(callId)?.a.state === 'confirmed');
  mid.b2bua.call(callId)?.hangup();
  for (const peer of [callee, caller]) {
    const bye = await peer.next(isRequest('BYE'));
    await peer.send(stringify(makeResponse(bye.message as SipRequest, 200)), mid.port);
  }
  await until(() => mid.b2bua.stats().calls === 0);
});
