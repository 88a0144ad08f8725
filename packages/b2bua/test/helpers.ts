// Shared helpers for the B2BUA tests: a B2BUA on a stack on 127.0.0.1 port 0, dialog UAs as the
// caller and the callee (each on its own stack, recording every message it receives so tests see
// exactly what crossed), raw UDP peers for wire-level checks, and bounded waits.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { create, parse } from '@sipts/core';
import type { SipMessage, SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';
import { createB2bua, type B2bua, type B2buaOptions } from '@sipts/b2bua';
import { createUA, type Dialog, type DialogUA, type UaOptions } from '@sipts/dialog';
import type { Clock } from '@sipts/transaction';

const stacks: SipStack[] = [];
const uas: DialogUA[] = [];
const b2buas: B2bua[] = [];
const peers: RawPeer[] = [];

export const OFFER = ['v=0', 'o=alice 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
export const ANSWER = ['v=0', 'o=bob 2 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

/** `sdp` with the o= version set to `v` (a new offer from the same side, RFC 3264 §8). */
export function version(sdp: string, v: number): string {
  return sdp.replace(/^o=(\S+) (\S+) \d+ /m, `o=$1 $2 ${v} `);
}

export interface Party {
  stack: SipStack;
  ua: DialogUA;
  port: number;
  /** Everything this party's stack received, in order. */
  received: SipMessage[];
  uri: (user?: string) => string;
}

/** A dialog UA on its own stack (the caller or the callee of a test). */
export async function party(options: { clock?: Clock | undefined; ua?: UaOptions<Dialog>; stack?: StackOptions } = {}): Promise<Party> {
  const received: SipMessage[] = [];
  const clock = options.clock;
  const stack = create({
    address: '127.0.0.1',
    port: 0,
    ...(clock !== undefined ? { clock } : {}),
    logger: { recv: (m) => received.push(m) },
    ...options.stack,
  });
  stacks.push(stack);
  await stack.ready();
  const ua = createUA(stack, { ...(clock !== undefined ? { clock } : {}), ...options.ua });
  uas.push(ua);
  const port = stack.addresses().find((a) => a.protocol === 'UDP')?.port ?? 0;
  return { stack, ua, port, received, uri: (user = 'bob') => `sip:${user}@127.0.0.1:${port}` };
}

export interface Middle {
  stack: SipStack;
  b2bua: B2bua;
  port: number;
  uri: (user?: string) => string;
  /** Messages the B2BUA's stack sent and received. */
  sent: SipMessage[];
  received: SipMessage[];
}

/** A B2BUA on its own stack. */
export async function middle(options: B2buaOptions = {}, stackOptions: StackOptions = {}): Promise<Middle> {
  const sent: SipMessage[] = [];
  const received: SipMessage[] = [];
  const clock = options.ua?.clock;
  const stack = create({
    address: '127.0.0.1',
    port: 0,
    ...(clock !== undefined ? { clock } : {}),
    logger: { send: (m) => sent.push(m), recv: (m) => received.push(m) },
    ...stackOptions,
  });
  stacks.push(stack);
  await stack.ready();
  const b2bua = createB2bua(stack, options);
  b2buas.push(b2bua);
  const port = stack.addresses().find((a) => a.protocol === 'UDP')?.port ?? 0;
  return { stack, b2bua, port, sent, received, uri: (user = 'service') => `sip:${user}@127.0.0.1:${port}` };
}

export async function closeAll(): Promise<void> {
  await Promise.all(b2buas.splice(0).map((b) => b.close()));
  await Promise.all(uas.splice(0).map((u) => u.close()));
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
}

/** Resolves once `check` is true, polling real time (bounded: rejects after `ms`). */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets sockets deliver what is in flight (real time). */
export function settle(ms = 30): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tag(): string {
  return randomBytes(6).toString('hex');
}

export const isRequest = (method: string) => (m: SipMessage): m is SipRequest => 'method' in m && m.method === method;
export const isResponse = (status: number, method?: string) => (m: SipMessage): m is SipResponse =>
  'status' in m && m.status === status && (method === undefined || m.headers.cseq?.method === method);

type Entry = { message: SipMessage; text: string };

/** A bare UDP socket on 127.0.0.1 that records what it receives. */
export class RawPeer {
  readonly socket: Socket = createSocket('udp4');
  readonly all: Entry[] = [];
  readonly #pending: Entry[] = [];
  #waiters: Array<{ filter: (m: SipMessage) => boolean; resolve: (m: Entry) => void }> = [];
  port = 0;

  static async create(): Promise<RawPeer> {
    const peer = new RawPeer();
    peers.push(peer);
    peer.bind();
    await new Promise<void>((resolve) => peer.socket.once('listening', () => resolve()));
    peer.port = peer.socket.address().port;
    return peer;
  }

  bind(): void {
    this.socket.on('message', (data) => {
      const text = data.toString('utf8');
      let message: SipMessage | undefined;
      try {
        message = parse(data);
      } catch {
        return;
      }
      if (!message) return;
      const entry = { message, text };
      this.all.push(entry);
      const i = this.#waiters.findIndex((w) => w.filter(entry.message));
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(entry);
      else this.#pending.push(entry);
    });
    this.socket.bind(0, '127.0.0.1');
  }

  /** The next message passing `filter` not taken yet (bounded wait). */
  next(filter: (m: SipMessage) => boolean = () => true, ms = 3000): Promise<Entry> {
    const seen = this.#pending.find((e) => filter(e.message));
    if (seen) {
      this.#pending.splice(this.#pending.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        filter,
        resolve: (e: Entry) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error('RawPeer: no matching message'));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  count(filter: (m: SipMessage) => boolean): number {
    return this.all.filter((e) => filter(e.message)).length;
  }

  send(text: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(text, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Wire text of a request from a raw peer; `lines` are extra header lines. */
export function wire(start: string, peerPort: number, lines: string[], body = '', branch = `z9hG4bK${tag()}`): string {
  const head = [start, `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${branch};rport`, 'Max-Forwards: 70', ...lines];
  if (body !== '') head.push('Content-Type: application/sdp');
  head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return head.join('\r\n') + '\r\n\r\n' + body;
}

export interface Bridged {
  alice: Party;
  bob: Party;
  mid: Middle;
  /** Alice's dialog (the A leg seen from the caller). */
  a: Dialog;
  /** Bob's dialog (the B leg seen from the callee). */
  b: Dialog;
}

/**
 * A call alice -> B2BUA -> bob, answered: bob rings (180) and answers with ANSWER, alice offers
 * OFFER (or nothing with `offer: false`). Resolves once both dialogs are confirmed and bob got the ACK.
 */
export async function bridged(
  options: { b2bua?: B2buaOptions; offer?: false; clock?: Clock | undefined; aliceUa?: UaOptions<Dialog>; bobUa?: UaOptions<Dialog> } = {},
): Promise<Bridged> {
  const clock = options.clock;
  const bob = await party({ clock, ua: { sdp: { answer: () => ANSWER }, ...options.bobUa } });
  const bobDialog = new Promise<Dialog>((resolve) => {
    bob.ua.on('invite', (call) => {
      void call.progress(180).catch(() => undefined);
      void call.accept({ sdp: call.offer !== undefined ? ANSWER : OFFER_B }).then(resolve, () => undefined);
    });
  });
  const mid = await middle({ target: bob.uri(), ...options.b2bua, ...(clock !== undefined ? { ua: { clock, ...options.b2bua?.ua } } : {}) });
  const alice = await party({ clock, ua: { sdp: { answer: () => ANSWER_A }, ...options.aliceUa } });
  const a = await alice.ua.invite(mid.uri(), options.offer === false ? {} : { sdp: OFFER });
  const b = await bobDialog;
  return { alice, bob, mid, a, b };
}

/** Bob's offer when alice sent none (late offer), and alice's answer to it. */
export const OFFER_B = ['v=0', 'o=bob 7 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40010 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
export const ANSWER_A = ['v=0', 'o=alice 8 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40012 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
