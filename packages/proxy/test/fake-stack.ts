// A fake stack with the semantics of @sipts/core's stack: requests get our Via on top and a
// client "transaction" whose callback the test drives; `cancel(request)` is recorded (the real
// stack's INVITE transaction sends the CANCEL, RFC 3261 §9.1); each received request comes with
// a reply handle (unless `replyHandles` is false, as a sip@0.0.6-style handler call); responses
// sent through handles or `send` are recorded, `send(response)` counted as a lookup.
import type { Remote, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { ProxyStack, ResponseCallback, StackFactory, StackReply, StackRequestHandler } from '@sipts/proxy';

export interface SentRequest {
  request: SipRequest;
  callback: ResponseCallback | undefined;
}

/** A reply handle for one received request: what it sends lands in the stack's `responses`. */
export class FakeReply implements StackReply {
  finalSent = false;
  readonly sent: SipResponse[] = [];

  constructor(private readonly stack: FakeStack) {}

  reply(response: SipResponse): boolean {
    this.stack.responses.push(response);
    this.sent.push(response);
    if (response.status >= 200) this.finalSent = true;
    return true;
  }
}

export class FakeStack implements ProxyStack {
  onRequest: StackRequestHandler = () => undefined;
  readonly requests: SentRequest[] = [];
  readonly responses: SipResponse[] = [];
  readonly stateless: SipMessage[] = [];
  /** The INVITE objects `cancel` was called with, in order. */
  readonly cancels: SipRequest[] = [];
  /** Responses sent with `send(response)`: the real stack matches each to its transaction again. */
  lookups = 0;
  /** Hand a reply handle with each received request (the @sipts/core behaviour). */
  replyHandles = true;
  /** The handles handed out, in order. */
  readonly replies: FakeReply[] = [];
  destroyed = false;
  throwOnSend = false;
  private seq = 0;

  constructor(readonly host = '10.0.0.1', readonly port = 5060) {}

  send(message: SipMessage, callback?: ResponseCallback): void {
    if ('status' in message) {
      this.lookups++;
      this.responses.push(message as SipResponse);
      return;
    }
    const rq = message as SipRequest;
    if (this.throwOnSend && rq.method !== 'CANCEL') throw new Error('no route to host');
    if (rq.method !== 'CANCEL') {
      const branch = `z9hG4bKfake${++this.seq}`;
      rq.headers.via = [
        { version: '2.0', protocol: 'UDP', host: this.host, port: this.port, params: { branch, rport: null } },
        ...(rq.headers.via ?? []),
      ];
    }
    this.requests.push({ request: rq, callback });
  }

  cancel(request: SipRequest): boolean {
    this.cancels.push(request);
    return true;
  }

  sendStateless(message: SipMessage): void {
    this.stateless.push(message);
  }

  destroy(): void {
    this.destroyed = true;
  }

  hostname(): string {
    return this.host;
  }

  /** Requests of a method the proxy sent, in order. */
  sent(method: string): SentRequest[] {
    return this.requests.filter((r) => r.request.method === method);
  }

  /** Answer a request the proxy sent, as the stack would report it: our Via still on top. */
  answer(sent: SentRequest, status: number, extra: Partial<SipResponse['headers']> = {}): SipResponse {
    const h = sent.request.headers;
    const rs: SipResponse = {
      status,
      reason: 'Reason',
      version: '2.0',
      headers: {
        via: (h.via ?? []).map((v) => ({ ...v, params: { ...v.params } })),
        from: h.from,
        to: status > 100 ? { ...(h.to ?? { uri: 'sip:x@y', params: {} }), params: { ...(h.to?.params ?? {}), tag: `t${status}` } } : h.to,
        'call-id': h['call-id'],
        cseq: h.cseq,
        ...extra,
      },
      content: '',
    };
    sent.callback?.(rs, { protocol: 'UDP', address: '10.0.0.9', port: 5060 });
    return rs;
  }

  /** Deliver an incoming request to the proxy. */
  receive(rq: SipRequest, remote: Remote = { protocol: 'UDP', address: '10.0.0.2', port: 5062 }): void {
    if (!this.replyHandles) {
      this.onRequest(rq, remote);
      return;
    }
    const reply = new FakeReply(this);
    this.replies.push(reply);
    this.onRequest(rq, remote, reply);
  }
}

export function fakeStackFactory(stack: FakeStack): StackFactory<Record<string, unknown>> {
  return (_options, onRequest) => {
    stack.onRequest = onRequest;
    return stack;
  };
}

let counter = 0;

export function invite(overrides: Partial<SipRequest['headers']> = {}, method = 'INVITE'): SipRequest {
  counter++;
  return {
    method,
    uri: 'sip:bob@example.com',
    version: '2.0',
    headers: {
      via: [
        {
          version: '2.0',
          protocol: 'UDP',
          host: '10.0.0.2',
          port: 5062,
          params: { branch: `z9hG4bKcaller${counter}`, received: '192.0.2.7', rport: '40000' },
        },
      ],
      from: { uri: 'sip:alice@example.com', params: { tag: 'a1' } },
      to: { uri: 'sip:bob@example.com', params: {} },
      'call-id': `call-${counter}@example.com`,
      cseq: { seq: 1, method },
      'max-forwards': 70,
      contact: [{ uri: 'sip:alice@10.0.0.2:5062', params: {} }],
      ...overrides,
    },
    content: '',
  };
}

/** The CANCEL a caller sends for `rq` (same top Via, §9.1). */
export function cancelFor(rq: SipRequest): SipRequest {
  const h = rq.headers;
  return {
    method: 'CANCEL',
    uri: rq.uri,
    version: '2.0',
    headers: {
      via: h.via?.slice(0, 1),
      from: h.from,
      to: h.to,
      'call-id': h['call-id'],
      cseq: { seq: h.cseq?.seq ?? 1, method: 'CANCEL' },
      'max-forwards': 70,
    },
    content: '',
  };
}
