// B2BUA benchmark (not a test): SIPp uac -> server -> SIPp uas over UDP on loopback
// (INVITE/180/200/ACK/BYE with SDP, no pause), for @sipts/b2bua (examples/b2bua.ts through
// tools/bench/b2bua-server.ts, default options) and, in the same run, for @sipts/proxy
// (examples/proxy-registrar.ts, what bench:proxy measures), one after the other. For each: the
// rates of BENCH_B2BUA_RATES / BENCH_PROXY_RATES in turn, each held for BENCH_SECONDS (60: past
// the 32 s that transactions are kept, so the steady state is reached), until the first with a
// failed call; the highest with none is reported with the server's CPU, its RSS (largest, at 35 s
// and at the end of the step: flat means no growth once transactions expire as fast as they
// come) and the kernel's drops on its socket. A B2BUA does twice the transactions of a proxy per
// call (a server and a client transaction for each request, on each leg).
//
// Each step calls a fresh callee (a new SIPp uas port; the proxy's registered as a new AOR, the
// B2BUA's named in the Request-URI user `p<port>`), so no drain pause is needed between steps.
// The load average (os.loadavg) is printed at the start and the end: the machine may be shared.
//
//   pnpm bench:b2bua
//   BENCH_B2BUA_RATES=600,800,1000 BENCH_PROXY_RATES=1400,1800 BENCH_SECONDS=60 pnpm bench:b2bua
//   BENCH_SERVERS=b2bua pnpm bench:b2bua
//   BENCH_NODE_FLAGS=--heap-growing-percent=10 pnpm bench:b2bua   (flatter RSS, fewer calls/s)
//
// The callee listens on 127.0.0.2 (loopback too), as in bench:proxy.
import type { ChildProcess } from 'node:child_process';
import lib = require('./lib.js');

type StepResult = Awaited<ReturnType<typeof lib.step>>;

interface Report {
  name: string;
  rates: number[];
  best: StepResult | undefined;
  firstFailing: StepResult | undefined;
}

const SERVER_HOST = '127.0.0.1';
const UAS_HOST = '127.0.0.2';

function rates(value: string | undefined, fallback: string): number[] {
  return (value ?? fallback)
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
}

async function main(): Promise<void> {
  const { spawn, spawnSync } = await import('node:child_process');
  const os = await import('node:os');
  const path = await import('node:path');

  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const env = process.env;
  const seconds = Number(env['BENCH_SECONDS'] ?? 60);
  const servers = (env['BENCH_SERVERS'] ?? 'proxy,b2bua').split(',').filter((n) => n !== '');
  const plan: Record<string, number[]> = {
    proxy: rates(env['BENCH_PROXY_RATES'], '1000,1400,1800,2200,2600'),
    b2bua: rates(env['BENCH_B2BUA_RATES'], '400,600,800,1000,1200,1400'),
  };
  // As bench:proxy: V8 collects the old generation once it grew 10% past the live data, so RSS
  // shows what is kept rather than V8's heap doubling. BENCH_NODE_FLAGS= runs with its defaults.
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  if (spawnSync('sh', ['-c', 'command -v sipp']).status !== 0) {
    console.error('bench:b2bua needs SIPp (Debian package sip-tester)');
    process.exit(2);
  }

  function start(name: string, port: number): ChildProcess {
    const script = name === 'b2bua' ? path.join(root, 'tools', 'bench', 'b2bua-server.ts') : path.join(root, 'examples', 'proxy-registrar.ts');
    return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script], {
      cwd: root,
      env: { ...env, SIP_PORT: String(port), SIP_ADDRESS: SERVER_HOST, BENCH_UAS_HOST: UAS_HOST, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.tests.json') },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  let calleeCount = 0;

  async function run(name: string): Promise<Report> {
    const report: Report = { name, rates: plan[name] ?? [], best: undefined, firstFailing: undefined };
    const port = await lib.freeUdpPort(SERVER_HOST);
    const proc = start(name, port);
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${name}: the server did not start`);
    const callee =
      name === 'b2bua'
        ? (uasPort: number): Promise<string> => Promise.resolve(`p${uasPort}`)
        : async (uasPort: number): Promise<string> => {
            const user = `callee${++calleeCount}`;
            await lib.register(SERVER_HOST, port, user, UAS_HOST, uasPort);
            return user;
          };
    const target = { pid, port, serverHost: SERVER_HOST, uasHost: UAS_HOST, callee };
    try {
      await lib.waitBound(port);
      // Warm-up (JIT, first allocations) at a low rate, not reported.
      await lib.step(target, 'sustained', 50, 3);
      for (const rate of report.rates) {
        const r = await lib.step(target, 'sustained', rate, seconds);
        console.log(`${lib.formatStep(name, r)}, RSS at 35 s ${r.rssSteadyMiB?.toFixed(0) ?? '-'} -> end ${r.rssEndMiB.toFixed(0)} MiB`);
        if (r.failed > 0) {
          report.firstFailing = r;
          break;
        }
        report.best = r;
        await lib.sleep(2000);
      }
    } finally {
      await lib.stopProcess(proc);
    }
    return report;
  }

  const load = (): string =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  console.log(
    `bench:b2bua on ${os.cpus().length} cores, node ${process.version}${nodeFlags.length > 0 ? ` ${nodeFlags.join(' ')}` : ''}, ${seconds} s per rate, ` +
      `servers ${servers.join(',')}; load average at start ${load()}`,
  );
  const reports: Report[] = [];
  for (const name of servers) reports.push(await run(name));
  console.log(`load average at end ${load()}`);

  const label = (n: string): string => (n === 'b2bua' ? '@sipts/b2bua (examples/b2bua.ts, defaults)' : '@sipts/proxy (examples/proxy-registrar.ts)');
  const growth = (s: StepResult): string =>
    s.rssSteadyMiB === undefined ? '-' : `${s.rssSteadyMiB.toFixed(0)} -> ${s.rssEndMiB.toFixed(0)} (${(((s.rssEndMiB - s.rssSteadyMiB) / s.rssSteadyMiB) * 100).toFixed(1)}%)`;
  console.log('\n| server | highest sustained rate, 0 failed (calls/s x s) | CPU | RSS max (MiB) | RSS at 35 s -> end (MiB) | retransmissions | drops | first failing step |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of reports) {
    const b = r.best;
    const f = r.firstFailing;
    const failing = f === undefined ? `none up to ${r.rates[r.rates.length - 1] ?? '-'}` : `${f.rate}: ${f.failed} of ${f.calls} failed, CPU ${f.cpuPercent.toFixed(0)}%`;
    console.log(
      b === undefined
        ? `| ${label(r.name)} | none (${failing}) | | | | | | |`
        : `| ${label(r.name)} | ${b.rate} x ${b.seconds} | ${b.cpuPercent.toFixed(0)}% | ${b.rssMiB.toFixed(0)} | ${growth(b)} | ${b.retransmissions} | ${b.drops} | ${failing} |`,
    );
  }
  const rateOf = (n: string): number | undefined => reports.find((r) => r.name === n)?.best?.rate;
  const b2bua = rateOf('b2bua');
  const proxy = rateOf('proxy');
  if (b2bua !== undefined && proxy !== undefined) console.log(`\nB2BUA / proxy sustained rate: ${b2bua} / ${proxy} = ${(b2bua / proxy).toFixed(2)} (target: at least 0.5)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
