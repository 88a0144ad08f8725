// Shared by the cluster tests: the cluster of examples/cluster (Kamailio dispatcher front, sipts
// nodes, Redis) started on loopback, SIPp runs through its front, the nodes' /metrics, and raw
// SIP requests over UDP for exact checks.
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, type SipResponse } from '@sipts/message';
import { findKamailio, findRedisServer, kamailioModules, startCluster, type Cluster, type ClusterOptions } from '../../../../examples/cluster/cluster.js';
import { describeResult, findSipp, freeMediaPort, freePort, startSipp, type SippProcess, type SippResult } from '../../lib/sipp.js';

export const scenario = (name: string): string => join(__dirname, '..', 'scenarios', name);
export const sharedScenario = (name: string): string => join(__dirname, '..', '..', 'scenarios', name);

/** Why the cluster tests cannot run here, or undefined when they can. */
export function missing(): string | undefined {
  if (findSipp() === undefined) return '`sipp` is not on PATH (apt-get install sip-tester)';
  if (findKamailio() === undefined || kamailioModules() === undefined) return 'kamailio with its dispatcher module is not installed (apt-get install kamailio)';
  if (findRedisServer() === undefined) return 'redis-server is not installed (apt-get install redis-server)';
  return undefined;
}

async function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free TCP port with the `count - 1` ports after it free too (the metrics of each node). */
async function metricsBase(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort();
    let ok = first + count < 65535;
    for (let i = 1; i < count && ok; i++) ok = await tcpPortFree(first + i);
    if (ok) return first;
  }
  throw new Error('no free metrics ports');
}

/** A cluster on free loopback ports, with /metrics on every node. */
export async function cluster(options: ClusterOptions = {}): Promise<Cluster & { metricsPort: number }> {
  const metricsPort = await metricsBase(options.nodes ?? 2);
  // OVERLOAD=off: on a CI machine busy with the other suites, @sipts/core's load shedding would
  // answer some of these few calls 503 (it is measured elsewhere); these tests are about routing.
  const c = await startCluster({ frontPort: 0, nodePort: 0, redisPort: 0, metricsPort, pingInterval: 1, probeFailures: 2, nodeEnv: { OVERLOAD: 'off' }, ...options });
  return Object.assign(c, { metricsPort });
}

/** The metrics of a node: `name{labels}` → value. */
export async function metrics(port: number): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const rq = request({ host: '127.0.0.1', port, path: '/metrics', timeout: 3000, agent: false }, (rs) => {
      let body = '';
      rs.setEncoding('utf8');
      rs.on('data', (d: string) => (body += d));
      rs.on('end', () => resolve(body));
    });
    rq.on('error', reject);
    rq.on('timeout', () => rq.destroy(new Error('metrics timeout')));
    rq.end();
  });
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** INVITEs and REGISTERs each node received (by its /metrics; node i at metricsPort + i - 1). */
export async function received(c: Cluster & { metricsPort: number }, method: string): Promise<number[]> {
  const counts: number[] = [];
  for (const n of c.nodes) {
    const m = await metrics(c.metricsPort + n.index - 1).catch(() => new Map<string, number>());
    counts.push(m.get(`sipts_requests_received_total{method="${method}"}`) ?? 0);
  }
  return counts;
}

export async function base(seconds: number): Promise<string[]> {
  return ['-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-timeout', `${seconds}s`, '-timeout_error'];
}

/** A SIPp uas (echoing Record-Route, as phones do) on a free port that answers `calls` calls, registered as `user` through the front. */
export async function callee(c: Cluster, user: string, calls: number, seconds: number, auth?: { password: string }): Promise<SippProcess> {
  const port = await freePort();
  const uas = startSipp(['-i', '127.0.0.1', '-p', String(port), '-mp', String(await freeMediaPort()), '-sf', scenario('uas-rr.xml'), '-m', String(calls), '-timeout', `${seconds}s`], {
    timeoutMs: (seconds + 10) * 1000,
  });
  await register(c, user, port, auth);
  return uas;
}

