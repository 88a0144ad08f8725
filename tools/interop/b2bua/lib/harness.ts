// SIPp on both sides of the B2BUA example running in this process: a UAS started first on a free
// port (waited for until it listens), a UAC run to completion, both with hard bounds (-m,
// -timeout, a kill timer), their counts from -trace_stat, and each side's message log
// (-trace_msg) so a test can check what one side saw of the other.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, readStats, waitUdpBound, type SippStats } from '../../proxy/lib/harness.js';

export const scenarioDir = join(__dirname, '..', 'scenarios');

export function scenario(name: string): string {
  return join(scenarioDir, name);
}

export interface PartyResult extends SippStats {
  exitCode: number | null;
  timedOut: boolean;
  /** Every message SIPp sent and received (-trace_msg). */
  messages: string;
  /** The tail of SIPp's output and error log, for assertion messages. */
  log: string;
}

export interface PartyRun {
  readonly done: Promise<PartyResult>;
  exited(): boolean;
  stop(): void;
}

/** Starts SIPp with `args` plus statistics, error and message logs; killed after `killAfterMs`. */
export function startParty(args: string[], killAfterMs: number): PartyRun {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-b2bua-sipp-'));
  const stats = join(dir, 'stats.csv');
  const errors = join(dir, 'errors.log');
  const messages = join(dir, 'messages.log');
  const child = spawn('sipp', [...args, '-nostdin', '-trace_stat', '-stf', stats, '-trace_err', '-error_file', errors, '-trace_msg', '-message_file', messages], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const bound = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
  }, killAfterMs);
  const done = new Promise<PartyResult>((resolve) => {
    const finish = (exitCode: number | null, extra: string): void => {
      clearTimeout(bound);
      if (killTimer !== undefined) clearTimeout(killTimer);
      const counts = readStats(stats);
      const errorLog = existsSync(errors) ? readFileSync(errors, 'utf8').slice(-3000) : '';
      const messageLog = existsSync(messages) ? readFileSync(messages, 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      resolve({ ...counts, exitCode, timedOut, messages: messageLog, log: `${out}${extra}\n--- error log ---\n${errorLog}` });
    };
    child.once('close', (code) => finish(code, ''));
    child.once('error', (e) => finish(null, String(e)));
  });
  return {
    done,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** A SIPp UAS on a free port of 127.0.0.1, listening (three attempts when the port is taken first). */
export async function startCallee(scenarioArgs: string[], calls: number, timeoutS: number): Promise<{ port: number; run: PartyRun }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort('127.0.0.1');
    const run = startParty([...scenarioArgs, '-i', '127.0.0.1', '-p', String(port), '-m', String(calls), '-timeout', `${timeoutS}s`], (timeoutS + 5) * 1000);
    try {
      await waitUdpBound('127.0.0.1', port, 5000, () => run.exited());
      return { port, run };
    } catch (e) {
      run.stop();
      const result = await run.done;
      lastError = new Error(`${String(e)}\n${result.log}`);
    }
  }
  throw lastError;
}
