// Spans per transaction with sip.* attributes, one trace per call through the proxy, and proxy
// branch / B2BUA leg spans from their documented events. A small recording tracer stands in for
// an SDK (the package depends on @opentelemetry/api only).
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace, type Attributes, type AttributeValue, type Context, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type Tracer } from '@opentelemetry/api';
import { create, makeResponse, parseUri } from '@sipts/core';
import type { SipRequest, SipStack } from '@sipts/core';
import { createProxy, type SipProxy } from '@sipts/proxy';
import { SipTracer, traceB2bua, traceProxy, traceStack, type BranchEmitter, type LegEmitter } from '@sipts/otel';

jest.setTimeout(20_000);

class RecordedSpan implements Span {
  readonly attributes: Attributes = {};
  readonly events: string[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  readonly context: SpanContext;
  constructor(
    readonly name: string,
    readonly kind: SpanKind | undefined,
    readonly parentSpanId: string | undefined,
    traceId: string,
    readonly links: Link[],
  ) {
    this.context = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 };
  }
  spanContext(): SpanContext { return this.context; }
  setAttribute(key: string, value: AttributeValue): this { this.attributes[key] = value; return this; }
  setAttributes(attributes: Attributes): this { Object.assign(this.attributes, attributes); return this; }
  addEvent(name: string): this { this.events.push(name); return this; }
  addLink(): this { return this; }
  addLinks(): this { return this; }
  setStatus(status: SpanStatus): this { this.status = status; return this; }
  updateName(): this { return this; }
  end(): void { this.ended = true; }
  isRecording(): boolean { return !this.ended; }
  recordException(): void { this.events.push('exception'); }
}

class RecordingTracer {
  readonly spans: RecordedSpan[] = [];
  startSpan(name: string, options: SpanOptions = {}, ctx?: Context): Span {
    const parent = options.root === true || ctx === undefined ? undefined : trace.getSpanContext(ctx);
    const span = new RecordedSpan(name, options.kind, parent?.spanId, parent?.traceId ?? randomBytes(16).toString('hex'), options.links ?? []);
    span.setAttributes(options.attributes ?? {});
    this.spans.push(span);
    return span;
  }
  startActiveSpan(): never { throw new Error('not used'); }
}

const stacks: SipStack[] = [];
let proxy: SipProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

async function stack(onRequest?: Parameters<typeof create>[1]): Promise<SipStack> {
  const s = create({ address: '127.0.0.1', port: 0, tcp: false }, onRequest);
  stacks.push(s);
  await s.ready();
  return s;
}

const udpPort = (s: { addresses(): { protocol: string; port: number }[] }): number => s.addresses().find((a) => a.protocol === 'UDP')!.port;

