// SIPp (Debian package `sip-tester`) on both sides of the B2BUA example (examples/b2bua.ts, in
// this process, UDP on 127.0.0.1): a basic call, CANCEL while ringing, 486 from B, a B leg that
// never answers (Timer B), BYE from each side, re-INVITE from each side. Each asserts both SIPp
// instances' exit status and counts, and, from the UAS's message log, that it never saw the UAC's
// Call-ID or Via (only the B2BUA's). Without `sipp` on PATH the suite is skipped.
import type { Remote, SipMessage } from '@sipts/core';
import { startB2bua, type B2buaExample } from '../../../../examples/b2bua.js';
import { freeMediaPort, freePort } from '../../lib/sipp.js';
import { findSipp } from '../../proxy/lib/harness.js';
import { scenario, startCallee, startParty, type PartyResult } from '../lib/harness.js';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/b2bua: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester; .ci/run installs it)');
}

const running: B2buaExample[] = [];
afterEach(async () => {
  for (const { b2bua, stack } of running.splice(0)) {
    await b2bua.close();
    await stack.close();
  }
});

interface Seen {
  /** What the B2BUA received from the UAC (its Call-IDs and Via branches). */
  callIds: Set<string>;
  branches: Set<string>;
}

/** The B2BUA example on a free port of 127.0.0.1, bridging to the UAS on `uasPort`. */
async function b2bua(uasPort: number, options: { t1?: number } = {}): Promise<{ port: number; example: B2buaExample; seen: Seen }> {
  const seen: Seen = { callIds: new Set(), branches: new Set() };
  const logger = {
    recv: (m: SipMessage, remote: Remote): void => {
      if (remote.port === uasPort || !('method' in m)) return;
      seen.callIds.add(String(m.headers['call-id']));
      const branch = m.headers.via?.[0]?.params.branch;
      if (typeof branch === 'string') seen.branches.add(branch);
    },
  };
  const example = startB2bua({ address: '127.0.0.1', port: 0, target: `sip:service@127.0.0.1:${uasPort}`, logger, ...(options.t1 !== undefined ? { t1: options.t1 } : {}) });
  running.push(example);
  const addresses = await example.stack.ready();
  return { port: addresses.find((a) => a.protocol === 'UDP')?.port ?? 0, example, seen };
}

