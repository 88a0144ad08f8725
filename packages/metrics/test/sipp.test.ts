// With metrics on, N SIPp calls through @sipts/proxy: the exported counters match N exactly, and
// they are the numbers stats() reports (one source of truth). Skipped where sipp is not installed.
import { parseUri } from '@sipts/core';
import { createProxy, type SipProxy } from '@sipts/proxy';
import { SipMetrics } from '@sipts/metrics';
import { findSipp, freePort, scenario, startSipp, startUas, type SippRun } from '../../../tools/interop/proxy/lib/harness.js';

const sipp = findSipp();
const describeSipp = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) console.warn('@sipts/metrics: sipp is not installed (Debian package sip-tester); the SIPp count test is skipped');

jest.setTimeout(60_000);
const HOST = '127.0.0.1';
const CALLS = 20;

/** `name{labels} value` lines of the exposition text, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

const runs: SippRun[] = [];
let proxy: SipProxy | undefined;
let metrics: SipMetrics | undefined;
afterEach(async () => {
  for (const r of runs.splice(0)) r.stop();
  metrics?.close();
  await proxy?.stop();
});

describeSipp('SIPp through the proxy with metrics on', () => {
  test(`${CALLS} calls: requests, responses, transactions and proxy outcomes count exactly ${CALLS}`, async () => {
    const uas = await startUas(['-sn', 'uas'], HOST, CALLS, 40);
    runs.push(uas.run);
    const port = await freePort(HOST);
    const p = createProxy({ address: HOST, port, tcp: false }, (rq) => {
      if (rq.method === 'INVITE' && rq.headers.to?.params['tag'] === undefined && parseUri(rq.uri)?.user === 'uas') rq.uri = `sip:uas@${HOST}:${uas.port}`;
      p.send(rq);
    });
    proxy = p;
    await p.ready();
    metrics = new SipMetrics().addStack(p.stack as unknown as Parameters<SipMetrics['addStack']>[0]).addProxy(p);
    const uacPort = await freePort(HOST);
    const uac = startSipp(
      ['-sf', scenario('uac-dialog.xml'), `${HOST}:${port}`, '-i', HOST, '-p', String(uacPort), '-s', 'uas', '-m', String(CALLS), '-r', '10', '-timeout', '40s', '-timeout_error'],
      { killAfterMs: 45_000 },
    );
    runs.push(uac);
    const result = await uac.done;
    expect({ exit: result.exitCode, successful: result.successful, failed: result.failed, log: result.exitCode === 0 ? '' : result.log }).toEqual({ exit: 0, successful: CALLS, failed: 0, log: '' });
    // Let the BYE's 200 and the last ACK settle.
    await new Promise((r) => setTimeout(r, 200));
    const m = samples(await metrics.metrics());
    const stats = (p.stack as unknown as { stats(): import('@sipts/core').StackStats }).stats();
    const retransmitted = result.retransmissions > 0;
    for (const method of ['INVITE', 'ACK', 'BYE']) {
      // Sent: first transmissions only, so exactly N whatever the loss.
      expect([method, m.get(`sipts_requests_sent_total{method="${method}"}`)]).toEqual([method, CALLS]);
      // Received: retransmissions are counted too; exact when SIPp retransmitted nothing.
      const received = m.get(`sipts_requests_received_total{method="${method}"}`);
      if (retransmitted) expect(received).toBeGreaterThanOrEqual(CALLS);
      else expect([method, received]).toEqual([method, CALLS]);
      expect(received).toBe(stats.requestsReceived[method as 'INVITE']);
    }
    expect(m.get('sipts_responses_sent_total{method="INVITE",class="2xx"}')).toBe(CALLS);
    expect(m.get('sipts_responses_sent_total{method="BYE",class="2xx"}')).toBe(CALLS);
    expect(m.get('sipts_responses_sent_total{method="INVITE",class="2xx"}')).toBe(stats.responsesSent.INVITE['2xx']);
    if (!retransmitted) expect(m.get('sipts_responses_received_total{method="INVITE",class="2xx"}')).toBe(CALLS);
    expect(m.get('sipts_transactions_created_total{side="client"}')).toBe(2 * CALLS); // INVITE + BYE per call
    expect(m.get('sipts_proxy_contexts_created_total')).toBe(2 * CALLS);
    expect(m.get('sipts_proxy_outcomes_total{method="INVITE",reason="final",class="2xx"}')).toBe(CALLS);
    expect(m.get('sipts_proxy_outcomes_total{method="BYE",reason="final",class="2xx"}')).toBe(CALLS);
    expect(m.get('sipts_proxy_contexts')).toBe(0);
    expect(m.get('sipts_transport_messages_received_total{transport="UDP"}')).toBe(stats.transports.UDP?.received);
  });
});
