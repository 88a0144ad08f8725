// SIPp (Debian package `sip-tester`) against the dialog examples, on 127.0.0.1 with real
// sockets: reliable provisionals and PRACK, re-INVITE and UPDATE mid-call, session-timer
// negotiation and refreshes, a UAC that drops its first ACKs and one that never ACKs, and the
// UAC example against a SIPp UAS that sends its 180 reliably. Each scenario asserts SIPp's exit
// status and its counts; without `sipp` on PATH the suite is skipped with a message.
import { join } from 'node:path';
import type { Remote, SipMessage } from '@sipts/core';
import { startDialogUas, type DialogUasOptions } from '../../../../examples/dialog-uas.js';
import { runDialogUac } from '../../../../examples/dialog-uac.js';
import { describeResult, findSipp, freeMediaPort, freePort, runSipp, type SippResult } from '../../lib/sipp.js';
import { startUas } from '../../proxy/lib/harness.js';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/dialog: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester; .ci/run installs it)');
}

const scenario = (name: string): string => join(__dirname, '..', 'scenarios', name);

interface Wire {
  /** What the UAS sent and received, as `>` / `<` plus the method or the status and CSeq method. */
  lines: string[];
  count(line: string): number;
}

function wireLog(): { wire: Wire; logger: NonNullable<DialogUasOptions['logger']> } {
  const lines: string[] = [];
  const name = (m: SipMessage): string => ('method' in m ? m.method : `${m.status} ${m.headers.cseq?.method ?? ''}`);
  return {
    wire: { lines, count: (line) => lines.filter((l) => l === line).length },
    logger: {
      send: (m: SipMessage, _t: Remote) => lines.push(`> ${name(m)}`),
      recv: (m: SipMessage, _r: Remote) => lines.push(`< ${name(m)}`),
    },
  };
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** The dialog UAS example in this process, on 127.0.0.1 with free ports. */
async function uas(options: DialogUasOptions = {}): Promise<{ port: number; tcpPort: number; wire: Wire; log: string[] }> {
  const { wire, logger } = wireLog();
  const log: string[] = [];
  const { stack } = startDialogUas({ address: '127.0.0.1', port: 0, logger, log: (l) => log.push(l), ...options });
  running.push(stack);
  const addresses = await stack.ready();
  const udp = addresses.find((a) => a.protocol === 'UDP')!.port;
  return { port: udp, tcpPort: addresses.find((a) => a.protocol === 'TCP')?.port ?? udp, wire, log };
}

function expectPassed(name: string, r: SippResult, calls: number): void {
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

async function base(seconds: number): Promise<string[]> {
  return ['-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-timeout', `${seconds}s`, '-timeout_error'];
}

suite(`SIPp interop: @sipts/dialog (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(60_000);

  test('a UAC with Require: 100rel: reliable 180, PRACK/200, 200, ACK, BYE (RFC 3262)', async () => {
    const { port, wire, log } = await uas();
    const calls = 3;
    const r = await runSipp([...(await base(20)), '-sf', scenario('uac-100rel.xml'), '-s', 'uas', '-m', String(calls), '-r', '10', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    expectPassed('uac-100rel', r, calls);
    expect(wire.count('< PRACK')).toBe(calls);
    expect(wire.count('> 200 PRACK')).toBe(calls);
    expect(log.filter((l) => l === '180 Ringing sent reliably, PRACKed')).toHaveLength(calls);
  });

  test('the same with 100rel over TCP (SIPp -t t1)', async () => {
    const { tcpPort, wire } = await uas();
    const calls = 2;
    const r = await runSipp([...(await base(20)), '-t', 't1', '-sf', scenario('uac-100rel.xml'), '-s', 'uas', '-m', String(calls), '-r', '10', `127.0.0.1:${tcpPort}`], { timeoutMs: 30_000 });
    expectPassed('uac-100rel over TCP', r, calls);
    expect(wire.count('< PRACK')).toBe(calls);
  });

  test('re-INVITE and UPDATE with new offers mid-call, each answered with SDP (RFC 3261 §14, RFC 3311)', async () => {
    const { port, wire, log } = await uas();
    const calls = 3;
    const r = await runSipp([...(await base(20)), '-sf', scenario('uac-reinvite-update.xml'), '-s', 'uas', '-m', String(calls), '-r', '10', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    expectPassed('uac-reinvite-update', r, calls);
    expect(wire.count('< UPDATE')).toBe(calls);
    expect(wire.count('> 200 UPDATE')).toBe(calls);
    expect(wire.count('> 200 INVITE')).toBeGreaterThanOrEqual(2 * calls);
    expect(log.filter((l) => l === 'INVITE with an offer: answering')).toHaveLength(calls);
    expect(log.filter((l) => l === 'UPDATE with an offer: answering')).toHaveLength(calls);
  });

  test('session timers: 422 with Min-SE, then Session-Expires negotiated and refreshed by UPDATE and re-INVITE (RFC 4028)', async () => {
    const { port, wire, log } = await uas();
    const calls = 2;
    const r = await runSipp([...(await base(20)), '-sf', scenario('uac-session-timer.xml'), '-s', 'uas', '-m', String(calls), '-r', '10', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    expectPassed('uac-session-timer', r, calls);
    expect(wire.count('> 422 INVITE')).toBe(calls);
    // Each call: the timer set by the 200, then restarted by the UPDATE and by the re-INVITE.
    expect(log.filter((l) => l === 'session timer: 90 s')).toHaveLength(2 * calls);
  });

  test('a UAC that loses its first ACK: the 200 is retransmitted and the call survives (RFC 3261 §13.3.1.4)', async () => {
    const { port, wire, log } = await uas();
    const r = await runSipp([...(await base(20)), '-sf', scenario('uac-ack-lost.xml'), '-s', 'uas', '-m', '1', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    expectPassed('uac-ack-lost', r, 1);
    expect(wire.count('> 200 INVITE')).toBeGreaterThanOrEqual(2);
    expect(wire.count('< ACK')).toBe(1);
    expect(wire.count('> BYE')).toBe(0);
    expect(log).toContain('call ended: remote-bye');
  });

  test('a UAC that never ACKs: the 200 is retransmitted for 64*T1, then BYE (RFC 3261 §13.3.1.4)', async () => {
    // T1 = 100 ms on our side: the BYE comes after 6.4 s instead of 32 s.
    const { port, wire, log } = await uas({ t1: 100 });
    const r = await runSipp([...(await base(20)), '-sf', scenario('uac-no-ack.xml'), '-s', 'uas', '-m', '1', `127.0.0.1:${port}`], { timeoutMs: 30_000 });
    expectPassed('uac-no-ack', r, 1);
    // Sent at 0, 0.1, 0.3, 0.7, 1.5, 3.1 and 6.3 s (T1 doubling, T2 = 4 s), then BYE at 6.4 s.
    expect(wire.count('> 200 INVITE')).toBe(7);
    expect(wire.count('< ACK')).toBe(0);
    expect(wire.count('> BYE')).toBe(1);
    expect(log).toContain('no ACK for the 200 within 64*T1: BYE sent');
  });

  test('the UAC example against a SIPp UAS with a reliable 180: PRACK, 200, ACK, BYE after HANGUP_MS', async () => {
    const { port, run } = await startUas(['-sf', scenario('uas-100rel.xml'), '-mp', String(await freeMediaPort())], '127.0.0.1', 1, 20);
    try {
      const lines: string[] = [];
      const { wire, logger } = wireLog();
      const result = await runDialogUac({ target: `sip:service@127.0.0.1:${port}`, hangupMs: 200, log: (l) => lines.push(l), stackOptions: { logger } });
      expect(result).toEqual({ status: 200, ended: 'local-bye', byeStatus: 200, pracks: 1 });
      expect(wire.lines.filter((l) => l.startsWith('>'))).toEqual(['> INVITE', '> PRACK', '> ACK', '> BYE']);
      expect(lines).toContain('180 Ringing (reliable, RSeq 1: PRACK sent)');
      const uasResult = await run.done;
      expect({ exit: uasResult.exitCode, successful: uasResult.successful, failed: uasResult.failed, log: uasResult.exitCode === 0 ? '' : uasResult.log }).toEqual({ exit: 0, successful: 1, failed: 0, log: '' });
    } finally {
      run.stop();
      await run.done;
    }
  });
});
