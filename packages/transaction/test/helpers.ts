// Test helpers: an in-memory Transport, message builders and a layer on a ManualClock.
import { parse, type Remote, type SipMessage, type SipRequest, type SipResponse } from '@sipts/message';
import {
  ManualClock,
  TransactionLayer,
  type BoundAddress,
  type SendOptions,
  type ServerTransaction,
  type Transport,
  type TransportProtocol,
  type TransactionLayerOptions,
} from '@sipts/transaction';

export interface SentMessage {
  at: number;
  text: string;
  message: SipMessage;
  target: Remote;
  options: SendOptions | undefined;
}

/** A Transport that records what it is asked to send; `fail` makes sends reject. */
export class FakeTransport implements Transport {
  readonly sent: SentMessage[] = [];
  fail: Error | undefined;
  constructor(
    readonly protocol: TransportProtocol,
    private readonly clock: ManualClock,
  ) {}
  get reliable(): boolean {
    return this.protocol !== 'UDP';
  }
  listen(): Promise<BoundAddress> {
    return Promise.resolve({ address: '127.0.0.1', port: 5060, family: 'IPv4' });
  }
  address(): BoundAddress | undefined {
    return undefined;
  }
  send(data: Uint8Array | string, target: Remote, options?: SendOptions): Promise<void> {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    this.sent.push({ at: this.clock.now(), text, message: parse(text), target, options });
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** Times (ms) of sends whose first line starts with `prefix`. */
  times(prefix: string): number[] {
    return this.sent.filter((s) => s.text.startsWith(prefix)).map((s) => s.at);
  }
  count(prefix: string): number {
    return this.times(prefix).length;
  }
  last(): SentMessage {
    const s = this.sent[this.sent.length - 1];
    if (!s) throw new Error('nothing sent');
    return s;
  }
}

export const peer: Remote = { protocol: 'UDP', address: '192.0.2.10', port: 5060 };

let counter = 0;

export interface RequestSpec {
  method?: string;
  branch?: string | undefined;
  callId?: string;
  seq?: number;
  host?: string;
  port?: number;
  uri?: string;
  fromTag?: string;
  toTag?: string;
  route?: boolean;
}

/** A parsed request as a transport would deliver it. */
export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? 'INVITE';
  const n = ++counter;
  const branch = 'branch' in spec ? spec.branch : `z9hG4bK-test-${n}`;
  const via = `SIP/2.0/UDP ${spec.host ?? 'client.example.com'}:${spec.port ?? 5060}` + (branch ? `;branch=${branch}` : '');
  const cseqMethod = method === 'ACK' ? 'ACK' : method;
  const lines = [
    `${method} ${spec.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    ...(spec.route ? ['Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>'] : []),
    `From: <sip:alice@example.com>;tag=${spec.fromTag ?? 'from' + n}`,
    `To: <sip:bob@example.com>${spec.toTag ? ';tag=' + spec.toTag : ''}`,
    `Call-ID: ${spec.callId ?? 'call-' + n}@example.com`,
    `CSeq: ${spec.seq ?? 1} ${cseqMethod}`,
    'Content-Length: 0',
    '',
    '',
  ];
  return parse(lines.join('\r\n')) as SipRequest;
}

/** The same request again, as a new parse (a retransmission), optionally as another method. */
export function again(rq: SipRequest, method?: string, toTag?: string): SipRequest {
  const copy = JSON.parse(JSON.stringify(rq)) as SipRequest;
  if (method) {
    copy.method = method;
    copy.headers.cseq = { seq: rq.headers.cseq!.seq, method };
  }
  if (toTag !== undefined) copy.headers.to = { ...copy.headers.to!, params: { tag: toTag } };
  return copy;
}

/** A response to `rq` (Via, From, To, Call-ID, CSeq copied), as a peer would send it. */
export function response(rq: SipRequest, status: number, toTag?: string): SipResponse {
  const h = JSON.parse(JSON.stringify(rq.headers)) as SipRequest['headers'];
  const headers: SipResponse['headers'] = { via: h.via!, from: h.from!, to: h.to!, 'call-id': h['call-id']!, cseq: h.cseq! };
  if (toTag !== undefined) headers.to = { ...h.to!, params: { ...h.to!.params, tag: toTag } };
  return { status, reason: 'Reason', version: '2.0', headers, content: '' };
}

/** An outgoing request as a TU would hand it to sendRequest (no branch yet). */
export function outgoing(method = 'INVITE', spec: RequestSpec = {}): SipRequest {
  const rq = request({ ...spec, method, branch: undefined });
  return rq;
}

export interface Harness {
  clock: ManualClock;
  layer: TransactionLayer;
  udp: FakeTransport;
  tcp: FakeTransport;
  requests: Array<{ request: SipRequest; remote: Remote; tx: ServerTransaction }>;
  acks: SipRequest[];
  strays: SipResponse[];
}

export function harness(options: Partial<TransactionLayerOptions> = {}): Harness {
  const clock = new ManualClock();
  const requests: Harness['requests'] = [];
  const acks: SipRequest[] = [];
  const strays: SipResponse[] = [];
  const layer = new TransactionLayer({
    clock,
    onRequest: (rq, remote, tx) => requests.push({ request: rq, remote, tx }),
    onAck: (ack) => acks.push(ack),
    onStrayResponse: (rs) => strays.push(rs),
    ...options,
  });
  return { clock, layer, udp: new FakeTransport('UDP', clock), tcp: new FakeTransport('TCP', clock), requests, acks, strays };
}

/** Lets rejected send promises settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Records a transaction's state transitions. */
export function statesOf(layer: TransactionLayer): Map<object, string[]> {
  const map = new Map<object, string[]>();
  layer.on('created', (tx) => map.set(tx, [tx.state]));
  layer.on('state', (tx, _from, to) => {
    const list = map.get(tx) ?? [];
    list.push(to);
    map.set(tx, list);
  });
  return map;
}
