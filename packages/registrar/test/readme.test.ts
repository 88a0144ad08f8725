// The README example runs as written (on port 0 instead of 5060): a phone registers through it
// and a MESSAGE to the user reaches the phone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as core from '@sipts/core';
import * as proxyPackage from '@sipts/proxy';
import * as registrarPackage from '@sipts/registrar';
import type { Registrar } from '@sipts/registrar';
import type { SipProxy } from '@sipts/proxy';

jest.setTimeout(20_000);

test('README example: REGISTER answered, a request for the user forked to its binding', async () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('```ts\n');
  const code = readme.slice(start + 6, readme.indexOf('```\n', start + 6)).replace('port: 5060', 'port: 0');
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const packages: Record<string, unknown> = { '@sipts/core': core, '@sipts/proxy': proxyPackage, '@sipts/registrar': registrarPackage };
  const printed: string[] = [];
  const console = { log: (...args: unknown[]): void => void printed.push(args.join(' ')) };
  const run = new Function('require', 'console', 'exports', `${js}\nreturn { proxy, registrar };`) as (
    r: (name: string) => unknown,
    c: typeof console,
    e: object,
  ) => { proxy: SipProxy; registrar: Registrar };
  const { proxy, registrar } = run((name) => packages[name], console, {});
  const phone = core.create({ address: '127.0.0.1', port: 0 }, (rq, _remote, reply) => {
    reply.reply(core.makeResponse(rq, 200, 'OK'));
  });
  try {
    await proxy.ready();
    const [phoneUdp] = await phone.ready();
    const port = proxy.stack.addresses?.().find((a) => a.protocol === 'UDP')?.port;
    const common = { from: { uri: 'sip:alice@127.0.0.1', params: { tag: 'r1' } } };
    const reg = await phone.request({
      method: 'REGISTER',
      uri: `sip:127.0.0.1:${port}`,
      headers: { ...common, to: { uri: 'sip:alice@127.0.0.1', params: {} }, 'call-id': 'readme-reg', cseq: { seq: 1, method: 'REGISTER' }, contact: [{ uri: `sip:alice@127.0.0.1:${phoneUdp?.port}`, params: {} }] },
    });
    expect(reg.status).toBe(200);
    expect(printed).toEqual([`alice registered at sip:alice@127.0.0.1:${phoneUdp?.port}`]);
    const message = await phone.request({
      method: 'MESSAGE',
      uri: `sip:alice@127.0.0.1:${port}`,
      headers: { ...common, to: { uri: 'sip:alice@127.0.0.1', params: {} }, 'call-id': 'readme-msg', cseq: { seq: 1, method: 'MESSAGE' } },
    });
    expect(message.status).toBe(200);
  } finally {
    await phone.close();
    await proxy.stop();
    await registrar.close();
  }
});
