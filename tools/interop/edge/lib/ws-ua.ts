// A small SIP user agent over WebSocket (RFC 7118) for the edge interop tests, written with the
// `ws` package and @sipts/message: one SIP message per WebSocket message, a Contact under a
// `.invalid` host (RFC 7118 §5: it cannot be reached but over its own connection), and just
// enough dialog state (RFC 3261 §12.1.1: the route set is the INVITE's Record-Route in order)
// to send re-INVITE, ACK and BYE as the callee. Every wait is bounded.
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { makeResponse, parse, stringify } from '@sipts/message';
import type { NameAddr, RouteAddr, SipMessage, SipRequest, SipResponse } from '@sipts/message';

const SDP = ['v=0', 'o=ws 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

const token = (): string => randomBytes(6).toString('hex');

interface Waiter {
  accept: (m: SipMessage) => boolean;
  resolve: (m: SipMessage) => void;
}

/** The dialog as the callee sees it (RFC 3261 §12.1.1). */
export interface CalleeDialog {
  callId: string;
  localTag: string;
  /** The caller's From (our To) and our To (our From). */
  remote: { uri: string; params: NameAddr['params'] };
  local: { uri: string; params: NameAddr['params'] };
  /** The caller's Contact: the Request-URI of our requests. */
  remoteTarget: string;
  /** The INVITE's Record-Route, in order. */
  routeSet: RouteAddr[];
  cseq: number;
}

export class WsUa {
  readonly host = `${token()}.invalid`;
  readonly contact: string;
  readonly #ws: WebSocket;
  readonly #inbox: SipMessage[] = [];
  readonly #waiters: Waiter[] = [];

  private constructor(ws: WebSocket, readonly user: string) {
    this.#ws = ws;
    this.contact = `sip:${user}@${this.host};transport=ws`;
    ws.on('message', (data: Buffer) => this.#received(data.toString('utf8')));
  }

  /** Connects with the `sip` subprotocol (RFC 7118 §4.1). */
  static open(url: string, user: string): Promise<WsUa> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'sip');
      ws.once('open', () => resolve(new WsUa(ws, user)));
      ws.once('error', reject);
    });
  }

  send(message: SipMessage): void {
    this.#ws.send(stringify(message));
  }

  /** The next message `accept` takes (messages it does not take stay for a later call); rejects after `ms`. */
  next(accept: (m: SipMessage) => boolean, what: string, ms = 8000): Promise<SipMessage> {
    const i = this.#inbox.findIndex(accept);
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0] as SipMessage);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        accept,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.user} over WebSocket: no ${what} within ${ms} ms (received: ${this.#inbox.map(describe).join(', ') || 'nothing'})`));
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** The next request of `method` (`inDialog`: with a To tag or not). */
  async request(method: string, inDialog: boolean): Promise<SipRequest> {
    const what = `${inDialog ? 'in-dialog ' : ''}${method}`;
    return (await this.next((m) => 'method' in m && m.method === method && (m.headers.to?.params['tag'] !== undefined) === inDialog, what)) as SipRequest;
  }

  /** The final response to the request with this CSeq number and method. */
  async final(seq: number, method: string): Promise<SipResponse> {
    return (await this.next(
      (m) => 'status' in m && m.status >= 200 && m.headers.cseq?.seq === seq && m.headers.cseq.method === method,
      `final response to ${method} ${seq}`,
    )) as SipResponse;
  }

  /** REGISTER over the connection (a WebSocket client's binding, reached over this flow). */
  async register(registrar: string, domain: string): Promise<SipResponse> {
    this.send({
      method: 'REGISTER',
      uri: registrar,
      version: '2.0',
      headers: {
        via: [this.#via()],
        from: { uri: `sip:${this.user}@${domain}`, params: { tag: token() } },
        to: { uri: `sip:${this.user}@${domain}`, params: {} },
        'call-id': `${token()}@${this.host}`,
        cseq: { seq: 1, method: 'REGISTER' },
        contact: [{ uri: this.contact, params: {} }],
        expires: '600',
        'max-forwards': 70,
      },
      content: '',
    });
    return this.final(1, 'REGISTER');
  }

  /** Answers an initial INVITE 200 (Record-Route copied, RFC 3261 §12.1.1) and returns the dialog. */
  answer(invite: SipRequest): CalleeDialog {
    const localTag = token();
    const rs = makeResponse(invite, 200, 'OK', {
      toTag: localTag,
      headers: { contact: [{ uri: this.contact, params: {} }], 'content-type': 'application/sdp' },
      content: SDP,
    });
    const rr = invite.headers['record-route'];
    if (rr !== undefined) rs.headers['record-route'] = rr;
    this.send(rs);
    const contact = invite.headers.contact;
    const first = Array.isArray(contact) ? contact[0] : undefined;
    return {
      callId: String(invite.headers['call-id']),
      localTag,
      remote: { uri: String(invite.headers.from?.uri), params: { ...(invite.headers.from?.params ?? {}) } },
      local: { uri: String(invite.headers.to?.uri), params: { tag: localTag } },
      remoteTarget: String(first?.uri),
      routeSet: rr ?? [],
      cseq: 0,
    };
  }

  /** 200 to an in-dialog request (re-INVITE with an SDP answer, BYE without). */
  ok(rq: SipRequest): void {
    const sdp = rq.method === 'INVITE';
    this.send(
      makeResponse(rq, 200, 'OK', {
        headers: { contact: [{ uri: this.contact, params: {} }], ...(sdp ? { 'content-type': 'application/sdp' } : {}) },
        content: sdp ? SDP : '',
      }),
    );
  }

  /** An in-dialog request from the callee (RFC 3261 §12.2.1.1): Request-URI the remote target, Route the route set. */
  inDialog(dialog: CalleeDialog, method: string, seq?: number): SipRequest {
    if (seq === undefined) seq = ++dialog.cseq;
    const sdp = method === 'INVITE';
    const rq: SipRequest = {
      method,
      uri: dialog.remoteTarget,
      version: '2.0',
      headers: {
        via: [this.#via()],
        from: { uri: dialog.local.uri, params: { ...dialog.local.params } },
        to: { uri: dialog.remote.uri, params: { ...dialog.remote.params } },
        'call-id': dialog.callId,
        cseq: { seq, method },
        'max-forwards': 70,
        contact: [{ uri: this.contact, params: {} }],
        ...(sdp ? { 'content-type': 'application/sdp' } : {}),
      },
      content: sdp ? SDP : '',
    };
    if (dialog.routeSet.length > 0) rq.headers.route = dialog.routeSet.map((r) => ({ ...r, params: { ...r.params } }));
    this.send(rq);
    return rq;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      this.#ws.once('close', () => resolve());
      this.#ws.close();
    });
  }

  #via(): NonNullable<SipRequest['headers']['via']>[number] {
    return { version: '2.0', protocol: 'WS', host: this.host, params: { branch: `z9hG4bK${token()}` } };
  }

  #received(text: string): void {
    let message: SipMessage;
    try {
      message = parse(text);
    } catch {
      return;
    }
    const i = this.#waiters.findIndex((w) => w.accept(message));
    if (i >= 0) {
      const [waiter] = this.#waiters.splice(i, 1);
      waiter?.resolve(message);
      return;
    }
    if (this.#inbox.length < 100) this.#inbox.push(message);
  }
}

function describe(m: SipMessage): string {
  return 'method' in m ? `${m.method} (CSeq ${m.headers.cseq?.seq ?? '?'})` : `${m.status} ${m.headers.cseq?.method ?? ''}`;
}
