// Call flows through @sipts/proxy (on @sipts/core) with SIPp on both sides, over 127.0.0.1.
// Skipped, with a message, where sipp is not installed.
import { parseUri } from '@sipts/message';
import type { SipRequest } from '@sipts/message';
import { createProxy, type ForkOptions, type SipProxy } from '@sipts/proxy';
import { eventually, findSipp, freePort, scenario, startSipp, startUas, type SippResult, type SippRun } from '../lib/harness.js';

const sipp = findSipp();
const HOST = '127.0.0.1';
const describeSipp = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/proxy: sipp is not installed (Debian package sip-tester); the SIPp call flows are skipped');
}

jest.setTimeout(45000);

type Plan = (proxy: SipProxy, rq: SipRequest) => void;

interface Running {
  proxy: SipProxy;
  port: number;
  /** Methods the application saw, in order. */
  seen: string[];
}

const proxies: SipProxy[] = [];
const sipps: SippRun[] = [];

afterEach(async () => {
  for (const s of sipps.splice(0)) s.stop();
  for (const p of proxies.splice(0)) await p.stop();
});

/**
 * A proxy whose initial INVITEs follow `plan` (by Request-URI user); everything else (ACK for
 * 2xx, BYE, requests with a To tag) goes to its Request-URI, the callee's Contact.
 */
async function startProxy(plans: Record<string, Plan>, options: { cancelTimeout?: number } = {}): Promise<Running> {
  const port = await freePort(HOST);
  const seen: string[] = [];
  const debug = process.env['SIPTS_PROXY_DEBUG'] === '1';
  const logger = debug
    ? {
        send: (m: { method?: string; status?: number }, t: { port: number }) => console.log('send', m.method ?? m.status, t.port),
        recv: (m: { method?: string; status?: number }, r: { port: number }) => console.log('recv', m.method ?? m.status, r.port),
        error: (e: unknown) => console.log('error', e),
      }
    : undefined;
  const proxy: SipProxy = createProxy({ address: HOST, port, ...options, ...(logger ? { logger } : {}) }, (rq) => {
    seen.push(rq.method);
    const user = parseUri(rq.uri)?.user ?? '';
    const plan = plans[user];
    if (rq.method === 'INVITE' && rq.headers.to?.params['tag'] === undefined && plan !== undefined) plan(proxy, rq);
    else proxy.send(rq);
  });
  proxies.push(proxy);
  await proxy.ready();
  return { proxy, port, seen };
}

function to(port: number): Plan {
  return (proxy, rq) => {
    rq.uri = `sip:uas@${HOST}:${port}`;
    proxy.send(rq);
  };
}

function fork(ports: number[], options: ForkOptions): Plan {
  return (proxy, rq) =>
    proxy.fork(
      rq,
      ports.map((p) => `sip:uas@${HOST}:${p}`),
      options,
    );
}

async function uas(args: string[], calls: number): Promise<{ port: number; run: SippRun }> {
  const started = await startUas(args, HOST, calls, 30);
  sipps.push(started.run);
  return started;
}

async function uac(scenarioArgs: string[], proxyPort: number, service: string, calls: number, extra: string[] = []): Promise<SippResult> {
  const port = await freePort(HOST);
  const run = startSipp(
    [
      ...scenarioArgs,
      `${HOST}:${proxyPort}`,
      '-i',
      HOST,
      '-p',
      String(port),
      '-s',
      service,
      '-m',
      String(calls),
      '-r',
      '5',
      '-timeout',
      '25s',
      '-timeout_error',
      ...extra,
    ],
    { killAfterMs: 32000 },
  );
  sipps.push(run);
  return run.done;
}

function expectAllPassed(result: SippResult, calls: number): void {
  const summary = `exit ${String(result.exitCode)}, ${result.successful} ok, ${result.failed} failed\n${result.log}`;
  expect({ exit: result.exitCode, successful: result.successful, failed: result.failed, summary }).toEqual({
    exit: 0,
    successful: calls,
    failed: 0,
    summary,
  });
}

