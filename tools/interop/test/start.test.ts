// `pnpm start` as a user runs it: examples/registrar-proxy.ts through tsx in its own process,
// ports from SIP_PORT / WS_PORT, a banner saying what listens where, an OPTIONS answered, and a
// clean exit (status 0) on SIGINT and on SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@sipts/core';
import { freePort } from '../lib/sipp.js';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

jest.setTimeout(60_000);

async function startExample(signal: NodeJS.Signals): Promise<{ banner: string; optionsStatus: number; exitCode: number | null }> {
  const sipPort = await freePort();
  const wsPort = await freePort();
  const child = spawn(tsx, ['--tsconfig', 'tsconfig.tests.json', 'examples/registrar-proxy.ts'], {
    cwd: root,
    env: { ...process.env, SIP_PORT: String(sipPort), WS_PORT: String(wsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('Ctrl-C to stop')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no banner:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const client = create({ address: '127.0.0.1', port: 0 });
    try {
      await client.ready();
      const rs = await client.request({
        method: 'OPTIONS',
        uri: `sip:127.0.0.1:${sipPort}`,
        headers: {
          to: { uri: `sip:127.0.0.1:${sipPort}`, params: {} },
          from: { uri: 'sip:probe@127.0.0.1', params: { tag: 'p1' } },
          'call-id': `start-${process.pid}-${signal}`,
          cseq: { seq: 1, method: 'OPTIONS' },
        },
      });
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const exitCode = await Promise.race([exited, new Promise<number | null>((resolve) => (timer = setTimeout(() => resolve(-999), 10_000)))]);
      clearTimeout(timer);
      return { banner: out, optionsStatus: rs.status, exitCode };
    } finally {
      await client.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

const coreDist = join(root, 'packages', 'core', 'dist', 'index.js');

(existsSync(coreDist) ? describe : describe.skip)('stop() / close() let the process exit on its own', () => {
  test('a process that started a stack, used every transport and stopped it exits with no process.exit', async () => {
    const script = `
      const sip = require(${JSON.stringify(coreDist)});
      const stack = sip.start({ address: '127.0.0.1', port: 0, ws_port: 0 }, (rq) => sip.send(sip.makeResponse(rq, 200)));
      stack.ready().then(async (addresses) => {
        const client = sip.create({ address: '127.0.0.1', port: 0 });
        await client.ready();
        for (const transport of ['udp', 'tcp']) {
          // With port 0, TCP gets UDP's port only when it is free: ask for each one's own.
          const port = addresses.find((a) => a.protocol === transport.toUpperCase()).port;
          const rs = await client.request({ method: 'OPTIONS', uri: 'sip:127.0.0.1:' + port + ';transport=' + transport,
            headers: { to: { uri: 'sip:x@127.0.0.1', params: {} }, from: { uri: 'sip:y@127.0.0.1', params: { tag: 'a' } },
                       'call-id': 'exit-' + transport, cseq: { seq: 1, method: 'OPTIONS' } } });
          console.log(transport, rs.status);
        }
        await client.close();
        await sip.stop();
        console.log('stopped');
      });`;
    const child = spawn(process.execPath, ['--no-warnings', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running 15 s later'), 15_000))),
    ]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    expect({ code, out: out.trim().split('\n') }).toEqual({ code: 0, out: ['udp 200', 'tcp 200', 'stopped'] });
  });
});

(existsSync(tsx) ? describe : describe.skip)('pnpm start (examples/registrar-proxy.ts in its own process)', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('prints where it listens, answers OPTIONS, exits 0 on %s', async (signal) => {
    const { banner, optionsStatus, exitCode } = await startExample(signal);
    expect(banner).toMatch(/UDP\s+127\.0\.0\.1:\d+/);
    expect(banner).toMatch(/TCP\s+127\.0\.0\.1:\d+/);
    expect(banner).toMatch(/WS\s+127\.0\.0\.1:\d+ \(ws:\/\/127\.0\.0\.1:\d+\)/);
    expect(banner).toContain('Ctrl-C to stop');
    expect(optionsStatus).toBe(200);
    expect(exitCode).toBe(0);
  });
});
