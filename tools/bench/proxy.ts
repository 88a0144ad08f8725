// End-to-end proxy benchmark (not a test): SIPp uac -> proxy -> SIPp uas over UDP on loopback
// (INVITE/180/200/ACK/BYE, Record-Route, no pause), for @sipts/proxy with DEFAULT options
// (examples/proxy-registrar.ts), Kamailio stateful with one worker (`t_relay`, registrar +
// usrloc in memory; when `kamailio` is installed) and sip@0.0.6's proxy
// (tools/bench/proxy-sip-registrar.cjs), one after the other in the same run. For each proxy:
//
//  1. sustained: each rate of BENCH_RATES for BENCH_SECONDS (60: past the 32 s that RFC 3261 /
//     6026 transactions are kept, so the steady state is reached); the highest with 0 failed calls;
//  2. overload: BENCH_OVERLOAD (1.5) x the highest sustained rate of @sipts/proxy, the same
//     offered rate for every proxy, for BENCH_OVERLOAD_SECONDS (30): calls ok/failed, goodput
//     (successful calls per second of the step, drain included), kernel drops on the proxy socket;
//  3. recovery: at once, half the overload rate for BENCH_RECOVERY_SECONDS (60): must be 0 failed.
//
// Each step calls a fresh callee (a new AOR registered to a new SIPp uas port), so late
// retransmissions of the previous step never reach the new callee and no drain pause is needed.
// The proxy's CPU (from /proc/<pid>/stat), its RSS and the drops (/proc/net/udp) are sampled.
//
//   pnpm bench:proxy
//   BENCH_RATES=1000,1400,1800 BENCH_SECONDS=60 pnpm bench:proxy
//   BENCH_PROXIES=sipts,kamailio pnpm bench:proxy
//   BENCH_NODE_FLAGS= pnpm bench:proxy          (V8's default heap growth; see nodeFlags below)
//
// The callee listens on 127.0.0.2 (loopback too) because sip@0.0.6 answers 404 to a request whose
// target host equals its own address (DESIGN.md, quirks).
// Only dynamic imports below: this file runs under tsx whatever the module kind of tools/.
import type { ChildProcess } from 'node:child_process';

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
  rssMiB: number;
  /** Datagrams the kernel dropped on the proxy's socket during the step. */
  drops: number;
  wall: number;
}

interface ProxyReport {
  name: string;
  best: StepResult | undefined;
  steps: StepResult[];
}

const PROXY_HOST = '127.0.0.1';
const UAS_HOST = '127.0.0.2';
const CLK_TCK = 100;

