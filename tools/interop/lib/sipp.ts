// A small harness around the SIPp binary (Debian package `sip-tester`): find it, pick free
// ports, run a scenario with a hard time bound, and read back its exit status and its counts of
// successful and failed calls from the statistics file (`-trace_stat -stf`).
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const scenariosDir = join(__dirname, '..', 'scenarios');

/** The path of `sipp` on PATH, or undefined. */
export function findSipp(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

/**
 * A port free for both UDP and TCP on 127.0.0.1: bind UDP on port 0, then TCP on the same
 * port; retry a few times when TCP is taken. SIPp needs explicit ports, so this is the closest
 * we get to "port 0".
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcpOk = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpOk) return port;
  }
  throw new Error('no free UDP+TCP port found on 127.0.0.1');
}

/**
 * A base port for SIPp's media sockets (-mp): SIPp binds the base and the next three ports
 * (audio RTP/RTCP, video RTP/RTCP), so all four must be free.
 */
export async function freeMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base > 65531) continue;
    const sockets = [];
    let ok = true;
    for (let i = 1; i <= 3 && ok; i++) {
      const s = createSocket('udp4');
      sockets.push(s);
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(base + i, '127.0.0.1', () => resolve(true));
      });
    }
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => { try { s.close(() => resolve()); } catch { resolve(); } })));
    if (ok) return base;
  }
  throw new Error('no four consecutive free UDP ports found on 127.0.0.1');
}

export interface SippResult {
  /** Process exit status: 0 all calls succeeded, 1 some failed, 99 no call processed, null when killed. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Cumulative successful and failed calls from the statistics file (-1 when unreadable). */
  successful: number;
  failed: number;
  /** Messages SIPp sent again (its Retransmissions(C) counter): evidence of loss recovered. */
  retransmissions: number;
  /** True when the harness killed SIPp at its time bound. */
  timedOut: boolean;
  /** The last lines of SIPp's output and error logs, for failure messages. */
  output: string;
  /** Lines of the error log SIPp wrote with -trace_err, if any. */
  errors: string;
}

export interface SippOptions {
  /** Hard bound: SIPp is killed (SIGKILL after SIGTERM) when it runs longer. */
  timeoutMs: number;
  /** Print SIPp's messages log on failure (adds -trace_msg). */
  traceMessages?: boolean;
}

export interface SippProcess {
  /** Settles when SIPp has exited. */
  readonly done: Promise<SippResult>;
  /** Stop SIPp now (SIGTERM, then SIGKILL). */
  stop(): void;
}

function readStats(file: string): { successful: number; failed: number; retransmissions: number } {
  if (!existsSync(file)) return { successful: -1, failed: -1, retransmissions: -1 };
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.split(';') ?? [];
  const last = lines[lines.length - 1]?.split(';') ?? [];
  const column = (name: string): number => {
    const i = header.indexOf(name);
    const v = i >= 0 ? Number(last[i]) : NaN;
    return Number.isFinite(v) ? v : -1;
  };
  return { successful: column('SuccessfulCall(C)'), failed: column('FailedCall(C)'), retransmissions: column('Retransmissions(C)') };
}

/** Start SIPp with `args` (statistics and error tracing are added); see `SippProcess`. */
export function startSipp(args: readonly string[], options: SippOptions): SippProcess {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-sipp-'));
  const stats = join(dir, 'stats.csv');
  const errors = join(dir, 'errors.log');
  const messages = join(dir, 'messages.log');
  const fullArgs = [
    ...args,
    '-nostdin',
    '-trace_stat',
    '-stf',
    stats,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    errors,
    ...(options.traceMessages ? ['-trace_msg', '-message_file', messages] : []),
  ];
  const child = spawn('sipp', fullArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('latin1')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), 2_000);
  };
  const bound = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  const done = new Promise<SippResult>((resolve) => {
    child.on('close', (exitCode, signal) => {
      clearTimeout(bound);
      if (killTimer) clearTimeout(killTimer);
      const counts = readStats(stats);
      let errorText = existsSync(errors) ? readFileSync(errors, 'utf8').slice(-4_000) : '';
      if (options.traceMessages && existsSync(messages)) errorText += '\n--- messages ---\n' + readFileSync(messages, 'utf8').slice(-8_000);
      rmSync(dir, { recursive: true, force: true });
      resolve({ exitCode, signal, ...counts, timedOut, output: output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').slice(-3_000), errors: errorText });
    });
    child.on('error', (err) => {
      keep(Buffer.from(String(err)));
    });
  });
  return { done, stop };
}

/** Run SIPp to completion. */
export function runSipp(args: readonly string[], options: SippOptions): Promise<SippResult> {
  return startSipp(args, options).done;
}

/** A readable summary for assertion messages. */
export function describeResult(name: string, r: SippResult): string {
  return `${name}: exit ${r.exitCode} signal ${r.signal} successful ${r.successful} failed ${r.failed} retransmissions ${r.retransmissions}` +
    `${r.timedOut ? ' (killed at its time bound)' : ''}\n${r.output}\n${r.errors}`;
}
