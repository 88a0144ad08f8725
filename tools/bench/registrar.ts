// Registrar benchmark (not a test): SIPp sends REGISTERs for NEW users (a new AOR each, one
// Contact, Expires 3600) over UDP on loopback, to
//   - `pnpm start` (examples/registrar-proxy.ts) on @sipts/registrar's in-memory store,
//   - the same with REDIS_URL: the Redis store, on a redis-server started here (free loopback
//     port, its own temp dir, no persistence, stopped by PID),
//   - Kamailio 5.x, `registrar` + `usrloc` in memory (db_mode 0), one worker, started here on
//     loopback with its own config in a temp dir, stopped by PID,
// one after the other in the same run. Each rate of BENCH_RATES is held for BENCH_SECONDS (20);
// the highest with zero failed REGISTERs is reported with the server's CPU (utime+stime from
// /proc, children included: Kamailio forks; for Redis, redis-server's own CPU beside it) and the
// CPU per REGISTER, plus the kernel's drops on the server's socket.
//
//   pnpm bench:registrar
//   BENCH_RATES=2000,4000,8000 BENCH_SECONDS=20 pnpm bench:registrar
//   BENCH_TARGETS=memory,kamailio pnpm bench:registrar
//   BENCH_OVERLOAD=off pnpm bench:registrar     (pnpm start with OVERLOAD=off: no load shedding)
//
// Only dynamic imports below: this file runs under tsx whatever the module kind of tools/.
import type { ChildProcess } from 'node:child_process';

interface StepResult {
  rate: number;
  seconds: number;
  registers: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** Server CPU, % of one core, over the step. */
  cpuPercent: number;
  /** redis-server's CPU over the step (Redis target only). */
  redisCpuPercent: number | undefined;
  drops: number;
  wall: number;
}

interface Report {
  name: string;
  best: StepResult | undefined;
  steps: StepResult[];
}

const HOST = '127.0.0.1';
const CLK_TCK = 100;

