// Every fenced ```ts / ```js sample of every package README runs as written: each is written to
// its own file in a scratch CommonJS project (.ci-out/readme-samples, where `@sipts/x` resolves
// to the built package, as after `npm install`) and run to completion: ```js with node, ```ts
// with tsx, which like a default TypeScript project compiles it as CommonJS (so top-level await
// fails). The ```ts samples also type-check together (strict, `module: node16`). Each sample runs
// under loopback-guard.cjs: only loopback traffic, 20 s at most. `pnpm test` builds first.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const work = join(root, '.ci-out', 'readme-samples');
const guard = join(__dirname, 'readme-samples', 'loopback-guard.cjs');
const tsxLoader = require.resolve('tsx', { paths: [root] });

interface Sample {
  readme: string; // path relative to the root
  index: number; // 1-based among the runnable blocks of the README
  line: number;
  lang: 'ts' | 'js';
  code: string;
  file: string;
}

/** The runnable fenced blocks of a README. */
function samplesOf(readmePath: string): Sample[] {
  const text = readFileSync(readmePath, 'utf8');
  const rel = relative(root, readmePath);
  const stem = rel.replace(/\/README\.md$/, '').replace(/[^a-z0-9]+/gi, '-');
  const out: Sample[] = [];
  const re = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const info = m[1] ?? '';
    const lang = info === 'ts' || info === 'typescript' ? 'ts' : info === 'js' || info === 'javascript' ? 'js' : undefined;
    if (lang === undefined) continue;
    const index = out.length + 1;
    out.push({
      readme: rel,
      index,
      line: text.slice(0, m.index).split('\n').length,
      lang,
      code: m[2] ?? '',
      file: `${stem}-${index}.${lang === 'ts' ? 'ts' : 'js'}`,
    });
  }
  return out;
}

const readmes = [
  ...readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name, 'README.md'))
    .filter((file) => existsSync(file)),
].sort();
const samples = readmes.flatMap(samplesOf);

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'node_modules', '@sipts'), { recursive: true });
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'readme-samples', private: true }) + '\n');
  for (const name of readdirSync(join(root, 'packages'))) {
    if (existsSync(join(root, 'packages', name, 'package.json'))) {
      symlinkSync(join(root, 'packages', name), join(work, 'node_modules', '@sipts', name), 'dir');
    }
  }
  for (const sample of samples) writeFileSync(join(work, sample.file), sample.code);
});

function runSample(sample: Sample): Promise<{ code: number | null; output: string }> {
  const args =
    sample.lang === 'ts'
      ? ['--require', guard, '--import', tsxLoader.startsWith('/') ? `file://${tsxLoader}` : tsxLoader, sample.file]
      : ['--require', guard, sample.file];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: work, timeout: 30_000, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, output: `${stdout}\n${stderr}`.trim() });
    });
  });
}

describe('README samples', () => {
  it('finds samples in the package READMEs', () => {
    expect(readmes.length).toBeGreaterThanOrEqual(10);
    expect(samples.length).toBeGreaterThanOrEqual(10);
  });

  // One test per sample: `README path #n (line L)`.
  it.each(samples.map((s) => [`${s.readme} #${s.index} (line ${s.line}, ${s.lang})`, s] as const))(
    '%s runs to completion',
    async (_name, sample) => {
      const { code, output } = await runSample(sample);
      if (code !== 0) {
        throw new Error(
          `exit ${String(code)}${code === 124 ? ' (still running after 20 s)' : ''}: a README sample must be a complete program that ` +
            'runs as written in a default CommonJS project: loopback addresses and port 0, no top-level await ' +
            '(wrap it in an async main()), and it ends by itself (close every stack, transport and timer it opened).' +
            `\n--- sample ---\n${sample.code}\n--- output ---\n${output.slice(-4000)}`,
        );
      }
    },
    40_000,
  );

  it('the TypeScript samples type-check (strict, module node16, CommonJS)', () => {
    const files = samples.filter((s) => s.lang === 'ts').map((s) => s.file);
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022', module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true,
          skipLibCheck: true, types: ['node'], moduleDetection: 'force', typeRoots: [join(root, 'node_modules', '@types')],
        },
        files,
      }),
    );
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    const result = spawnSync(process.execPath, [tsc, '-p', work], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    // Name the README and line of each error instead of the scratch file.
    const byFile = new Map(samples.map((s) => [s.file, s]));
    const report = result.stdout.replace(/^([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (all, file: string, line: string) => {
      const s = byFile.get(file);
      return s ? `${s.readme}:${s.line + Number(line)}` : all;
    });
    expect(report.trim()).toBe('');
    expect(result.status).toBe(0);
  }, 150_000);

  it('each README install line names every package its samples import', () => {
    const result = spawnSync(process.execPath, [join(root, 'tools', 'check', 'packages.mjs'), root], { encoding: 'utf8', timeout: 60_000 });
    const problems = (result.stdout + result.stderr).split('\n').filter((l) => l.includes('install line'));
    expect(problems).toEqual([]);
  });
});
