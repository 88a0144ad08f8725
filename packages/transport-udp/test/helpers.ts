// Test helpers: raw UDP peers on loopback and SIP message text.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Remote, SipMessage } from '@sipts/message';
import type { UdpTransport } from '../src/index.js';

export interface Peer {
  socket: Socket;
  port: number;
  /** The next datagram (queued ones first). */
  next(): Promise<{ data: Buffer; rinfo: RemoteInfo }>;
  send(data: string | Buffer, port: number, address: string): Promise<void>;
  close(): Promise<void>;
}

/** A plain dgram socket on loopback, bound to a free port. */
export async function peer(type: 'udp4' | 'udp6' = 'udp4'): Promise<Peer> {
  const socket = createSocket(type);
  const address = type === 'udp4' ? '127.0.0.1' : '::1';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  const queue: { data: Buffer; rinfo: RemoteInfo }[] = [];
  const waiters: ((item: { data: Buffer; rinfo: RemoteInfo }) => void)[] = [];
  socket.on('message', (data, rinfo) => {
    const waiter = waiters.shift();
    if (waiter) waiter({ data, rinfo });
    else queue.push({ data, rinfo });
  });
  return {
    socket,
    port: socket.address().port,
    next: () => {
      const item = queue.shift();
      return item ? Promise.resolve(item) : new Promise((resolve) => waiters.push(resolve));
    },
    send: (data, port, to) =>
      new Promise<void>((resolve, reject) => socket.send(data, port, to, (error) => (error ? reject(error) : resolve()))),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Resolves with the next 'message' the transport emits. */
export function nextMessage(transport: UdpTransport): Promise<{ message: SipMessage; remote: Remote }> {
  return new Promise((resolve) => {
    transport.once('message', (message, remote) => resolve({ message, remote }));
  });
}

export interface RequestParts {
  method?: string;
  via?: string;
  callId?: string | null;
  cseqMethod?: string;
  body?: string;
  extra?: string;
  version?: string;
}

/** A request as text; `callId: null` leaves Call-ID out. */
export function request(parts: RequestParts = {}): string {
  const method = parts.method ?? 'OPTIONS';
  const body = parts.body ?? '';
  const lines = [
    `${method} sip:bob@example.com SIP/${parts.version ?? '2.0'}`,
    `Via: ${parts.via ?? 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds'}`,
    'Max-Forwards: 70',
    'To: Bob <sip:bob@example.com>',
    'From: Alice <sip:alice@example.com>;tag=1928301774',
  ];
  if (parts.callId !== null) lines.push(`Call-ID: ${parts.callId ?? 'a84b4c76e66710@pc33.example.com'}`);
  lines.push(`CSeq: 314159 ${parts.cseqMethod ?? method}`);
  if (parts.extra !== undefined) lines.push(parts.extra);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A 200 response as text, padded with a body of `bodyBytes` bytes. */
export function response(bodyBytes = 0): string {
  const body = 'x'.repeat(bodyBytes);
  return [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds',
    'To: Bob <sip:bob@example.com>;tag=a6c85cf',
    'From: Alice <sip:alice@example.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.example.com',
    'CSeq: 314159 OPTIONS',
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n');
}

/** A request padded with a body so that the whole message is exactly `size` bytes. */
export function requestOfSize(size: number): string {
  const empty = request({ body: '' });
  // Content-Length grows by digits as the body grows: solve by trying the few lengths.
  for (let bodyBytes = Math.max(0, size - empty.length - 6); bodyBytes <= size; bodyBytes++) {
    const text = request({ body: 'y'.repeat(bodyBytes) });
    if (Buffer.byteLength(text) === size) return text;
    if (Buffer.byteLength(text) > size) break;
  }
  throw new Error(`cannot build a request of ${size} bytes`);
}