async function caller(args: string[], b2buaPort: number, calls: number, timeoutS: number): Promise<PartyResult> {
  const run = startParty(
    [...args, '-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()), '-s', 'service', '-m', String(calls), '-r', '10', '-timeout', `${timeoutS}s`, '-timeout_error', `127.0.0.1:${b2buaPort}`],
    (timeoutS + 5) * 1000,
  );
  return run.done;
}

function expectPassed(name: string, r: PartyResult, calls: number): void {
  const ok = r.exitCode === 0 && r.successful === calls && r.failed === 0;
  expect({ name, exit: r.exitCode, timedOut: r.timedOut, successful: r.successful, failed: r.failed, log: ok ? '' : r.log }).toEqual({
    name,
    exit: 0,
    timedOut: false,
    successful: calls,
    failed: 0,
    log: '',
  });
}

/** Runs `uas` then `uac` through a B2BUA; both must pass with `calls` calls. */
async function through(uas: string[], uac: string[], calls: number, options: { t1?: number; timeoutS?: number } = {}): Promise<{ uas: PartyResult; uac: PartyResult; seen: Seen; example: B2buaExample; port: number }> {
  const timeoutS = options.timeoutS ?? 20;
  const callee = await startCallee([...uas, '-mp', String(await freeMediaPort())], calls, timeoutS + 5);
  try {
    const { port, example, seen } = await b2bua(callee.port, options);
    const uacResult = await caller(uac, port, calls, timeoutS);
    const uasResult = await callee.run.done;
    expectPassed('uac', uacResult, calls);
    expectPassed('uas', uasResult, calls);
    expectHidden(uasResult, seen, port, callee.port);
    return { uas: uasResult, uac: uacResult, seen, example, port };
  } finally {
    callee.run.stop();
    await callee.run.done;
  }
}

/** The Call-ID and Via header lines of every message in a SIPp message log. */
function headerLines(log: string, name: string): string[] {
  const re = new RegExp(`^${name}:.*$`, 'gim');
  return log.match(re) ?? [];
}

/**
 * Topology hiding, from the UAS's own message log: none of the UAC's Call-IDs or Via branches
 * appear in it, and every Via it saw on requests it did not send is the B2BUA's (on `port`).
 */
function expectHidden(uas: PartyResult, seen: Seen, port: number, uasPort: number): void {
  expect(seen.callIds.size).toBeGreaterThan(0);
  const callIdLines = headerLines(uas.messages, 'Call-ID');
  expect(callIdLines.length).toBeGreaterThan(0);
  for (const line of callIdLines) for (const id of seen.callIds) expect(line).not.toContain(id);
  for (const branch of seen.branches) expect(uas.messages).not.toContain(branch);
  // The UAS's own requests (its BYE, its re-INVITE) carry its own Via.
  const vias = headerLines(uas.messages, 'Via').filter((line) => !line.includes(`127.0.0.1:${uasPort};`));
  expect(vias.length).toBeGreaterThan(0);
  for (const line of vias) expect(line).toMatch(new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${port};`));
}

suite(`SIPp interop: @sipts/b2bua (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(60_000);

  test('a basic call (SIPp uac -> B2BUA -> SIPp uas, BYE from A); the UAS never sees the UAC\'s Call-ID, Via or address', async () => {
    const calls = 5;
    const { seen, example } = await through(['-sn', 'uas'], ['-sn', 'uac'], calls);
    // through() checked the UAS's message log against what the B2BUA got from the UAC.
    expect(seen.callIds.size).toBe(calls);
    expect(example.b2bua.stats()).toMatchObject({ calls: 0, callsCreated: calls, callsEnded: { answered: calls } });
  });

  test('CANCEL while B rings: B gets the CANCEL, A gets 487', async () => {
    const calls = 3;
    const { example } = await through(['-sf', scenario('uas-ring-cancel.xml')], ['-sf', scenario('uac-cancel.xml')], calls);
    expect(example.b2bua.stats().callsEnded.cancelled).toBe(calls);
  });

  test('486 from B is relayed to A', async () => {
    const calls = 3;
    const { example } = await through(['-sf', scenario('uas-busy.xml')], ['-sf', scenario('uac-busy.xml')], calls);
    expect(example.b2bua.stats().callsEnded.busy).toBe(calls);
  });

  test('a B leg that never answers: Timer B (T1 100 ms: 6.4 s), A gets 408', async () => {
    const { example } = await through(['-sf', scenario('uas-silent.xml')], ['-sf', scenario('uac-timeout.xml')], 1, { t1: 100 });
    expect(example.b2bua.stats().callsEnded['no-answer']).toBe(1);
  });

  test('BYE from B ends A', async () => {
    const calls = 3;
    const { example } = await through(['-sf', scenario('uas-bye.xml')], ['-sf', scenario('uac-bye-from-callee.xml')], calls);
    expect(example.b2bua.stats().callsEnded.answered).toBe(calls);
  });

  test('re-INVITE from A reaches B with its new offer; B\'s answer comes back', async () => {
    const calls = 3;
    const { example } = await through(['-sf', scenario('uas-reinvited.xml')], ['-sf', scenario('uac-reinvite.xml')], calls);
    expect(example.b2bua.stats().relayed).toBe(calls);
  });

  test('re-INVITE from B reaches A with its new offer; A\'s answer comes back', async () => {
    const calls = 3;
    const { example } = await through(['-sf', scenario('uas-reinvite.xml')], ['-sf', scenario('uac-reinvited.xml')], calls);
    expect(example.b2bua.stats().relayed).toBe(calls);
  });
});