describe('transaction spans', () => {
  test('an OPTIONS: a SERVER span on the callee, a CLIENT span on the caller, sip.* attributes, ended at Terminated', async () => {
    const recorder = new RecordingTracer();
    const server = await stack((rq, _r, reply) => void reply.reply(makeResponse(rq, 486)));
    const client = await stack();
    const tracer = new SipTracer({ tracer: recorder as unknown as Tracer });
    tracer.traceStack(server);
    tracer.traceStack(client);
    const uri = `sip:bob@127.0.0.1:${udpPort(server)}`;
    const response = await client.request({ method: 'OPTIONS', uri, headers: { to: { uri, params: {} }, from: { uri: 'sip:a@127.0.0.1', params: { tag: 'x' } }, 'call-id': 'otel-1', cseq: { seq: 3, method: 'OPTIONS' } } });
    expect(response.status).toBe(486);
    const serverSpan = recorder.spans.find((s) => s.kind === SpanKind.SERVER)!;
    const clientSpan = recorder.spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(serverSpan.name).toBe('SIP OPTIONS');
    expect(serverSpan.attributes).toMatchObject({
      'sip.method': 'OPTIONS',
      'sip.call_id': 'otel-1',
      'sip.transaction.kind': 'non-invite-server',
      'sip.cseq': 3,
      'sip.request_uri': uri,
      'sip.status_code': 486,
      'network.transport': 'udp',
      'network.peer.address': '127.0.0.1',
      'network.peer.port': udpPort(client),
    });
    expect(String(serverSpan.attributes['sip.branch'])).toMatch(/^z9hG4bK/);
    expect(clientSpan.attributes).toMatchObject({ 'sip.transaction.kind': 'non-invite-client', 'sip.status_code': 486, 'network.peer.port': udpPort(server) });
    // Both sides share one SipTracer: the same Call-ID puts them in one trace.
    expect(serverSpan.context.traceId).toBe(clientSpan.context.traceId);
    expect(serverSpan.status.code).toBe(SpanStatusCode.UNSET); // 4xx is not a server error
    // Timer J / K end the transactions on fake-free real time only after 32 s / 5 s: stop the stacks.
    await Promise.all(stacks.splice(0).map((s) => s.close()));
  });

  test('a call through the proxy is one trace: the forwarded INVITE and BYE are children of the caller-side INVITE span', async () => {
    const recorder = new RecordingTracer();
    const uas = await stack((rq, _r, reply) => {
      if (rq.method !== 'ACK') reply.reply(makeResponse(rq, 200));
    });
    const uac = await stack();
    const p = createProxy({ address: '127.0.0.1', port: 0, tcp: false }, (rq) => {
      if (rq.method === 'INVITE' && parseUri(rq.uri)?.user === 'bob') rq.uri = `sip:bob@127.0.0.1:${udpPort(uas)}`;
      p.send(rq);
    });
    proxy = p;
    await p.ready();
    const { tracer } = traceStack(p.stack as unknown as SipStack, { tracer: recorder as unknown as Tracer });
    const uri = `sip:bob@127.0.0.1:${udpPort(p.stack as unknown as SipStack)}`;
    const invite: SipRequest = { method: 'INVITE', uri, headers: { to: { uri, params: {} }, from: { uri: 'sip:a@127.0.0.1', params: { tag: 'f' } }, 'call-id': 'otel-call', cseq: { seq: 1, method: 'INVITE' }, contact: [{ uri: `sip:a@127.0.0.1:${udpPort(uac)}`, params: {} }] } };
    const ok = await uac.request(invite);
    expect(ok.status).toBe(200);
    const byeUri = `sip:bob@127.0.0.1:${udpPort(uas)}`;
    // Through the proxy again (as a Record-Route would make it): a loose route to it.
    const route = [{ uri: parseUri(`sip:127.0.0.1:${udpPort(p.stack as unknown as SipStack)};lr`)!, params: {} }];
    const bye: SipRequest = { method: 'BYE', uri: byeUri, headers: { to: ok.headers.to, from: invite.headers.from, 'call-id': 'otel-call', cseq: { seq: 2, method: 'BYE' }, route } };
    expect((await uac.request(bye)).status).toBe(200);
    const spans = recorder.spans;
    const root = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'SIP INVITE')!;
    expect(root.parentSpanId).toBeUndefined();
    expect(spans.map((s) => `${s.kind === SpanKind.SERVER ? 'server' : 'client'} ${s.name}`).sort()).toEqual(
      ['client SIP BYE', 'client SIP INVITE', 'server SIP BYE', 'server SIP INVITE'],
    );
    for (const s of spans) {
      expect(s.context.traceId).toBe(root.context.traceId);
      if (s !== root) expect(s.parentSpanId).toBe(root.context.spanId);
    }
    expect(spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'SIP INVITE')?.attributes['sip.status_code']).toBe(200);
    expect(tracer.openSpans).toBeGreaterThan(0);
    await p.stop();
    proxy = undefined;
  });
});

