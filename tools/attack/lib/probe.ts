// Legitimate OPTIONS, the yardstick of every attack: answered 200 within the time limit?
import { sleep, streamClient, type UdpClient } from './net.js';
import { hostOf, request, token } from './sip.js';
import type { Endpoint } from './target.js';

export interface ProbeResult {
  /** Milliseconds to the final response; undefined when none came in time. */
  ms: number | undefined;
  status: number | undefined;
  error?: string | undefined;
}

export const fmtProbe = (r: ProbeResult): string =>
  r.ms === undefined ? `no answer${r.error !== undefined ? ` (${r.error})` : ''}` : `${r.status} in ${r.ms.toFixed(0)} ms`;

export const probeOk = (r: ProbeResult, limitMs = 1000): boolean => r.status === 200 && r.ms !== undefined && r.ms <= limitMs;

function optionsText(ep: Endpoint, proto: 'UDP' | 'TCP' | 'TLS', sentBy: string, callId: string): string {
  const uri = `sip:${hostOf(ep.address)}:${ep.port}${proto === 'UDP' ? '' : `;transport=${proto.toLowerCase()}`}`;
  return request({ method: 'OPTIONS', uri, via: sentBy, proto, callId, from: 'sip:legit@127.0.0.1' });
}

export async function optionsUdp(client: UdpClient, ep: Endpoint, timeoutMs = 1000): Promise<ProbeResult> {
  const callId = token('legit');
  const text = optionsText(ep, 'UDP', client.sentBy, callId);
  const started = performance.now();
  const answer = client.inbox.final(callId, timeoutMs);
  await client.send(text, ep.port, ep.address);
  // RFC 3261 §17.1.2.2: Timer E, a phone retransmits after T1.
  const resend = setTimeout(() => void client.send(text, ep.port, ep.address), 500);
  const m = await answer;
  clearTimeout(resend);
  return m === undefined ? { ms: undefined, status: undefined } : { ms: performance.now() - started, status: m.status };
}

export async function optionsStream(ep: Endpoint, secure: boolean, localAddress: string, timeoutMs = 1000): Promise<ProbeResult> {
  const started = performance.now();
  let client;
  try {
    client = await streamClient({ secure, host: ep.address, port: ep.port, localAddress, timeout: timeoutMs });
  } catch (e) {
    return { ms: undefined, status: undefined, error: e instanceof Error ? e.message : String(e) };
  }
  try {
    const callId = token('legit');
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const answer = client.inbox.final(callId, left);
    client.write(optionsText(ep, secure ? 'TLS' : 'TCP', client.sentBy, callId));
    const m = await answer;
    return m === undefined ? { ms: undefined, status: undefined, error: client.isClosed ? 'closed' : undefined } : { ms: performance.now() - started, status: m.status };
  } finally {
    client.destroy();
  }
}

/** Probes `probe` every `intervalMs` until `stop()`; the results, for latency during an attack. */
export function probeWhile(probe: () => Promise<ProbeResult>, intervalMs: number): { stop: () => Promise<ProbeResult[]> } {
  const results: ProbeResult[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      results.push(await probe());
      const left = intervalMs - (performance.now() - t);
      if (left > 0 && running) await sleep(left);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return results;
    },
  };
}

/**
 * Legitimate requests sent while an attack runs must be answered within this (the checks after
 * an attack use 1 s): 2 s is still well inside a client's transaction timeout, and leaves room
 * for a slower CI machine while thousands of attack connections are being accepted.
 */
export const DURING_LIMIT_MS = 2000;

/** "n/m answered, max 12 ms" for a series of probes. */
export function summarize(results: ProbeResult[], limitMs = 1000): { ok: boolean; text: string; max: number } {
  const good = results.filter((r) => probeOk(r, limitMs));
  const max = Math.max(0, ...results.map((r) => r.ms ?? Infinity));
  return { ok: results.length > 0 && good.length === results.length, text: `${good.length}/${results.length} answered within ${limitMs} ms, max ${Number.isFinite(max) ? `${max.toFixed(0)} ms` : 'none'}`, max };
}
