// SIP text for the attack suite, written and read by hand (independent of @sipts/message, whose
// parser is one of the things under test): request builders, a small response reader and the
// client side of digest (RFC 2617 / 7616, MD5 with qop=auth).
import { createHash, randomBytes } from 'node:crypto';

export type Proto = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

let counter = 0;
/** A unique token for branches, tags and Call-IDs. */
export function token(prefix = ''): string {
  counter++;
  return `${prefix}${randomBytes(6).toString('hex')}${counter.toString(36)}`;
}

/** `host` for a URI or Via: IPv6 in brackets. */
export function hostOf(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

export interface RequestSpec {
  method: string;
  uri: string;
  /** Via sent-by of the client (host:port). */
  via: string;
  proto: Proto;
  callId?: string | undefined;
  cseq?: number | undefined;
  from?: string | undefined;
  to?: string | undefined;
  fromTag?: string | undefined;
  toTag?: string | undefined;
  branch?: string | undefined;
  maxForwards?: number | undefined;
  /** Extra header lines, without CRLF. */
  extra?: string[] | undefined;
  body?: string | undefined;
}

/** A request as text (Content-Length in bytes). */
export function request(spec: RequestSpec): string {
  const body = spec.body ?? '';
  const lines = [
    `${spec.method} ${spec.uri} SIP/2.0`,
    `Via: SIP/2.0/${spec.proto} ${spec.via};branch=${spec.branch ?? token('z9hG4bK')};rport`,
    `Max-Forwards: ${spec.maxForwards ?? 70}`,
    `From: <${spec.from ?? 'sip:probe@127.0.0.1'}>;tag=${spec.fromTag ?? token('f')}`,
    `To: <${spec.to ?? spec.uri}>${spec.toTag !== undefined ? `;tag=${spec.toTag}` : ''}`,
    `Call-ID: ${spec.callId ?? token('c')}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.method}`,
    ...(spec.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

const COMPACT: Record<string, string> = {
  v: 'via',
  i: 'call-id',
  f: 'from',
  t: 'to',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
};

export interface Message {
  /** Set for a response. */
  status: number | undefined;
  /** Set for a request. */
  method: string | undefined;
  /** Lower-case long names, each value as it appeared (one entry per header line). */
  headers: Map<string, string[]>;
  header(name: string): string | undefined;
  callId: string | undefined;
  text: string;
}

/** Reads one message's header section (no folding, no validation: enough to match replies). */
export function readMessage(text: string): Message {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  const first = lines[0] ?? '';
  let status: number | undefined;
  let method: string | undefined;
  if (first.startsWith('SIP/2.0 ')) status = Number(first.slice(8, 11));
  else method = first.slice(0, first.indexOf(' '));
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return {
    status,
    method,
    headers,
    header: (name) => headers.get(name)?.[0],
    callId: headers.get('call-id')?.[0],
    text,
  };
}

/** Splits a stream of SIP messages (Content-Length framed); returns the messages and the rest. */
export function splitStream(buffer: string): { messages: string[]; rest: string } {
  const messages: string[] = [];
  let rest = buffer;
  for (;;) {
    while (rest.startsWith('\r\n')) rest = rest.slice(2);
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
    const length = m ? Number(m[1]) : 0;
    const total = end + 4 + length;
    if (Buffer.byteLength(rest) < total) break;
    messages.push(rest.slice(0, total));
    rest = rest.slice(total);
  }
  return { messages, rest };
}

// ------------------------------------------------------------------ digest (client side)

export interface Challenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  qop: string | undefined;
  algorithm: string | undefined;
  stale: boolean;
}

/** The first Digest challenge of a 401/407. */
export function readChallenge(message: Message): Challenge | undefined {
  const value = message.header('www-authenticate') ?? message.header('proxy-authenticate');
  if (value === undefined || !/^digest\s/i.test(value)) return undefined;
  const params = new Map<string, string>();
  const re = /([a-zA-Z-]+)\s*=\s*("([^"]*)"|[^,\s]+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) params.set((m[1] ?? '').toLowerCase(), m[3] ?? m[2] ?? '');
  const nonce = params.get('nonce');
  const realm = params.get('realm');
  if (nonce === undefined || realm === undefined) return undefined;
  return {
    realm,
    nonce,
    opaque: params.get('opaque'),
    qop: params.get('qop'),
    algorithm: params.get('algorithm'),
    stale: (params.get('stale') ?? '').toLowerCase() === 'true',
  };
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export interface AnswerSpec {
  user: string;
  password: string;
  method: string;
  uri: string;
  challenge: Challenge;
  nc?: number | undefined;
  cnonce?: string | undefined;
  /** Parameters appended as they are (e.g. a duplicated `nonce="..."`), before the computed ones. */
  prefix?: string | undefined;
}

/** An Authorization header value answering `challenge` (qop=auth when offered, MD5). */
export function authorization(a: AnswerSpec): string {
  const ha1 = md5(`${a.user}:${a.challenge.realm}:${a.password}`);
  const ha2 = md5(`${a.method}:${a.uri}`);
  const qopAuth = a.challenge.qop !== undefined && a.challenge.qop.split(',').map((q) => q.trim()).includes('auth');
  const nc = (a.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = a.cnonce ?? token('cn');
  const response = qopAuth ? md5(`${ha1}:${a.challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`) : md5(`${ha1}:${a.challenge.nonce}:${ha2}`);
  const parts = [
    ...(a.prefix !== undefined ? [a.prefix] : []),
    `username="${a.user}"`,
    `realm="${a.challenge.realm}"`,
    `nonce="${a.challenge.nonce}"`,
    `uri="${a.uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
    ...(qopAuth ? [`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`] : []),
    ...(a.challenge.opaque !== undefined ? [`opaque="${a.challenge.opaque}"`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}
