// What an application sees and controls: the leg and call events (call id, sides, states,
// reasons), stats() as @sipts/metrics reads it and the leg events as @sipts/otel's traceB2bua()
// reads them, header hooks per direction and the relayed-header list, option checks and the
// error brand.
import { SipMetrics } from '@sipts/metrics';
import { SipTracer, traceB2bua } from '@sipts/otel';
import { createB2bua, isB2buaError, B2buaError, DEFAULT_RELAY_HEADERS } from '@sipts/b2bua';
import type { SipRequest } from '@sipts/core';
import { ANSWER, OFFER, bridged, closeAll, isRequest, isResponse, middle, party, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

test('leg and call events of a call, in order, with the call id, sides, states and reasons', async () => {
  const bob = await party();
  bob.ua.on('invite', (call) => void call.progress(180).then(() => call.accept({ sdp: ANSWER })));
  const mid = await middle({ target: bob.uri() });
  const events: string[] = [];
  let callId = '';
  mid.b2bua.on('call', (call) => {
    callId = call.id;
    events.push(`call ${call.state}`);
  });
  mid.b2bua.on('legStart', (e) => events.push(`start ${e.side} ${e.callId === callId || callId === ''} ${e.side === 'a' ? e.legCallId === e.callId : e.legCallId !== e.callId}`));
  mid.b2bua.on('legState', (e) => events.push(`state ${e.side} ${e.state} ${String(e.status)}${e.reason !== undefined ? ` ${e.reason}` : ''}`));
  mid.b2bua.on('legEnd', (e) => events.push(`end ${e.side} ${e.reason} ${String(e.status)}`));
  mid.b2bua.on('callEnd', (e) => events.push(`callEnd ${e.callId === callId} ${e.outcome} ${e.reason} ${e.endedBy}`));
  const alice = await party();
  const a = await alice.ua.invite(mid.uri(), { sdp: OFFER });
  await until(() => bob.received.some(isRequest('ACK')));
  await a.bye();
  await until(() => events.some((e) => e.startsWith('callEnd')) && events.filter((e) => e.startsWith('end')).length === 2);
  expect(events).toEqual([
    'start a true true',
    'start b true true',
    'call routing',
    'state b early 180',
    'state a early 180',
    'state b confirmed 200',
    'state a confirmed 200',
    'state a terminated undefined remote-bye',
    'end a remote-bye 200',
    'state b terminated undefined local-bye',
    'end b local-bye 200',
    'callEnd true answered remote-bye a',
  ]);
});

test('stats() as @sipts/metrics exports it; leg events as @sipts/otel traces them', async () => {
  const bob = await party();
  bob.ua.on('invite', (call) => void call.accept({ sdp: ANSWER }));
  const mid = await middle({ target: bob.uri() });
  const metrics = new SipMetrics({ eventLoopDelay: false }).addB2bua(mid.b2bua);
  const tracer = new SipTracer();
  traceB2bua(mid.b2bua, tracer);
  const alice = await party();
  const a = await alice.ua.invite(mid.uri(), { sdp: OFFER });
  expect(await metrics.metrics()).toContain('sipts_b2bua_calls 1');
  expect(tracer.openSpans).toBe(2); // a span per leg while it lives
  await a.bye();
  await until(() => mid.b2bua.stats().calls === 0 && tracer.openSpans === 0);
  const text = await metrics.metrics();
  expect(text).toContain('sipts_b2bua_calls_created_total 1');
  expect(text).toContain('sipts_b2bua_calls_ended_total{outcome="answered"} 1');
  expect(text).toContain('sipts_b2bua_legs 0');
});

test('header hooks per direction, and the relayed header list', async () => {
  const seen: string[] = [];
  const { a, alice, bob } = await bridged({
    b2bua: {
      relayHeaders: ['subject', 'x-account'],
      headersToB: (headers, ctx) => {
        seen.push(`toB ${ctx.method} ${ctx.from}->${ctx.to}`);
        if (ctx.method === 'INVITE') headers['x-trunk'] = 'east';
      },
      headersToA: (headers, ctx) => {
        seen.push(`toA ${ctx.method} ${ctx.from}->${ctx.to}`);
        headers['user-agent'] = undefined;
      },
      ua: { userAgent: 'b2bua/1' },
    },
    aliceUa: {},
  });
  const invite = bob.received.find(isRequest('INVITE')) as SipRequest;
  expect([invite.headers['x-trunk'], invite.headers['user-agent']]).toEqual(['east', 'b2bua/1']);
  const ok = alice.received.find(isResponse(200, 'INVITE'));
  expect(ok?.headers['user-agent']).toBeUndefined();
  await a.message('hi', 'text/plain', { headers: { 'x-account': '42', 'x-private': 'no' } });
  const message = bob.received.find(isRequest('MESSAGE')) as SipRequest;
  expect([message.headers['x-account'], message.headers['x-private']]).toEqual(['42', undefined]);
  expect(seen).toEqual(expect.arrayContaining(['toB INVITE a->b', 'toA INVITE b->a', 'toB MESSAGE a->b', 'toA MESSAGE b->a']));
  expect(DEFAULT_RELAY_HEADERS).toContain('reason');
});

test('options are checked (ERR_INVALID_OPTION); per-leg headers can never be relayed; errors carry a brand', async () => {
  const mid = await middle();
  const bad: Array<Record<string, unknown>> = [
    { maxCalls: 0 },
    { retryAfter: -1 },
    { target: [] },
    { target: 'mailto:x@y' },
    { relayHeaders: ['Via'] },
    { relayHeaders: ['contact'] },
    { rel100: 'sometimes' },
    { onOffer: 'yes' },
    { targetTimeout: 1.5 },
    { route: 'sip:proxy' },
  ];
  for (const options of bad) {
    let error: unknown;
    try {
      createB2bua(mid.stack, options as never);
    } catch (e) {
      error = e;
    }
    expect({ options, code: (error as B2buaError | undefined)?.code }).toEqual({ options, code: options.target === 'mailto:x@y' ? 'ERR_INVALID_TARGET' : 'ERR_INVALID_OPTION' });
    expect(isB2buaError(error)).toBe(true);
    expect(error instanceof B2buaError).toBe(true);
  }
  expect(() => createB2bua({} as never)).toThrow(B2buaError);
  expect(isB2buaError(new Error('x'))).toBe(false);
  expect(isB2buaError({ code: 'ERR_STOPPED' })).toBe(false);
});
