// The drop-in proof: the example programs shipped inside the sip@0.0.6 npm package run, unchanged
// and straight from node_modules/sip/examples, with `require('sip')` (and 'sip/digest',
// 'sip/proxy') resolving to the built sipts packages, and answer real SIP correctly.
//
// How: each program runs in a child process started with `--require dropin/preload.cjs`, which
// maps the three module names to sipts (the packages' CommonJS dist, loaded by require()) and
// throws if anything of the real sip package gets resolved. The only thing the harness changes is
// where the program listens: 127.0.0.1 on free ports instead of sip's fixed 5060 (dropin/listen.cjs),
// reported back over IPC. `pnpm test` builds the dist first (tools/build/build.mjs).
import { fork, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { create, digest, makeResponse, parse, stringify } from '@sipts/core';
import type { ListeningAddress, Remote, SipMessage, SipRequest, SipResponse, SipStack } from '@sipts/core';
import { WebSocket } from 'ws';

const root = join(__dirname, '..', '..', '..');
const sipDir = dirname(require.resolve('sip/package.json', { paths: [join(root, 'packages', 'core')] }));
const sipExamples = join(sipDir, 'examples');
const dist = (pkg: string): string => join(root, 'packages', pkg, 'dist', 'index.js');
const haveDist = existsSync(dist('core')) && existsSync(dist('digest'));
const haveProxy = existsSync(dist('proxy'));
const dropinDir = join(__dirname, '..', 'dropin');

if (!haveDist) console.warn('tools/interop drop-in test SKIPPED: packages/*/dist missing; run `pnpm build` (pnpm test does)');

interface RunningExample {
  child: ChildProcess;
  /** Rejects if the program exits (they all run until killed). */
  exit: Promise<never>;
  /** Where the program's stack listens, once it does. */
  listening: Promise<ListeningAddress[]>;
  output(): string;
  stop(): Promise<void>;
}

const running: RunningExample[] = [];
const stacks: SipStack[] = [];
const tmpDirs: string[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runExample(file: string, args: string[] = [], cwd = sipExamples): RunningExample {
  const map: Record<string, string> = {
    sip: join(dropinDir, 'sip.cjs'),
    'sip/digest': dist('digest'),
  };
  if (haveProxy) map['sip/proxy'] = join(dropinDir, 'proxy.cjs');
  let out = '';
  const child = fork(join(sipExamples, file), args, {
    cwd,
    execArgv: ['--no-warnings', '--require', join(dropinDir, 'preload.cjs')],
    env: {
      ...process.env,
      SIPTS_DROPIN_MAP: JSON.stringify(map),
      SIPTS_CORE_DIST: dist('core'),
      SIPTS_PROXY_DIST: dist('proxy'),
      SIPTS_REAL_SIP_DIR: sipDir,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = new Promise<ListeningAddress[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not listen within 15 s:\n${out}`)), 15_000);
    child.on('message', (m: { addresses?: ListeningAddress[]; error?: string }) => {
      clearTimeout(timer);
      if (m.addresses) resolve(m.addresses);
      else reject(new Error(`${file}: ${m.error}\n${out}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening:\n${out}`));
    });
  });
  listening.catch(() => {});
  const exit = exited.then(() => {
    throw new Error(`${file} exited unexpectedly:\n${out}`);
  });
  exit.catch(() => {});
  const example: RunningExample = {
    child,
    exit,
    listening,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  running.push(example);
  return example;
}

function udpPort(addresses: ListeningAddress[]): number {
  const a = addresses.find((x) => x.protocol === 'UDP');
  if (!a) throw new Error('no UDP');
  return a.port;
}

async function ourStack(onRequest?: (rq: SipRequest, remote: Remote) => void): Promise<SipStack> {
  const stack = create({ address: '127.0.0.1', port: 0 }, onRequest);
  stacks.push(stack);
  await stack.ready();
  return stack;
}

let n = 0;
function rq(method: string, uri: string, headers: Partial<SipRequest['headers']> = {}): SipRequest {
  n++;
  return {
    method,
    uri,
    headers: {
      to: { uri, params: {} },
      from: { uri: 'sip:tester@127.0.0.1', params: { tag: `t${n}` } },
      'call-id': `dropin-${process.pid}-${n}`,
      cseq: { seq: 1, method },
      ...headers,
    },
  };
}

function register(user: string, port: number, contact: string, seq = 1, callId?: string): SipRequest {
  return rq('REGISTER', `sip:127.0.0.1:${port}`, {
    to: { uri: `sip:${user}@127.0.0.1`, params: {} },
    from: { uri: `sip:${user}@127.0.0.1`, params: { tag: `r${n}` } },
    contact: [{ uri: contact, params: {} }],
    cseq: { seq, method: 'REGISTER' },
    ...(callId ? { 'call-id': callId } : {}),
  });
}

const suite = haveDist ? describe : describe.skip;

suite('sip@0.0.6 examples run unchanged on sipts (require("sip") -> @sipts/core)', () => {
  jest.setTimeout(60_000);

  test('every example of the sip package is driven here or has a stated reason', () => {
    const covered = new Set([
      'registrar-redirector.js',
      'registrar-redirector-auth.js',
      'registrar-redirector-tls.js',
      'stateless-registrar-redirector.js',
      'make_call.js',
    ]);
    const proxied = ['registrar-proxy.js', 'fix302.js', 'websocket-proxy.js'];
    if (haveProxy) for (const f of proxied) covered.add(f);
    const unsupported: Record<string, string> = {};
    if (!haveProxy) for (const f of proxied) unsupported[f] = '@sipts/proxy is not built';
    const all = readdirSync(sipExamples).filter((f) => f.endsWith('.js'));
    expect(all.filter((f) => !covered.has(f) && unsupported[f] === undefined)).toEqual([]);
  });

  test('the preload really keeps the sip package out', () => {
    const out = execFileSync(
      process.execPath,
      ['--no-warnings', '--require', join(dropinDir, 'preload.cjs'), '-e', "const s = require('sip'); console.log(typeof s.start, typeof s.create, typeof require('sip/digest').challenge); try { require(process.env.SIPTS_REAL_SIP_DIR + '/sip.js'); console.log('loaded'); } catch (e) { console.log('refused'); }"],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          SIPTS_DROPIN_MAP: JSON.stringify({ sip: join(dropinDir, 'sip.cjs'), 'sip/digest': dist('digest') }),
          SIPTS_CORE_DIST: dist('core'),
          SIPTS_REAL_SIP_DIR: sipDir,
        },
        timeout: 20_000,
      },
    );
    expect(out.trim().split('\n')).toEqual(['function function function', 'refused']);
  });

  test('registrar-redirector.js: REGISTER then INVITE is redirected to the registered Contact', async () => {
    const example = runExample('registrar-redirector.js');
    const port = udpPort(await example.listening);
    const client = await ourStack();
    const reg = await client.request(register('bob', port, 'sip:bob@192.0.2.7:5070'));
    expect(reg.status).toBe(200);
    const invite = await client.request(rq('INVITE', `sip:bob@127.0.0.1:${port}`));
    expect(invite.status).toBe(302);
    const contact = invite.headers.contact;
    expect(contact !== '*' && contact?.[0]?.uri).toBe('sip:bob@192.0.2.7:5070');
    expect((await client.request(rq('INVITE', `sip:nobody@127.0.0.1:${port}`))).status).toBe(404);
    expect((await client.request(rq('OPTIONS', `sip:127.0.0.1:${port}`))).status).toBe(405);
  });

  test('stateless-registrar-redirector.js on sip.makeTransport: REGISTER 200, INVITE 302, no transactions', async () => {
    const example = runExample('stateless-registrar-redirector.js');
    const port = udpPort(await example.listening);
    const client = await ourStack();
    expect((await client.request(register('dora', port, 'sip:dora@192.0.2.10'))).status).toBe(200);
    const invite = await client.request(rq('INVITE', `sip:dora@127.0.0.1:${port}`));
    expect(invite.status).toBe(302);
    const contact = invite.headers.contact;
    expect(contact !== '*' && contact?.[0]?.uri).toBe('sip:dora@192.0.2.10');
  });

  test('registrar-redirector-auth.js with sip/digest: 401 challenge, signed REGISTER accepted, wrong password refused', async () => {
    const example = runExample('registrar-redirector-auth.js');
    const port = udpPort(await example.listening);
    const client = await ourStack();
    const first = register('100', port, 'sip:100@192.0.2.8');
    const challenge = await client.request(first);
    expect(challenge.status).toBe(401);
    const signed = register('100', port, 'sip:100@192.0.2.8', 2, first.headers['call-id']);
    expect(digest.signRequest({}, signed, challenge, { user: '100', password: '1234' })).not.toBeNull();
    expect((await client.request(signed)).status).toBe(200);
    const invite = await client.request(rq('INVITE', `sip:100@127.0.0.1:${port}`));
    expect(invite.status).toBe(302);

    const wrong = register('101', port, 'sip:101@192.0.2.8');
    const challenge2 = await client.request(wrong);
    const retry = register('101', port, 'sip:101@192.0.2.8', 2, wrong.headers['call-id']);
    digest.signRequest({}, retry, challenge2, { user: '101', password: 'not-qwerty' });
    expect((await client.request(retry)).status).toBe(401);
  });

  test('make_call.js: INVITE to our UAS, 180/200 reported, ACK sent to the Contact', async () => {
    let onAck: (ack: SipRequest) => void = () => {};
    const ackArrived = new Promise<SipRequest>((resolve) => (onAck = resolve));
    const uas = await ourStack((request) => {
      if (request.method === 'ACK') onAck(request);
      if (request.method !== 'INVITE') return;
      uas.send(makeResponse(request, 180, 'Ringing'));
      const ok = makeResponse(request, 200, 'OK');
      ok.headers.to = { ...ok.headers.to!, params: { tag: 'callee' } };
      ok.headers.contact = [{ uri: `sip:callee@127.0.0.1:${uas.addresses()[0]!.port}`, params: {} }];
      ok.headers['content-type'] = 'application/sdp';
      ok.content = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n';
      uas.send(ok);
    });
    const example = runExample('make_call.js', [`sip:service@127.0.0.1:${uas.addresses()[0]!.port}`]);
    const ack = await Promise.race([ackArrived, example.exit]);
    expect(ack.headers.to?.params.tag).toBe('callee');
    expect(ack.headers.via).toHaveLength(1);
    await waitFor(() => /call answered with tag callee/.test(example.output()));
    expect(example.output()).toMatch(/call progress status 180/);
  });

  test('registrar-redirector-tls.js: REGISTER over TLS with the certificate files it reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipts-dropin-tls-'));
    tmpDirs.push(dir);
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'pkey.pem'), '-out', join(dir, 'certificate.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], {
        stdio: 'ignore',
        timeout: 30_000,
      });
    } catch {
      console.warn('registrar-redirector-tls.js skipped: openssl is not available');
      return;
    }
    const example = runExample('registrar-redirector-tls.js', [], dir);
    const tls = (await example.listening).find((a) => a.protocol === 'TLS');
    expect(tls).toBeDefined();
    const request = register('tina', tls!.port, 'sips:tina@192.0.2.9');
    request.headers.via = [{ version: '2.0', protocol: 'TLS', host: '127.0.0.1', port: 5061, params: { branch: 'z9hG4bKdropintls1' } }];
    const response = await new Promise<SipResponse>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: tls!.port, rejectUnauthorized: false }, () => socket.write(stringify(request)));
      let data = '';
      socket.on('data', (d: Buffer) => {
        data += d.toString('utf8');
        const m = data.includes('\r\n\r\n') ? parse(data) : undefined;
        if (m && 'status' in m) {
          socket.end();
          resolve(m);
        }
      });
      socket.on('error', reject);
    });
    expect(response.status).toBe(200);
  });

  (haveProxy ? describe : describe.skip)('with sip/proxy -> @sipts/proxy', () => {
    test('registrar-proxy.js: a UAS registers, a call to it is proxied end to end', async () => {
      const example = runExample('registrar-proxy.js');
      const port = udpPort(await example.listening);
      const seen: string[] = [];
      const uas = await ourStack((request) => {
        seen.push(request.method);
        if (request.method === 'INVITE') {
          uas.send(makeResponse(request, 180, 'Ringing'));
          const ok = makeResponse(request, 200, 'OK');
          ok.headers.to = { ...ok.headers.to!, params: { tag: 'uas' } };
          ok.headers.contact = [{ uri: `sip:carol@127.0.0.1:${uas.addresses()[0]!.port}`, params: {} }];
          uas.send(ok);
        } else if (request.method !== 'ACK') uas.send(makeResponse(request, 200));
      });
      const uasPort = uas.addresses()[0]!.port;
      expect((await uas.request(register('carol', port, `sip:carol@127.0.0.1:${uasPort}`))).status).toBe(200);
      const caller = await ourStack();
      const statuses: number[] = [];
      const final = await caller.request(rq('INVITE', `sip:carol@127.0.0.1:${port}`), { onProvisional: (r) => statuses.push(r.status) });
      expect(final.status).toBe(200);
      expect(statuses).toContain(180);
      expect(seen).toContain('INVITE');
    });

    test('websocket-proxy.js: an outbound REGISTER over WebSocket, then a UDP call routed back over that flow', async () => {
      const example = runExample('websocket-proxy.js');
      const addresses = await example.listening;
      const udp = udpPort(addresses);
      const wsPort = addresses.find((a) => a.protocol === 'WS')?.port;
      expect(wsPort).toBeGreaterThan(0);
      const ws = new WebSocket(`ws://127.0.0.1:${wsPort}`, 'sip');
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const incoming: SipMessage[] = [];
      const waiters: Array<() => void> = [];
      ws.on('message', (data: Buffer) => {
        const m = parse(data);
        if (m === undefined) return;
        incoming.push(m);
        if ('method' in m && m.method === 'INVITE') {
          const ok = makeResponse(m, 200, 'OK');
          ok.headers.to = { ...ok.headers.to!, params: { tag: 'ws-callee' } };
          ok.headers.contact = [{ uri: 'sip:alice@ws-client.invalid;transport=ws', params: {} }];
          ws.send(stringify(ok));
        }
        for (const w of waiters.splice(0)) w();
      });
      const next = (pick: (m: SipMessage) => boolean): Promise<SipMessage> =>
        new Promise((resolve) => {
          const look = (): void => {
            const found = incoming.find(pick);
            if (found !== undefined) resolve(found);
            else waiters.push(look);
          };
          look();
        });
      // RFC 5626 §5: a Contact with +sip.instance and reg-id is an outbound registration; the
      // example stores a Route naming this very flow (sip.encodeFlowUri on the proxy's stack).
      ws.send(
        [
          'REGISTER sip:127.0.0.1 SIP/2.0',
          'Via: SIP/2.0/WS ws-client.invalid;branch=z9hG4bK-dropin-ws-1',
          'Max-Forwards: 70',
          'To: <sip:alice@127.0.0.1>',
          'From: <sip:alice@127.0.0.1>;tag=ws-reg',
          'Call-ID: dropin-ws-register',
          'CSeq: 1 REGISTER',
          'Contact: <sip:alice@ws-client.invalid;transport=ws>;+sip.instance="<urn:uuid:00000000-0000-4000-8000-000000000001>";reg-id=1',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      const registered = await next((m) => 'status' in m && m.headers.cseq?.method === 'REGISTER');
      expect('status' in registered && registered.status).toBe(200);
      const caller = await ourStack();
      const final = await caller.request(rq('INVITE', `sip:alice@127.0.0.1:${udp}`));
      expect(final.status).toBe(200);
      expect(final.headers.to?.params.tag).toBe('ws-callee');
      const invite = await next((m) => 'method' in m && m.method === 'INVITE');
      expect(invite.headers.via?.[0]?.protocol).toBe('WS');
    });

    test('fix302.js: a 302 from downstream is followed and the call reaches the new target', async () => {
      const example = runExample('fix302.js');
      const port = udpPort(await example.listening);
      const uas = await ourStack((request) => {
        if (request.method === 'INVITE') {
          const ok = makeResponse(request, 200, 'OK');
          ok.headers.to = { ...ok.headers.to!, params: { tag: 'final' } };
          uas.send(ok);
        }
      });
      const redirector = await ourStack((request) => {
        if (request.method !== 'INVITE') return;
        const moved = makeResponse(request, 302, 'Moved Temporarily');
        moved.headers.contact = [{ uri: `sip:service@127.0.0.1:${uas.addresses()[0]!.port}`, params: {} }];
        redirector.send(moved);
      });
      const caller = await ourStack();
      const invite = rq('INVITE', `sip:service@127.0.0.1:${redirector.addresses()[0]!.port}`, {
        route: [{ uri: { schema: 'sip', host: '127.0.0.1', port, params: { lr: null }, headers: {} }, params: {} }],
      });
      const final = await caller.request(invite);
      expect(final.status).toBe(200);
      expect(final.headers.to?.params.tag).toBe('final');
    });
  });
});

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
