// Cluster benchmark (not a test): SIPp uac -> Kamailio dispatcher front -> sipts nodes -> (front)
// -> SIPp uas over UDP on loopback (INVITE/180/200/ACK/BYE, no pause), for
//   - kamailio:  Kamailio 5.6 stateful alone (t_relay, Record-Route, registrar + usrloc in memory,
//                one worker): the reference, the same config as bench:proxy's;
//   - cluster-1: the cluster of examples/cluster (pnpm cluster) with 1 node;
//   - cluster-2: the same with 2 nodes;
// one after the other in the same run. For each, every rate of BENCH_RATES for BENCH_SECONDS (60 s:
// past the 32 s transactions live); the highest with 0 failed calls, with the CPU of every process
// (the front, each node, Redis, and the two SIPp processes, from /proc; SIPp's from this process's
// reaped children) and the CPU per call. Each step calls a fresh callee (a new AOR registered to
// a new SIPp uas port) with the helpers of tools/bench/lib.ts (shared with bench:proxy and
// bench:b2bua); unlike their step, the caller follows the route set (tools/interop/cluster/
// scenarios/uac-hold.xml with no pause) and the callee echoes Record-Route (uas-rr.xml), as
// phones do: SIPp's built-in uac sends ACK and BYE to the INVITE's Request-URI without a Route,
// which a stateless front cannot route back to the node that holds the callee's dialog path.
//
//   pnpm bench:cluster
//   BENCH_RATES=400,800,1200 BENCH_SECONDS=60 BENCH_TARGETS=cluster-1,cluster-2 pnpm bench:cluster
import type { ChildProcess } from 'node:child_process';
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import lib = require('./lib.js');

const HOST = '127.0.0.1';
const CLK_TCK = 100;

interface Row {
  target: string;
  rate: number;
  calls: number;
  successful: number;
  failed: number;
  wall: number;
  /** CPU seconds per process name over the step. */
  cpu: Record<string, number>;
}

