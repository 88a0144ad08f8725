// SIPp (Debian package `sip-tester`) against the examples, started in-process on 127.0.0.1.
// Each scenario asserts SIPp's exit status and its counts of successful and failed calls (from
// its statistics file), and is bounded in time. Without `sipp` on PATH the suite is skipped.
import type { Remote, SipMessage, SipStack } from '@sipts/core';
import { startRegistrarProxy } from '../../../examples/registrar-proxy.js';
import { startRegistrarRedirectorAuth } from '../../../examples/registrar-redirector-auth.js';
import { describeResult, findSipp, freeMediaPort, freePort, runSipp, scenariosDir, startSipp, type SippResult } from '../lib/sipp.js';
import { join } from 'node:path';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  // A visible reason in the jest output, not a silent skip.
  console.warn('tools/interop: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester; .ci/run installs it)');
}

const scenario = (name: string): string => join(scenariosDir, name);

/** The server under test, on 127.0.0.1 with free ports. */
async function serve(start: () => SipStack): Promise<{ stack: SipStack; port: number; tcpPort: number }> {
  const stack = start();
  running.push(stack);
  const addresses = await stack.ready();
  const udp = addresses.find((a) => a.protocol === 'UDP');
  // With port 0, TCP gets UDP's port only when that port is free for TCP too.
  const tcp = addresses.find((a) => a.protocol === 'TCP');
  return { stack, port: udp!.port, tcpPort: tcp?.port ?? udp!.port };
}

