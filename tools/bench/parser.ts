// Parser benchmark: @sipts/message against sip@0.0.6, measured in the same run.
//   pnpm bench:parser              (7 rounds)
//   pnpm bench:parser --rounds 15  (more rounds, steadier medians)
//   pnpm bench:parser --check      (exit 1 unless overall parse >= 5x and stringify >= 3x)
//   pnpm bench:parser --in-process (time inside tsx instead of a plain node child; see runInPlainNode)
// Both parsers get the same Buffer, as a UDP transport would hand it over; sip's parse turns
// it into a 'binary' string itself. Each round times every message for each implementation in
// alternating order; the table shows medians over the rounds of CPU time per message.
// Not a test: timings vary by machine.
// tools/ is CommonJS for TypeScript: only type imports, require-style imports and a dynamic
// import of the (ESM) package's built dist/ by path (run `pnpm build` first).
import type { SipMessage } from '@sipts/message';
import corpusModule = require('./corpus.js');
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');

const CORPUS = corpusModule.CORPUS;

interface SipJs {
  parse(data: Buffer | string): unknown;
  stringify(message: unknown): string;
}

const sip = require('sip') as SipJs;

const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Math.max(1, Number(args[roundsArg + 1]) || 7) : 7;
const CHECK = args.includes('--check');
/** The repository root (the child gets it from the parent: it runs from a temporary copy). */
const ROOT = process.env.SIPTS_BENCH_ROOT ?? path.join(__dirname, '../..');
const IN_PROCESS = args.includes('--in-process') || process.env.SIPTS_BENCH_CHILD === '1';
const BATCH_NS = 40e6; // aim for ~40 ms per timed batch

let sink = 0;

/**
 * CPU time (user + system) per call in ns: on a shared machine, time spent descheduled would
 * otherwise land on whichever implementation happened to be running.
 */
function timeBatch(fn: () => unknown, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    if (fn() === undefined) sink++;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / iterations;
}

