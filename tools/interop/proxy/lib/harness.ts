// SIPp on both sides of a proxy running in this process: find sipp, pick free ports, start a
// UAS and wait until it listens, run a UAC with hard bounds (-m, -timeout, a kill timer), and
// read the counts of successful and failed calls and retransmissions from `-trace_stat`.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const scenarioDir = join(__dirname, '..', 'scenarios');

export function scenario(name: string): string {
  return join(scenarioDir, name);
}

/** Path of the sipp binary, or undefined when it is not installed. */
export function findSipp(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/** A port free for UDP and TCP on `host`: bind UDP to port 0, check TCP on the same port. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, host, () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error(`no free UDP+TCP port on ${host}`);
}

/**
 * Whether a UDP socket is bound to `host:port` (or to the wildcard address on `port`), read
 * from /proc/net/udp; undefined where there is no /proc. Reading the table, rather than trying
 * to bind the port, never holds the port at the moment the process we wait for binds it.
 */
function udpBoundFromProc(host: string, port: number): boolean | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  // IPv4 addresses appear as the 32-bit value in host byte order (little-endian here)
  const hostHex = host
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
  for (const line of table.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    if (local === `${hostHex}:${portHex}` || local === `00000000:${portHex}`) return true;
  }
  return false;
}

/** Whether binding `host:port` fails (where there is no /proc/net/udp to read). */
function udpBoundByProbe(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(true);
    });
    s.bind(port, host, () => s.close(() => resolve(false)));
  });
}

/**
 * Resolves once something is bound to UDP `host:port`; rejects after `timeoutMs`, or at once
 * when `gone()` says the process that was to bind it has exited.
 */
export async function waitUdpBound(host: string, port: number, timeoutMs = 5000, gone: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (udpBoundFromProc(host, port) ?? (await udpBoundByProbe(host, port))) return;
    if (gone()) throw new Error(`the process exited before binding udp ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`nothing listens on udp ${host}:${port} after ${timeoutMs} ms`);
}

export interface SippStats {
  successful: number;
  failed: number;
  retransmissions: number;
  outgoingCalls: number;
}

export interface SippResult extends SippStats {
  exitCode: number | null;
  timedOut: boolean;
  /** The tail of stdout/stderr and the error log, for assertion messages. */
  log: string;
}

export interface SippRun {
  readonly done: Promise<SippResult>;
  readonly pid: number | undefined;
  /** True once the process has exited. */
  exited(): boolean;
  stop(): void;
}

function column(header: string[], row: string[], name: string): number {
  const i = header.indexOf(name);
  const v = i >= 0 ? Number(row[i]) : NaN;
  return Number.isFinite(v) ? v : -1;
}

/** The last row of a `-trace_stat` CSV file. */
export function readStats(file: string): SippStats {
  if (!existsSync(file)) return { successful: -1, failed: -1, retransmissions: -1, outgoingCalls: -1 };
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  const row = (lines[lines.length - 1] ?? '').split(';');
  return {
    successful: column(header, row, 'SuccessfulCall(C)'),
    failed: column(header, row, 'FailedCall(C)'),
    retransmissions: column(header, row, 'Retransmissions(C)'),
    outgoingCalls: column(header, row, 'OutgoingCall(C)'),
  };
}

export interface SippOptions {
  /** Hard bound: SIGTERM then SIGKILL when SIPp runs longer. */
  killAfterMs: number;
  sipp?: string;
}

/**
 * Start SIPp with `args` (the harness adds -nostdin, -trace_stat, -trace_err and their files).
 * Always pass -m and -timeout in `args`; `killAfterMs` is the last resort.
 */
export function startSipp(args: string[], options: SippOptions): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-sipp-'));
  const keep = process.env['SIPTS_SIPP_KEEP'] === '1';
  const stats = join(dir, 'stats.csv');
  const errors = join(dir, 'errors.log');
  const child = spawn(
    options.sipp ?? 'sipp',
    // SIPTS_SIPP_KEEP=1 keeps the working directory, with every message SIPp saw (-trace_msg).
    [...args, '-nostdin', '-trace_stat', '-stf', stats, '-trace_err', '-error_file', errors, ...(keep ? ['-trace_msg'] : [])],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const collect = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
  }, options.killAfterMs);
  const done = new Promise<SippResult>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      const s = readStats(stats);
      let errorLog = '';
      if (existsSync(errors)) errorLog = readFileSync(errors, 'utf8').slice(-3000);
      if (keep) out += `\n(kept ${dir})`;
      else rmSync(dir, { recursive: true, force: true });
      resolve({ ...s, exitCode: code, timedOut, log: `${out}\n--- error log ---\n${errorLog}` });
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ successful: -1, failed: -1, retransmissions: -1, outgoingCalls: -1, exitCode: null, timedOut, log: String(e) });
    });
  });
  return {
    done,
    pid: child.pid,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Start a SIPp UAS on a free port of `host` and wait until it listens. The port is free when
 * picked but may be taken before SIPp binds it (another process, another test): when SIPp
 * exits without binding, it is started again on another port (three attempts).
 */
export async function startUas(scenarioArgs: string[], host: string, calls: number, timeoutS: number): Promise<{ port: number; run: SippRun }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    const run = startSipp([...scenarioArgs, '-i', host, '-p', String(port), '-m', String(calls), '-timeout', `${timeoutS}s`], {
      killAfterMs: (timeoutS + 5) * 1000,
    });
    try {
      await waitUdpBound(host, port, 5000, () => run.exited());
      return { port, run };
    } catch (e) {
      lastError = e;
      run.stop();
      const result = await run.done;
      lastError = new Error(`${String(e)}\n${result.log}`);
    }
  }
  throw lastError;
}

/** Poll `condition` until true or `timeoutMs` passes (returns the last value). */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
