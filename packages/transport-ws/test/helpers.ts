// Test helpers: raw `ws` clients, a self-signed certificate made with openssl, SIP text.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Remote, SipMessage } from '@sipts/message';
import { WsTransport, isWsTransportError, type WsTransportError, type WsTransportOptions } from '../src/index.js';

/** A self-signed certificate for localhost, 127.0.0.1 and ::1, or undefined without openssl. */
export function selfSignedCertificate(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-ws-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      ],
      { stdio: 'ignore', timeout: 20000 },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RawClient {
  ws: WebSocket;
  /** The next message (queued ones first) and whether it was binary. */
  next(): Promise<{ data: Buffer; binary: boolean }>;
  /** Resolves with the close code. */
  closed: Promise<number>;
  close(): Promise<void>;
}

/** A plain `ws` client; resolves once open, rejects with the handshake error. */
export function rawClient(url: string, protocols?: string | string[], options: { ca?: string; autoPong?: boolean } = {}): Promise<RawClient> {
  const ws = new WebSocket(url, protocols, { ...options, perMessageDeflate: false });
  const queue: { data: Buffer; binary: boolean }[] = [];
  const waiters: ((item: { data: Buffer; binary: boolean }) => void)[] = [];
  ws.on('message', (data, binary) => {
    const item = { data: data as Buffer, binary };
    const waiter = waiters.shift();
    if (waiter) waiter(item);
    else queue.push(item);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => undefined);
      resolve({
        ws,
        next: () => {
          const item = queue.shift();
          return item ? Promise.resolve(item) : new Promise((r) => waiters.push(r));
        },
        closed,
        close: async () => {
          if (ws.readyState !== WebSocket.CLOSED) {
            ws.close();
            await closed;
          }
        },
      });
    });
  });
}

/** Resolves with the next 'message' the transport emits. */
export function nextMessage(transport: WsTransport): Promise<{ message: SipMessage; remote: Remote }> {
  return new Promise((resolve) => {
    transport.once('message', (message, remote) => resolve({ message, remote }));
  });
}

/** Resolves with the next event of that name. */
export function nextEvent(transport: WsTransport, event: 'connectionOpen' | 'connectionClose'): Promise<Remote> {
  return new Promise((resolve) => {
    transport.once(event, (remote) => resolve(remote));
  });
}

/** A request as a WebSocket client sends it (RFC 7118 §8 example style). */
export function request(parts: { method?: string; callId?: string | null; via?: string; body?: string } = {}): string {
  const method = parts.method ?? 'REGISTER';
  const body = parts.body ?? '';
  const lines = [
    `${method} sip:proxy.example.com SIP/2.0`,
    `Via: ${parts.via ?? 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf'}`,
    'Max-Forwards: 70',
    'To: <sip:alice@example.com>',
    'From: Alice <sip:alice@example.com>;tag=65bnmj.34asd',
  ];
  if (parts.callId !== null) lines.push(`Call-ID: ${parts.callId ?? 'aiuy7k9njasd'}`);
  lines.push(`CSeq: 1 ${method}`, 'Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>', `Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export function response(callId = 'aiuy7k9njasd'): string {
  return [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKasudf',
    'To: <sip:alice@example.com>;tag=2493k59kd',
    'From: Alice <sip:alice@example.com>;tag=65bnmj.34asd',
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const open: { close(): Promise<void> }[] = [];

/** Remember something to close after the test (`closeTracked()` in afterEach), newest first. */
export function track<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

export async function closeTracked(): Promise<void> {
  await Promise.all(open.splice(0).reverse().map((thing) => thing.close()));
}

/** A listening transport on 127.0.0.1, port 0, closed after the test. */
export async function server(options: WsTransportOptions = {}): Promise<{ transport: WsTransport; port: number; url: string }> {
  const transport = track(new WsTransport({ ws_port: 0, address: '127.0.0.1', ...options }));
  const bound = await transport.listen();
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { transport, port: bound.port, url: `${transport.protocol === 'WSS' ? 'wss' : 'ws'}://${host}:${bound.port}/` };
}

/** A raw client offering `sip`, closed after the test. */
export async function client(url: string, protocols: string | string[] | undefined = 'sip', options: { ca?: string } = {}): Promise<RawClient> {
  return track(await rawClient(url, protocols, options));
}

/** The WsTransportError a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<WsTransportError> {
  try {
    await promise;
  } catch (error) {
    if (isWsTransportError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