const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="REGISTER a new user">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[step]u[call_number]@[remote_ip]>;tag=[pid]r[call_number]
      To: <sip:[step]u[call_number]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[step]u[call_number]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      User-Agent: sipp-bench
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" timeout="8000"></recv>
</scenario>
`;

async function main(): Promise<void> {
  const { spawn, spawnSync } = await import('node:child_process');
  const net = await import('node:net');
  const dgram = await import('node:dgram');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');

  const root = path.resolve(path.dirname(process.argv[1] ?? '.'), '..', '..');
  const env = process.env;
  const seconds = Number(env['BENCH_SECONDS'] ?? 20);
  const rates = (env['BENCH_RATES'] ?? '2000,4000,6000,8000,10000,12000').split(',').map(Number).filter((n) => n > 0);
  const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  const haveKamailio = has('kamailio');
  const haveRedis = has('redis-server');
  const defaults = ['memory', ...(haveRedis ? ['redis'] : []), ...(haveKamailio ? ['kamailio'] : [])];
  const targets = (env['BENCH_TARGETS'] ?? defaults.join(',')).split(',').filter((n) => n !== '');
  const nodeFlags = (env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  // BENCH_OVERLOAD=off runs pnpm start with OVERLOAD=off (no @sipts/core load shedding).
  const overloadOff = env['BENCH_OVERLOAD'] === 'off';

  if (!has('sipp')) {
    console.error('bench:registrar needs SIPp (Debian package sip-tester)');
    process.exit(2);
  }
  for (const [name, ok, pkg] of [['kamailio', haveKamailio, 'kamailio'], ['redis', haveRedis, 'redis-server']] as const) {
    if (targets.includes(name) && !ok) {
      console.error(`bench:registrar: ${pkg} is not installed (apt-get install -y ${pkg}); set BENCH_TARGETS without ${name}`);
      process.exit(2);
    }
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function freeUdpPort(): Promise<number> {
    const s = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, HOST, () => resolve(s.address().port));
    });
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  async function freeTcpPort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const a = server.address();
        const port = typeof a === 'object' && a !== null ? a.port : 0;
        server.close(() => resolve(port));
      });
    });
  }

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

  /** utime + stime of a process and its live children, in seconds. */
  function cpuSeconds(pid: number): number {
    let total = 0;
    for (const p of treePids(pid)) {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        total += (Number(f[11]) + Number(f[12])) / CLK_TCK;
      } catch {
        // gone
      }
    }
    return total;
  }

  function readStats(file: string): { successful: number; failed: number; retransmissions: number } {
    if (!fs.existsSync(file)) return { successful: -1, failed: -1, retransmissions: -1 };
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const header = (lines[0] ?? '').split(';');
    const row = (lines[lines.length - 1] ?? '').split(';');
    const col = (name: string): number => {
      const i = header.indexOf(name);
      const v = i >= 0 ? Number(row[i]) : NaN;
      return Number.isFinite(v) ? v : -1;
    };
    return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)') };
  }

  function kamailioConfig(port: number): string {
    const modules = ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules'].find((d) => fs.existsSync(d));
    return [
      '#!KAMAILIO',
      // One worker, as the Node registrar is one thread; usrloc in memory only.
      'debug=0',
      'log_stderror=yes',
      'children=1',
      'disable_tcp=yes',
      'auto_aliases=no',
      `listen=udp:${HOST}:${port}`,
      `mpath="${modules ?? ''}/"`,
      'loadmodule "tm.so"',
      'loadmodule "sl.so"',
      'loadmodule "pv.so"',
      'loadmodule "maxfwd.so"',
      'loadmodule "textops.so"',
      'loadmodule "usrloc.so"',
      'loadmodule "registrar.so"',
      'modparam("usrloc", "db_mode", 0)',
      'request_route {',
      '  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }',
      '  if (is_method("REGISTER")) { save("location"); exit; }',
      '  sl_send_reply("404", "Not Found");',
      '}',
      '',
    ].join('\n');
  }

  interface Server {
    pid: number;
    port: number;
    redisPid: number | undefined;
    stop(): Promise<void>;
  }

  async function stopChild(proc: ChildProcess): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    for (let i = 0; i < 30 && proc.exitCode === null && proc.signalCode === null; i++) await sleep(100);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  async function startRedis(dir: string): Promise<{ proc: ChildProcess; url: string }> {
    const port = await freeTcpPort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    proc.stdout?.removeAllListeners('data');
    proc.stdout?.resume();
    return { proc, url: `redis://${HOST}:${port}` };
  }

  async function startServer(name: string, dir: string): Promise<Server> {
    const port = await freeUdpPort();
    let redis: { proc: ChildProcess; url: string } | undefined;
    let proc: ChildProcess;
    if (name === 'kamailio') {
      const cfg = path.join(dir, 'kamailio.cfg');
      fs.writeFileSync(cfg, kamailioConfig(port));
      // -DD: foreground (its PID is ours to stop); -E: log to stderr (ignored).
      proc = spawn('kamailio', ['-f', cfg, '-DD', '-E', '-P', path.join(dir, 'kamailio.pid'), '-Y', dir, '-m', '512', '-M', '32'], { cwd: dir, stdio: 'ignore' });
    } else {
      if (name === 'redis') redis = await startRedis(dir);
      // What `pnpm start` runs (tsx on examples/registrar-proxy.ts), on our port, without WebSocket.
      proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, 'examples', 'registrar-proxy.ts')], {
        cwd: root,
        env: {
          ...env,
          SIP_PORT: String(port),
          SIP_ADDRESS: HOST,
          WS_PORT: 'off',
          TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.tests.json'),
          ...(redis !== undefined ? { REDIS_URL: redis.url } : { REDIS_URL: '' }),
          ...(overloadOff ? { OVERLOAD: 'off' } : {}),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    }
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`${name}: did not start`);
    for (let i = 0; i < 300 && !udpSocketInfo(port).bound; i++) await sleep(50);
    if (!udpSocketInfo(port).bound) throw new Error(`${name}: nothing bound to udp ${port}`);
    return {
      pid,
      port,
      redisPid: redis?.proc.pid,
      stop: async () => {
        await stopChild(proc);
        if (redis !== undefined) await stopChild(redis.proc);
      },
    };
  }

  let stepNo = 0;

  async function step(server: Server, rate: number, duration: number): Promise<StepResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-reg-'));
    const scenario = path.join(dir, 'register.xml');
    fs.writeFileSync(scenario, SCENARIO);
    const registers = Math.round(rate * duration);
    const clientPort = await freeUdpPort();
    const cpu0 = cpuSeconds(server.pid);
    const redisCpu0 = server.redisPid === undefined ? 0 : cpuSeconds(server.redisPid);
    const drops0 = udpSocketInfo(server.port).drops;
    const t0 = process.hrtime.bigint();
    const args = [
      '-sf', scenario, `${HOST}:${server.port}`,
      '-key', 'step', `s${++stepNo}`,
      '-i', HOST, '-p', String(clientPort),
      '-r', String(rate), '-m', String(registers), '-l', String(Math.max(2000, rate * 4)),
      '-timeout', `${duration + 30}s`, '-timeout_error',
      // No BYE for an aborted REGISTER "call" (SIPp's default): it would only add load.
      '-default_behaviors', 'none',
      '-nostdin', '-trace_stat', '-stf', path.join(dir, 'stats.csv'), '-fd', '1',
    ];
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    const killer = setTimeout(() => child.kill('SIGKILL'), (duration + 45) * 1000);
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    clearTimeout(killer);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSeconds(server.pid) - cpu0;
    const redisCpu = server.redisPid === undefined ? undefined : cpuSeconds(server.redisPid) - redisCpu0;
    const stats = readStats(path.join(dir, 'stats.csv'));
    fs.rmSync(dir, { recursive: true, force: true });
    const successful = Math.max(0, stats.successful);
    return {
      rate,
      seconds: duration,
      registers,
      successful,
      failed: registers - successful,
      retransmissions: Math.max(0, stats.retransmissions),
      cpuPercent: (cpu / wall) * 100,
      redisCpuPercent: redisCpu === undefined ? undefined : (redisCpu / wall) * 100,
      drops: udpSocketInfo(server.port).drops - drops0,
      wall,
    };
  }

  const labels: Record<string, string> = {
    memory: '@sipts/registrar, in-memory store (pnpm start)',
    redis: '@sipts/registrar, Redis store (REDIS_URL=... pnpm start)',
    kamailio: 'Kamailio registrar + usrloc (memory), 1 worker',
  };

  function line(name: string, r: StepResult): string {
    const redis = r.redisCpuPercent === undefined ? '' : ` + redis-server ${r.redisCpuPercent.toFixed(0)}%`;
    return (
      `${name.padEnd(8)} ${String(r.rate).padStart(6)}/s x ${r.seconds} s: ${r.successful}/${r.registers} ok, ${r.failed} failed, ` +
      `${r.retransmissions} retransmissions, CPU ${r.cpuPercent.toFixed(0)}%${redis} (${((r.cpuPercent * 1e4) / r.rate).toFixed(1)} µs/REGISTER), ${r.drops} drops`
    );
  }

  console.log(
    `bench:registrar on ${os.cpus().length} cores, node ${process.version}, ${seconds} s per rate, rates ${rates.join(',')}, targets ${targets.join(',')}` +
      `${overloadOff ? ', pnpm start with OVERLOAD=off' : ''}`,
  );
  const reports: Report[] = [];
  for (const name of targets) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sipts-bench-reg-${name}-`));
    const report: Report = { name, best: undefined, steps: [] };
    const server = await startServer(name, dir);
    try {
      await step(server, 200, 3); // warm-up (JIT, first allocations), not reported
      for (const rate of rates) {
        const r = await step(server, rate, seconds);
        report.steps.push(r);
        console.log(line(name, r));
        if (r.failed > 0) break;
        report.best = r;
        await sleep(2000);
      }
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    reports.push(report);
  }

  console.log('\n| registrar | highest rate, 0 failed | CPU at that rate | CPU per REGISTER | first failing step |');
  console.log('|---|---|---|---|---|');
  for (const r of reports) {
    const b = r.best;
    const fail = r.steps.find((s) => s.failed > 0);
    const redis = b?.redisCpuPercent === undefined ? '' : ` + redis-server ${b.redisCpuPercent.toFixed(0)}%`;
    console.log(
      `| ${labels[r.name] ?? r.name} | ${b ? `${b.rate}/s` : 'none'} | ${b ? `${b.cpuPercent.toFixed(0)}%${redis}` : 'n/a'} | ` +
        `${b ? `${((b.cpuPercent * 1e4) / b.rate).toFixed(1)} µs` : 'n/a'} | ${fail ? `${fail.rate}/s: ${fail.failed} of ${fail.registers} failed` : 'none'} |`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
