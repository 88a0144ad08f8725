// Raw clients for the attack suite: UDP sockets, TCP/TLS connections and a hand-made WebSocket
// client (RFC 6455 framing written here, so a test can send what `ws` would refuse to send and
// stop reading at will). Every client binds to a loopback address of the caller's choice: the
// rate limiter and the per-source connection caps of the server key on it.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import tls from 'node:tls';
import { readMessage, splitStream, type Message } from './sip.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Waiter {
  match: (m: Message) => boolean;
  resolve: (m: Message | undefined) => void;
  timer: NodeJS.Timeout;
}

/** Messages received by one client, and promises waiting for a matching one. */
export class Inbox {
  readonly messages: Message[] = [];
  count = 0;
  bytes = 0;
  readonly #waiters = new Set<Waiter>();
  readonly #keep: number;

  constructor(keep = 2000) {
    this.#keep = keep;
  }

  push(text: string, bytes: number): void {
    this.count++;
    this.bytes += bytes;
    const m = readMessage(text);
    if (this.#keep > 0) {
      this.messages.push(m);
      if (this.messages.length > this.#keep) this.messages.shift();
    }
    for (const w of this.#waiters) {
      if (w.match(m)) {
        this.#waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  }

  /** The first message (already here or to come within `timeoutMs`) that matches. */
  waitFor(match: (m: Message) => boolean, timeoutMs: number): Promise<Message | undefined> {
    const found = this.messages.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => {
      const w: Waiter = {
        match,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(w);
          resolve(undefined);
        }, timeoutMs),
      };
      this.#waiters.add(w);
    });
  }

  /** A final response (status >= 200) with this Call-ID. */
  final(callId: string, timeoutMs: number, cseqMethod?: string): Promise<Message | undefined> {
    return this.waitFor(
      (m) => m.status !== undefined && m.status >= 200 && m.callId === callId && (cseqMethod === undefined || (m.header('cseq') ?? '').endsWith(cseqMethod)),
      timeoutMs,
    );
  }

  clear(): void {
    this.messages.length = 0;
  }
}

// ------------------------------------------------------------------ UDP

export class UdpClient {
  readonly inbox: Inbox;
  readonly socket: dgram.Socket;
  readonly address: string;
  port = 0;
  datagrams = 0;

  constructor(address: string, keep?: number) {
    this.address = address;
    this.inbox = new Inbox(keep);
    this.socket = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    this.socket.on('message', (data) => {
      this.datagrams++;
      this.inbox.push(data.toString('utf8'), data.length);
    });
    this.socket.on('error', () => {});
  }

  bind(port = 0): Promise<this> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, this.address, () => {
        this.socket.off('error', reject);
        this.port = this.socket.address().port;
        resolve(this);
      });
    });
  }

  /** Via sent-by of this socket. */
  get sentBy(): string {
    return `${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}`;
  }

  send(data: string | Uint8Array, port: number, host: string): Promise<void> {
    return new Promise((resolve) => this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, host, () => resolve()));
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export async function udpClient(address: string, keep?: number): Promise<UdpClient> {
  return new UdpClient(address, keep).bind();
}

// ------------------------------------------------------------------ TCP / TLS

export interface StreamOptions {
  secure: boolean;
  host: string;
  port: number;
  localAddress?: string | undefined;
  noDelay?: boolean | undefined;
  keep?: number | undefined;
  /** ms to wait for the connection (and TLS handshake). Default 3000. */
  timeout?: number | undefined;
}

export class StreamClient {
  readonly inbox: Inbox;
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  /** When the server closed or reset the connection (ms since epoch). */
  closedAt = 0;
  readonly #decoder = new StringDecoder('utf8');
  #buffer = '';