const running: SipStack[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function expectAllCallsPassed(name: string, r: SippResult, calls: number): void {
  const detail = describeResult(name, r);
  expect({ name, exit: r.exitCode, timedOut: r.timedOut, successful: r.successful, failed: r.failed, detail: r.exitCode === 0 && r.successful === calls ? '' : detail }).toEqual({
    name,
    exit: 0,
    timedOut: false,
    successful: calls,
    failed: 0,
    detail: '',
  });
}

/** Common SIPp arguments: our address, a free signalling and media port, a global bound. */
async function base(seconds: number): Promise<string[]> {
  return ['-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-timeout', `${seconds}s`, '-timeout_error'];
}

suite(`SIPp interop (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(120_000);

  test('OPTIONS ping to the registrar-proxy: every ping answered 200 with Allow', async () => {
    const { port } = await serve(() => startRegistrarProxy({ address: '127.0.0.1', port: 0 }));
    const calls = 5;
    const r = await runSipp([...(await base(20)), '-sf', scenario('options.xml'), '-m', String(calls), '-r', '50', `127.0.0.1:${port}`], {
      timeoutMs: 30_000,
    });
    expectAllCallsPassed('options', r, calls);
  });

  test('REGISTER challenged with 401, answered by SIPp [authentication], accepted with 200', async () => {
    const { port } = await serve(() => startRegistrarRedirectorAuth({ address: '127.0.0.1', port: 0, accounts: { '100': '1234' } }));
    const calls = 3;
    const r = await runSipp(
      [...(await base(20)), '-sf', scenario('register-auth.xml'), '-s', '100', '-au', '100', '-ap', '1234', '-m', String(calls), '-r', '10', `127.0.0.1:${port}`],
      { timeoutMs: 30_000 },
    );
    expectAllCallsPassed('register-auth', r, calls);
  });

  test('REGISTER with a wrong password is refused: SIPp counts failed calls', async () => {
    const { port } = await serve(() => startRegistrarRedirectorAuth({ address: '127.0.0.1', port: 0, accounts: { '100': '1234' } }));
    const r = await runSipp(
      [...(await base(20)), '-sf', scenario('register-auth.xml'), '-s', '100', '-au', '100', '-ap', 'wrong', '-m', '1', `127.0.0.1:${port}`],
      { timeoutMs: 30_000 },
    );
    expect({ exit: r.exitCode, successful: r.successful, failed: r.failed }).toEqual({ exit: 1, successful: 0, failed: 1 });
  });

  /**
   * SIPp uas registers (through a one-shot REGISTER scenario naming its port), then SIPp uac
   * calls the user through the registrar-proxy: INVITE / 100 / 180 / 200 / ACK / BYE / 200.
   */
  async function callThroughProxy(options: {
    transport: 'u1' | 't1';
    calls: number;
    rate: number;
    lost?: number;
    bound: number;
  }): Promise<{ uac: SippResult; uas: SippResult; invitesIn: string[]; invitesOut: string[] }> {
    // The proxy's logger shows which transport each INVITE came in and went out on.
    const invitesIn: string[] = [];
    const invitesOut: string[] = [];
    const logger = {
      recv: (m: SipMessage, remote: Remote): void => {
        if ('method' in m && m.method === 'INVITE') invitesIn.push(remote.protocol);
      },
      send: (m: SipMessage, target: Remote): void => {
        if ('method' in m && m.method === 'INVITE') invitesOut.push(target.protocol);
      },
    };
    const served = await serve(() => startRegistrarProxy({ address: '127.0.0.1', port: 0, logger }));
    const port = options.transport === 't1' ? served.tcpPort : served.port;
    const uasPort = await freePort();
    // Loss is simulated by the uac only: SIPp's built-in uas aborts a call when its own 180 and
    // 200 are both "lost" and the (correct) INVITE retransmission from the proxy arrives. With
    // loss the uac runs scenarios/uac-lossy.xml (see there why its ACK is never lost).
    const lost = options.lost === undefined ? [] : ['-lost', String(options.lost)];
    const uas = startSipp(
      ['-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(await freeMediaPort()), '-t', options.transport, '-sn', 'uas', '-m', String(options.calls),
        '-timeout', `${options.bound}s`, '-timeout_error'],
      { timeoutMs: (options.bound + 10) * 1000 },
    );
    try {
      const reg = await runSipp(
        [...(await base(15)), '-t', options.transport, '-sf', scenario('register-contact.xml'), '-s', 'service', '-key', 'contact_port', String(uasPort), '-m', '1', `127.0.0.1:${port}`],
        { timeoutMs: 20_000 },
      );
      expectAllCallsPassed('register uas', reg, 1);
      const uac = await runSipp(
        [...(await base(options.bound)), '-t', options.transport, ...(options.lost === undefined ? ['-sn', 'uac'] : ['-sf', scenario('uac-lossy.xml')]), '-s', 'service', '-m', String(options.calls), '-r', String(options.rate), '-l', '20', ...lost, `127.0.0.1:${port}`],
        { timeoutMs: (options.bound + 10) * 1000 },
      );
      expectAllCallsPassed('uac', uac, options.calls);
      const uasResult = await uas.done;
      expectAllCallsPassed('uas', uasResult, options.calls);
      return { uac, uas: uasResult, invitesIn, invitesOut };
    } finally {
      uas.stop();
      await uas.done;
    }
  }

  test('a call uac -> registrar-proxy -> uas over UDP', async () => {
    const r = await callThroughProxy({ transport: 'u1', calls: 5, rate: 10, bound: 40 });
    expect(new Set([...r.invitesIn, ...r.invitesOut])).toEqual(new Set(['UDP']));
  });

  test('a call uac -> registrar-proxy -> uas over TCP', async () => {
    const r = await callThroughProxy({ transport: 't1', calls: 5, rate: 10, bound: 40 });
    expect(new Set([...r.invitesIn, ...r.invitesOut])).toEqual(new Set(['TCP']));
  });

  test('calls with 10% of packets dropped by SIPp (-lost 10) all complete', async () => {
    const r = await callThroughProxy({ transport: 'u1', calls: 20, rate: 10, lost: 10, bound: 90 });
    // Loss really happened and was recovered by retransmissions.
    expect(r.uac.retransmissions + r.uas.retransmissions).toBeGreaterThan(0);
  });
});