async function main(): Promise<void> {
  const { spawn, spawnSync } = await import('node:child_process');
  const dgram = await import('node:dgram');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');

  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const env = process.env;
  const seconds = Number(env['BENCH_SECONDS'] ?? 60);
  const overloadFactor = Number(env['BENCH_OVERLOAD'] ?? 1.5);
  const overloadSeconds = Number(env['BENCH_OVERLOAD_SECONDS'] ?? 30);
  const recoverySeconds = Number(env['BENCH_RECOVERY_SECONDS'] ?? 60);
  const rates = (env['BENCH_RATES'] ?? '600,1000,1400,1800,2200,2600,3000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const haveKamailio = spawnSync('sh', ['-c', 'command -v kamailio']).status === 0;
  const which = (env['BENCH_PROXIES'] ?? `sipts${haveKamailio ? ',kamailio' : ''},sip`).split(',').filter((n) => n !== '');
  // Node flags for both Node proxies. The default asks V8 to collect the old generation when it
  // has grown 10% past the live data instead of letting it double first: a proxy keeps every
  // transaction 32 s, so with V8's default heap growth its RSS saw-tooths by tens of percent
  // although nothing leaks. BENCH_NODE_FLAGS= (empty) runs with V8's defaults.
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '--heap-growing-percent=10').split(' ').filter((f) => f !== '');

  if (spawnSync('sh', ['-c', 'command -v sipp']).status !== 0) {
    console.error('bench:proxy needs SIPp (Debian package sip-tester)');
    process.exit(2);
  }
  if (which.includes('kamailio') && !haveKamailio) {
    console.error('bench:proxy: kamailio is not installed (apt-get install kamailio); BENCH_PROXIES without it');
    process.exit(2);
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function freeUdpPort(host: string): Promise<number> {
    const s = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, host, () => resolve(s.address().port));
    });
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  /** The lines of /proc/net/udp for a local port: [rx_queue, drops]. */
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

  function readStats(file: string): { successful: number; failed: number; retransmissions: number } {
    if (!fs.existsSync(file)) return { successful: -1, failed: -1, retransmissions: -1 };
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
    return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)') };
  }

  function runSipp(args: string[], dir: string, name: string, killAfterMs: number): { child: ChildProcess; done: Promise<number | null> } {
    const child = spawn('sipp', [...args, '-nostdin', '-trace_stat', '-stf', path.join(dir, `${name}.csv`), '-fd', '1'], {
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

  /** A REGISTER for sip:`user`@proxy with the callee as Contact; resolves on 200. */
  async function register(proxyPort: number, user: string, uasPort: number): Promise<void> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, PROXY_HOST, () => r()));
    const local = s.address().port;
    const id = `${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
    const msg = [
      `REGISTER sip:${PROXY_HOST}:${proxyPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${PROXY_HOST}:${local};branch=z9hG4bKbenchreg${id}`,
      `From: <sip:${user}@${PROXY_HOST}>;tag=bench`,
      `To: <sip:${user}@${PROXY_HOST}>`,
      `Call-ID: bench-register-${id}@${PROXY_HOST}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:${user}@${UAS_HOST}:${uasPort}>`,
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
          s.send(msg, proxyPort, PROXY_HOST);
        });
        if (ok) return;
      }
      throw new Error(`the proxy did not accept the REGISTER of ${user}`);
    } finally {
      s.close();
    }
  }

  function kamailioConfig(port: number): string {
    const modules = ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules'].find((d) =>
      fs.existsSync(d),
    );
    return [
      '#!KAMAILIO',
      // One worker: the Node proxy is one thread too. Stateful relay, Record-Route, registrar
      // and usrloc in memory: the same work as examples/proxy-registrar.ts.
      'debug=0',
      'log_stderror=yes',
      'children=1',
      'disable_tcp=yes',
      'auto_aliases=no',
      `listen=udp:${PROXY_HOST}:${port}`,
      `alias="${PROXY_HOST}:${port}"`,
      `mpath="${modules ?? ''}/"`,
      'loadmodule "tm.so"',
      'loadmodule "sl.so"',
      'loadmodule "rr.so"',
      'loadmodule "pv.so"',
      'loadmodule "maxfwd.so"',
      'loadmodule "siputils.so"',
      'loadmodule "textops.so"',
      'loadmodule "usrloc.so"',
      'loadmodule "registrar.so"',
      'modparam("usrloc", "db_mode", 0)',
      'request_route {',
      '  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
      '  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }',
      '  if (!has_totag()) { t_check_trans(); }',
      '  if (has_totag() && loose_route()) { t_relay(); exit; }',
      '  if (is_method("REGISTER")) { save("location"); exit; }',
      '  if (is_method("INVITE") && !has_totag()) { record_route(); }',
      // SIPp's built-in uac sends ACK and BYE to the INVITE's Request-URI, without a Route:
      // they are routed by the location table, as the Node proxies do.
      '  if (!lookup("location")) { if (!is_method("ACK")) { sl_send_reply("404", "Not Found"); } exit; }',
      '  t_relay();',
      '}',
      '',
    ].join('\n');
  }

  function startProxy(name: string, port: number, dir: string): ChildProcess {
    const common = { SIP_PORT: String(port), SIP_ADDRESS: PROXY_HOST };
    if (name === 'sipts') {
      return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'examples', 'proxy-registrar.ts')], {
        cwd: root,
        env: { ...env, ...common, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.tests.json') },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    }
    if (name === 'kamailio') {
      const cfg = path.join(dir, 'kamailio.cfg');
      fs.writeFileSync(cfg, kamailioConfig(port));
      // -DD: stay in the foreground (its PID is ours to stop); -E: log to stderr (ignored).
      return spawn('kamailio', ['-f', cfg, '-DD', '-E', '-P', path.join(dir, 'kamailio.pid'), '-Y', dir, '-m', '256', '-M', '32'], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
    }
    return spawn(process.execPath, [...nodeFlags, path.join(root, 'tools', 'bench', 'proxy-sip-registrar.cjs')], {
      cwd: root,
      env: { ...env, ...common },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  let callee = 0;

  /** One step: a fresh callee registered on a fresh uas port, a uac at `rate` for `duration` s. */
  async function step(pid: number, proxyPort: number, phase: StepResult['phase'], rate: number, duration: number): Promise<StepResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-'));
    const user = `callee${++callee}`;
    const uasPort = await freeUdpPort(UAS_HOST);
    const calls = Math.round(rate * duration);
    const uas = runSipp(['-sn', 'uas', '-i', UAS_HOST, '-p', String(uasPort), '-m', String(calls)], dir, 'uas', (duration + 90) * 1000);
    await waitBound(uasPort);
    await register(proxyPort, user, uasPort);
    const uacPort = await freeUdpPort(PROXY_HOST);
    const cpu0 = treeCpuSeconds(pid);
    const drops0 = udpSocketInfo(proxyPort).drops;
    const t0 = process.hrtime.bigint();
    let rssMax = 0;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rssMiB(pid));
    }, 1000);
    const uac = runSipp(
      [
        '-sn',
        'uac',
        `${PROXY_HOST}:${proxyPort}`,
        '-s',
        user,
        '-i',
        PROXY_HOST,
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
    clearInterval(sampler);
    const drops = udpSocketInfo(proxyPort).drops - drops0;
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
      drops,
      wall,
    };
  }

  function print(name: string, r: StepResult): void {
    console.log(
      `${name.padEnd(8)} ${r.phase.padEnd(9)} ${String(r.rate).padStart(5)} calls/s x ${r.seconds} s: ${r.successful}/${r.calls} ok, ${r.failed} failed, ` +
        `goodput ${r.goodput.toFixed(0)}/s in ${r.wall.toFixed(0)} s, ${r.retransmissions} retransmissions, CPU ${r.cpuPercent.toFixed(0)}%, ` +
        `RSS ${r.rssMiB.toFixed(0)} MiB, ${r.drops} drops`,
    );
  }

  async function withProxy<T>(name: string, run: (pid: number, port: number) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sipts-bench-${name}-`));
    const proxyPort = await freeUdpPort(PROXY_HOST);
    const proc = startProxy(name, proxyPort, dir);
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${name}: the proxy did not start`);
    try {
      await waitBound(proxyPort);
      // Warm-up (JIT, first allocations) at a low rate, not reported.
      await step(pid, proxyPort, 'sustained', 50, 3);
      return await run(pid, proxyPort);
    } finally {
      proc.kill('SIGTERM');
      for (let i = 0; i < 30 && proc.exitCode === null && proc.signalCode === null; i++) await sleep(100);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async function sustained(name: string): Promise<ProxyReport> {
    const report: ProxyReport = { name, best: undefined, steps: [] };
    await withProxy(name, async (pid, port) => {
      for (const rate of rates) {
        const r = await step(pid, port, 'sustained', rate, seconds);
        report.steps.push(r);
        print(name, r);
        if (r.failed > 0) break;
        report.best = r;
        await sleep(2000);
      }
    });
    return report;
  }

  /** Overload then recovery at once, on a fresh proxy process (no history of the sustained run). */
  async function overload(name: string, report: ProxyReport, offered: number): Promise<void> {
    await withProxy(name, async (pid, port) => {
      const o = await step(pid, port, 'overload', offered, overloadSeconds);
      report.steps.push(o);
      print(name, o);
      const r = await step(pid, port, 'recovery', Math.round(offered / 2), recoverySeconds);
      report.steps.push(r);
      print(name, r);
    });
  }

  console.log(
    `bench:proxy on ${os.cpus().length} cores, node ${process.version}${nodeFlags.length > 0 ? ` ${nodeFlags.join(' ')}` : ''}, ` +
      `${seconds} s per rate, rates ${rates.join(',')}, proxies ${which.join(',')}`,
  );
  const reports: ProxyReport[] = [];
  for (const name of which) reports.push(await sustained(name));
  const base = reports.find((r) => r.name === 'sipts')?.best?.rate ?? reports[0]?.best?.rate;
  if (base !== undefined && overloadSeconds > 0) {
    const offered = Math.round(base * overloadFactor);
    console.log(`\noverload: ${offered} calls/s (${overloadFactor} x ${base}) for ${overloadSeconds} s, then ${Math.round(offered / 2)} calls/s for ${recoverySeconds} s`);
    for (const report of reports) if (report.name !== 'sip') await overload(report.name, report, offered);
  }

  const label = (n: string): string =>
    n === 'sipts' ? '@sipts/proxy (defaults)' : n === 'kamailio' ? 'Kamailio 5.6 stateful, 1 worker' : 'sip@0.0.6 proxy';
  console.log('\n| proxy | step | rate (calls/s) | calls ok / failed | goodput (calls/s) | proxy CPU | RSS (MiB) | drops |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of reports) {
    const shown = [r.best, ...r.steps.filter((s) => s.phase !== 'sustained' || (s.failed > 0 && s !== r.best))].filter(
      (s): s is StepResult => s !== undefined,
    );
    for (const s of shown) {
      const stepName = s.phase === 'sustained' ? (s === r.best ? 'highest sustained, 0 failed' : 'first failing') : s.phase;
      console.log(
        `| ${label(r.name)} | ${stepName} | ${s.rate} x ${s.seconds} s | ${s.successful} / ${s.failed} | ${s.goodput.toFixed(0)} | ${s.cpuPercent.toFixed(0)}% | ${s.rssMiB.toFixed(0)} | ${s.drops} |`,
      );
    }
  }
  const rateOf = (n: string): number | undefined => reports.find((r) => r.name === n)?.best?.rate;
  const ours = rateOf('sipts');
  if (ours !== undefined && rateOf('kamailio') !== undefined) console.log(`\nsustained: @sipts/proxy ${ours} vs Kamailio ${rateOf('kamailio')} calls/s`);
  if (ours !== undefined && rateOf('sip') !== undefined) console.log(`ratio: ${(ours / (rateOf('sip') as number)).toFixed(2)}x the call rate of sip@0.0.6`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
