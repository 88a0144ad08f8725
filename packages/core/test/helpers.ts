// Shared helpers for the core tests: stacks on 127.0.0.1 port 0, requests built by hand, and
// a raw UDP peer to see exactly what goes on the wire.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { create, parse } from '@sipts/core';
import type { Remote, RequestHandler, SipMessage, SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';

export const stacks: SipStack[] = [];

/** A stack on 127.0.0.1 with free ports, closed by `closeAll()`. */
export async function listeningStack(options: StackOptions = {}, onRequest?: RequestHandler): Promise<SipStack> {
  const stack = create({ address: '127.0.0.1', port: 0, ...options }, onRequest);
  stacks.push(stack);
  await stack.ready();
  return stack;
}

export async function closeAll(): Promise<void> {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
}

export function portOf(stack: SipStack, protocol: string): number {
  const a = stack.addresses().find((x) => x.protocol === protocol);
  if (!a) throw new Error(`no ${protocol} transport`);
  return a.port;
}

export function tag(): string {
  return randomBytes(6).toString('hex');
}

export function request(method: string, uri: string, extra: Partial<SipRequest['headers']> = {}): SipRequest {
  return {
    method,
    uri,
    headers: {
      to: { uri, params: {} },
      from: { uri: 'sip:caller@127.0.0.1', params: { tag: tag() } },
      'call-id': tag(),
      cseq: { seq: 1, method },
      ...extra,
    },
  };
}

/** Resolves with the first response of `send` whose status passes `until` (default: final). */
export function sendAndWait(
  stack: SipStack,
  rq: SipRequest,
  until: (rs: SipResponse) => boolean = (rs) => rs.status >= 200,
): Promise<{ response: SipResponse; all: SipResponse[]; remote: Remote | undefined }> {
  const all: SipResponse[] = [];
  return new Promise((resolve) => {
    stack.send(rq, (response, remote) => {
      all.push(response);
      if (until(response)) resolve({ response, all, remote });
    });
  });
}

/** Waits for the next 'request' event of a stack matching `filter`. */
export function nextRequest(stack: SipStack, filter: (rq: SipRequest) => boolean = () => true): Promise<{ request: SipRequest; remote: Remote }> {
  return new Promise((resolve) => {
    const listener = (request: SipRequest, remote: Remote): void => {
      if (!filter(request)) return;
      stack.off('request', listener);
      resolve({ request, remote });
    };
    stack.on('request', listener);
  });
}

/** A bare UDP socket on 127.0.0.1 that records what it receives. */
export class RawUdpPeer {
  readonly socket: Socket = createSocket('udp4');
  /** Messages not yet taken by next(). */
  readonly received: Array<{ message: SipMessage; text: string }> = [];
  /** Every message, in arrival order. */
  readonly all: Array<{ message: SipMessage; text: string }> = [];
  #waiters: Array<{ filter: (m: SipMessage) => boolean; resolve: (m: { message: SipMessage; text: string }) => void }> = [];

  async bind(): Promise<number> {
    this.socket.on('message', (data) => {
      const text = data.toString('utf8');
      const message = parse(data);
      if (!message) return;
      const entry = { message, text };
      this.all.push(entry);
      const i = this.#waiters.findIndex((w) => w.filter(message));
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(entry);
      else this.received.push(entry);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    return this.socket.address().port;
  }

  next(filter: (m: SipMessage) => boolean = () => true): Promise<{ message: SipMessage; text: string }> {
    const seen = this.received.find((e) => filter(e.message));
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.#waiters.push({ filter, resolve }));
  }

  send(text: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(text, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
