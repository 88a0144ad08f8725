// Helpers shared by the end-to-end benchmarks (tools/bench/proxy.ts, tools/bench/b2bua.ts): free
// loopback ports, /proc readings (a process tree's CPU and RSS, the kernel's drops on a UDP
// socket), SIPp runs with their statistics file, a REGISTER for the proxy's callee, and one
// step of SIPp uac -> server -> SIPp uas at a call rate with a fresh callee.
// tools/ is CommonJS for TypeScript (no "type": "module" here), hence `import = require` and `export =`.
import childProcess = require('node:child_process');
import dgram = require('node:dgram');
import net = require('node:net');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');

const CLK_TCK = 100;

interface StepResult {
  phase: 'sustained' | 'overload' | 'recovery';
  rate: number;
  seconds: number;
  calls: number;
  successful: number;
  failed: number;
  /** Successful calls per second of wall time (the step and its drain). */
  goodput: number;
  retransmissions: number;
  cpuPercent: number;
  /** The largest RSS sampled (once a second) during the step. */
  rssMiB: number;
  /** RSS sampled 35 s into the step (past the 32 s transactions live: steady state), and at its end. */
  rssSteadyMiB: number | undefined;
  rssEndMiB: number;
  /** The largest RSS of each whole minute of the step (a soak reads its trend from these). */
  rssPerMinuteMiB: number[];
  /** Datagrams the kernel dropped on the server's socket during the step. */
  drops: number;
  wall: number;
  /**
   * Why the caller's failed calls failed, from SIPp's cumulative counters (`FailedMaxUDPRetrans`:
   * no answer after every retransmission; `FailedUnexpectedMessage`: e.g. a 503; ...), by the
   * counter's name without `Failed`; only the ones that are not zero.
   */
  failures: Record<string, number>;
  /**
   * For a multi-threaded server (Node: the event loop plus V8's and libuv's helper threads), its
   * main thread: CPU (per cent of one core), how long it was runnable but waiting for a core
   * (/proc schedstat: the helpers, the SIPp instances and the kernel had them), over the step and
   * in its worst second. Undefined for single-threaded processes (Kamailio's).
   */
  mainThread: { cpuPercent: number; waitPercent: number; worstWaitPercent: number } | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freeTcpPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function freeUdpPort(host: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  const port = await new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve(s.address().port));
  });
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether a local UDP port is bound, and the kernel's drops on it, from /proc/net/udp. */
function udpSocketInfo(port: number): { bound: boolean; drops: number } {
  let text = '';
  try {
    text = fs.readFileSync('/proc/net/udp', 'latin1');
  } catch {
    return { bound: false, drops: 0 };
  }
  const wanted = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let bound = false;
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(wanted) === true) {
      bound = true;
      drops += Number(f[12] ?? 0) || 0;
    }
  }
  return { bound, drops };
}

async function waitBound(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (udpSocketInfo(port).bound) return;
    await sleep(50);
  }
  throw new Error(`nothing bound to udp port ${port}`);
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The main thread's time on a core and waiting on a run queue, in seconds (/proc schedstat). */
function mainThreadTimes(pid: number): { run: number; wait: number } | undefined {
  try {
    if (!/^Threads:\s+([2-9]|\d\d+)/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))) return undefined;
    const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return { run: (run ?? 0) / 1e9, wait: (wait ?? 0) / 1e9 };
  } catch {
    return undefined;
  }
}

function treePids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = fs.readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children !== '') out.push(...children.split(/\s+/).map(Number));
    } catch {
      // no children file
    }
  }
  return out;
}

/** CPU seconds of a process and its children that are still alive (Kamailio forks). */
function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      total += cpuSeconds(p);
    } catch {
      // gone
    }
  }
  return total;
}

function rssMiB(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) total += Number(m[1]) / 1024;
    } catch {
      // gone
    }
  }
  return total;
}

