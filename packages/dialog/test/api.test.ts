// The promise API between two UAs on real sockets: outcomes and errors of invite(), accept(),
// reject(), bye(); events; offerless calls; INFO and MESSAGE; out-of-dialog requests; handle()
// in a handler chain; snapshots restored on a new UA; close(); nothing left behind.
import { create, makeResponse } from '@sipts/core';
import type { SipRequest } from '@sipts/core';
import { DialogError, createUA, isDialogError, type Dialog, type DialogSnapshot, type IncomingCall } from '@sipts/dialog';
import { ANSWER, OFFER, closeAll, endpoint, settle, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

async function pair(uaA = {}, uaB = {}): Promise<{ a: Awaited<ReturnType<typeof endpoint>>; b: Awaited<ReturnType<typeof endpoint>>; calls: IncomingCall[] }> {
  const b = await endpoint({ ua: uaB });
  const a = await endpoint({ ua: uaA });
  const calls: IncomingCall[] = [];
  b.ua.on('invite', (c) => calls.push(c));
  return { a, b, calls };
}

async function connected(): Promise<{ a: Awaited<ReturnType<typeof endpoint>>; b: Awaited<ReturnType<typeof endpoint>>; caller: Dialog; callee: Dialog }> {
  const { a, b, calls } = await pair();
  const pending = a.ua.invite(b.uri(), { sdp: OFFER });
  await until(() => calls.length === 1);
  const accepted = calls[0]!.accept({ sdp: ANSWER });
  const caller = await pending;
  return { a, b, caller, callee: await accepted };
}

test('the early dialog is confirmed by the 2xx; ids mirror each other; terminated is emitted once with its cause', async () => {
  const { a, b, calls } = await pair();
  const early: Dialog[] = [];
  const pending = a.ua.invite(b.uri(), { sdp: OFFER, onProgress: (_rs, d) => d && early.push(d) });
  await until(() => calls.length === 1);
  const call = calls[0]!;
  await call.progress(180);
  await until(() => early.length === 1);
  const confirmed: string[] = [];
  early[0]!.on('confirmed', () => confirmed.push('caller'));
  expect(early[0]!.state).toBe('early');
  const callee = call.accept({ sdp: ANSWER });
  const caller = await pending;
  expect(caller).toBe(early[0]);
  expect(confirmed).toEqual(['caller']);
  const d = await callee;
  expect([caller.callId, caller.localTag, caller.remoteTag]).toEqual([d.callId, d.remoteTag, d.localTag]);
  expect(caller.outgoing).toBe(true);
  expect(d.outgoing).toBe(false);
  const causes: string[] = [];
  caller.on('terminated', (r) => causes.push(`a:${r.cause}`));
  d.on('terminated', (r) => causes.push(`b:${r.cause}`));
  const first = d.bye();
  expect(d.bye()).toBe(first);
  expect((await first)?.status).toBe(200);
  await until(() => causes.length === 2);
  expect(causes.sort()).toEqual(['a:remote-bye', 'b:local-bye']);
  expect(await d.bye()).toBe((await first));
  expect(await caller.bye()).toBeUndefined();
  expect(a.ua.stats()).toMatchObject({ dialogs: 0, incoming: 0, timers: 0 });
  expect(b.ua.stats()).toMatchObject({ dialogs: 0, incoming: 0, timers: 0 });
});

test('invite() errors: rejected (with the response), invalid target, already aborted, the UA closed', async () => {
  const { a, b, calls } = await pair();
  const pending = a.ua.invite(b.uri(), { sdp: OFFER });
  await until(() => calls.length === 1);
  expect(calls[0]!.reject(486, { headers: { 'retry-after': '30' } })).toBe(true);
  expect(calls[0]!.reject(486)).toBe(false);
  const error = await pending.then(() => undefined, (e: unknown) => e);
  expect(isDialogError(error)).toBe(true);
  expect(error instanceof DialogError).toBe(true);
  expect(error).toMatchObject({ code: 'ERR_REJECTED', response: { status: 486, headers: { 'retry-after': '30' } } });
  await expect(a.ua.invite('mailto:x@y')).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET' });
  const controller = new AbortController();
  controller.abort();
  await expect(a.ua.invite(b.uri(), { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  await settle();
  expect(calls).toHaveLength(1);
  await a.ua.close();
  await expect(a.ua.invite(b.uri())).rejects.toMatchObject({ code: 'ERR_STOPPED' });
});

test('accept() needs the answer when the INVITE had an offer; the callee cannot BYE an early dialog', async () => {
  const { a, b, calls } = await pair();
  void a.ua.invite(b.uri(), { sdp: OFFER });
  await until(() => calls.length === 1);
  const call = calls[0]!;
  await expect(call.accept()).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  await call.progress(180);
  await expect(call.dialog!.bye()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  await expect(call.progress(200)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  expect(() => call.reject(200)).toThrow(DialogError);
  await call.accept({ sdp: ANSWER });
  await expect(call.accept({ sdp: ANSWER })).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  expect(call.reject()).toBe(false);
});

test('an offerless INVITE between two UAs: the offer in the 2xx, the answer in the ACK', async () => {
  const { a, b, calls } = await pair({ sdp: { answer: () => ANSWER } });
  const pending = a.ua.invite(b.uri());
  await until(() => calls.length === 1);
  expect(calls[0]!.offer).toBeUndefined();
  const accepted = calls[0]!.accept({ sdp: OFFER });
  const caller = await pending;
  const callee = await accepted;
  expect(callee.localSdp).toBe(OFFER);
  expect(callee.remoteSdp).toBe(ANSWER);
  expect(caller.localSdp).toBe(ANSWER);
});

test('INFO with an Info-Package and MESSAGE reach the other side\'s listener; its answer comes back', async () => {
  const { caller, callee } = await connected();
  const seen: SipRequest[] = [];
  callee.on('request', (rq, _remote, reply) => {
    seen.push(rq);
    reply.reply(makeResponse(rq, rq.method === 'INFO' ? 200 : 202));
  });
  expect((await caller.info('Signal=5\r\nDuration=160\r\n', 'application/dtmf-relay', { infoPackage: 'dtmf' })).status).toBe(200);
  expect((await caller.message('hello')).status).toBe(202);
  expect(seen.map((r) => [r.method, r.headers['info-package'], r.headers['content-type'], r.content])).toEqual([
    ['INFO', 'dtmf', 'application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'],
    ['MESSAGE', undefined, 'text/plain', 'hello'],
  ]);
  // Without a listener: INFO for a package nobody takes is 469 (RFC 6086 §4.2.2), other methods 501.
  callee.removeAllListeners('request');
  expect((await caller.info('x', 'text/plain', { infoPackage: 'nope' })).status).toBe(469);
  expect((await caller.request('NOTIFY', { headers: { event: 'x' } })).status).toBe(501);
  await expect(caller.request('INVITE')).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
});

test('a snapshot restored on a new UA (after a restart) keeps answering the dialog; JSON round trip', async () => {
  const { b, caller, callee } = await connected();
  const json = JSON.stringify(callee.toJSON());
  const snapshot = JSON.parse(json) as DialogSnapshot;
  expect(snapshot).toMatchObject({ version: 1, callId: callee.callId, localSdp: ANSWER, remoteSdp: OFFER, outgoing: false });
  expect(snapshot.sessionTimer?.interval).toBe(1800);
  // The old UA goes away without BYE; a new one on the same stack takes the dialog over.
  await b.ua.close();
  const restarted = createUA(b.stack);
  try {
    const restored = restarted.restore(snapshot);
    expect(restored.state).toBe('confirmed');
    expect(restored.id).toBe(callee.id);
    expect(restored.sessionTimer).toEqual({ interval: 1800, refresher: 'remote' });
    expect(() => restarted.restore(snapshot)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SNAPSHOT' }));
    expect(() => restarted.restore({ ...snapshot, callId: 5 } as unknown as DialogSnapshot)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SNAPSHOT' }));
    const infos: string[] = [];
    restored.on('request', (rq, _remote, reply) => {
      infos.push(rq.method);
      reply.reply(makeResponse(rq, 200));
    });
    expect((await caller.info('x', 'text/plain')).status).toBe(200);
    expect(infos).toEqual(['INFO']);
    const ended: string[] = [];
    caller.on('terminated', (r) => ended.push(r.cause));
    expect((await restored.bye())?.status).toBe(200);
    await until(() => ended.length === 1);
    expect(ended).toEqual(['remote-bye']);
  } finally {
    await restarted.close();
  }
});

test('close({ bye: true }) ends every confirmed dialog with BYE', async () => {
  const { a, caller } = await connected();
  const ended: string[] = [];
  caller.on('terminated', (r) => ended.push(r.cause));
  await a.ua.close({ bye: true });
  expect(ended).toEqual(['stopped']);
  expect(a.ua.size).toBe(0);
});

test('out-of-dialog requests go to the UA\'s request event; with attach: false, handle() chains with the application\'s handler', async () => {
  const { a, b } = await pair();
  const seen: string[] = [];
  b.ua.on('request', (rq, _remote, reply) => {
    seen.push(rq.method);
    reply.reply(makeResponse(rq, 200));
  });
  const message = { method: 'MESSAGE', uri: b.uri(), headers: { to: { uri: b.uri(), params: {} }, from: { uri: 'sip:a@127.0.0.1', params: { tag: 'x1' } }, 'call-id': 'm1', cseq: { seq: 1, method: 'MESSAGE' } }, content: 'hi' };
  expect((await a.stack.request(message)).status).toBe(200);
  expect(seen).toEqual(['MESSAGE']);

  // A stack whose own handler offers each request to the UA first.
  const stack = create({ address: '127.0.0.1', port: 0 });
  await stack.ready();
  const ua = createUA(stack, { attach: false });
  const calls: IncomingCall[] = [];
  ua.on('invite', (c) => calls.push(c));
  const other: string[] = [];
  stack.on('request', (rq, remote, reply) => {
    if (ua.handle(rq, remote, reply)) return;
    other.push(rq.method);
    if (rq.method !== 'ACK') reply.reply(makeResponse(rq, 202));
  });
  try {
    const port = stack.addresses()[0]!.port;
    const target = `sip:x@127.0.0.1:${port}`;
    const pending = a.ua.invite(target, { sdp: OFFER });
    await until(() => calls.length === 1);
    const accepted = calls[0]!.accept({ sdp: ANSWER });
    const dialog = await pending;
    await accepted;
    expect((await a.stack.request({ ...message, uri: target, headers: { ...message.headers, 'call-id': 'm2' } })).status).toBe(202);
    expect((await dialog.bye())?.status).toBe(200);
    expect(other).toEqual(['MESSAGE']);
  } finally {
    await ua.close();
    await stack.close();
  }
});

test('createUA() checks its options: ERR_INVALID_OPTION', () => {
  const stack = create({ address: '127.0.0.1', port: 0, udp: false, tcp: false });
  const bad: Array<Record<string, unknown>> = [
    { rel100: 'sometimes' },
    { sessionTimer: { minSE: 30 } },
    { sessionTimer: { expires: 100, minSE: 200 } },
    { sessionTimer: { refresher: 'me' } },
    { t1: 0 },
    { maxDialogs: 0 },
    { maxEarlyDialogs: 1.5 },
    { contact: 'not a uri' },
    { sdp: { answer: 'x' } },
    { clock: {} },
  ];
  for (const options of bad) {
    expect(() => createUA(stack, options as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  }
  expect(() => createUA({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  void stack.close();
});
