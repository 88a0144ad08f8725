// The README example runs as written: a phone registers through it and a MESSAGE to the user
// reaches the phone; the example closes everything itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as core from '@sipts/core';
import * as proxyPackage from '@sipts/proxy';
import * as registrarPackage from '@sipts/registrar';

jest.setTimeout(20_000);

test('README example: REGISTER answered, a request for the user forked to its binding', async () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('```ts\n');
  const code = readme.slice(start + 6, readme.indexOf('```\n', start + 6));
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const packages: Record<string, unknown> = { '@sipts/core': core, '@sipts/proxy': proxyPackage, '@sipts/registrar': registrarPackage };
  const printed: string[] = [];
  const console = { log: (...args: unknown[]): void => void printed.push(args.join(' ')) };
  const run = new Function('require', 'console', 'exports', js) as (r: (name: string) => unknown, c: typeof console, e: object) => void;
  run((name) => packages[name], console, {});
  for (let i = 0; i < 200 && !printed.some((l) => l.startsWith('REGISTER')); i++) await new Promise((r) => setTimeout(r, 25));
  expect(printed.filter((l) => l.includes('registered at'))).toHaveLength(1);
  expect(printed).toContain('REGISTER 200 MESSAGE 200');
});
