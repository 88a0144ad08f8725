// The shape of one attack of the suite, and helpers several attacks share.
import type { Context } from './context.js';
import { sleep, streamClient, udpClient, wsConnect, WsClient, type StreamClient } from './net.js';
import type { Message } from './sip.js';
import type { Endpoint } from './target.js';

export interface Attack {
  /** Short name for ATTACK_ONLY and the table. */
  id: string;
  /** What the issue calls it. */
  title: string;
  run(ctx: Context): Promise<void>;
  /** Heap allowed to stay above the baseline right after this attack (see health.ts). */
  heapSlack?: number;
}

export interface SendResult {
  /** Bytes sent. */
  sent: number;
  /** Replies, in order. */
  replies: Message[];
  replyBytes: number;
  /** The server closed the connection (streams). */
  closed: boolean;
  error?: string | undefined;
}

/** Each message from its own UDP socket (so replies are attributed); waits `waitMs` for replies. */
export async function eachUdp(ep: Endpoint, messages: Buffer[], source: string, waitMs: number): Promise<SendResult[]> {
  const clients = await Promise.all(messages.map(() => udpClient(source, 50)));
  try {
    await Promise.all(clients.map((c, i) => c.send(messages[i] ?? Buffer.alloc(0), ep.port, ep.address)));
    await sleep(waitMs);
    return clients.map((c, i) => ({ sent: messages[i]?.length ?? 0, replies: [...c.inbox.messages], replyBytes: c.inbox.bytes, closed: false }));
  } finally {
    for (const c of clients) c.close();
  }
}

/** Each message on its own TCP/TLS connection; waits `waitMs` for replies and a close. */
export async function eachStream(ep: Endpoint, secure: boolean, messages: Buffer[], source: string, waitMs: number): Promise<SendResult[]> {
  const opened = await Promise.all(
    messages.map((_, i) =>
      streamClient({ secure, host: ep.address, port: ep.port, localAddress: source, keep: 50 }).then(
        (c) => ({ c, i }),
        (e: unknown) => ({ c: undefined, i, error: e instanceof Error ? e.message : String(e) }),
      ),
    ),
  );
  for (const o of opened) o.c?.write(messages[o.i] ?? Buffer.alloc(0));
  await sleep(waitMs);
  return opened.map((o) => {
    const c: StreamClient | undefined = o.c;
    const result: SendResult = {
      sent: messages[o.i]?.length ?? 0,
      replies: c === undefined ? [] : [...c.inbox.messages],
      replyBytes: c?.inbox.bytes ?? 0,
      closed: c?.isClosed ?? true,
      error: 'error' in o ? o.error : undefined,
    };
    c?.destroy();
    return result;
  });
}

/** Each message in its own WebSocket message on its own connection. */
export async function eachWs(ep: Endpoint, secure: boolean, messages: Buffer[], source: string, waitMs: number): Promise<SendResult[]> {
  const opened = await Promise.all(
    messages.map((_, i) =>
      wsConnect({ secure, host: ep.address, port: ep.port, localAddress: source, keep: 50 }).then(
        (c) => ({ c: c instanceof WsClient ? c : undefined, i, error: c instanceof WsClient ? undefined : `HTTP ${String(c)}` }),
        (e: unknown) => ({ c: undefined, i, error: e instanceof Error ? e.message : String(e) }),
      ),
    ),
  );
  for (const o of opened) o.c?.frame(1, messages[o.i] ?? Buffer.alloc(0));
  await sleep(waitMs);
  return opened.map((o) => {
    const result: SendResult = {
      sent: messages[o.i]?.length ?? 0,
      replies: o.c === undefined ? [] : [...o.c.inbox.messages],
      replyBytes: o.c?.inbox.bytes ?? 0,
      closed: o.c?.isClosed ?? true,
      error: o.error,
    };
    o.c?.destroy();
    return result;
  });
}

/** "200 x3, 400 x12, none x2" */
export function statusCounts(results: SendResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.error !== undefined ? 'error' : r.replies.length === 0 ? 'none' : String(r.replies.find((m) => m.status !== undefined && m.status >= 200)?.status ?? r.replies[0]?.status ?? '?');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`).join(', ');
}
