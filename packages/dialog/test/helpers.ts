// Shared helpers for the dialog tests: stacks on 127.0.0.1 port 0 with a UA each, a raw UDP peer
// that sees exactly what goes on the wire, and bounded waits.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { create, makeResponse, parse, stringify } from '@sipts/core';
import type { SipMessage, SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';
import { createUA, type DialogUA, type UaOptions, type Dialog } from '@sipts/dialog';
import type { Clock } from '@sipts/transaction';

const stacks: SipStack[] = [];
const peers: RawPeer[] = [];
const uas: DialogUA[] = [];

export interface Endpoint {
  stack: SipStack;
  ua: DialogUA;
  port: number;
  /** A URI that reaches this endpoint over UDP. */
  uri: (user?: string) => string;
}

/** A stack on 127.0.0.1 (UDP and TCP, free port) with a UA on it. */
export async function endpoint(options: { clock?: Clock; ua?: UaOptions<Dialog>; stack?: StackOptions } = {}): Promise<Endpoint> {
  const clock = options.clock;
  const stack = create({ address: '127.0.0.1', port: 0, ...(clock ? { clock } : {}), ...options.stack });
  stacks.push(stack);
  await stack.ready();
  const ua = createUA(stack, { ...(clock ? { clock } : {}), ...options.ua });
  uas.push(ua);
  const port = stack.addresses().find((a) => a.protocol === 'UDP')?.port ?? 0;
  return { stack, ua, port, uri: (user = 'callee') => `sip:${user}@127.0.0.1:${port}` };
}

export async function closeAll(): Promise<void> {
  await Promise.all(uas.splice(0).map((u) => u.close()));
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
}

export function tag(): string {
  return randomBytes(6).toString('hex');
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

export const OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
export const ANSWER = ['v=0', 'o=- 2 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
/** A description with the same o= as `sdp` but version `v`. */
export function version(sdp: string, v: number): string {
  return sdp.replace(/^o=(\S+) (\S+) \d+ /m, `o=$1 $2 ${v} `);
}

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
    await peer.bind();
    return peer;
  }

  async bind(): Promise<number> {
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
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.port = this.socket.address().port;
    return this.port;
  }

  /** The next message passing `filter` not taken yet (bounded wait). */
  next(filter: (m: SipMessage) => boolean = () => true, ms = 3000): Promise<Entry> {
    const seen = this.#pending.find((e) => filter(e.message));
    if (seen) {
      this.#pending.splice(this.#pending.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const waiter = { filter, resolve: (e: Entry) => { clearTimeout(timer); resolve(e); } };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error('RawPeer: no matching message'));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Messages received so far that pass `filter`. */
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

export const isRequest = (method: string) => (m: SipMessage): m is SipRequest => 'method' in m && m.method === method;
export const isResponse = (status: number, method?: string) => (m: SipMessage): m is SipResponse =>
  'status' in m && m.status === status && (method === undefined || m.headers.cseq?.method === method);

/** Wire text of a request from the raw peer; `lines` are extra header lines. */
export function wire(start: string, peerPort: number, lines: string[], body = '', branch = `z9hG4bK${tag()}`): string {
  const head = [start, `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=${branch};rport`, 'Max-Forwards: 70', ...lines];
  if (body !== '') head.push('Content-Type: application/sdp');
  head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return head.join('\r\n') + '\r\n\r\n' + body;
}

/** The wire text of a response to `rq` from a raw peer: extra raw header `lines`, an SDP `body`. */
export function responseText(rq: SipRequest, status: number, options: { toTag?: string; lines?: string[]; body?: string; reason?: string } = {}): string {
  const rs = makeResponse(rq, status, options.reason, options.toTag !== undefined ? { toTag: options.toTag } : undefined);
  if (options.body !== undefined) {
    rs.headers['content-type'] = 'application/sdp';
    rs.content = options.body;
  }
  const text = stringify(rs);
  const eol = text.indexOf('\r\n');
  const extra = (options.lines ?? []).map((l) => l + '\r\n').join('');
  return text.slice(0, eol + 2) + extra + text.slice(eol + 2);
}

/** A caller on a raw UDP socket: builds the requests of one call towards `uaPort`. */
export class RawCaller {
  readonly callId = `${tag()}@raw`;
  readonly fromTag = tag();
  toTag = '';
  cseq = 10;
  constructor(
    readonly peer: RawPeer,
    readonly uaPort: number,
  ) {}

  get from(): string {
    return `From: <sip:caller@127.0.0.1:${this.peer.port}>;tag=${this.fromTag}`;
  }

  get to(): string {
    return `To: <sip:callee@127.0.0.1:${this.uaPort}>${this.toTag !== '' ? `;tag=${this.toTag}` : ''}`;
  }

  /** A request of this call (the INVITE when no To tag is known yet). */
  inviteBranch = '';
  /** CSeq of the last INVITE: its ACK and CANCEL carry it (RFC 3261 §13.2.2.4, §9.1). */
  inviteSeq = 0;

  request(method: string, lines: string[] = [], body = '', cseq?: number): string {
    const seq = cseq ?? (method === 'ACK' || method === 'CANCEL' ? this.inviteSeq : ++this.cseq);
    if (method === 'INVITE') this.inviteSeq = seq;
    let branch = `z9hG4bK${tag()}`;
    if (method === 'INVITE') this.inviteBranch = branch;
    // RFC 3261 §9.1: a CANCEL has the INVITE's branch (and its To, without the dialog's tag).
    if (method === 'CANCEL') branch = this.inviteBranch;
    return wire(`${method} sip:callee@127.0.0.1:${this.uaPort} SIP/2.0`, this.peer.port, [
      this.from,
      method === 'CANCEL' ? `To: <sip:callee@127.0.0.1:${this.uaPort}>` : this.to,
      `Call-ID: ${this.callId}`,
      `CSeq: ${seq} ${method}`,
      `Contact: <sip:caller@127.0.0.1:${this.peer.port}>`,
      ...lines,
    ], body, branch);
  }

  send(text: string): Promise<void> {
    return this.peer.send(text, this.uaPort);
  }

  /** The next response to `method` with `status` (any final when status is undefined). */
  async response(method: string, status?: number, ms?: number): Promise<SipResponse> {
    const e = await this.peer.next((m) => 'status' in m && m.headers.cseq?.method === method && (status === undefined ? m.status >= 200 : m.status === status), ms);
    const rs = e.message as SipResponse;
    const t = rs.headers.to?.params.tag;
    if (typeof t === 'string' && this.toTag === '' && method === 'INVITE' && rs.status > 100 && rs.status < 300) this.toTag = t;
    return rs;
  }
}
