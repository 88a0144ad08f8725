// REGISTER with digest authentication, by hand, over any client of lib/net.ts.
import type { Inbox, StreamClient, UdpClient } from './net.js';
import { authorization, readChallenge, request, token, type Challenge, type Message, type Proto } from './sip.js';
import type { Endpoint } from './target.js';

/** Where a client sends and reads. */
export interface Channel {
  inbox: Inbox;
  sentBy: string;
  proto: Proto;
  send(text: string): Promise<void> | boolean;
}

export function udpChannel(client: UdpClient, ep: Endpoint): Channel {
  return { inbox: client.inbox, sentBy: client.sentBy, proto: 'UDP', send: (text) => client.send(text, ep.port, ep.address) };
}

export function streamChannel(client: StreamClient, proto: 'TCP' | 'TLS' = 'TCP'): Channel {
  return { inbox: client.inbox, sentBy: client.sentBy, proto, send: (text) => client.write(text) };
}

export interface RegisterSpec {
  ep: Endpoint;
  user: string;
  /** Contact header values (each `<uri>;params`); none: a fetch of the bindings. */
  contacts: string[];
  expires?: number | undefined;
  extra?: string[] | undefined;
  callId?: string | undefined;
  timeoutMs?: number | undefined;
}

export function registerText(ch: Channel, s: RegisterSpec, cseq: number, callId: string, auth?: string, fromTag?: string): string {
  const host = s.ep.address.includes(':') ? `[${s.ep.address}]` : s.ep.address;
  return request({
    method: 'REGISTER',
    uri: `sip:${host}:${s.ep.port}`,
    via: ch.sentBy,
    proto: ch.proto,
    callId,
    cseq,
    from: `sip:${s.user}@127.0.0.1`,
    to: `sip:${s.user}@127.0.0.1`,
    fromTag: fromTag ?? 'reg',
    extra: [
      ...s.contacts.map((c) => `Contact: ${c}`),
      ...(s.expires !== undefined ? [`Expires: ${s.expires}`] : []),
      ...(auth !== undefined ? [`Authorization: ${auth}`] : []),
      ...(s.extra ?? []),
    ],
  });
}

/** Sends one REGISTER and returns its final response (undefined on timeout). */
export async function sendRegister(ch: Channel, s: RegisterSpec, cseq: number, callId: string, auth?: string): Promise<Message | undefined> {
  const answer = ch.inbox.waitFor((m) => m.status !== undefined && m.status >= 200 && m.callId === callId && (m.header('cseq') ?? '').startsWith(`${cseq} `), s.timeoutMs ?? 2000);
  await ch.send(registerText(ch, s, cseq, callId, auth));
  return answer;
}

export interface RegisterResult {
  /** The final response to the authenticated REGISTER (or to the first, if it was not 401). */
  final: Message | undefined;
  challenge: Challenge | undefined;
  callId: string;
  /** CSeq of the last REGISTER sent. */
  cseq: number;
}

/** REGISTER, 401, REGISTER with credentials: the usual two round trips. */
export async function register(ch: Channel, s: RegisterSpec, password: string, cseqStart = 1): Promise<RegisterResult> {
  const callId = s.callId ?? token('reg');
  const first = await sendRegister(ch, s, cseqStart, callId);
  if (first?.status !== 401) return { final: first, challenge: undefined, callId, cseq: cseqStart };
  const challenge = readChallenge(first);
  if (challenge === undefined) return { final: first, challenge, callId, cseq: cseqStart };
  const uri = `sip:${s.ep.address.includes(':') ? `[${s.ep.address}]` : s.ep.address}:${s.ep.port}`;
  const auth = authorization({ user: s.user, password, method: 'REGISTER', uri, challenge });
  const final = await sendRegister(ch, s, cseqStart + 1, callId, auth);
  return { final, challenge, callId, cseq: cseqStart + 1 };
}
