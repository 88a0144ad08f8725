// The processes under attack, started and stopped by the suite (by PID, never by name): the
// launcher tools/attack/server.ts (three stacks, IPC for stats and heap) and, for comparison,
// `pnpm start` itself (examples/registrar-proxy.ts run as a user runs it, ports read from its
// banner). What the suite reads of them: IPC answers, /proc/<pid>/fd, /proc/<pid>/stat and
// /proc/<pid>/status, and every byte they write to stderr.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './net.js';

export interface Endpoint {
  protocol: string;
  address: string;
  port: number;
}

export class Target {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Listening addresses by stack name (`pnpm start`'s single stack is 'main'). */
  stacks: Record<string, Endpoint[]> = {};
  stderr = '';
  stdout = '';
  /** Length of `stderr` the last health check saw. */
  stderrSeen = 0;
  readonly exited: Promise<void>;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  readonly #pending = new Map<number, (reply: { ok: boolean; value?: unknown; error?: string }) => void>();
  #nextId = 1;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    if (child.pid === undefined) throw new Error(`${name}: the process did not start`);
    this.pid = child.pid;
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.on('message', (raw: unknown) => {
      const reply = raw as { id: number; ok: boolean; value?: unknown; error?: string };
      const done = this.#pending.get(reply.id);
      if (done !== undefined) {
        this.#pending.delete(reply.id);
        done(reply);
      }
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        for (const done of this.#pending.values()) done({ ok: false, error: 'exited' });
        this.#pending.clear();
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** The launcher's stacks and `pnpm start` answer; true when the process is there and responsive. */
  async alive(timeoutMs = 2000): Promise<boolean> {
    if (!this.running) return false;
    if (this.child.connected) {
      try {
        await this.ipc('info', timeoutMs);
        return true;
      } catch {
        return false;
      }
    }
    return true;
  }

  endpoint(stack: string, protocol: string): Endpoint {
    const found = this.stacks[stack]?.find((a) => a.protocol === protocol);
    if (found === undefined) throw new Error(`${this.name}: no ${protocol} on stack ${stack}`);
    return found;
  }

  ipc<T = unknown>(op: string, timeoutMs = 5000): Promise<T> {
    if (!this.child.connected) return Promise.reject(new Error(`${this.name}: no IPC channel`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: IPC ${op} not answered in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.value as T);
        else reject(new Error(`${this.name}: IPC ${op}: ${reply.error ?? 'failed'}`));
      });
      this.child.send({ id, op });
    });
  }

  /** Open file descriptors of the process. */
  fds(): number {
    try {
      return readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return -1;
    }
  }

  /** CPU seconds used so far (utime + stime). */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }

  /** Resident set size in bytes. */
  rss(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Starts tools/attack/server.ts with `config` (see ServerConfig there); with `before`, the
 * checkout of an older sipts to run tools/attack/server-before.ts against instead.
 */
export async function startServer(root: string, config: unknown, before?: string): Promise<Target> {
  const child = fork(join(root, 'tools', 'attack', before === undefined ? 'server.ts' : 'server-before.ts'), [], {
    cwd: root,
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: join(before ?? root, 'tsconfig.tests.json'),
      ATTACK_SERVER_CONFIG: JSON.stringify(config),
      ...(before !== undefined ? { ATTACK_ROOT: before } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const target = new Target('server', child);
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void target.exited.then(() => reject(new Error(`attack server exited (${target.exitCode ?? target.exitSignal}): ${target.stderr}`)));
  });
  const timeout = sleep(60_000).then(() => {
    throw new Error(`attack server not ready in 60 s: ${target.stderr}`);
  });
  await Promise.race([ready, timeout]);
  const info = await target.ipc<{ name: string; addresses: Endpoint[] }[]>('info');
  for (const s of info) target.stacks[s.name] = s.addresses;
  return target;
}

/** `pnpm start` (examples/registrar-proxy.ts) on free ports with `env` added. */
export async function startPnpmStart(root: string, env: Record<string, string>): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', 'registrar-proxy.ts')], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.tests.json'), SIP_PORT: '0', WS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const target = new Target('pnpm start', child);
  const deadline = Date.now() + 60_000;
  while (!target.stdout.includes('Ctrl-C to stop')) {
    if (!target.running) throw new Error(`pnpm start exited: ${target.stderr}`);
    if (Date.now() > deadline) {
      await target.stop();
      throw new Error(`pnpm start printed no banner in 60 s: ${target.stdout}${target.stderr}`);
    }
    await sleep(50);
  }
  const addresses: Endpoint[] = [];
  for (const m of target.stdout.matchAll(/^\s+(UDP|TCP|TLS|WSS|WS)\s+(\S+):(\d+)/gm)) {
    addresses.push({ protocol: m[1] ?? '', address: m[2] ?? '', port: Number(m[3]) });
  }
  target.stacks['main'] = addresses;
  return target;
}
