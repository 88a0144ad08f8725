// The README example runs as written and prints what its comments say.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as sdp from '@sipts/sdp';

test('README example', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('```ts\n');
  const code = readme.slice(start + 6, readme.indexOf('```\n', start + 6));
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const printed: string[] = [];
  const console = { log: (...args: unknown[]): void => void printed.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')) };
  const requireStub = (name: string): unknown => {
    if (name !== '@sipts/sdp') throw new Error(`the example imports ${name}`);
    return sdp;
  };
  new Function('require', 'console', 'exports', js)(requireStub, console, {});

  // each `console.log(...)` line's trailing comment is what it prints
  const expected = code
    .split('\n')
    .filter((l) => l.includes('console.log(') && l.includes('// '))
    .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
  const answerComment = code
    .split('\n')
    .filter((l) => l.startsWith('// ') && (l.includes('=') || l === '// v=0'))
    .map((l) => l.slice(3));
  expect(printed).toEqual([
    expected[0],
    JSON.stringify(['PCMU', 'PCMA', 'telephone-event']),
    answerComment.join('\r\n') + '\r\n',
    expected[2],
    expected[3],
    expected[4],
  ]);
  expect(expected.slice(1, 2)).toEqual(["[ 'PCMU', 'PCMA', 'telephone-event' ]"]);
  expect(expected.slice(2)).toEqual(['true sendonly', 'c=IN IP4 203.0.113.1 30000', 'ERR_MEDIA 2']);
});
