// `pnpm cluster`: N sipts registrar-proxy nodes (`pnpm start`) behind Kamailio's dispatcher, with
// one Redis, all on loopback (docs/cluster.md).
//
//   pnpm cluster                      # front udp 127.0.0.1:5060, nodes 5071, 5072, Redis on a free port
//   NODES=3 FRONT_PORT=5080 pnpm cluster
//   AUTH_USERS=alice:pw,bob:pw pnpm cluster       # digest on REGISTER, nonces valid on every node
//   NODE_PORT=6071 REDIS_PORT=6390 METRICS_PORT=9464 pnpm cluster   # node i: metrics on 9464+i-1
//   PING_INTERVAL=2 PROBE_FAILURES=2 pnpm cluster # the dispatcher's OPTIONS probing
//
// It prints one line per process (`front pid P udp 127.0.0.1:PORT`, `node N pid P udp ...`,
// `redis pid P tcp ...`) and stops every process it started, by PID, on Ctrl-C or SIGTERM.
// Kamailio (`kamailio`, Debian package `kamailio`) and `redis-server` (package `redis-server`) must
// be installed. The nodes share SHARED_SECRET (random per run unless given): flow tokens, GRUUs
// and digest nonces; their bindings and nonce counts are in the Redis.
//
// startCluster() is what the launcher runs; tests and tools/bench/cluster.ts use it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface ClusterOptions {
  /** Nodes. Default 2. */
  nodes?: number | undefined;
  /** Loopback address for everything. Default 127.0.0.1. */
  address?: string | undefined;
  /** The dispatcher front's UDP port. Default 5060 (0: a free one). */
  frontPort?: number | undefined;
  /** Node i listens on nodePort + i - 1 (UDP and TCP). Default 5071 (0: free ones). */
  nodePort?: number | undefined;
  /** Redis's TCP port. Default 0: a free one. */
  redisPort?: number | undefined;
  /** Flow tokens, GRUUs and digest nonces, shared by every node. Default 32 random bytes. */
  sharedSecret?: string | undefined;
  /** `alice:pw,bob:pw`: digest on REGISTER (the nodes' AUTH_USERS). Default none. */
  authUsers?: string | undefined;
  /** Node i serves /metrics on metricsPort + i - 1. Default none. */
  metricsPort?: number | undefined;
  /** Seconds between the dispatcher's OPTIONS probes. Default 1. */
  pingInterval?: number | undefined;
  /** Probes unanswered (1 s each) in a row before a node is marked down. Default 2. */
  probeFailures?: number | undefined;
  /** Kamailio worker processes. Default 1. */
  frontChildren?: number | undefined;
  /** More environment for every node (OVERLOAD=off, LOG_LEVEL, ...). */
  nodeEnv?: Record<string, string> | undefined;
  /** Extra Node flags for the nodes (e.g. `--heap-growing-percent=10`). */
  nodeFlags?: readonly string[] | undefined;
  /** Where the nodes', Kamailio's and Redis's own output goes. Default 'ignore' ('inherit': this terminal). */
  output?: 'ignore' | 'inherit' | undefined;
  /** The repository root (examples/, tsconfig.tests.json). Default: found from the working directory. */
  root?: string | undefined;
}

export interface ClusterProcess {
  readonly name: 'front' | 'node' | 'redis';
  /** 1-based for nodes, 0 otherwise. */
  readonly index: number;
  readonly protocol: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
  /** The PID of the running process (the last one started for this role). */
  pid: number;
  child: ChildProcess;
}

export interface Cluster {
  readonly front: ClusterProcess;
  readonly nodes: ClusterProcess[];
  readonly redis: ClusterProcess;
  readonly redisUrl: string;
  readonly sharedSecret: string;
  /** The temp directory with kamailio.cfg, dispatcher.list and Redis's files. */
  readonly dir: string;
  /** One line per process: `front pid P udp 127.0.0.1:5060`, ... */
  lines(): string[];
  /** Kills node `index` (1-based) by its PID and waits for it to exit. */
  killNode(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node `index` again (same port, no state of its own) and waits until it listens. */
  startNode(index: number): Promise<void>;
  /** Kills Redis by its PID (SIGKILL; its append-only file keeps the data) and waits for it to exit. */
  stopRedis(): Promise<void>;
  /** Starts Redis again on the same port. */
  startRedis(): Promise<void>;
  /** Stops every process this cluster started (nodes, front, Redis), by PID; removes the temp dir. */
  stop(): Promise<void>;
}

const KAMAILIO_MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/aarch64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules'];

/** The `kamailio` binary, or undefined when it is not installed. */
export function findKamailio(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v kamailio || ls /usr/sbin/kamailio'], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n')[0] ?? '';
  return r.status === 0 && path !== '' ? path : undefined;
}

