// Generates the body of wireHeaderAt() in packages/message/src/names.ts: a trie of switches
// over the canonical spellings of the common header names, each followed by ":".
//   node tools/gen/wire-header-names.mjs          rewrite the function body in names.ts
//   node tools/gen/wire-header-names.mjs --check  exit 1 when names.ts is out of date
// Ids come from the CANONICAL list in names.ts (a header's id is its index there).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NAMES_TS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../packages/message/src/names.ts');

/** The names worth a direct compare: those most messages carry, roughly by frequency. */
const COMMON = [
  'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Route', 'Record-Route', 'Path', 'Content-Length',
  'Content-Type', 'Content-Encoding', 'Content-Disposition', 'Max-Forwards', 'WWW-Authenticate',
  'Proxy-Authenticate', 'Authorization', 'Proxy-Authorization', 'Authentication-Info', 'Refer-To',
  'Referred-By', 'Subject', 'Supported', 'Allow', 'Allow-Events', 'Event', 'Expires', 'Min-Expires',
  'User-Agent', 'Server', 'Accept', 'Require', 'Proxy-Require', 'Unsupported', 'Session-Expires',
  'Min-SE', 'Date', 'Warning', 'Retry-After', 'Privacy', 'P-Asserted-Identity', 'RSeq', 'RAck',
  'Reason', 'Timestamp', 'Organization', 'Subscription-State',
];

const source = fs.readFileSync(NAMES_TS, 'utf8');
const canonical = /const CANONICAL = \[([\s\S]*?)\] as const;/.exec(source);
if (!canonical) throw new Error('CANONICAL not found in names.ts');
const ids = new Map([...canonical[1].matchAll(/'([^']+)'/g)].map((m, i) => [m[1], i]));
const words = COMMON.map((name) => {
  const id = ids.get(name);
  if (id === undefined) throw new Error(`${name} is not in CANONICAL`);
  if (name.length > 31) throw new Error(`${name} is too long for the 5-bit length`);
  return { text: name + ':', packed: (id << 5) | name.length, name };
});

const lines = [];
const emit = (depth, text) => lines.push('  '.repeat(depth) + text);
const code = (text, k) => text.charCodeAt(k);

function node(group, k, depth) {
  if (group.length === 1) {
    const { text, packed, name } = group[0];
    const tests = [];
    for (let j = k; j < text.length; j++) tests.push(`b[p + ${j}] === ${code(text, j)}`);
    emit(depth, tests.length ? `return ${tests.join(' && ')} ? ${packed} : -1; // ${name}` : `return ${packed}; // ${name}`);
    return;
  }
  // a prefix every word here shares: one test, no switch
  let j = k;
  while (group.every((w) => w.text.length > j && w.text[j] === group[0].text[j])) j++;
  if (j > k) {
    const tests = [];
    for (let x = k; x < j; x++) tests.push(`b[p + ${x}] !== ${code(group[0].text, x)}`);
    emit(depth, `if (${tests.join(' || ')}) return -1; // ${group[0].text.slice(k, j)}`);
    k = j;
  }
  const byCode = new Map();
  for (const w of group) {
    const c = w.text[k];
    if (!byCode.has(c)) byCode.set(c, []);
    byCode.get(c).push(w);
  }
  emit(depth, k === 0 ? 'switch (b[p]) {' : `switch (b[p + ${k}]) {`);
  for (const [c, sub] of byCode) {
    emit(depth + 1, `case ${code(c, 0)}: // ${JSON.stringify(c)}`);
    node(sub, k + 1, depth + 2);
  }
  emit(depth + 1, 'default:');
  emit(depth + 2, 'return -1;');
  emit(depth, '}');
}
node(words, 0, 1);
const body = lines.join('\n') + '\n';

const head = 'export function wireHeaderAt(b: Uint8Array, p: number): number {\n';
const start = source.indexOf(head);
if (start < 0) throw new Error('wireHeaderAt not found in names.ts');
const bodyStart = start + head.length;
const bodyEnd = source.indexOf('\n}\n', bodyStart) + 1;
const current = source.slice(bodyStart, bodyEnd);
if (process.argv.includes('--check')) {
  if (current !== body) {
    console.error('names.ts: wireHeaderAt is out of date; run node tools/gen/wire-header-names.mjs');
    process.exitCode = 1;
  }
} else if (current !== body) {
  fs.writeFileSync(NAMES_TS, source.slice(0, bodyStart) + body + source.slice(bodyEnd));
  console.log('names.ts: wireHeaderAt regenerated');
}
