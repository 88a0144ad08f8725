// What every attack gets: the targets, attacker source addresses, legitimate probes, and the
// result rows that end up in the table.
import { optionsStream, optionsUdp, type ProbeResult } from './probe.js';
import { udpClient, type UdpClient } from './net.js';
import type { Endpoint, Target } from './target.js';

export type Outcome = 'pass' | 'FAIL' | 'info' | 'skip';

export interface Row {
  attack: string;
  check: string;
  before: string;
  after: string;
  result: Outcome;
  /** Set on a failing check: what the defect is and where it probably lives. */
  defect?: string | undefined;
}

/** What the launcher's `stats` IPC returns, per stack name. */
export type ServerStats = Record<string, { stack: Record<string, unknown>; proxy: Record<string, unknown>; registrar: Record<string, unknown>; logger: Record<string, unknown> }>;

/** A number at a dotted path of a stats object (0 when absent). */
export function num(value: unknown, path: string): number {
  let v: unknown = value;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null) return 0;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === 'number' ? v : 0;
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

export interface Baseline {
  fds: number;
  heapUsed: number;
  /** process.memoryUsage().external: Buffers live outside the V8 heap (arrayBuffers is part of it). */
  external: number;
  rss: number;
}

export class Context {
  readonly root: string;
  readonly tmp: string;
  readonly netns: boolean;
  /** The launcher process; replaced when an attack leaves it dead or unusable. */
  server: Target;
  start: Target | undefined;
  readonly rows: Row[] = [];
  /** Measurements finished at the end of the run (after transactions drained). */
  readonly deferred: (() => Promise<void>)[] = [];
  baseline: Baseline = { fds: 0, heapUsed: 0, external: 0, rss: 0 };
  startBaseline: { fds: number; rss: number } = { fds: 0, rss: 0 };
  /** The digest accounts of the server (user -> password). */
  readonly users: Record<string, string>;
  /** Max open files of this process (connection-heavy attacks scale to it). */
  readonly fdLimit: number;
  #probe4: UdpClient | undefined;
  #probe6: UdpClient | undefined;
  #nextSource = 10;

  constructor(o: { root: string; tmp: string; netns: boolean; server: Target; users: Record<string, string>; fdLimit: number }) {
    this.root = o.root;
    this.tmp = o.tmp;
    this.netns = o.netns;
    this.server = o.server;
    this.users = o.users;
    this.fdLimit = o.fdLimit;
  }

  /**
   * A fresh attacker source address (127.0.0.10 upwards, then 127.0.1.x ...): the rate limiter
   * bans a source for 30 s, so each attack gets its own. The legitimate client is 127.0.0.1.
   */
  source(): string {
    const n = this.#nextSource++;
    return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  endpoint(stack: string, protocol: string): Endpoint {
    return this.server.endpoint(stack, protocol);
  }

  async probeClient(family: 4 | 6): Promise<UdpClient> {
    if (family === 4) return (this.#probe4 ??= await udpClient('127.0.0.1', 200));
    return (this.#probe6 ??= await udpClient('::1', 200));
  }

  /** A legitimate OPTIONS from 127.0.0.1 (or ::1) over UDP, retransmitted at 500 ms like a phone. */
  async legitUdp(ep: Endpoint, timeoutMs = 1000): Promise<ProbeResult> {
    return optionsUdp(await this.probeClient(ep.address.includes(':') ? 6 : 4), ep, timeoutMs);
  }

  /** A legitimate OPTIONS on a new TCP (or TLS) connection from 127.0.0.1 (or ::1). */
  legitStream(ep: Endpoint, secure = false, timeoutMs = 1000): Promise<ProbeResult> {
    return optionsStream(ep, secure, ep.address.includes(':') ? '::1' : '127.0.0.1', timeoutMs);
  }

  stats(): Promise<ServerStats> {
    return this.server.ipc<ServerStats>('stats');
  }

  async memory(): Promise<NodeJS.MemoryUsage> {
    return this.server.ipc<NodeJS.MemoryUsage>('gc', 20_000);
  }

  check(attack: string, check: string, before: string, after: string, ok: boolean, defect?: string): boolean {
    this.rows.push({ attack, check, before, after, result: ok ? 'pass' : 'FAIL', ...(ok ? {} : { defect }) });
    return ok;
  }

  info(attack: string, check: string, before: string, after: string): void {
    this.rows.push({ attack, check, before, after, result: 'info' });
  }

  skip(attack: string, check: string, why: string): void {
    this.rows.push({ attack, check, before: '', after: why, result: 'skip' });
  }

  close(): void {
    this.#probe4?.close();
    this.#probe6?.close();
  }
}