/** The `redis-server` binary, or undefined. */
export function findRedisServer(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/** Kamailio's module directory, or undefined. */
export function kamailioModules(): string | undefined {
  return KAMAILIO_MODULE_DIRS.find((d) => existsSync(join(d, 'dispatcher.so')));
}

function findRoot(from: string): string {
  let dir = resolve(from);
  for (let i = 0; i < 20; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'examples', 'cluster', 'kamailio.cfg'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cluster: run from inside the sipts repository (no examples/cluster/kamailio.cfg above ${from})`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function udpFree(address: string, port: number): Promise<number | undefined> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(undefined));
    s.bind(port, address, () => {
      const got = s.address().port;
      s.close(() => resolve(got));
    });
  });
}

async function tcpFree(address: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, address, () => {
      const a = server.address();
      const got = typeof a === 'object' && a !== null ? a.port : undefined;
      server.close(() => resolve(got));
    });
  });
}

/** `port` if free for UDP and TCP (0: any such port), else an error naming `what`. */
async function freePort(address: string, port: number, what: string, tcpToo: boolean): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = await udpFree(address, port);
    if (udp !== undefined && (!tcpToo || (await tcpFree(address, udp)) !== undefined)) return udp;
    if (port !== 0) break;
  }
  throw new Error(`cluster: ${address}:${port} is taken; set ${what} to another port`);
}

async function tcpPortFree(address: string, port: number, what: string): Promise<number> {
  const got = await tcpFree(address, port);
  if (got === undefined) throw new Error(`cluster: tcp ${address}:${port} is taken; set ${what} to another port`);
  return got;
}

/** True once something is bound to the UDP port (from /proc/net/udp). */
function udpBound(port: number): boolean {
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'latin1');
  } catch {
    return false;
  }
  const wanted = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  return text.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(wanted) === true);
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (!alive(child)) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The status of the answer to an OPTIONS sent over UDP (0: none within 500 ms). */
async function optionsStatus(address: string, port: number): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  const local = s.address().port;
  const id = randomBytes(6).toString('hex');
  const text = [
    // A user part, so the node looks it up in its binding store: 200 (not registered) proves the
    // store answers; a store still connecting or down gives 503.
    `OPTIONS sip:cluster-ready@${address}:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${address}:${local};branch=z9hG4bKready${id};rport`,
    `From: <sip:cluster@${address}>;tag=${id}`,
    `To: <sip:cluster-ready@${address}:${port}>`,
    `Call-ID: ready-${id}`,
    'CSeq: 1 OPTIONS',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    return await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(0), 500);
      s.on('message', (data) => {
        const status = /^SIP\/2\.0 (\d{3})/.exec(data.toString('latin1'));
        if (status !== null && Number(status[1]) >= 200) {
          clearTimeout(timer);
          resolve(Number(status[1]));
        }
      });
      s.send(text, port, address);
    });
  } finally {
    s.close();
  }
}

/** Stops a process we started, by its PID: `signal`, then SIGKILL after 3 s. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!alive(child)) return;
  child.kill(signal);
  if (await waitExit(child, 3000)) return;
  child.kill('SIGKILL');
  await waitExit(child, 3000);
}

/** Starts Redis, the nodes and the Kamailio front; resolves once all of them listen. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const kamailio = findKamailio();
  if (kamailio === undefined) throw new Error('cluster: kamailio is not installed (apt-get install kamailio)');
  const modules = kamailioModules();
  if (modules === undefined) throw new Error(`cluster: no Kamailio dispatcher module in ${KAMAILIO_MODULE_DIRS.join(', ')}`);
  if (findRedisServer() === undefined) throw new Error('cluster: redis-server is not installed (apt-get install redis-server)');
  const root = options.root ?? findRoot(process.cwd());
  const address = options.address ?? '127.0.0.1';
  const count = options.nodes ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error('cluster: NODES must be 1..64');
  const output = options.output ?? 'ignore';
  const sharedSecret = options.sharedSecret ?? randomBytes(32).toString('base64url');

  // Every port is checked before anything starts, so a clash fails with a clear message.
  const frontPort = await freePort(address, options.frontPort ?? 5060, 'FRONT_PORT', false);
  const nodePorts: number[] = [];
  for (let i = 0; i < count; i++) {
    const base = options.nodePort ?? 5071;
    nodePorts.push(await freePort(address, base === 0 ? 0 : base + i, 'NODE_PORT', true));
  }
  const redisPort = await tcpPortFree(address, options.redisPort ?? 0, 'REDIS_PORT');
  const redisUrl = `redis://${address}:${redisPort}`;
  const dir = mkdtempSync(join(tmpdir(), 'sipts-cluster-'));
  const started: ChildProcess[] = [];

  function spawnRedis(): ChildProcess {
    // An append-only file synced on every write: a Redis restarted (or killed) keeps its bindings.
    const child = spawn('redis-server', ['--port', String(redisPort), '--bind', address, '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', output],
    });
    started.push(child);
    return child;
  }

  async function redisReady(child: ChildProcess): Promise<void> {
    let out = '';
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster: redis-server did not start:\n${out}`)), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        out = (out + d.toString()).slice(-4000);
        if (output === 'inherit') process.stdout.write(d);
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cluster: redis-server exited (${code}):\n${out}`));
      });
    });
    child.stdout?.removeAllListeners('data');
    child.stdout?.resume();
  }

  function spawnNode(index: number): ChildProcess {
    const port = nodePorts[index - 1] as number;
    const metrics = options.metricsPort !== undefined ? { METRICS_PORT: String(options.metricsPort + index - 1) } : {};
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', join(root, 'examples', 'registrar-proxy.ts')], {
      cwd: root,
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json'),
        SIP_ADDRESS: address,
        SIP_PORT: String(port),
        WS_PORT: 'off',
        REDIS_URL: redisUrl,
        SHARED_SECRET: sharedSecret,
        RECORD_ROUTE: '1',
        // The front adds a Path for phones that do not say `Supported: path`.
        PATH_WITHOUT_SUPPORT: 'store',
        ...(options.authUsers !== undefined ? { AUTH_USERS: options.authUsers } : {}),
        ...metrics,
        ...(options.nodeEnv ?? {}),
      },
      stdio: ['ignore', output, output],
    });
    started.push(child);
    return child;
  }

  async function listening(child: ChildProcess, port: number, what: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (!alive(child)) throw new Error(`cluster: ${what} exited (${child.exitCode ?? child.signalCode}) before listening on ${address}:${port}`);
      if (udpBound(port)) return;
      await sleep(50);
    }
    throw new Error(`cluster: ${what} does not listen on ${address}:${port} after 20 s`);
  }

  /** A node is ready when it answers OPTIONS 200: it listens and its Redis store is connected. */
  async function nodeReady(child: ChildProcess, port: number, index: number): Promise<void> {
    await listening(child, port, `node ${index}`);
    for (let i = 0; i < 100; i++) {
      if (!alive(child)) throw new Error(`cluster: node ${index} exited (${child.exitCode ?? child.signalCode})`);
      if ((await optionsStatus(address, port)) === 200) return;
      await sleep(100);
    }
    throw new Error(`cluster: node ${index} does not answer OPTIONS 200 on ${address}:${port} (is Redis reachable at ${redisUrl}?)`);
  }

  const cfg = readFileSync(join(root, 'examples', 'cluster', 'kamailio.cfg'), 'utf8');
  const list = join(dir, 'dispatcher.list');
  writeFileSync(list, nodePorts.map((p, i) => `1 sip:${address}:${p} 0 0 node=${i + 1}\n`).join(''));
  const values: Record<string, string> = {
    FRONT_ADDRESS: address,
    FRONT_PORT: String(frontPort),
    DISPATCHER_LIST: list,
    MODULES_PATH: modules,
    PING_INTERVAL: String(options.pingInterval ?? 1),
    PROBE_FAILURES: String(options.probeFailures ?? 2),
    CHILDREN: String(options.frontChildren ?? 1),
    DEBUG: output === 'inherit' ? '1' : '0',
  };
  const cfgPath = join(dir, 'kamailio.cfg');
  writeFileSync(cfgPath, cfg.replace(/@([A-Z_]+)@/g, (whole, name: string) => values[name] ?? whole));

  let redis: ClusterProcess | undefined;
  let front: ClusterProcess | undefined;
  const nodes: ClusterProcess[] = [];
  try {
    const redisChild = spawnRedis();
    redis = { name: 'redis', index: 0, protocol: 'tcp', address, port: redisPort, pid: redisChild.pid ?? 0, child: redisChild };
    await redisReady(redisChild);
    for (let i = 1; i <= count; i++) {
      const child = spawnNode(i);
      nodes.push({ name: 'node', index: i, protocol: 'udp', address, port: nodePorts[i - 1] as number, pid: child.pid ?? 0, child });
    }
    await Promise.all(nodes.map((n) => nodeReady(n.child, n.port, n.index)));
    // -DD: the main process stays in the foreground (its PID is ours to stop); -E: log to stderr.
    const frontChild = spawn(kamailio, ['-f', cfgPath, '-DD', '-E', '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-m', '64', '-M', '16'], {
      cwd: dir,
      stdio: ['ignore', output, output],
    });
    started.push(frontChild);
    front = { name: 'front', index: 0, protocol: 'udp', address, port: frontPort, pid: frontChild.pid ?? 0, child: frontChild };
    await listening(frontChild, frontPort, 'the Kamailio front');
  } catch (e) {
    for (const child of started.reverse()) await stopChild(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const redisProcess = redis;
  const frontProcess = front;
  const nodeAt = (index: number): ClusterProcess => {
    const node = nodes[index - 1];
    if (node === undefined) throw new Error(`cluster: no node ${index}`);
    return node;
  };
  let stopped = false;
  return {
    front: frontProcess,
    nodes,
    redis: redisProcess,
    redisUrl,
    sharedSecret,
    dir,
    lines: () => [
      `front pid ${frontProcess.pid} udp ${address}:${frontPort}`,
      ...nodes.map((n) => `node ${n.index} pid ${n.pid} udp ${address}:${n.port}`),
      `redis pid ${redisProcess.pid} tcp ${address}:${redisPort}`,
    ],
    async killNode(index, signal = 'SIGKILL') {
      const node = nodeAt(index);
      if (!alive(node.child)) return;
      node.child.kill(signal);
      await waitExit(node.child, 5000);
    },
    async startNode(index) {
      const node = nodeAt(index);
      if (alive(node.child)) return;
      const child = spawnNode(index);
      node.child = child;
      node.pid = child.pid ?? 0;
      await nodeReady(child, node.port, index);
    },
    async stopRedis() {
      const child = redisProcess.child;
      if (!alive(child)) return;
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    },
    async startRedis() {
      if (alive(redisProcess.child)) return;
      const child = spawnRedis();
      redisProcess.child = child;
      redisProcess.pid = child.pid ?? 0;
      await redisReady(child);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // The front first (no new work), then the nodes, then Redis; each by the PID we started.
      await stopChild(frontProcess.child);
      await Promise.all(nodes.map((n) => stopChild(n.child)));
      await stopChild(redisProcess.child);
      for (const child of started) await stopChild(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function envNumber(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name}=${raw} is not a number`);
    process.exit(2);
  }
  return n;
}

const script = process.argv[1] ?? '';
if (script.endsWith('/cluster/cluster.ts') || script.endsWith('\\cluster\\cluster.ts')) {
  startCluster({
    nodes: envNumber('NODES', 2),
    frontPort: envNumber('FRONT_PORT', 5060),
    nodePort: envNumber('NODE_PORT', 5071),
    redisPort: envNumber('REDIS_PORT', 0),
    metricsPort: envNumber('METRICS_PORT', undefined),
    pingInterval: envNumber('PING_INTERVAL', 1),
    probeFailures: envNumber('PROBE_FAILURES', 2),
    sharedSecret: process.env['SHARED_SECRET'] || undefined,
    authUsers: process.env['AUTH_USERS'] || undefined,
    output: process.env['CLUSTER_OUTPUT'] === 'inherit' ? 'inherit' : 'ignore',
  }).then(
    (cluster) => {
      let stopping = false;
      for (const line of cluster.lines()) console.log(line);
      console.log(`Register phones at sip:<user>@${cluster.front.address}:${cluster.front.port}, then call sip:<user>@${cluster.front.address}:${cluster.front.port}. Ctrl-C to stop`);
      for (const n of cluster.nodes) {
        n.child.once('exit', (code, signal) => {
          if (!stopping) console.log(`node ${n.index} pid ${n.pid} exited (${signal ?? code}); the dispatcher routes around it`);
        });
      }
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping ${cluster.lines().length} processes`);
        cluster.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