/** Registers `user` at Contact 127.0.0.1:`contactPort` through the front (SIPp, with digest when asked). */
export async function register(c: Cluster, user: string, contactPort: number, auth?: { password: string }): Promise<void> {
  const args = [
    ...(await base(10)),
    '-sf',
    auth !== undefined ? scenario('register-contact-auth.xml') : sharedScenario('register-contact.xml'),
    '-s',
    user,
    '-key',
    'contact_port',
    String(contactPort),
    ...(auth !== undefined ? ['-au', user, '-ap', auth.password] : []),
    '-m',
    '1',
    `127.0.0.1:${c.front.port}`,
  ];
  const r = await startSipp(args, { timeoutMs: 15_000 }).done;
  expectPassed(`REGISTER ${user} through the front`, r, 1);
}

/** SIPp uac through the front: `calls` calls to `user` at `rate`/s, each held `holdMs`, Call-IDs `<tag>-<n>`. */
export async function caller(c: Cluster, user: string, calls: number, rate: number, holdMs: number, tag: string, seconds: number): Promise<SippProcess> {
  return startSipp(
    [
      ...(await base(seconds)),
      '-sf',
      scenario('uac-hold.xml'),
      '-s',
      user,
      '-d',
      String(holdMs),
      '-m',
      String(calls),
      '-r',
      String(rate),
      // Deterministic Call-IDs: the front's Call-ID hash then spreads them the same way every run.
      '-cid_str',
      `${tag}-%u@127.0.0.1`,
      '-max_non_invite_retrans',
      '3',
      `127.0.0.1:${c.front.port}`,
    ],
    { timeoutMs: (seconds + 10) * 1000 },
  );
}

export function expectPassed(name: string, r: SippResult, calls: number): void {
  const ok = r.exitCode === 0 && r.successful === calls && r.failed === 0 && !r.timedOut;
  expect({ name, ok, detail: ok ? '' : describeResult(name, r) }).toEqual({ name, ok: true, detail: '' });
}

/** Sends one SIP request over UDP to 127.0.0.1:`port`; resolves with the first final response (or undefined after `ms`). */
export async function sendRequest(port: number, text: (local: number) => string, ms = 4000): Promise<SipResponse | undefined> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const local = s.address().port;
  const bytes = Buffer.from(text(local));
  let timer: NodeJS.Timeout | undefined;
  let again: NodeJS.Timeout | undefined;
  try {
    return await new Promise<SipResponse | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      s.on('message', (data) => {
        const m = parse(data);
        if (m !== undefined && 'status' in m && m.status >= 200) resolve(m);
      });
      s.send(bytes, port, '127.0.0.1');
      // Retransmit as a UAC would (Timer E), a few times.
      let n = 0;
      again = setInterval(() => {
        if (++n <= 6) s.send(bytes, port, '127.0.0.1');
      }, 500);
    });
  } finally {
    clearTimeout(timer);
    clearInterval(again);
    s.close();
  }
}

let sequence = 0;

/** A REGISTER (or INVITE) as a phone would send it, with the Authorization lines given. */
export function sipRequest(method: 'REGISTER' | 'INVITE', user: string, port: number, extra: string[] = [], callId?: string): (local: number) => string {
  const id = `${Date.now()}-${++sequence}`;
  return (local) =>
    [
      method === 'REGISTER' ? `REGISTER sip:127.0.0.1:${port} SIP/2.0` : `INVITE sip:${user}@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKcluster${id};rport`,
      `From: <sip:${method === 'REGISTER' ? user : 'caller'}@127.0.0.1>;tag=f${id}`,
      `To: <sip:${user}@127.0.0.1>`,
      `Call-ID: ${callId ?? `cluster-${id}`}`,
      `CSeq: ${sequence} ${method}`,
      `Contact: <sip:${user}@127.0.0.1:${local}>`,
      'Max-Forwards: 70',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
}
