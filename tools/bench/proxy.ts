// End-to-end proxy benchmark (not a test): SIPp uac -> proxy -> SIPp uas over UDP on loopback,
// for @sipts/proxy (examples/proxy-registrar.ts) and for the same routing on sip@0.0.6's proxy
// (tools/bench/proxy-sip-registrar.cjs), in the same run. For each proxy: the highest call rate
// held for BENCH_SECONDS (20) with zero failed calls, the proxy's CPU% (from /proc/<pid>/stat)
// and SIPp's retransmission counts; then an RSS run at half that rate: BENCH_RSS_WARMUP (50) s to
// fill the 32 s windows that RFC 3261 / 6026 transactions are kept for, then BENCH_RSS_SECONDS (60)
// s measured: the largest RSS in the window against the RSS at its start.
//
//   pnpm bench:proxy
//   BENCH_RATES=100,200,400 BENCH_SECONDS=10 BENCH_RSS_SECONDS=30 pnpm bench:proxy
//   BENCH_PROXIES=sipts pnpm bench:proxy
//   BENCH_NODE_FLAGS= pnpm bench:proxy          (V8's default heap growth; see nodeFlags below)
//
// The callee listens on 127.0.0.2 (loopback too) because sip@0.0.6 answers 404 to a request whose
// target host equals its own address (DESIGN.md, quirks).
// Only dynamic imports below: this file runs under tsx whatever the module kind of tools/.
import type { ChildProcess } from 'node:child_process';

interface StepResult {
  rate: number;
  calls: number;
  successful: number;
  failed: number;
  retransmissions: number;
  cpuPercent: number;
  rssMiB: number;
}

interface RssResult {
  rate: number;
  seconds: number;
  successful: number;
  failed: number;
  /** RSS samples in MiB, one a second. */
  samples: number[];
  /** max over the run after warm-up, relative to the RSS at the end of warm-up. */
  growthPercent: number;
  cpuPercent: number;
}