/** CPU seconds of the children this process has waited for (SIPp runs end inside a step). */
function reapedChildrenCpu(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

function kamailioConfig(port: number, modules: string): string {
  return [
    '#!KAMAILIO',
    'debug=0',
    'log_stderror=yes',
    'children=1',
    'disable_tcp=yes',
    'auto_aliases=no',
    `listen=udp:${HOST}:${port}`,
    `alias="${HOST}:${port}"`,
    `mpath="${modules}/"`,
    ...['tm', 'sl', 'rr', 'pv', 'maxfwd', 'siputils', 'textops', 'usrloc', 'registrar'].map((m) => `loadmodule "${m}.so"`),
    'modparam("usrloc", "db_mode", 0)',
    'request_route {',
    '  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
    '  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }',
    '  if (!has_totag()) { t_check_trans(); }',
    '  if (has_totag() && loose_route()) { t_relay(); exit; }',
    '  if (is_method("REGISTER")) { save("location"); exit; }',
    '  if (is_method("INVITE") && !has_totag()) { record_route(); }',
    '  if (!lookup("location")) { if (!is_method("ACK")) { sl_send_reply("404", "Not Found"); } exit; }',
    '  t_relay();',
    '}',
    '',
  ].join('\n');
}

const scenarios = path.resolve(__dirname, '..', 'interop', 'cluster', 'scenarios');

interface Target {
  pid: number;
  port: number;
  callee(uasPort: number): Promise<string>;
}

/** One step: a fresh callee on a fresh uas port, the route-set-following uac at `rate` for `duration` s. */
async function step(target: Target, rate: number, duration: number): Promise<ReturnType<typeof lib.step> extends Promise<infer R> ? R : never> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-cluster-'));
  const uasPort = await lib.freeUdpPort(HOST);
  const calls = Math.round(rate * duration);
  const uas = lib.runSipp(['-sf', path.join(scenarios, 'uas-rr.xml'), '-i', HOST, '-p', String(uasPort), '-m', String(calls)], dir, 'uas', (duration + 90) * 1000);
  await lib.waitBound(uasPort);
  const user = await target.callee(uasPort);
  const uacPort = await lib.freeUdpPort(HOST);
  const cpu0 = lib.treeCpuSeconds(target.pid);
  const drops0 = lib.udpSocketInfo(target.port).drops;
  const t0 = process.hrtime.bigint();
  const uac = lib.runSipp(
    [
      '-sf',
      path.join(scenarios, 'uac-hold.xml'),
      '-d',
      '0',
      `${HOST}:${target.port}`,
      '-s',
      user,
      '-i',
      HOST,
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
  const cpu = lib.treeCpuSeconds(target.pid) - cpu0;
  const drops = lib.udpSocketInfo(target.port).drops - drops0;
  const uasExit = await Promise.race([uas.done, lib.sleep(3000).then(() => 'late' as const)]);
  if (uasExit === 'late') uas.child.kill('SIGKILL');
  await uas.done;
  const a = lib.readStats(path.join(dir, 'uac.csv'));
  const b = lib.readStats(path.join(dir, 'uas.csv'));
  fs.rmSync(dir, { recursive: true, force: true });
  const successful = Math.max(0, a.successful);
  return {
    phase: 'sustained',
    rate,
    seconds: duration,
    calls,
    successful,
    failed: calls - successful,
    goodput: successful / wall,
    retransmissions: Math.max(0, a.retransmissions) + Math.max(0, b.retransmissions),
    cpuPercent: (cpu / wall) * 100,
    rssMiB: lib.rssMiB(target.pid),
    rssSteadyMiB: undefined,
    rssEndMiB: lib.rssMiB(target.pid),
    rssPerMinuteMiB: [],
    drops,
    wall,
    failures: a.failures,
    mainThread: undefined,
  };
}

async function main(): Promise<void> {
  const { startCluster, kamailioModules, findKamailio } = await import('../../examples/cluster/cluster.js');
  const env = process.env;
  const seconds = Number(env['BENCH_SECONDS'] ?? 60);
  const rates = (env['BENCH_RATES'] ?? '400,800,1200,1600,2000,2400').split(',').map(Number).filter((n) => n > 0);
  const targets = (env['BENCH_TARGETS'] ?? 'kamailio,cluster-1,cluster-2').split(',').filter((t) => t !== '');
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const kamailio = findKamailio();
  const modules = kamailioModules();
  if (kamailio === undefined || modules === undefined) {
    console.error('bench:cluster needs kamailio with its dispatcher module (apt-get install kamailio)');
    process.exit(2);
  }
  if (childProcess.spawnSync('sh', ['-c', 'command -v sipp']).status !== 0) {
    console.error('bench:cluster needs SIPp (Debian package sip-tester)');
    process.exit(2);
  }

  /** Steps `rates` against one target until one fails; `processes` are sampled for CPU. */
  async function run(name: string, pid: number, port: number, processes: () => Record<string, number>): Promise<{ best: Row | undefined; failing: Row | undefined }> {
    let callee = 0;
    const target: Target = {
      pid,
      port,
      callee: async (uasPort: number): Promise<string> => {
        const user = `callee${++callee}`;
        // A cluster just started may still answer 503 while the front's first probes settle.
        for (let attempt = 1; ; attempt++) {
          try {
            await lib.register(HOST, port, user, HOST, uasPort);
            return user;
          } catch (e) {
            if (attempt >= 3) throw e;
            await lib.sleep(2000);
          }
        }
      },
    };
    await step(target, 50, 3); // warm-up, not reported
    let best: Row | undefined;
    for (const rate of rates) {
      const pids = processes();
      const before: Record<string, number> = {};
      for (const [k, p] of Object.entries(pids)) before[k] = safeCpu(p);
      const sipp0 = reapedChildrenCpu();
      const r = await step(target, rate, seconds);
      const cpu: Record<string, number> = {};
      for (const [k, p] of Object.entries(pids)) cpu[k] = safeCpu(p) - (before[k] ?? 0);
      cpu['sipp'] = reapedChildrenCpu() - sipp0;
      const row: Row = { target: name, rate, calls: r.calls, successful: r.successful, failed: r.failed, wall: r.wall, cpu };
      console.log(`${lib.formatStep(name, r)}; CPU ${formatCpu(row)}; load ${os.loadavg()[0]?.toFixed(1)}`);
      if (r.failed > 0) return { best, failing: row };
      best = row;
      await lib.sleep(2000);
    }
    return { best, failing: undefined };
  }

  function safeCpu(pid: number): number {
    try {
      return lib.treeCpuSeconds(pid);
    } catch {
      return 0;
    }
  }

  function formatCpu(row: Row): string {
    return Object.entries(row.cpu)
      .map(([k, s]) => `${k} ${((s / row.wall) * 100).toFixed(0)}%`)
      .join(', ');
  }

  function perCall(row: Row): string {
    const total = Object.values(row.cpu).reduce((a, b) => a + b, 0);
    const servers = Object.entries(row.cpu)
      .filter(([k]) => k !== 'sipp')
      .reduce((a, [, b]) => a + b, 0);
    return `${((servers / row.successful) * 1e6).toFixed(0)} µs (with SIPp ${((total / row.successful) * 1e6).toFixed(0)} µs)`;
  }

  console.log(
    `bench:cluster on ${os.cpus().length} cores, node ${process.version}, ${seconds} s per rate, rates ${rates.join(',')}, targets ${targets.join(',')}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const results: { name: string; best: Row | undefined; failing: Row | undefined }[] = [];
  for (const name of targets) {
    if (name === 'kamailio') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-cluster-'));
      const port = await lib.freeUdpPort(HOST);
      fs.writeFileSync(path.join(dir, 'kamailio.cfg'), kamailioConfig(port, modules));
      const proc: ChildProcess = childProcess.spawn(kamailio, ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-P', path.join(dir, 'pid'), '-Y', dir, '-m', '256', '-M', '32'], {
        cwd: dir,
        stdio: 'ignore',
      });
      try {
        await lib.waitBound(port);
        const pid = proc.pid ?? 0;
        results.push({ name, ...(await run(name, pid, port, () => ({ kamailio: pid }))) });
      } finally {
        await lib.stopProcess(proc);
        fs.rmSync(dir, { recursive: true, force: true });
      }
      continue;
    }
    const nodes = Number(/^cluster-(\d+)$/.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`unknown target ${name} (kamailio, cluster-N)`);
    const cluster = await startCluster({ nodes, frontPort: 0, nodePort: 0, redisPort: 0, nodeFlags, output: 'ignore' });
    try {
      await lib.sleep(3000); // the front's first probes
      const pids = (): Record<string, number> => ({
        front: cluster.front.pid,
        ...Object.fromEntries(cluster.nodes.map((n) => [`node${n.index}`, n.pid])),
        redis: cluster.redis.pid,
      });
      results.push({ name, ...(await run(name, cluster.front.pid, cluster.front.port, pids)) });
    } finally {
      await cluster.stop();
    }
  }

  const label = (n: string): string =>
    n === 'kamailio' ? 'Kamailio 5.6 stateful alone, 1 worker' : `dispatcher front (1 worker) → ${n.slice(8)} sipts node${n === 'cluster-1' ? '' : 's'}`;
  console.log('\n| setup | highest rate, 0 failed (60 s) | CPU per process at that rate | server CPU per call (with SIPp) | first failing step |');
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    const best = r.best;
    const failing = r.failing === undefined ? '—' : `${r.failing.rate}/s: ${r.failing.failed} of ${r.failing.calls} failed`;
    console.log(best === undefined ? `| ${label(r.name)} | under ${rates[0]}/s | — | — | ${failing} |` : `| ${label(r.name)} | ${best.rate}/s | ${formatCpu(best)} | ${perCall(best)} | ${failing} |`);
  }
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
