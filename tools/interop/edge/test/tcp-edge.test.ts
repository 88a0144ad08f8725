// Transport switching through the proxy (RFC 5658) with SIPp on both sides, on 127.0.0.1:
// examples/proxy-registrar.ts in-process; the callee (a SIPp uas over TCP) registers over TCP, a
// SIPp uac calls it over UDP. The INVITE goes out over TCP with two Record-Route entries, the
// TCP one (`transport=tcp`, the TCP port) on top and the UDP one below, and the caller's ACK and
// BYE come in over UDP and go out over TCP. (tools/interop/registrar runs the same call with the
// BYE from each side.) Skipped with a message when `sipp` is missing.
import { join } from 'node:path';
import type { Remote, RouteAddr, SipMessage } from '@sipts/message';
import type { SipStack } from '@sipts/core';
import type { SipProxy } from '@sipts/proxy';
import { startProxyRegistrar } from '../../../../examples/proxy-registrar.js';
import { describeResult, findSipp, freeMediaPort, freePort, runSipp, startSipp, type SippResult } from '../../lib/sipp.js';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/edge: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester)');
}

const shared = (name: string): string => join(__dirname, '..', '..', 'scenarios', name);
const proxyScenario = (name: string): string => join(__dirname, '..', '..', 'proxy', 'scenarios', name);

const running: SipProxy[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

function expectPassed(name: string, r: SippResult): void {
  const ok = r.exitCode === 0 && r.successful === 1 && r.failed === 0 && !r.timedOut;
  expect({ name, ok, detail: ok ? '' : describeResult(name, r) }).toEqual({ name, ok: true, detail: '' });
}

suite(`UDP caller, TCP callee through the proxy (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(60_000);

  test('two Record-Route entries, TCP on top; ACK and BYE cross from UDP to TCP', async () => {
    // Copied when sent: the proxy empties its copy of a branch's request once it is answered.
    const forwarded: RouteAddr[][] = [];
    const wire: string[] = [];
    const logger = {
      recv: (m: SipMessage, remote: Remote): void => {
        if ('method' in m) wire.push(`${m.method} in ${remote.protocol}`);
      },
      send: (m: SipMessage, target: Remote): void => {
        if (!('method' in m)) return;
        wire.push(`${m.method} out ${target.protocol}`);
        if (m.method === 'INVITE') forwarded.push([...(m.headers['record-route'] ?? [])]);
      },
    };
    const proxy = startProxyRegistrar({ address: '127.0.0.1', port: 0, logger });
    running.push(proxy);
    await proxy.ready();
    const addresses = proxy.stack.addresses?.() ?? [];
    const udp = addresses.find((a) => a.protocol === 'UDP')?.port ?? 0;
    const tcp = addresses.find((a) => a.protocol === 'TCP')?.port ?? 0;

    const uasPort = await freePort();
    const uas = startSipp(
      ['-i', '127.0.0.1', '-p', String(uasPort), '-mp', String(await freeMediaPort()), '-t', 't1', '-sn', 'uas', '-m', '1', '-timeout', '40s', '-timeout_error'],
      { timeoutMs: 50_000 },
    );
    try {
      const base = async (): Promise<string[]> => ['-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-timeout', '20s', '-timeout_error'];
      const reg = await runSipp(
        [...(await base()), '-t', 't1', '-sf', shared('register-contact.xml'), '-s', 'tcpbob', '-key', 'contact_port', String(uasPort), '-m', '1', `127.0.0.1:${tcp}`],
        { timeoutMs: 25_000 },
      );
      expectPassed('register over TCP', reg);
      const uac = await runSipp([...(await base()), '-t', 'u1', '-sf', proxyScenario('uac-dialog.xml'), '-s', 'tcpbob', '-m', '1', `127.0.0.1:${udp}`], {
        timeoutMs: 30_000,
      });
      expectPassed('uac over UDP', uac);
      expectPassed('uas over TCP', await uas.done);
    } finally {
      uas.stop();
      await uas.done;
    }

    const rr = (forwarded[0] ?? []).map((r) => r.uri);
    expect(rr).toHaveLength(2);
    expect(rr[0]).toMatchObject({ host: '127.0.0.1', port: tcp, params: { transport: 'tcp', lr: null } });
    expect(rr[1]).toMatchObject({ host: '127.0.0.1', port: udp, params: { lr: null } });
    expect(rr[1]?.params['transport']).toBeUndefined();
    expect(wire).toEqual(expect.arrayContaining(['INVITE in UDP', 'INVITE out TCP', 'ACK in UDP', 'ACK out TCP', 'BYE in UDP', 'BYE out TCP']));
    // Every response went upstream on the reply handle of its request: none was matched to its
    // server transaction again by Via, Call-ID and CSeq.
    expect((proxy.stack as unknown as SipStack).stats().serverLookups).toBe(0);
  });
});