/** Iterations that take about BATCH_NS. */
function calibrate(fn: () => unknown): number {
  let n = 100;
  for (;;) {
    const ns = timeBatch(fn, n) * n;
    if (ns > BATCH_NS / 4 || n > 5e6) return Math.max(100, Math.round((n * BATCH_NS) / Math.max(ns, 1)));
    n *= 4;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface Case {
  name: string;
  oursParse: () => unknown;
  sipParse: () => unknown;
  oursStringify: () => unknown;
  sipStringify: () => unknown;
  messages: number;
}

/**
 * Runs the timing in a plain `node` child. Under tsx (how `pnpm bench:parser` starts this
 * file) its loader hooks (a loader worker thread, source maps, patched module resolution) slow
 * JIT-compiled code unevenly: in our runs ~20% for @sipts/message and ~7% for sip, which is
 * not how either library runs in production. This file and corpus.ts are transpiled to a
 * temporary directory and run there; `--in-process` times inside tsx instead.
 */
function runInPlainNode(): void {
  const ts = require('typescript') as typeof import('typescript');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-'));
  try {
    for (const name of ['parser', 'corpus']) {
      const source = fs.readFileSync(path.join(__dirname, name + '.ts'), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
      fs.writeFileSync(path.join(dir, name + '.js'), js.outputText);
    }
    const child = childProcess.spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', path.join(dir, 'parser.js'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, SIPTS_BENCH_CHILD: '1', SIPTS_BENCH_ROOT: ROOT, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
    process.exitCode = child.status ?? 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!IN_PROCESS) {
    runInPlainNode();
    return;
  }
  let messageModule: typeof import('@sipts/message');
  try {
    // The built package by path: under tsx the bare name would follow tsconfig.tests.json's
    // paths to src/ and time esbuild's transpilation instead of dist/. (In the child, the
    // CommonJS transpilation turns this into require() of the ES module, which Node 20.19+ loads.)
    messageModule = (await import(path.join(ROOT, 'packages/message/dist/index.js'))) as typeof import('@sipts/message');
  } catch (e) {
    console.error('cannot load @sipts/message: run `pnpm build` first\n', e);
    process.exitCode = 1;
    return;
  }
  const { parse, stringify } = messageModule;
  const buffers = CORPUS.map((c) => Buffer.from(c.text));
  const oursObjects: SipMessage[] = buffers.map((b) => parse(b));
  const sipObjects: unknown[] = buffers.map((b) => sip.parse(b));

  // Sanity: both parsers understand every message, and ours round-trips it.
  CORPUS.forEach((c, i) => {
    if (sipObjects[i] === undefined) throw new Error(`sip cannot parse ${c.name}`);
    const again = parse(stringify(oursObjects[i] as SipMessage));
    if (JSON.stringify(again) !== JSON.stringify(oursObjects[i])) throw new Error(`round trip differs for ${c.name}`);
  });

  const cases: Case[] = CORPUS.map((c, i) => {
    const buf = buffers[i] as Buffer;
    const ours = oursObjects[i] as SipMessage;
    const theirs = sipObjects[i];
    return {
      name: c.name,
      oursParse: () => parse(buf),
      sipParse: () => sip.parse(buf),
      oursStringify: () => stringify(ours),
      sipStringify: () => sip.stringify(theirs),
      messages: 1,
    };
  });
  cases.push({
    name: 'overall (all five in turn)',
    oursParse: () => {
      let last: unknown;
      for (const b of buffers) last = parse(b);
      return last;
    },
    sipParse: () => {
      let last: unknown;
      for (const b of buffers) last = sip.parse(b);
      return last;
    },
    oursStringify: () => {
      let last: unknown;
      for (const m of oursObjects) last = stringify(m);
      return last;
    },
    sipStringify: () => {
      let last: unknown;
      for (const m of sipObjects) last = sip.stringify(m);
      return last;
    },
    messages: buffers.length,
  });

  type Kind = 'oursParse' | 'sipParse' | 'oursStringify' | 'sipStringify';
  const KINDS: Kind[] = ['oursParse', 'sipParse', 'oursStringify', 'sipStringify'];

  // Warm up every function so the JIT has settled before the first timed round.
  const iterations = new Map<string, number>();
  for (const c of cases) for (const k of KINDS) iterations.set(c.name + k, calibrate(c[k]));

  const samples = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
      for (const k of order) {
        const ns = timeBatch(c[k], iterations.get(c.name + k) as number);
        const key = c.name + k;
        if (!samples.has(key)) samples.set(key, []);
        (samples.get(key) as number[]).push(ns / c.messages);
      }
    }
  }

  const fmtRate = (nsPerMsg: number): string => Math.round(1e9 / nsPerMsg).toLocaleString('en-US');
  const fmtUs = (ns: number): string => (ns / 1000).toFixed(2);
  const rows: string[][] = [];
  let overallParse = 0;
  let overallStringify = 0;
  for (const c of cases) {
    const m = (k: Kind): number => median(samples.get(c.name + k) as number[]);
    // ratio per round, then the median of those ratios
    const ratio = (a: Kind, b: Kind): number => {
      const xs = samples.get(c.name + a) as number[];
      const ys = samples.get(c.name + b) as number[];
      return median(xs.map((x, i) => x / (ys[i] as number)));
    };
    const parseRatio = ratio('sipParse', 'oursParse');
    const stringifyRatio = ratio('sipStringify', 'oursStringify');
    if (c.messages > 1) {
      overallParse = parseRatio;
      overallStringify = stringifyRatio;
    }
    rows.push([
      c.name,
      fmtRate(m('oursParse')),
      fmtUs(m('oursParse')),
      fmtRate(m('sipParse')),
      fmtUs(m('sipParse')),
      parseRatio.toFixed(2) + 'x',
      fmtRate(m('oursStringify')),
      fmtRate(m('sipStringify')),
      stringifyRatio.toFixed(2) + 'x',
    ]);
  }

  const header = ['message', 'parse msg/s', 'µs', 'sip msg/s', 'sip µs', 'parse ratio', 'stringify msg/s', 'sip msg/s', 'stringify ratio'];
  console.log(`@sipts/message vs sip@0.0.6 — node ${process.version}${process.env.SIPTS_BENCH_CHILD === '1' ? '' : ' (in process, under tsx)'}, ${ROUNDS} rounds, medians\n`);
  console.log('| ' + header.join(' | ') + ' |');
  console.log('|' + header.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|');
  for (const r of rows) console.log('| ' + r.join(' | ') + ' |');
  const parseOk = overallParse >= 5;
  const stringifyOk = overallStringify >= 3;
  console.log(`\noverall parse ${overallParse.toFixed(2)}x (target 5x: ${parseOk ? 'met' : 'NOT met'}), stringify ${overallStringify.toFixed(2)}x (target 3x: ${stringifyOk ? 'met' : 'NOT met'})`);
  if (sink < 0) console.log(sink);
  if (CHECK && !(parseOk && stringifyOk)) process.exitCode = 1;
}

void main();