function readStats(file: string): { successful: number; failed: number; retransmissions: number; failures: Record<string, number> } {
  if (!fs.existsSync(file)) return { successful: -1, failed: -1, retransmissions: -1, failures: {} };
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  const row = (lines[lines.length - 1] ?? '').split(';');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    const v = i >= 0 ? Number(row[i]) : NaN;
    return Number.isFinite(v) ? v : -1;
  };
  const failures: Record<string, number> = {};
  for (const name of header) {
    // FailedCall(C) is the total; the others say why.
    if (!name.startsWith('Failed') || !name.endsWith('(C)') || name === 'FailedCall(C)') continue;
    const n = col(name);
    if (n > 0) failures[name.slice('Failed'.length, -'(C)'.length)] = n;
  }
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)'), failures };
}

function runSipp(args: string[], dir: string, name: string, killAfterMs: number): { child: childProcess.ChildProcess; done: Promise<number | null> } {
  const child = childProcess.spawn('sipp', [...args, '-nostdin', '-trace_stat', '-stf', path.join(dir, `${name}.csv`), '-fd', '1'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, done };
}

/** A REGISTER for sip:`user`@server with `contact` as Contact; resolves on 200. */
async function register(serverHost: string, serverPort: number, user: string, contactHost: string, contactPort: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, serverHost, () => r()));
  const local = s.address().port;
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const msg = [
    `REGISTER sip:${serverHost}:${serverPort} SIP/2.0`,
    `Via: SIP/2.0/UDP ${serverHost}:${local};branch=z9hG4bKbenchreg${id}`,
    `From: <sip:${user}@${serverHost}>;tag=bench`,
    `To: <sip:${user}@${serverHost}>`,
    `Call-ID: bench-register-${id}@${serverHost}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:${user}@${contactHost}:${contactPort}>`,
    'Expires: 3600',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 500);
        s.once('message', (data) => {
          clearTimeout(t);
          resolve(data.toString('utf8').startsWith('SIP/2.0 200'));
        });
        s.send(msg, serverPort, serverHost);
      });
      if (ok) return;
    }
    throw new Error(`the proxy did not accept the REGISTER of ${user}`);
  } finally {
    s.close();
  }
}

interface StepTarget {
  /** The server's process (CPU, RSS) and UDP port. */
  pid: number;
  port: number;
  serverHost: string;
  /** Where the fresh callee of each step listens. */
  uasHost: string;
  /**
   * Makes the fresh callee on `uasPort` reachable through the server (e.g. registers it) and
   * returns the user part the caller dials (SIPp's -s).
   */
  callee(uasPort: number): Promise<string>;
}