describe('proxy branches and B2BUA legs (documented events)', () => {
  test('branchStart/branchEnd: a span per branch under the call; ended with its status', () => {
    const recorder = new RecordingTracer();
    const tracer = new SipTracer({ tracer: recorder as unknown as Tracer });
    const proxyEvents = new EventEmitter();
    const detach = traceProxy(proxyEvents as unknown as BranchEmitter, tracer);
    const root = tracer.startSpan('server', 'SIP INVITE', 'c1', SpanKind.SERVER, {});
    proxyEvents.emit('branchStart', { callId: 'c1', branch: 'z9hG4bK1', method: 'INVITE', target: 'sip:a@192.0.2.1' });
    proxyEvents.emit('branchStart', { callId: 'c1', branch: 'z9hG4bK2', method: 'INVITE', target: 'sip:b@192.0.2.2' });
    proxyEvents.emit('branchEnd', { callId: 'c1', branch: 'z9hG4bK1', status: 486, reason: 'response' });
    proxyEvents.emit('branchEnd', { callId: 'c1', branch: 'z9hG4bK2', status: 503, reason: 'response' });
    const branches = recorder.spans.filter((s) => s.name === 'SIP branch INVITE');
    expect(branches).toHaveLength(2);
    for (const b of branches) {
      expect(b.kind).toBe(SpanKind.INTERNAL);
      expect(b.parentSpanId).toBe(root.spanContext().spanId);
      expect(b.ended).toBe(true);
    }
    expect(branches[0]?.attributes).toMatchObject({ 'sip.target': 'sip:a@192.0.2.1', 'sip.status_code': 486, 'sip.branch.outcome': 'response' });
    expect(branches[1]?.status.code).toBe(SpanStatusCode.ERROR);
    detach();
    expect(proxyEvents.listenerCount('branchStart')).toBe(0);
  });

  test('legStart/legEnd: the B leg (another Call-ID) joins the A leg trace; a later transaction links to an ended call', () => {
    const recorder = new RecordingTracer();
    const tracer = new SipTracer({ tracer: recorder as unknown as Tracer, maxEndedCalls: 1 });
    const b2bua = new EventEmitter();
    traceB2bua(b2bua as unknown as LegEmitter, tracer);
    b2bua.emit('legStart', { callId: 'A', legCallId: 'A', legId: 'la', side: 'a' });
    b2bua.emit('legStart', { callId: 'A', legCallId: 'B', legId: 'lb', side: 'b', target: 'sip:c@192.0.2.3' });
    // A transaction of the B leg (Call-ID B) lands in the A trace.
    tracer.startSpan('tx', 'SIP INVITE', 'B', SpanKind.CLIENT, {});
    const [a, b, tx] = recorder.spans as [RecordedSpan, RecordedSpan, RecordedSpan];
    expect(b.context.traceId).toBe(a.context.traceId);
    expect(tx.context.traceId).toBe(a.context.traceId);
    expect(b.kind).toBe(SpanKind.CLIENT);
    tracer.endSpan('tx', 200);
    b2bua.emit('legEnd', { legId: 'lb', status: 200, reason: 'bye' });
    b2bua.emit('legEnd', { legId: 'la', status: 200, reason: 'bye' });
    expect(tracer.openSpans).toBe(0);
    // The call ended; a late transaction of it starts a new trace linked to the call's root.
    tracer.startSpan('late', 'SIP BYE', 'A', SpanKind.SERVER, {});
    const late = recorder.spans[3]!;
    expect(late.context.traceId).not.toBe(a.context.traceId);
    expect(late.links[0]?.context.spanId).toBe(a.context.spanId);
    tracer.endSpan('late');
    // Bounded: with maxEndedCalls 1, a second ended call pushes the first out.
    tracer.startSpan('other', 'SIP OPTIONS', 'Z', SpanKind.SERVER, {});
    tracer.endSpan('other');
    tracer.startSpan('late2', 'SIP BYE', 'A', SpanKind.SERVER, {});
    expect(recorder.spans[5]?.links).toEqual([]);
  });
});
