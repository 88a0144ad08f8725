// Test helpers: SIP message texts and raw sockets on the loopback interfaces.
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import type { Remote, SipMessage } from '@sipts/message';

export interface RequestText {
  callId: string;
  via?: string;
  method?: string;
  body?: string;
  extra?: string;
}

/** A valid request; the body may hold multi-byte UTF-8 (Content-Length counts bytes). */
export function requestText(r: RequestText): string {
  const method = r.method ?? 'OPTIONS';
  const body = r.body ?? '';
  const via = r.via ?? 'SIP/2.0/TCP client.invalid:5060;branch=z9hG4bK-' + r.callId;
  return (
    `${method} sip:bob@example.com SIP/2.0\r\n` +
    `Via: ${via}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: "Zoë" <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>\r\n' +
    `Call-ID: ${r.callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    (r.extra ?? '') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    '\r\n' +
    body
  );
}

export function responseText(callId: string, status = 200, reason = 'OK'): string {
  return (
    `SIP/2.0 ${status} ${reason}\r\n` +
    `Via: SIP/2.0/TCP client.invalid:5060;branch=z9hG4bK-${callId}\r\n` +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>;tag=b1\r\n' +
    `Call-ID: ${callId}\r\n` +
    'CSeq: 1 OPTIONS\r\n' +
    'Content-Length: 0\r\n' +
    '\r\n'
  );
}

export function callIdOf(m: SipMessage): string | undefined {
  return m.headers['call-id'];
}

/** The next `message` event of an emitter with the transport event shape. */
export function nextMessage(t: { once(e: 'message', l: (m: SipMessage, r: Remote) => void): unknown }): Promise<[SipMessage, Remote]> {
  return new Promise((resolve) => t.once('message', (m, r) => resolve([m, r])));
}

export function nextEvent<T extends unknown[]>(t: { once(e: string, l: (...args: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => t.once(event, (...args: T) => resolve(args)));
}

/** Messages received, in order, collected from a transport. */
export function collect(t: { on(e: 'message', l: (m: SipMessage, r: Remote) => void): unknown }): Array<[SipMessage, Remote]> {
  const out: Array<[SipMessage, Remote]> = [];
  t.on('message', (m, r) => out.push([m, r]));
  return out;
}

export async function rawConnect(port: number, host = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/** Reads from a socket until `done(text so far)` holds; resolves with the text. */
export function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (done(text)) {
        cleanup();
        resolve(text);
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`socket closed after ${JSON.stringify(text.slice(0, 200))}`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Resolves when the peer closes the socket (end or reset); what it sends meanwhile is read and dropped. */
export function closed(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  socket.on('error', () => undefined);
  socket.resume();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Everything the peer sends until it closes the socket. */
export function readToEnd(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return closed(socket).then(() => text);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nobody listens on right now (bind, read the port, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether this machine can bind ::1 (IPv6 loopback); tests on ::1 skip with a note if not. */
export async function hasIpv6Loopback(): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return true;
  } catch {
    return false;
  }
}
