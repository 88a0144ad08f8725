// REGISTERs as they arrive: built as text and parsed, so every string in them is what the parser
// makes (slices of the message), as on the wire.
import { parse } from '@sipts/message';
import type { Remote, SipRequest, SipResponse } from '@sipts/message';

export interface RegisterSpec {
  user?: string;
  domain?: string;
  callId?: string;
  cseq?: number;
  /** Contact header values as written (`<sip:a@127.0.0.1:5070>;expires=60`), or '*'. */
  contacts?: string[];
  expires?: number | string;
  via?: string;
  supported?: string;
  require?: string;
  path?: string[];
  extra?: string[];
}

export const UDP_SOURCE: Remote = { protocol: 'UDP', address: '127.0.0.1', port: 5070 };

export function registerText(spec: RegisterSpec = {}): string {
  const user = spec.user ?? 'alice';
  const domain = spec.domain ?? '127.0.0.1';
  const lines = [
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: ${spec.via ?? 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-test;rport'}`,
    `From: <sip:${user}@${domain}>;tag=t1`,
    `To: <sip:${user}@${domain}>`,
    `Call-ID: ${spec.callId ?? 'call-1'}`,
    `CSeq: ${spec.cseq ?? 1} REGISTER`,
    'Max-Forwards: 70',
  ];
  for (const c of spec.contacts ?? []) lines.push(`Contact: ${c}`);
  if (spec.expires !== undefined) lines.push(`Expires: ${spec.expires}`);
  if (spec.supported !== undefined) lines.push(`Supported: ${spec.supported}`);
  if (spec.require !== undefined) lines.push(`Require: ${spec.require}`);
  for (const p of spec.path ?? []) lines.push(`Path: ${p}`);
  lines.push(...(spec.extra ?? []));
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

export function registerRequest(spec: RegisterSpec = {}): SipRequest {
  return parse(registerText(spec)) as SipRequest;
}

/** The Contact values of a 200 as `uri -> params`. */
export function contactsOf(rs: SipResponse): Map<string, Record<string, string | null | undefined>> {
  const out = new Map<string, Record<string, string | null | undefined>>();
  const c = rs.headers.contact;
  if (Array.isArray(c)) for (const v of c) out.set(typeof v.uri === 'string' ? v.uri : String(v.uri), v.params);
  return out;
}