interface ProxyReport {
  name: string;
  best: StepResult | undefined;
  steps: StepResult[];
  rss: RssResult | undefined;
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
  const seconds = Number(env['BENCH_SECONDS'] ?? 20);
  const rssSeconds = Number(env['BENCH_RSS_SECONDS'] ?? 60);
  const rssWarmup = Number(env['BENCH_RSS_WARMUP'] ?? 50);
  const rates = (env['BENCH_RATES'] ?? '100,200,300,400,500,600,800,1000,1200,1400,1600,1800,2000,2400,2800,3200')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const which = (env['BENCH_PROXIES'] ?? 'sipts,sip').split(',');
  // Node flags for both proxy processes, the same for both. The default asks V8 to collect the old
  // generation when it has grown 10% past the live data instead of letting it double first: a
  // proxy keeps every transaction 32 s, so with V8's default heap growth its RSS saw-tooths by
  // tens of percent although nothing leaks. BENCH_NODE_FLAGS= (empty) runs with V8's defaults.
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '--heap-growing-percent=10').split(' ').filter((f) => f !== '');

  if (spawnSync('sh', ['-c', 'command -v sipp']).status !== 0) {
    console.error('bench:proxy needs SIPp (Debian package sip-tester)');
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

  async function waitBound(host: string, port: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const bound = await new Promise<boolean>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.once('error', () => {
          s.close();
          resolve(true);
        });
        s.bind(port, host, () => s.close(() => resolve(false)));
      });
      if (bound) return;
      await sleep(50);
    }
    throw new Error(`nothing bound to ${host}:${port}`);
  }

  /** utime + stime of a process, in seconds. */
  function cpuSeconds(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  }

  function rssMiB(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
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

  /** A REGISTER for sip:uas@proxy with the callee as Contact; resolves on 200. */
  async function register(proxyPort: number, uasPort: number): Promise<void> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, PROXY_HOST, () => r()));
    const local = s.address().port;
    const msg = [
      `REGISTER sip:${PROXY_HOST}:${proxyPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${PROXY_HOST}:${local};branch=z9hG4bKbenchreg${Date.now()}`,
      `From: <sip:uas@${PROXY_HOST}>;tag=bench`,
      `To: <sip:uas@${PROXY_HOST}>`,
      `Call-ID: bench-register-${Date.now()}@${PROXY_HOST}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:uas@${UAS_HOST}:${uasPort}>`,
      'Expires: 3600',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
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
      throw new Error('the proxy did not accept the REGISTER');
    } finally {
      s.close();
    }
  }

  function startProxy(name: string, port: number): ChildProcess {
    const common = { SIP_PORT: String(port), SIP_ADDRESS: PROXY_HOST };
    if (name === 'sipts') {
      return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'examples', 'proxy-registrar.ts')], {
        cwd: root,
        env: { ...env, ...common, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.tests.json') },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    }
    return spawn(process.execPath, [...nodeFlags, path.join(root, 'tools', 'bench', 'proxy-sip-registrar.cjs')], {
      cwd: root,
      env: { ...env, ...common },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  /** One run: a fresh uas, a uac at `rate` for `duration` s; CPU and RSS of the proxy sampled. */
  async function step(
    pid: number,
    proxyPort: number,
    uasPort: number,
    rate: number,
    duration: number,
    sampleRss: boolean,
  ): Promise<StepResult & { samples: number[] }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-'));
    const calls = Math.round(rate * duration);
    const uas = runSipp(['-sn', 'uas', '-i', UAS_HOST, '-p', String(uasPort), '-m', String(calls)], dir, 'uas', (duration + 60) * 1000);
    await waitBound(UAS_HOST, uasPort);
    const uacPort = await freeUdpPort(PROXY_HOST);
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    const samples: number[] = [];
    const sampler = sampleRss ? setInterval(() => samples.push(rssMiB(pid)), 1000) : undefined;
    const uac = runSipp(
      [
        '-sn',
        'uac',
        `${PROXY_HOST}:${proxyPort}`,
        '-s',
        'uas',
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
        `${duration + 30}s`,
        '-timeout_error',
      ],
      dir,
      'uac',
      (duration + 40) * 1000,
    );
    await uac.done;
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(pid) - cpu0;
    if (sampler !== undefined) clearInterval(sampler);
    const rss = rssMiB(pid);
    // The uas ends when its last BYE is answered; a callee left waiting means failed calls.
    const uasExit = await Promise.race([uas.done, sleep(5000).then(() => 'late' as const)]);
    if (uasExit === 'late') uas.child.kill('SIGKILL');
    await uas.done;
    const a = readStats(path.join(dir, 'uac.csv'));
    const b = readStats(path.join(dir, 'uas.csv'));
    fs.rmSync(dir, { recursive: true, force: true });
    return {
      rate,
      calls,
      successful: a.successful,
      failed: a.failed + (a.successful + a.failed < calls ? calls - a.successful - a.failed : 0),
      retransmissions: Math.max(0, a.retransmissions) + Math.max(0, b.retransmissions),
      cpuPercent: (cpu / wall) * 100,
      rssMiB: rss,
      samples,
    };
  }

  async function benchProxy(name: string): Promise<ProxyReport> {
    const proxyPort = await freeUdpPort(PROXY_HOST);
    const uasPort = await freeUdpPort(UAS_HOST);
    const proc = startProxy(name, proxyPort);
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${name}: the proxy did not start`);
    const report: ProxyReport = { name, best: undefined, steps: [], rss: undefined };
    try {
      await waitBound(PROXY_HOST, proxyPort);
      await register(proxyPort, uasPort);
      // Warm-up (JIT) at a low rate, not reported.
      await step(pid, proxyPort, uasPort, 50, 3, false);
      for (const rate of rates) {
        const r = await step(pid, proxyPort, uasPort, rate, seconds, false);
        const { samples: _samples, ...result } = r;
        report.steps.push(result);
        console.log(
          `${name.padEnd(6)} ${String(rate).padStart(5)} calls/s: ${r.successful}/${r.calls} ok, ${r.failed} failed, ` +
            `${r.retransmissions} retransmissions, proxy CPU ${r.cpuPercent.toFixed(0)}%, RSS ${r.rssMiB.toFixed(0)} MiB`,
        );
        if (r.failed > 0 || r.successful < r.calls) break;
        report.best = result;
        await sleep(2000);
      }
      if (report.best !== undefined && rssSeconds > 0) {
        // The failed step left transactions retransmitting towards the callee's port for up to
        // 32 s; a new SIPp uas there would take them for new calls. Let them drain first.
        await sleep(40000);
        const rate = Math.max(1, Math.round(report.best.rate / 2));
        const r = await step(pid, proxyPort, uasPort, rate, rssWarmup + rssSeconds, true);
        const warm = Math.min(rssWarmup, r.samples.length - 1);
        const base = r.samples[warm] ?? r.samples[0] ?? NaN;
        const after = r.samples.slice(warm);
        const max = after.length > 0 ? Math.max(...after) : NaN;
        report.rss = {
          rate,
          seconds: rssSeconds,
          successful: r.successful,
          failed: r.failed,
          samples: r.samples,
          growthPercent: ((max - base) / base) * 100,
          cpuPercent: r.cpuPercent,
        };
        console.log(
          `${name.padEnd(6)} RSS run ${rate} calls/s, ${rssWarmup} s warm-up + ${rssSeconds} s: ${r.successful} ok, ${r.failed} failed, ` +
            `RSS ${base.toFixed(1)} -> max ${max.toFixed(1)} MiB (+${report.rss.growthPercent.toFixed(1)}%), samples ${r.samples.map((x) => x.toFixed(0)).join(' ')}`,
        );
      }
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    return report;
  }

  console.log(
    `bench:proxy on ${os.cpus().length} cores, node ${process.version}${nodeFlags.length > 0 ? ` ${nodeFlags.join(' ')}` : ''}, ` +
      `${seconds} s per rate, rates ${rates.join(',')}`,
  );
  const reports: ProxyReport[] = [];
  for (const name of which) reports.push(await benchProxy(name));

  const label = (n: string): string => (n === 'sipts' ? '@sipts/proxy (examples/proxy-registrar.ts)' : 'sip@0.0.6 proxy (tools/bench/proxy-sip-registrar.cjs)');
  console.log('\n| proxy | highest rate, 0 failed | proxy CPU at that rate | retransmissions at that rate | RSS over 60 s at half rate |');
  console.log('|---|---|---|---|---|');
  for (const r of reports) {
    const b = r.best;
    const rss = r.rss === undefined ? 'n/a' : `${r.rss.rate} calls/s: +${r.rss.growthPercent.toFixed(1)}% (${r.rss.failed} failed)`;
    console.log(
      `| ${label(r.name)} | ${b ? `${b.rate} calls/s` : 'none'} | ${b ? `${b.cpuPercent.toFixed(0)}%` : 'n/a'} | ${b ? b.retransmissions : 'n/a'} | ${rss} |`,
    );
  }
  const ours = reports.find((r) => r.name === 'sipts')?.best?.rate;
  const theirs = reports.find((r) => r.name === 'sip')?.best?.rate;
  if (ours !== undefined && theirs !== undefined) console.log(`\nratio: ${(ours / theirs).toFixed(2)}x the call rate of sip@0.0.6 (target >= 3x)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