/** One step: a fresh callee on a fresh uas port, a uac at `rate` calls/s for `duration` s. */
async function step(target: StepTarget, phase: StepResult['phase'], rate: number, duration: number): Promise<StepResult> {
  const { pid, port, serverHost, uasHost } = target;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-'));
  const uasPort = await freeUdpPort(uasHost);
  const calls = Math.round(rate * duration);
  const uas = runSipp(['-sn', 'uas', '-i', uasHost, '-p', String(uasPort), '-m', String(calls)], dir, 'uas', (duration + 90) * 1000);
  await waitBound(uasPort);
  const user = await target.callee(uasPort);
  const uacPort = await freeUdpPort(serverHost);
  const cpu0 = treeCpuSeconds(pid);
  const drops0 = udpSocketInfo(port).drops;
  const t0 = process.hrtime.bigint();
  const main0 = mainThreadTimes(pid);
  let mainLast = main0;
  let worstWait = 0;
  let rssMax = 0;
  let rssSteady: number | undefined;
  let samples = 0;
  const rssPerMinute: number[] = [];
  let minuteMax = 0;
  const sampler = setInterval(() => {
    const rss = rssMiB(pid);
    rssMax = Math.max(rssMax, rss);
    minuteMax = Math.max(minuteMax, rss);
    const main = mainThreadTimes(pid);
    if (main !== undefined && mainLast !== undefined) worstWait = Math.max(worstWait, main.wait - mainLast.wait);
    mainLast = main;
    if (++samples === 35) rssSteady = rss;
    if (samples % 60 === 0 && samples <= duration) {
      rssPerMinute.push(minuteMax);
      minuteMax = 0;
    }
  }, 1000);
  const uac = runSipp(
    [
      '-sn',
      'uac',
      `${serverHost}:${port}`,
      '-s',
      user,
      '-i',
      serverHost,
      '-p',
      String(uacPort),
      '-r',
      String(rate),
      '-m',
      String(calls),
      '-l',
      String(Math.max(1000, rate * 40)),
      '-timeout',
      `${duration + 45}s`,
      '-timeout_error',
    ],
    dir,
    'uac',
    (duration + 60) * 1000,
  );
  await uac.done;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = treeCpuSeconds(pid) - cpu0;
  const main1 = mainThreadTimes(pid);
  clearInterval(sampler);
  const rssEnd = rssMiB(pid);
  const drops = udpSocketInfo(port).drops - drops0;
  // The uas ends when its last BYE is answered; a callee left waiting means failed calls.
  const uasExit = await Promise.race([uas.done, sleep(3000).then(() => 'late' as const)]);
  if (uasExit === 'late') uas.child.kill('SIGKILL');
  await uas.done;
  const a = readStats(path.join(dir, 'uac.csv'));
  const b = readStats(path.join(dir, 'uas.csv'));
  fs.rmSync(dir, { recursive: true, force: true });
  const successful = Math.max(0, a.successful);
  return {
    phase,
    rate,
    seconds: duration,
    calls,
    successful,
    failed: calls - successful,
    goodput: successful / wall,
    retransmissions: Math.max(0, a.retransmissions) + Math.max(0, b.retransmissions),
    cpuPercent: (cpu / wall) * 100,
    rssMiB: rssMax,
    rssSteadyMiB: rssSteady,
    rssEndMiB: rssEnd,
    rssPerMinuteMiB: rssPerMinute,
    drops,
    wall,
    failures: a.failures,
    mainThread:
      main0 === undefined || main1 === undefined
        ? undefined
        : { cpuPercent: ((main1.run - main0.run) / wall) * 100, waitPercent: ((main1.wait - main0.wait) / wall) * 100, worstWaitPercent: worstWait * 100 },
  };
}

/** One line per step, as bench:proxy prints it. */
function formatStep(name: string, r: StepResult): string {
  return (
    `${name.padEnd(8)} ${r.phase.padEnd(9)} ${String(r.rate).padStart(5)} calls/s x ${r.seconds} s: ${r.successful}/${r.calls} ok, ${r.failed} failed, ` +
    `goodput ${r.goodput.toFixed(0)}/s in ${r.wall.toFixed(0)} s, ${r.retransmissions} retransmissions, CPU ${r.cpuPercent.toFixed(0)}%, ` +
    `RSS ${r.rssMiB.toFixed(0)} MiB, ${r.drops} drops` +
    (r.mainThread === undefined
      ? ''
      : `, main thread ${r.mainThread.cpuPercent.toFixed(0)}% (waited for a core ${r.mainThread.waitPercent.toFixed(0)}%, worst second ${r.mainThread.worstWaitPercent.toFixed(0)}%)`) +
    (Object.keys(r.failures).length > 0 ? ` (failed: ${Object.entries(r.failures).map(([why, n]) => `${n} ${why}`).join(', ')})` : '')
  );
}

/** Stops a server process started by the bench: SIGTERM, then SIGKILL after 3 s. */
async function stopProcess(proc: childProcess.ChildProcess): Promise<void> {
  proc.kill('SIGTERM');
  for (let i = 0; i < 30 && proc.exitCode === null && proc.signalCode === null; i++) await sleep(100);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

export = {
  sleep,
  freeUdpPort,
  freeTcpPort,
  udpSocketInfo,
  waitBound,
  cpuSeconds,
  treePids,
  treeCpuSeconds,
  rssMiB,
  readStats,
  runSipp,
  register,
  step,
  formatStep,
  stopProcess,
};
