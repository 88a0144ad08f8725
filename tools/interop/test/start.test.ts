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
