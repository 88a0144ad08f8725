// The exposition: names and labels by Prometheus conventions, values from stats() at scrape
// time, every optional source, the /metrics endpoint, and the option checks.
import { request as httpGet } from 'node:http';
import { EventEmitter } from 'node:events';
import { create, makeResponse } from '@sipts/core';
import type { SipStack } from '@sipts/core';
import { Registry } from 'prom-client';
import { MetricsError, SipMetrics, isMetricsError, serveMetrics, type ProxyReleasedShape } from '@sipts/metrics';

jest.setTimeout(20_000);

const stacks: SipStack[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const rq = httpGet({ host: '127.0.0.1', port, path, method }, (rs) => {
      let body = '';
      rs.on('data', (c: Buffer) => (body += c.toString()));
      rs.on('end', () => resolve({ status: rs.statusCode ?? 0, type: rs.headers['content-type'], body }));
    });
    rq.on('error', reject);
    rq.end();
  });
}

describe('SipMetrics', () => {
  test('a stack: counters read from stats() at scrape time, _total suffixes, bounded labels', async () => {
    const server = create({ address: '127.0.0.1', port: 0 }, (rq, _r, reply) => reply.reply(makeResponse(rq, 200)));
    const client = create({ address: '127.0.0.1', port: 0 });
    stacks.push(server, client);
    await Promise.all([server.ready(), client.ready()]);
    const metrics = new SipMetrics({ eventLoopDelay: true }).addStack(server);
    cleanups.push(() => metrics.close());
    const port = server.addresses().find((a) => a.protocol === 'UDP')!.port;
    for (const method of ['OPTIONS', 'OPTIONS', 'XFOO']) {
      await client.request({
        method,
        uri: `sip:s@127.0.0.1:${port}`,
        headers: { to: { uri: 'sip:s@127.0.0.1', params: {} }, from: { uri: 'sip:c@127.0.0.1', params: { tag: 'x' } }, 'call-id': `c-${Math.random()}`, cseq: { seq: 1, method } },
      });
    }
    const text = await metrics.metrics();
    expect(text).toContain('# TYPE sipts_requests_received_total counter');
    expect(text).toContain('sipts_requests_received_total{method="OPTIONS"} 2');
    expect(text).toContain('sipts_requests_received_total{method="other"} 1');
    expect(text).toContain('sipts_responses_sent_total{method="OPTIONS",class="2xx"} 2');
    expect(text).toContain('# TYPE sipts_transactions gauge');
    expect(text).toContain('sipts_transactions{kind="non-invite-server"} 3');
    expect(text).toMatch(/sipts_transport_received_bytes_total\{transport="UDP"\} \d{3,}/);
    expect(text).toContain('sipts_connections{transport="TCP"} 0');
    expect(text).toContain('sipts_overload_state{state="normal"} 1');
    expect(text).toMatch(/sipts_event_loop_delay_seconds\{quantile="0.99"\} [0-9.e-]+/);
    // Every counter ends in _total; no label carries a Call-ID, a user or an address.
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)/.exec(line);
      if (type?.[2] === 'counter') expect(type[1]).toMatch(/_total$/);
      expect(line).not.toMatch(/call|127\.0\.0\.1|sip:/i);
    }
    // Read again: the values follow stats(), they are not accumulated twice.
    expect(await metrics.metrics()).toContain('sipts_requests_received_total{method="OPTIONS"} 2');
  });

  test('proxy, registrar (async), dialog UA, B2BUA and HEP sources', async () => {
    const proxy = Object.assign(new EventEmitter(), {
      stats: () => ({ contexts: 1, contextsCreated: 5, branches: 6, branchesCancelled: 1, branchesTimedOut: 0, branchesRefused: 0, loopsDetected: 0, tooManyHops: 0, contextsTimedOut: 0, statelessForwarded: 2, cancelsReceived: 1 }),
    });
    const metrics = new SipMetrics({ eventLoopDelay: false, registry: new Registry() })
      .addProxy(proxy as unknown as Parameters<SipMetrics['addProxy']>[0])
      .addRegistrar({
        stats: async () => ({ aors: 2, bindings: 3, registers: 4, responses: { '200': 3, '401': 1 }, added: 3, refreshed: 0, removed: 0, expired: 0, flowsDropped: 0, lookups: 7, storeErrors: 0, authFailures: 1 }),
      })
      .addDialogUA({ stats: () => ({ dialogs: 4, incoming: 1, dialogsCreated: 9, dialogsTerminated: 5, unknownDialog: 0, overloadRejected: 0 }) })
      .addB2bua({ stats: () => ({ calls: 2, legs: 4, callsCreated: 3, callsEnded: { answered: 1 } }) })
      .addHep({ stats: () => ({ captured: 10, sent: 9, dropped: 1, errors: 0, unencodable: 0, queued: 0 }) });
    cleanups.push(() => metrics.close());
    const released = (e: ProxyReleasedShape): boolean => proxy.emit('contextReleased', e);
    released({ method: 'INVITE', reason: 'final', status: 200 });
    released({ method: 'INVITE', reason: 'final', status: 486 });
    released({ method: 'WEIRD', reason: 'cancelled', status: 487 });
    const text = await metrics.metrics();
    expect(text).toContain('sipts_proxy_contexts 1');
    expect(text).toContain('sipts_proxy_branches_total 6');
    expect(text).toContain('sipts_proxy_outcomes_total{method="INVITE",reason="final",class="2xx"} 1');
    expect(text).toContain('sipts_proxy_outcomes_total{method="INVITE",reason="final",class="4xx"} 1');
    expect(text).toContain('sipts_proxy_outcomes_total{method="other",reason="cancelled",class="4xx"} 1');
    expect(text).toContain('sipts_registrar_bindings 3');
    expect(text).toContain('sipts_registrar_responses_total{class="4xx"} 1');
    expect(text).toContain('sipts_dialogs 4');
    expect(text).toContain('sipts_dialogs_created_total 9');
    expect(text).toContain('sipts_b2bua_calls 2');
    expect(text).toContain('sipts_b2bua_calls_ended_total{outcome="answered"} 1');
    expect(text).toContain('sipts_hep_packets_total{outcome="dropped"} 1');
    metrics.close();
    released({ method: 'INVITE', reason: 'final', status: 200 });
    expect(await metrics.metrics()).toContain('sipts_proxy_outcomes_total{method="INVITE",reason="final",class="2xx"} 1');
  });

  test('serveMetrics: GET /metrics on loopback, 404 elsewhere, 405 for other methods', async () => {
    const metrics = new SipMetrics({ eventLoopDelay: false }).addDialogUA({ stats: () => ({ dialogs: 1, incoming: 0, dialogsCreated: 1, dialogsTerminated: 0, unknownDialog: 0, overloadRejected: 0 }) });
    const server = await serveMetrics(metrics, { port: 0 });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const address = server.address() as { address: string; port: number };
    expect(address.address).toBe('127.0.0.1');
    const ok = await get(address.port, '/metrics?x=1');
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
    expect(ok.body).toContain('sipts_dialogs 1');
    expect((await get(address.port, '/other')).status).toBe(404);
    expect((await get(address.port, '/metrics', 'POST')).status).toBe(405);
    await expect(serveMetrics(metrics, { port: address.port })).rejects.toMatchObject({ code: 'ERR_LISTEN' });
  });

  test('options and sources are checked', async () => {
    expect(() => new SipMetrics({ prefix: 'bad prefix' })).toThrow(MetricsError);
    expect(() => new SipMetrics({ registry: {} as Registry })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    const m = new SipMetrics({ eventLoopDelay: false });
    expect(() => m.addStack({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => m.addProxy({ stats: () => ({}) } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    const refused = await serveMetrics(m, { port: -1 }).catch((e: unknown) => e);
    expect(isMetricsError(refused)).toBe(true);
    // Two SipMetrics in one registry with the same prefix collide; another prefix does not.
    const registry = new Registry();
    new SipMetrics({ registry, eventLoopDelay: false }).addHep({ stats: () => ({ captured: 0, sent: 0, dropped: 0, errors: 0, unencodable: 0, queued: 0 }) });
    expect(() => new SipMetrics({ registry, eventLoopDelay: false, prefix: 'edge_' }).addHep({ stats: () => ({ captured: 0, sent: 0, dropped: 0, errors: 0, unencodable: 0, queued: 0 }) })).not.toThrow();
  });
});

describe('examples/grafana-dashboard.json', () => {
  test('every metric the dashboard queries is one SipMetrics exports', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dashboard = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'grafana-dashboard.json'), 'utf8');
    const used = new Set(dashboard.match(/sipts_[a-z_]+/g));
    const m = new SipMetrics({ eventLoopDelay: true })
      .addStack({ stats: () => { throw new Error('not scraped'); } } as never)
      .addProxy(Object.assign(new EventEmitter(), { stats: () => ({}) }) as never)
      .addRegistrar({ stats: async () => ({}) } as never)
      .addHep({ stats: () => ({}) } as never);
    cleanups.push(() => m.close());
    const defined = new Set(m.registry.getMetricsAsArray().map((x) => x.name));
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) expect([name, defined.has(name)]).toEqual([name, true]);
  });
});
