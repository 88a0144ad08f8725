// SIPp against @sipts/registrar, in pnpm start's registrar-proxy (examples/registrar-proxy.ts)
// started in-process on 127.0.0.1: REGISTER / refresh / query / unregister, Contact: *, 423 with
// Min-Expires, and a call from a UDP caller to a user registered over TCP, with the BYE from
// each side through the proxy. Bounded in time; skipped with a message when `sipp` is missing.
import { join } from 'node:path';
import type { Remote, SipMessage, SipStack } from '@sipts/core';
import { startRegistrarProxy } from '../../../../examples/registrar-proxy.js';
import { describeResult, findSipp, freeMediaPort, freePort, runSipp, startSipp, type SippResult } from '../../lib/sipp.js';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/registrar: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester)');
}

const scenario = (name: string): string => join(__dirname, '..', 'scenarios', name);
const proxyScenario = (name: string): string => join(__dirname, '..', '..', 'proxy', 'scenarios', name);
const sharedScenario = (name: string): string => join(__dirname, '..', '..', 'scenarios', name);

const running: SipStack[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

interface Wire {
  /** `METHOD in|out PROTOCOL` for each request the proxy received or sent. */
  requests: string[];
}

async function serve(recordRoute: boolean): Promise<{ stack: SipStack; udp: number; tcp: number; wire: Wire }> {
  const wire: Wire = { requests: [] };
  const logger = {
    recv: (m: SipMessage, remote: Remote): void => {
      if ('method' in m) wire.requests.push(`${m.method} in ${remote.protocol}`);
    },
    send: (m: SipMessage, target: Remote): void => {
      if ('method' in m) wire.requests.push(`${m.method} out ${target.protocol}`);
    },
  };
  const stack = startRegistrarProxy({ address: '127.0.0.1', port: 0, logger, recordRoute });
  running.push(stack);
  const addresses = await stack.ready();
  const udp = addresses.find((a) => a.protocol === 'UDP')!.port;
  const tcp = addresses.find((a) => a.protocol === 'TCP')?.port ?? udp;
  return { stack, udp, tcp, wire };
}

async function base(seconds: number): Promise<string[]> {
  return ['-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-timeout', `${seconds}s`, '-timeout_error'];
}

function expectPassed(name: string, r: SippResult, calls: number): void {
  const ok = r.exitCode === 0 && r.successful === calls && r.failed === 0 && !r.timedOut;
  expect({ name, ok, detail: ok ? '' : describeResult(name, r) }).toEqual({ name, ok: true, detail: '' });
}

suite(`SIPp against @sipts/registrar (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(120_000);

  test.each([
    ['register-refresh-unregister.xml', 'u1'],
    ['register-refresh-unregister.xml', 't1'],
    ['register-star.xml', 'u1'],
    ['register-423.xml', 'u1'],
  ])('%s over %s', async (file, transport) => {
    const { udp, tcp } = await serve(false);
    const calls = 3;
    const r = await runSipp(
      [...(await base(20)), '-t', transport, '-sf', scenario(file), '-s', 'alice', '-m', String(calls), '-r', '10', `127.0.0.1:${transport === 't1' ? tcp : udp}`],
      { timeoutMs: 30_000 },
    );
    expectPassed(file, r, calls);
  });

  /**
   * The callee registers over TCP (a REGISTER naming the TCP port of a SIPp uas); a SIPp uac calls
   * it over UDP through the proxy, which Record-Routes so that the BYE from either side comes
   * through it too.
   */
  async function tcpCallee(byeFrom: 'caller' | 'callee'): Promise<Wire> {
    const { udp, tcp, wire } = await serve(true);
    const uasPort = await freePort();
    const uasArgs = byeFrom === 'caller' ? ['-sn', 'uas'] : ['-sf', scenario('uas-send-bye.xml')];
    const uas = startSipp(
      ['-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(await freeMediaPort()), '-t', 't1', ...uasArgs, '-m', '1', '-timeout', '40s', '-timeout_error'],
      { timeoutMs: 50_000 },
    );
    try {
      const reg = await runSipp(
        [...(await base(15)), '-t', 't1', '-sf', sharedScenario('register-contact.xml'), '-s', 'callee', '-key', 'contact_port', String(uasPort), '-m', '1', `127.0.0.1:${tcp}`],
        { timeoutMs: 20_000 },
      );
      expectPassed('register over TCP', reg, 1);
      const uacScenario = byeFrom === 'caller' ? proxyScenario('uac-dialog.xml') : scenario('uac-recv-bye.xml');
      const uac = await runSipp([...(await base(30)), '-t', 'u1', '-sf', uacScenario, '-s', 'callee', '-m', '1', `127.0.0.1:${udp}`], { timeoutMs: 40_000 });
      expectPassed('uac over UDP', uac, 1);
      expectPassed('uas over TCP', await uas.done, 1);
    } finally {
      uas.stop();
      await uas.done;
    }
    return wire;
  }

  test('a UDP caller calls a user registered over TCP; the caller hangs up; every request crosses transports', async () => {
    const wire = await tcpCallee('caller');
    expect(wire.requests).toEqual(expect.arrayContaining(['REGISTER in TCP', 'INVITE in UDP', 'INVITE out TCP', 'ACK in UDP', 'ACK out TCP', 'BYE in UDP', 'BYE out TCP']));
  });

  test('the same call, the callee (TCP) hangs up: its BYE reaches the UDP caller through the proxy', async () => {
    const wire = await tcpCallee('callee');
    expect(wire.requests).toEqual(expect.arrayContaining(['INVITE in UDP', 'INVITE out TCP', 'BYE in TCP', 'BYE out UDP']));
  });
});
