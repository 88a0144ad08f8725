// A UAC that places one call (RFC 3261 §13): INVITE with an SDP offer, progress printed, the 2xx
// ACKed (to its Contact, through its Record-Route set), the call held, then BYE; a BYE from the
// callee ends it early. The SDP is a placeholder: no media flows.
//
//   pnpm example examples/make-call.ts sip:alice@127.0.0.1:5060 [seconds]
import { randomBytes, randomInt } from 'node:crypto';
import { create, makeResponse, stringifyUri } from '@sipts/core';
import type { RouteAddr, SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';
import { isMain } from './lib/run.js';

export interface MakeCallOptions {
  /** Who to call: a SIP URI. */
  target: string;
  /** Caller identity. Default sip:caller@<our address>. */
  from?: string;
  /** How long to hold an answered call before BYE, in ms. Default 1000. */
  holdMs?: number;
  /** Give up: CANCEL while ringing, BYE once answered. */
  signal?: AbortSignal;
  /** Options of the stack made for the call (default: 127.0.0.1, a free port). */
  stackOptions?: StackOptions;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface CallResult {
  /** Final status of the INVITE. */
  status: number;
  /** How the call ended when answered: we sent BYE, or the callee did. */
  ended?: 'local-bye' | 'remote-bye';
  /** Status of our BYE, when we sent one. */
  byeStatus?: number;
}

const sdp = (address: string): string =>
  ['v=0', `o=- ${randomInt(1e9)} 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', 'm=audio 49170 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

export async function makeCall(options: MakeCallOptions): Promise<CallResult> {
  const log = options.log ?? ((): void => {});
  const hangups = new Map<string, () => void>();
  const stack: SipStack = create({ address: '127.0.0.1', port: 0, ...options.stackOptions }, (rq) => {
    if (rq.method === 'ACK') return;
    const end = hangups.get(rq.headers['call-id'] ?? '');
    if (rq.method === 'BYE' && end !== undefined) {
      stack.send(makeResponse(rq, 200, 'OK'));
      end();
    } else {
      stack.send(makeResponse(rq, rq.headers.to?.params.tag ? 481 : 405));
    }
  });
  try {
    await stack.ready();
    const host = stack.sentBy();
    const callId = randomBytes(12).toString('hex');
    const invite: SipRequest = {
      method: 'INVITE',
      uri: options.target,
      headers: {
        to: { uri: options.target, params: {} },
        from: { uri: options.from ?? `sip:caller@${host}`, params: { tag: randomBytes(6).toString('hex') } },
        'call-id': callId,
        cseq: { seq: randomInt(1, 1e5), method: 'INVITE' },
        contact: [{ uri: stack.localUri({ user: 'caller' }), params: {} }],
        'content-type': 'application/sdp',
      },
      content: sdp(host.replace(/^\[|\]$/g, '')),
    };
    let remoteBye: () => void = () => {};
    const byeReceived = new Promise<void>((resolve) => (remoteBye = resolve));
    hangups.set(callId, () => remoteBye());

    const final = await stack.request(invite, {
      signal: options.signal,
      onProvisional: (rs) => log(`call progress: ${rs.status} ${rs.reason}`),
    });
    if (final.status >= 300 || final.status < 200) {
      log(`call failed: ${final.status} ${final.reason}`);
      return { status: final.status };
    }
    log(`call answered (To tag ${String(final.headers.to?.params.tag)})`);
    const dialog = dialogOf(invite, final);
    // RFC 3261 §13.2.2.4: the ACK for a 2xx is ours to send, end to end.
    stack.send(dialog.request('ACK', invite.headers.cseq!.seq));

    let timer: NodeJS.Timeout | undefined;
    const held = new Promise<'held'>((resolve) => {
      timer = setTimeout(() => resolve('held'), options.holdMs ?? 1000);
      options.signal?.addEventListener('abort', () => resolve('held'), { once: true });
    });
    const outcome = await Promise.race([held, byeReceived.then(() => 'bye' as const)]);
    clearTimeout(timer);
    if (outcome === 'bye') {
      log('call ended by the callee');
      return { status: final.status, ended: 'remote-bye' };
    }
    const byeResponse = await stack.request(dialog.request('BYE', invite.headers.cseq!.seq + 1));
    log(`call ended: BYE answered ${byeResponse.status}`);
    return { status: final.status, ended: 'local-bye', byeStatus: byeResponse.status };
  } finally {
    await stack.close();
  }
}

/** The dialog a 2xx sets up (RFC 3261 §12.1.2), as a factory of in-dialog requests. */
function dialogOf(invite: SipRequest, ok: SipResponse): { request(method: string, seq: number): SipRequest } {
  const contact = ok.headers.contact;
  const remoteTarget = contact !== undefined && contact !== '*' && contact[0] !== undefined ? contact[0].uri : invite.uri;
  // The UAC's route set is the Record-Route of the 2xx in reverse order.
  const routeSet: RouteAddr[] = (ok.headers['record-route'] ?? []).slice().reverse();
  return {
    request: (method, seq) => ({
      method,
      uri: typeof remoteTarget === 'string' ? remoteTarget : stringifyUri(remoteTarget),
      headers: {
        to: ok.headers.to!,
        from: invite.headers.from!,
        'call-id': invite.headers['call-id']!,
        cseq: { seq, method },
        via: [],
        ...(routeSet.length > 0 ? { route: routeSet.map((r) => ({ ...r, params: { ...r.params } })) } : {}),
      },
    }),
  };
}

if (isMain('make-call.ts')) {
  const target = process.argv[2];
  if (target === undefined || !/^sips?:/.test(target)) {
    console.error('usage: pnpm example examples/make-call.ts sip:user@host[:port] [seconds]');
    process.exit(2);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  makeCall({
    target,
    holdMs: Number(process.argv[3] ?? 5) * 1000,
    signal: controller.signal,
    stackOptions: { address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: Number(process.env.SIP_PORT ?? 0) },
    log: (line) => console.log(line),
  }).then(
    (result) => process.exit(result.status >= 200 && result.status < 300 ? 0 : 1),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
