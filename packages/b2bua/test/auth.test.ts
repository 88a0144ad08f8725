// The A leg authenticated with @sipts/digest before any call state: 401 with a challenge, the
// answered challenge bridged (credentials never reach B), a CANCEL while the account lookup runs
// answered 487, and a hook that throws answered 500. A raw UDP caller signs with @sipts/digest.
import { makeResponse, stringify, type SipRequest, type SipResponse } from '@sipts/core';
import { digestAuthenticator } from '@sipts/b2bua';
import { createDigestServer, signRequest } from '@sipts/digest';
import { ANSWER, OFFER, RawPeer, closeAll, isRequest, isResponse, middle, party, settle, tag, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

function invite(peer: RawPeer, uri: string, ids: { callId: string; fromTag: string }, seq: number): SipRequest {
  return {
    method: 'INVITE',
    uri,
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: peer.port, params: { branch: `z9hG4bK${tag()}` } }],
      from: { uri: `sip:alice@127.0.0.1:${peer.port}`, params: { tag: ids.fromTag } },
      to: { uri, params: {} },
      'call-id': ids.callId,
      cseq: { seq, method: 'INVITE' },
      contact: [{ uri: `sip:alice@127.0.0.1:${peer.port}`, params: {} }],
      'max-forwards': 70,
      'content-type': 'application/sdp',
    },
    content: OFFER,
  };
}

test('digestAuthenticator: 401 with a challenge first, then the signed INVITE is bridged; no credentials reach B', async () => {
  const bob = await party();
  bob.ua.on('invite', (call) => void call.accept({ sdp: ANSWER }));
  const server = createDigestServer({ realm: 'b2bua.test', lookup: (user) => (user === 'alice' ? { password: 'secret' } : undefined) });
  const mid = await middle({ target: bob.uri(), authenticate: digestAuthenticator(server) });
  const caller = await RawPeer.create();
  const ids = { callId: `${tag()}@raw`, fromTag: tag() };
  const first = invite(caller, mid.uri(), ids, 1);
  await caller.send(stringify(first), mid.port);
  const challenge = (await caller.next(isResponse(401, 'INVITE'))).message as SipResponse;
  expect(challenge.headers['www-authenticate']?.[0]?.realm).toBe('"b2bua.test"');
  expect(bob.received).toHaveLength(0);
  const signed = invite(caller, mid.uri(), ids, 2);
  expect(signRequest({}, signed, challenge, { user: 'alice', password: 'secret' })).not.toBeNull();
  await caller.send(stringify(signed), mid.port);
  const ok = (await caller.next(isResponse(200, 'INVITE'))).message as SipResponse;
  const ack: SipRequest = { ...signed, method: 'ACK', uri: ok.headers.contact === '*' ? mid.uri() : String(ok.headers.contact?.[0]?.uri ?? mid.uri()), headers: { ...signed.headers, via: invite(caller, mid.uri(), ids, 2).headers.via, to: ok.headers.to, cseq: { seq: 2, method: 'ACK' } }, content: '' };
  ack.headers['content-type'] = undefined;
  await caller.send(stringify(ack), mid.port);
  const atBob = bob.received.find(isRequest('INVITE')) as SipRequest;
  expect(atBob.headers.authorization).toBeUndefined();
  expect(mid.b2bua.stats()).toMatchObject({ authRejected: 1, callsCreated: 1 });
  // Bob hangs up; the caller answers the B2BUA's BYE.
  await bob.ua.dialogs().next().value?.bye();
  const bye = (await caller.next(isRequest('BYE'))).message as SipRequest;
  await caller.send(stringify(makeResponse(bye, 200)), mid.port);
  await until(() => mid.b2bua.stats().calls === 0);
});

test('a CANCEL while the authenticate hook runs: 200 to the CANCEL, 487 to the INVITE, no call', async () => {
  const bob = await party();
  let release: (v: true) => void = () => undefined;
  const mid = await middle({ target: bob.uri(), authenticate: () => new Promise<true>((resolve) => (release = resolve)) });
  const caller = await RawPeer.create();
  const rq = invite(caller, mid.uri(), { callId: `${tag()}@raw`, fromTag: tag() }, 1);
  await caller.send(stringify(rq), mid.port);
  await settle(30);
  const cancel: SipRequest = { ...rq, method: 'CANCEL', headers: { ...rq.headers, cseq: { seq: 1, method: 'CANCEL' }, 'content-type': undefined }, content: '' };
  await caller.send(stringify(cancel), mid.port);
  await caller.next(isResponse(200, 'CANCEL'));
  await caller.next(isResponse(487, 'INVITE'));
  release(true);
  await settle(50);
  expect(bob.received).toHaveLength(0);
  expect(mid.b2bua.stats().callsCreated).toBe(0);
});

test('an authenticate hook that throws: 500, reported as ERR_HOOK', async () => {
  const mid = await middle({
    target: 'sip:nobody@127.0.0.1:9',
    authenticate: () => {
      throw new Error('db down');
    },
  });
  const errors: string[] = [];
  mid.b2bua.on('error', (e) => errors.push(`${(e as { code?: string }).code} ${String((e.cause as Error).message)}`));
  const caller = await RawPeer.create();
  await caller.send(stringify(invite(caller, mid.uri(), { callId: `${tag()}@raw`, fromTag: tag() }, 1)), mid.port);
  await caller.next(isResponse(500, 'INVITE'));
  await until(() => errors.length === 1);
  expect(errors).toEqual(['ERR_HOOK db down']);
});
