// Code written for sip@0.0.6 behaves the same on @sipts/core where sip's behaviour is not a bug:
// each case runs on both libraries (sip@0.0.6 is a devDependency) and compares. The documented
// differences (README "Differences from `sip`") are asserted as differences.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@sipts/core';
import * as digestPackage from '@sipts/digest';
import type { SipMessage, SipRequest, SipResponse } from '@sipts/message';

interface SipModule {
  parse(input: string | Buffer): (SipMessage & { content?: string }) | undefined;
  makeResponse(rq: unknown, status: number, reason?: string): SipResponse;
  copyMessage(m: unknown, deep?: boolean): SipMessage;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sip = require('sip') as SipModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sipDigest = require('sip/digest') as typeof core.digest;
type ServerSession = Parameters<typeof core.digest.challenge>[0];
type ClientSession = Parameters<typeof core.digest.signRequest>[0];

const head = (contentLength: number): string =>
  [
    'MESSAGE sip:bob@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-fidelity',
    'From: <sip:alice@127.0.0.1>;tag=1',
    'To: <sip:bob@127.0.0.1>',
    'Call-ID: fidelity@127.0.0.1',
    'CSeq: 1 MESSAGE',
    'Content-Type: text/plain',
    `Content-Length: ${contentLength}`,
    '',
    '',
  ].join('\r\n');

describe('parse: a Content-Length larger than the bytes present (as sip)', () => {
  test.each([
    ['string', (s: string): string | Buffer => s],
    ['Buffer', (s: string): string | Buffer => Buffer.from(s)],
  ])('%s input: the message with the body that is there', (_kind, as) => {
    const text = head(20) + 'hello';
    const ours = core.parse(as(text));
    const theirs = sip.parse(as(text));
    expect(ours).toBeDefined();
    expect(theirs).toBeDefined();
    expect(ours?.content).toBe('hello');
    expect(ours?.content).toBe(theirs?.content);
    expect(ours?.headers['content-length']).toBe(20); // the declared value, as sip keeps it
    expect(Number(theirs?.headers['content-length'])).toBe(20);
    expect((ours as SipRequest).method).toBe('MESSAGE');
  });

  test('an empty body with a Content-Length', () => {
    expect(core.parse(head(7))?.content).toBe('');
    expect(sip.parse(head(7))?.content).toBe('');
  });

  test('a complete or longer body is cut by Content-Length as before', () => {
    expect(core.parse(head(5) + 'hello')?.content).toBe('hello');
    expect(core.parse(head(3) + 'hello')?.content).toBe(sip.parse(head(3) + 'hello')?.content);
  });

  test('still undefined for what is not a message, and above maxContentLength', () => {
    expect(core.parse('garbage\r\n\r\n')).toBeUndefined();
    expect(core.parse(head(10_000_000) + 'x')).toBeUndefined();
    expect(core.parse(head(20).replace('Content-Length: 20', 'Content-Length: x') + 'hello')).toBeUndefined();
  });

  test('@sipts/message keeps the strict RFC 3261 §18.3 behaviour', () => {
    expect(() => core.stringify(core.parse(head(20) + 'hello') as SipMessage)).not.toThrow();
    // The strict parser is the one the transports use.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const message = require('@sipts/message') as typeof import('@sipts/message');
    expect(() => message.parse(head(20) + 'hello')).toThrow(expect.objectContaining({ code: 'ERR_CONTENT_LENGTH' }));
  });
});

/** A request built by hand the way code written for sip does: one Via object, few headers. */
function handBuilt(): SipRequest {
  return {
    method: 'REGISTER',
    uri: 'sip:127.0.0.1',
    headers: {
      via: { version: '2.0', protocol: 'UDP', host: '127.0.0.1', port: 5070, params: { branch: 'z9hG4bK-hand' } },
      from: { uri: 'sip:alice@127.0.0.1', params: { tag: 'a1' } },
      to: { uri: 'sip:alice@127.0.0.1', params: {} },
      'call-id': 'hand@127.0.0.1',
      cseq: { seq: 1, method: 'REGISTER' },
    },
  } as unknown as SipRequest;
}
function minimal(): SipRequest {
  return {
    method: 'OPTIONS',
    uri: 'sip:127.0.0.1',
    headers: { via: { version: '2.0', protocol: 'UDP', host: '127.0.0.1', params: {} } },
  } as unknown as SipRequest;
}

describe.each([
  ['one Via object', handBuilt],
  ['only a Via object', minimal],
])('helpers on a request built by hand (%s)', (_name, build) => {
  test('makeResponse', () => {
    const ours = core.makeResponse(build(), 200, 'OK');
    const theirs = sip.makeResponse(build(), 200, 'OK');
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers.via).toEqual([build().headers.via]);
    expect(ours.headers['call-id']).toEqual(theirs.headers['call-id']);
    expect(ours.headers.cseq).toEqual(theirs.headers.cseq);
  });

  test('copyMessage: a new Via, the same shape', () => {
    const rq = build();
    const ours = core.copyMessage(rq);
    const theirs = sip.copyMessage(build());
    expect(ours.headers.via).toEqual(theirs.headers.via);
    expect(ours.headers.via).not.toBe(rq.headers.via);
    expect(core.copyMessage(rq, true)).toEqual(rq);
  });

  test('stringify writes the Via (and parses back)', () => {
    const text = core.stringify(build());
    expect(text).toContain('Via: SIP/2.0/UDP 127.0.0.1');
    expect(core.parse(text)).toBeDefined();
    expect(core.stringify(core.makeResponse(build(), 200))).toContain('Via: SIP/2.0/UDP 127.0.0.1');
  });

  test.each([
    ['@sipts/core digest', core.digest],
    ['@sipts/digest', digestPackage as unknown as typeof core.digest],
  ])('%s: challenge, signRequest, authenticateRequest, signResponse, authenticateResponse', (_lib, digest) => {
    for (const lib of [digest, sipDigest]) {
      const server: ServerSession = { realm: '127.0.0.1' };
      const client: ClientSession = {};
      const rs = lib.challenge(server, core.makeResponse(build(), 401));
      expect(rs.headers['www-authenticate']).toHaveLength(lib === sipDigest ? 1 : rs.headers['www-authenticate']!.length);
      const rq = build();
      lib.signRequest(client, rq, rs, { user: 'alice', password: 'secret' });
      expect(rq.headers.authorization).toHaveLength(1);
      expect(lib.authenticateRequest(server, rq, { user: 'alice', password: 'secret' })).toBe(true);
      expect(lib.authenticateRequest(server, build(), { user: 'alice', password: 'secret' })).toBe(false);
      const ok = core.makeResponse(rq, 200);
      lib.signResponse(server, ok);
      expect(lib.authenticateResponse(client, ok)).toBe(true);
    }
  });

  test('digest auth-int and proxy challenges with no content and no CSeq', () => {
    for (const lib of [core.digest, sipDigest]) {
      const server = { realm: '127.0.0.1', qop: 'auth-int', proxy: true } as ServerSession;
      const rs = lib.challenge(server, { status: 407, reason: 'Proxy Authentication Required', headers: {} } as unknown as SipResponse);
      const rq = minimal();
      lib.signRequest({}, rq, rs, { user: 'u', password: 'p' });
      expect(rq.headers['proxy-authorization']).toHaveLength(1);
      expect(lib.authenticateRequest(server, rq, { user: 'u', password: 'p' })).toBe(true);
    }
  });
});

