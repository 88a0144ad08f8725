// End-to-end proxy benchmark (not a test): SIPp uac -> proxy -> SIPp uas over UDP on loopback
// (INVITE/180/200/ACK/BYE, Record-Route, no pause), for @sipts/proxy with DEFAULT options
// (examples/proxy-registrar.ts, on the built packages), Kamailio stateful with one worker
// (`t_relay`, registrar + usrloc in memory; when `kamailio` is installed) and sip@0.0.6's proxy
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
//   BENCH_NODE_FLAGS=--heap-growing-percent=10 pnpm bench:proxy   (a flatter RSS; see nodeFlags below)
//   BENCH_SOAK=900 pnpm bench:proxy             (soak: @sipts/proxy alone at 900 calls/s for
//                                                BENCH_SOAK_SECONDS, 600; RSS per minute, must
//                                                stay within 10% after the first minute, 0 failed)
//
// The callee listens on 127.0.0.2 (loopback too) because sip@0.0.6 answers 404 to a request whose
// target host equals its own address (DESIGN.md, quirks).
// Only dynamic imports below: this file runs under tsx whatever the module kind of tools/.
import type { ChildProcess } from 'node:child_process';
// The helpers shared with bench:b2bua (tools/bench/lib.ts); a CommonJS module, like this file.
import lib = require('./lib.js');

type StepResult = Awaited<ReturnType<typeof lib.step>>;

interface ProxyReport {
  name: string;
  best: StepResult | undefined;
  steps: StepResult[];
}

const PROXY_HOST = '127.0.0.1';
const UAS_HOST = '127.0.0.2';

async function main(): Promise<void> {
  const { spawn, spawnSync } = await import('node:child_process');
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
  // Node flags for both Node proxies: none by default, plain `node` as users run it.
  // `--heap-growing-percent=10` makes V8 collect the old generation when it has grown 10% past
  // the live data instead of letting it double first: a flatter RSS (a proxy keeps every
  // transaction 32 s, so RSS saw-tooths by tens of percent although nothing leaks), but on this
  // project's 2-core machine it cost a sixth of the sustained rate (1000 against 1200 calls/s).
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  // BENCH_SHED_COUNTS=1: @sipts/proxy runs with METRICS_PORT (so with @sipts/metrics on: not
  // the defaults) and each step prints how many new requests its overload control refused.
  const shedCounts = env['BENCH_SHED_COUNTS'] === '1';
  let metricsPort = 0;
  const soakRate = Number(env['BENCH_SOAK'] ?? 0);
  const soakSeconds = Number(env['BENCH_SOAK_SECONDS'] ?? 600);

  if (spawnSync('sh', ['-c', 'command -v sipp']).status !== 0) {
    console.error('bench:proxy needs SIPp (Debian package sip-tester)');
    process.exit(2);
  }
  if (which.includes('kamailio') && !haveKamailio) {
    console.error('bench:proxy: kamailio is not installed (apt-get install kamailio); BENCH_PROXIES without it');
    process.exit(2);
  }

  const { sleep, waitBound, freeUdpPort } = lib;

  // @sipts/proxy runs on the built packages (dist/, what `npm i` gives users), not on the
  // TypeScript sources: tools/bench/tsconfig.built.json has no `paths`, so tsx compiles only the
  // example itself and @sipts/* resolve through node_modules to dist/. Built first, so the
  // bench never measures stale output (an up-to-date `tsc -b` takes about a second).
  if (which.includes('sipts')) {
    const built = spawnSync(process.execPath, [path.join(root, 'tools', 'build', 'build.mjs')], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) {
      console.error('bench:proxy: the build failed');
      process.exit(2);
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
      const metrics = shedCounts ? { METRICS_PORT: String(metricsPort) } : {};
      // BENCH_PROXY_LOG=<file>: the proxy's stdout appended there (with BENCH_NODE_FLAGS=--trace-gc,
      // the collector's pauses); ignored otherwise.
      const log = env['BENCH_PROXY_LOG'];
      const stdout = log !== undefined && log !== '' ? fs.openSync(log, 'a') : 'ignore';
      const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'examples', 'proxy-registrar.ts')], {
        cwd: root,
        env: { ...env, ...common, ...metrics, TSX_TSCONFIG_PATH: path.join(root, 'tools', 'bench', 'tsconfig.built.json') },
        stdio: ['ignore', stdout, 'inherit'],
      });
      // The child has its own copy of the descriptor.
      if (typeof stdout === 'number') fs.closeSync(stdout);
      return child;
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

  let calleeCount = 0;

  /** The overload control's refusals so far (503 / dropped), from @sipts/metrics; undefined without it. */
  async function shedTotals(): Promise<{ rejected: number; dropped: number } | undefined> {
    if (!shedCounts || metricsPort === 0) return undefined;
    try {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const value = (decision: string): number => {
        const m = new RegExp(`^sipts_shed_total\\{decision="${decision}"\\} (\\d+)`, 'm').exec(text);
        return m === null ? 0 : Number(m[1]);
      };
      return { rejected: value('reject'), dropped: value('drop') };
    } catch {
      return undefined;
    }
  }
  const shedByStep = new Map<StepResult, string>();

  /** One step: a fresh callee registered on a fresh uas port, a uac at `rate` for `duration` s. */
  async function step(pid: number, proxyPort: number, phase: StepResult['phase'], rate: number, duration: number): Promise<StepResult> {
    const callee = async (uasPort: number): Promise<string> => {
      const user = `callee${++calleeCount}`;
      await lib.register(PROXY_HOST, proxyPort, user, UAS_HOST, uasPort);
      return user;
    };
    const before = await shedTotals();
    const r = await lib.step({ pid, port: proxyPort, serverHost: PROXY_HOST, uasHost: UAS_HOST, callee }, phase, rate, duration);
    const after = await shedTotals();
    if (before !== undefined && after !== undefined) {
      shedByStep.set(r, `, shed ${after.rejected - before.rejected} (503) + ${after.dropped - before.dropped} (dropped)`);
    }
    return r;
  }

  function print(name: string, r: StepResult): void {
    console.log(lib.formatStep(name, r) + (shedByStep.get(r) ?? ''));
  }

  async function withProxy<T>(name: string, run: (pid: number, port: number) => Promise<T>): Promise<T> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sipts-bench-${name}-`));
    const proxyPort = await freeUdpPort(PROXY_HOST);
    if (shedCounts && name === 'sipts') metricsPort = await lib.freeTcpPort(PROXY_HOST);
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
  if (soakRate > 0) {
    await withProxy('sipts', async (pid, port) => {
      const r = await step(pid, port, 'sustained', soakRate, soakSeconds);
      print('sipts', r);
      const perMinute = r.rssPerMinuteMiB;
      const after = perMinute.slice(1);
      const low = Math.min(...after);
      const high = Math.max(...after);
      const spread = after.length > 0 ? (high - low) / low : 0;
      console.log(`RSS per minute (largest sample of each, MiB): ${perMinute.map((m) => m.toFixed(0)).join(', ')}`);
      console.log(
        `soak: ${soakRate} calls/s for ${soakSeconds} s, ${r.successful} ok / ${r.failed} failed, RSS after the first minute ${low.toFixed(0)}..${high.toFixed(0)} MiB ` +
          `(spread ${(spread * 100).toFixed(1)}%: ${spread <= 0.1 ? 'flat within 10%' : 'NOT flat within 10%'}), CPU ${r.cpuPercent.toFixed(0)}%`,
      );
      if (r.failed > 0 || spread > 0.1) process.exitCode = 1;
    });
    return;
  }
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