describeSipp('SIPp call flows through @sipts/proxy', () => {
  test('a basic call: INVITE, 180, 200, ACK and BYE through the proxy', async () => {
    const callee = await uas(['-sn', 'uas'], 3);
    const { proxy, port } = await startProxy({ basic: to(callee.port) });
    const caller = await uac(['-sf', scenario('uac-dialog.xml')], port, 'basic', 3);
    expectAllPassed(caller, 3);
    expectAllPassed(await callee.run.done, 3);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });

  test('a call cancelled while ringing: CANCEL propagates, 487 comes back, no context left', async () => {
    const callee = await uas(['-sf', scenario('uas-ring-cancel.xml')], 2);
    const { proxy, port } = await startProxy({ ringing: to(callee.port) });
    const caller = await uac(['-sf', scenario('uac-cancel.xml')], port, 'ringing', 2);
    expectAllPassed(caller, 2);
    expectAllPassed(await callee.run.done, 2);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });

  test('a CANCEL that never gets a 487 downstream: the caller still gets 487 and the context goes', async () => {
    const callee = await uas(['-sf', scenario('uas-ring-cancel-no487.xml')], 1);
    const { proxy, port } = await startProxy({ broken: to(callee.port) }, { cancelTimeout: 1500 });
    const caller = await uac(['-sf', scenario('uac-cancel.xml')], port, 'broken', 1);
    expectAllPassed(caller, 1);
    expect(proxy.contextCount).toBe(0);
  });

  test('a call to a busy callee: 486 forwarded, each hop ACKs its own 486', async () => {
    const callee = await uas(['-sf', scenario('uas-busy.xml')], 2);
    const { proxy, port, seen } = await startProxy({ busy: to(callee.port) });
    const caller = await uac(['-sf', scenario('uac-busy.xml')], port, 'busy', 2);
    expectAllPassed(caller, 2);
    // The callee got the proxy's ACK (its scenario waits for it).
    expectAllPassed(await callee.run.done, 2);
    // The caller's ACK was absorbed by the proxy's server transaction: the application never saw it.
    expect(seen).toEqual(['INVITE', 'INVITE']);
    expect(proxy.contextCount).toBe(0);
  });

  test('sequential forking: the first target rings past the timeout, is cancelled, the second answers', async () => {
    const slow = await uas(['-sf', scenario('uas-ring-cancel.xml')], 1);
    const answering = await uas(['-sn', 'uas'], 1);
    const { proxy, port } = await startProxy({
      seq: fork([slow.port, answering.port], { mode: 'sequential', timeout: 1000 }),
    });
    const caller = await uac(['-sf', scenario('uac-dialog.xml')], port, 'seq', 1);
    expectAllPassed(caller, 1);
    expectAllPassed(await slow.run.done, 1);
    expectAllPassed(await answering.run.done, 1);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });

  test('parallel forking to two callees: one answers, the other is cancelled', async () => {
    const ringing = await uas(['-sf', scenario('uas-ring-cancel.xml')], 1);
    const answering = await uas(['-sn', 'uas'], 1);
    const { proxy, port } = await startProxy({ par: fork([ringing.port, answering.port], { mode: 'parallel' }) });
    const caller = await uac(['-sf', scenario('uac-dialog.xml')], port, 'par', 1);
    expectAllPassed(caller, 1);
    expectAllPassed(await answering.run.done, 1);
    expectAllPassed(await ringing.run.done, 1);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });

  test('a call over TCP in and UDP out', async () => {
    const callee = await uas(['-sn', 'uas'], 2);
    const { proxy, port } = await startProxy({ tcp: to(callee.port) });
    const caller = await uac(['-sf', scenario('uac-dialog.xml'), '-t', 't1'], port, 'tcp', 2);
    expectAllPassed(caller, 2);
    expectAllPassed(await callee.run.done, 2);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });
});