describe('documented differences from sip', () => {
  test('folded header values are unfolded to one space (sip keeps the raw CRLF)', () => {
    const text = head(0).replace('Content-Type: text/plain', 'Subject: first\r\n  second');
    expect(core.parse(text)?.headers['subject']).toBe('first second');
    expect(sip.parse(text)?.headers['subject']).toBe('first\r\n  second');
  });

  test('an unbracketed IPv6 Request-URI is refused (RFC 5118 §4.2); sip took it', () => {
    const text = head(0).replace('MESSAGE sip:bob@127.0.0.1 SIP/2.0', 'MESSAGE sip:2001:db8::10 SIP/2.0');
    expect(core.parse(text)).toBeUndefined();
    expect(sip.parse(text)).toBeDefined();
    const bracketed = head(0).replace('MESSAGE sip:bob@127.0.0.1 SIP/2.0', 'MESSAGE sip:[2001:db8::10] SIP/2.0');
    expect((core.parse(bracketed) as SipRequest).uri).toBe('sip:[2001:db8::10]');
  });

  test("the core README lists the drop-ins, require('sip/sdp') included, and these differences", () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const [from, to] of [
      ["require('sip')", "require('@sipts/core')"],
      ["require('sip/digest')", "require('@sipts/digest')"],
      ["require('sip/proxy')", "require('@sipts/proxy')"],
      ["require('sip/sdp')", "require('@sipts/sdp')"],
    ]) {
      expect(readme).toMatch(new RegExp(`\\| \`${from!.replace(/[()/.]/g, '\\$&')}\` \\| \`${to!.replace(/[()/.@]/g, '\\$&')}\``));
    }
    const differences = readme.split('## Differences from `sip`')[1] ?? '';
    expect(differences).toMatch(/[Ff]olded header/);
    expect(differences).toMatch(/RFC 5118/);
  });
});
