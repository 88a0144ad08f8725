// The rest of a call's life: a late offer in a reliable provisional (RFC 3262 §5), hooks that
// throw, requests outside any dialog, and close() with calls ringing and answered.
import { makeResponse, type SipRequest } from '@sipts/core';
import { isDialogError } from '@sipts/dialog';
import { ANSWER_A, OFFER, OFFER_B, RawPeer, bridged, closeAll, isRequest, isResponse, middle, party, settle, tag, until, wire } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

test('late offer in a reliable 183: A gets it reliably, A\'s answer in its PRACK goes to B in ours (RFC 3262 §5)', async () => {
  const bob = await party({ ua: { rel100: 'supported' } });
  const pracked: Array<string | undefined> = [];
  bob.ua.on('invite', (call) => {
    void call.progress(183, { sdp: OFFER_B, reliable: true }).then((prack) => {
      pracked.push(prack?.content);
      return call.accept({});
    });
  });
  const mid = await middle({ target: bob.uri() });
  const alice = await party({ ua: { rel100: 'required', sdp: { answer: () => ANSWER_A } } });
  const early: string[] = [];
  const a = await alice.ua.invite(mid.uri(), { onProgress: (rs) => early.push(`${rs.status} ${rs.headers.rseq !== undefined} ${rs.content === OFFER_B}`) });
  expect(early).toEqual(['183 true true']);
  expect(pracked).toEqual([ANSWER_A]);
  expect([a.remoteSdp, a.localSdp]).toEqual([OFFER_B, ANSWER_A]);
  expect(bob.received.find(isRequest('INVITE'))?.content ?? '').toBe('');
});

test('an onOffer hook that throws: the caller gets 500, an ERR_HOOK error is emitted', async () => {
  const bob = await party();
  const mid = await middle({
    target: bob.uri(),
    onOffer: () => {
      throw new Error('no media ports');
    },
  });
  const errors: string[] = [];
  mid.b2bua.on('error', (e) => errors.push(`${String((e as { code?: string }).code)} ${String((e.cause as Error | undefined)?.message)}`));
  const alice = await party();
  const status = await alice.ua.invite(mid.uri(), { sdp: OFFER }).then(
    () => 0,
    (e: unknown) => (isDialogError(e) ? (e.response?.status ?? -1) : -2),
  );
  expect(status).toBe(500);
  expect(errors).toEqual(['ERR_HOOK no media ports']);
  expect(bob.received).toHaveLength(0);
});

test('requests outside any dialog: OPTIONS 200 with Allow, MESSAGE 405, an unknown method 501; a request listener takes them', async () => {
  const mid = await middle();
  const peer = await RawPeer.create();
  const send = (method: string): Promise<void> =>
    peer.send(
      wire(`${method} ${mid.uri()} SIP/2.0`, peer.port, [`From: <sip:x@127.0.0.1>;tag=${tag()}`, `To: <${mid.uri()}>`, `Call-ID: ${tag()}`, `CSeq: 1 ${method}`]),
      mid.port,
    );
  await send('OPTIONS');
  const options = (await peer.next(isResponse(200, 'OPTIONS'))).message;
  expect(String(options.headers.allow)).toContain('INVITE');
  await send('MESSAGE');
  await peer.next(isResponse(405, 'MESSAGE'));
  await send('FOO');
  await peer.next(isResponse(501, 'FOO'));
  mid.b2bua.on('request', (rq, _remote, reply) => reply.reply(makeResponse(rq, 202)));
  await send('MESSAGE');
  await peer.next(isResponse(202, 'MESSAGE'));
});

test('close(): an answered call gets BYE with Reason 503 on both legs, a ringing caller gets 503 and its B leg a CANCEL; bridge() then throws ERR_STOPPED', async () => {
  const { a, b, alice, bob, mid } = await bridged();
  const ringing = await party();
  let cancelled = 0;
  ringing.ua.on('invite', (call) => {
    void call.progress(180);
    call.on('cancel', () => cancelled++);
  });
  const second = await middle({ target: ringing.uri() });
  const caller = await party();
  const failed = caller.ua.invite(second.uri(), { sdp: OFFER }).then(
    () => 0,
    (e: unknown) => (isDialogError(e) ? (e.response?.status ?? -1) : -2),
  );
  await until(() => second.b2bua.stats().legs === 2 && ringing.received.length > 0);
  await settle(30);
  await Promise.all([mid.b2bua.close(), second.b2bua.close()]);
  expect([a.state, b.state]).toEqual(['terminated', 'terminated']);
  for (const p of [alice, bob]) expect((p.received.find(isRequest('BYE')) as SipRequest).headers.reason).toBe('SIP ;cause=503 ;text="Service Unavailable"');
  expect(await failed).toBe(503);
  await until(() => cancelled === 1);
  expect(mid.b2bua.stats()).toMatchObject({ calls: 0, legs: 0 });
  expect(() => mid.b2bua.bridge({} as never, 'sip:x@127.0.0.1')).toThrow(expect.objectContaining({ code: 'ERR_STOPPED' }));
});