  constructor(socket: net.Socket, keep?: number) {
    this.socket = socket;
    this.inbox = new Inbox(keep);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += this.#decoder.write(chunk);
      const { messages, rest } = splitStream(this.#buffer);
      this.#buffer = rest;
      for (const m of messages) this.inbox.push(m, Buffer.byteLength(m));
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  get sentBy(): string {
    const a = this.socket.localAddress ?? '127.0.0.1';
    return `${a.includes(':') ? `[${a}]` : a}:${this.socket.localPort ?? 0}`;
  }

  write(data: string | Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function streamClient(o: StreamOptions): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const common = { host: o.host, port: o.port, ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}) };
    const socket = o.secure ? tls.connect({ ...common, rejectUnauthorized: false }) : net.connect(common);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${o.host}:${o.port} timed out`));
    }, o.timeout ?? 3000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('error', fail);
    socket.once('close', () => fail(new Error('closed while connecting')));
    socket.once(o.secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.removeAllListeners('close');
      if (o.noDelay) socket.setNoDelay(true);
      resolve(new StreamClient(socket, o.keep));
    });
  });
}

// ------------------------------------------------------------------ WebSocket (RFC 6455, RFC 7118)

export interface WsOptions extends StreamOptions {
  /** Sec-WebSocket-Protocol; default 'sip'; null leaves the header out. */
  protocol?: string | null | undefined;
  path?: string | undefined;
  /** Extra handshake header lines. */
  extra?: string[] | undefined;
  /** Replace the whole handshake request (bad-handshake tests). */
  rawHandshake?: string | undefined;
}

export class WsClient {
  readonly inbox: Inbox;
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  /** The status code of the server's close frame, if one came. */
  closeCode: number | undefined;
  #pending: Buffer = Buffer.alloc(0);

  constructor(socket: net.Socket, rest: Buffer, keep?: number) {
    this.socket = socket;
    this.inbox = new Inbox(keep);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
    if (rest.length > 0) this.#data(rest);
  }

  #data(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const b = this.#pending;
      if (b.length < 2) return;
      const opcode = (b[0] ?? 0) & 0x0f;
      let length = (b[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const payload = b.subarray(offset, offset + length);
      this.#pending = b.subarray(offset + length);
      if (opcode === 1 || opcode === 2) this.inbox.push(payload.toString('utf8'), payload.length);
      else if (opcode === 8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else if (opcode === 9) this.frame(10, payload);
    }
  }

  /** One masked frame (clients must mask, RFC 6455 §5.3). */
  frame(opcode: number, payload: Uint8Array, fin = true): boolean {
    return this.rawWrite(encodeFrame(opcode, payload, fin));
  }

  sendText(text: string): boolean {
    return this.frame(1, Buffer.from(text));
  }

  rawWrite(data: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function encodeFrame(opcode: number, payload: Uint8Array, fin = true, declaredLength?: number): Buffer {
  const length = declaredLength ?? payload.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + payload.length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (head === 2) out[1] = 0x80 | length;
  else if (head === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < payload.length; i++) out[head + 4 + i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return out;
}

/** Opens a WebSocket; resolves with the client on 101, else with the HTTP status the server gave (0: none). */
export function wsConnect(o: WsOptions): Promise<WsClient | number> {
  return new Promise((resolve, reject) => {
    const common = { host: o.host, port: o.port, ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}) };
    const socket = o.secure ? tls.connect({ ...common, rejectUnauthorized: false }) : net.connect(common);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`WebSocket handshake with ${o.host}:${o.port} timed out`));
    }, o.timeout ?? 3000);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const status = Number(head.subarray(9, 12).toString());
      if (status !== 101) {
        socket.destroy();
        resolve(status);
        return;
      }
      resolve(new WsClient(socket, head.subarray(end + 4), o.keep));
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(0);
    });
    socket.once(o.secure ? 'secureConnect' : 'connect', () => {
      const key = randomBytes(16).toString('base64');
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      const handshake =
        o.rawHandshake ??
        [
          `GET ${o.path ?? '/'} HTTP/1.1`,
          `Host: ${host}:${o.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
          ...(o.protocol === null ? [] : [`Sec-WebSocket-Protocol: ${o.protocol ?? 'sip'}`]),
          ...(o.extra ?? []),
          '',
          '',
        ].join('\r\n');
      socket.write(handshake);
    });
  });
}

