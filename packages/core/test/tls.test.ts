// TLS through the stack: sips: URIs resolve to TLS, and a peer resolved from a SIP domain is
// verified against that domain (RFC 5922), not against the address it resolved to.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeResponse } from '@sipts/core';
import type { Remote, ResolvedTarget, Resolver } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

let key = '';
let cert = '';
let haveOpenssl = true;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'sipts-core-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=sip.example.test',
        '-addext', 'subjectAltName=DNS:sip.example.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  } catch (error) {
    haveOpenssl = false;
    console.warn(`core TLS tests skipped: cannot run openssl (${String(error)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('TLS', () => {
  test('a sips: request to a domain goes over TLS, verified against the domain name', async () => {
    if (!haveOpenssl) return;
    let seen: Remote | undefined;
    const server = await listeningStack({ tls: { key, cert }, tls_port: 0, udp: false }, (rq, remote) => {
      seen = remote;
      server.send(makeResponse(rq, 200));
    });
    // The domain "resolves" to 127.0.0.1; the certificate names only sip.example.test.
    const resolver: Resolver = {
      resolve: async (): Promise<ResolvedTarget[]> => [{ protocol: 'TLS', address: '127.0.0.1', port: portOf(server, 'TLS') }],
    };
    const client = await listeningStack({ tls: { key, cert, ca: cert }, tls_port: 0, resolver });
    const rq = request('OPTIONS', 'sips:sip.example.test');
    const { response } = await sendAndWait(client, rq);
    expect(response.status).toBe(200);
    expect(seen?.protocol).toBe('TLS');
    expect(rq.headers.via?.[0]?.protocol).toBe('TLS');
  });

  test('without the domain (a bare address) the same certificate fails verification: 503', async () => {
    if (!haveOpenssl) return;
    const server = await listeningStack({ tls: { key, cert }, tls_port: 0, udp: false }, (rq) => server.send(makeResponse(rq, 200)));
    const client = await listeningStack({ tls: { key, cert, ca: cert }, tls_port: 0 });
    const { response } = await sendAndWait(client, request('OPTIONS', `sips:127.0.0.1:${portOf(server, 'TLS')}`));
    expect(response.status).toBe(503);
  });
});
