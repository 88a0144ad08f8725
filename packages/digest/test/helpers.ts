// Small builders shared by the digest tests (kept free of @sipts/message so unit tests do not
// depend on the parser; the wire test uses the real parse / stringify).
import type { AuthHeader, SipRequest, SipResponse } from '@sipts/message';
import { createDigest, type Digest, type DigestOptions } from '@sipts/digest';

export const SECRET = 'test secret: 32 bytes or more, fixed';
export const START = Date.UTC(2026, 0, 1);

/** A digest instance on a hand-driven clock. */
export function clockedDigest(options: DigestOptions = {}): { digest: Digest; clock: { now: number } } {
  const clock = { now: START };
  return { digest: createDigest({ secret: SECRET, now: () => clock.now, ...options }), clock };
}

export function request(method = 'REGISTER', uri = 'sip:registrar.example.com', content = ''): SipRequest {
  return {
    method,
    uri,
    version: '2.0',
    headers: {
      via: [{ version: '2.0', protocol: 'UDP', host: '192.0.2.10', port: 5060, params: { branch: 'z9hG4bK776asdhds' } }],
      from: { uri: 'sip:alice@example.com', params: { tag: '1928301774' } },
      to: { uri: 'sip:alice@example.com', params: {} },
      'call-id': 'a84b4c76e66710@192.0.2.10',
      cseq: { seq: 1, method },
      contact: [{ uri: 'sip:alice@192.0.2.10', params: {} }],
    },
    content,
  };
}

export function response(rq: SipRequest, status: number, content = ''): SipResponse {
  return {
    status,
    reason: status === 401 ? 'Unauthorized' : status === 407 ? 'Proxy Authentication Required' : 'OK',
    version: '2.0',
    headers: { via: rq.headers.via ?? [], 'call-id': rq.headers['call-id'] ?? '', cseq: rq.headers.cseq ?? { seq: 1, method: rq.method } },
    content,
  };
}

/** What a session looks like after being stored as JSON and read back. */
export function roundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function authorizationOf(rq: SipRequest, proxy = false): AuthHeader {
  const list = rq.headers[proxy ? 'proxy-authorization' : 'authorization'];
  if (list === undefined || list[0] === undefined) throw new Error('no authorization header');
  return list[0];
}

/** A request signed with `authorization` replaced by a copy with some params changed. */
export function withAuthorization(rq: SipRequest, changes: Record<string, string | undefined>, proxy = false): SipRequest {
  const copy = roundTrip(rq);
  const name = proxy ? 'proxy-authorization' : 'authorization';
  const header: Record<string, string> = { ...authorizationOf(rq, proxy) };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete header[key];
    else header[key] = value;
  }
  copy.headers[name] = [header as AuthHeader];
  return copy;
}
