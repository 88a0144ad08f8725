// The RFC 4475 torture messages (../shared/conformance/rfc4475, or the byte-exact copy in
// packages/message/test/fixtures/rfc4475 in a checkout without it, read as bytes) and a fuzzer that
// mutates them and the suite's own seed messages.
//
// Loopback safety: the torture messages name example.com, 192.0.2.x and the like, and a proxy
// forwards requests to their Request-URI and may answer to their Via. Inside the suite's own
// network namespace (only `lo`) that reaches nobody, so the messages go byte-exact. Without one,
// `loopbackify` rewrites every host of the header section to 127.0.0.99 / [::1] first (the body
// and Content-Length are untouched). The fuzzer never mutates a loopback host or the byte on
// either side of it, so a mutation cannot turn 127.0.0.1 into another host.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorpusEntry {
  file: string;
  expect: string;
  parse: string;
  bytes: Buffer;
  isResponse: boolean;
}

export function corpusDir(root: string): string | undefined {
  for (const dir of [join(root, '..', 'shared', 'conformance', 'rfc4475'), join(root, 'packages', 'message', 'test', 'fixtures', 'rfc4475')]) {
    if (existsSync(join(dir, 'index.json'))) return dir;
  }
  return undefined;
}

export function loadCorpus(dir: string): CorpusEntry[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { entries: { file: string; expect: string; parse: string }[] };
  return index.entries.map((e) => {
    const bytes = readFileSync(join(dir, e.file));
    return { file: e.file, expect: e.expect, parse: e.parse, bytes, isResponse: bytes.subarray(0, 8).toString('latin1') === 'SIP/2.0 ' };
  });
}

const HOSTNAME = /(?<![A-Za-z0-9_%.-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+(?![A-Za-z0-9_-])/g;
const IPV6 = /\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]/g;

/** Every host-like token of the header section made loopback (bytes kept as latin1). */
export function loopbackify(bytes: Buffer): Buffer {
  let end = bytes.indexOf('\r\n\r\n');
  if (end < 0) end = bytes.length;
  const head = bytes.subarray(0, end).toString('latin1');
  const rewritten = head
    .replace(IPV6, (m) => (m === '[::1]' ? m : '[::1]'))
    .replace(HOSTNAME, (m) => {
      if (m.startsWith('127.')) return m;
      // SIP/2.0, version numbers, q-values, dotted numbers that are not addresses: keep.
      if (/^\d+\.\d+$/.test(m)) return m;
      if (!/[A-Za-z]/.test(m) && !/^\d+\.\d+\.\d+\.\d+$/.test(m)) return m;
      return '127.0.0.99';
    });
  return Buffer.concat([Buffer.from(rewritten, 'latin1'), bytes.subarray(end)]);
}

/** Small deterministic PRNG (xorshift32): a failing fuzz run can be replayed from its seed. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }
  int(n: number): number {
    return this.next() % n;
  }
}

/** Byte ranges of loopback hosts (with one byte either side) the fuzzer must not touch. */
function protectedRanges(text: string): [number, number][] {
  const ranges: [number, number][] = [];
  const re = /127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|::1/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) ranges.push([m.index - 1, m.index + m[0].length]);
  return ranges;
}

const INTERESTING = ['\r\n', '\r', '\n', ':', ';', ',', '<', '>', '"', '\\', '%', '=', ' ', '\t', '\0', '\r\n\r\n', '4294967296', '-1', '99999999999999999999', 'SIP/2.0', 'z9hG4bK', '\u00ff', '\u{1F600}'];

/**
 * One mutation of `seed`: flips, deletions, insertions, duplicated lines, truncation, or an
 * interesting token, at positions outside loopback hosts. Returns bytes (latin1 for the seed's
 * own bytes, UTF-8 for inserted tokens).
 */
export function mutate(seed: Buffer, rng: Rng): Buffer {
  const text = seed.toString('latin1');
  const ranges = protectedRanges(text);
  const free = (i: number): boolean => !ranges.some(([a, b]) => i >= a && i <= b);
  const pick = (): number => {
    for (let tries = 0; tries < 20; tries++) {
      const i = rng.int(Math.max(1, text.length));
      if (free(i)) return i;
    }
    return text.length;
  };
  const ops = 1 + rng.int(4);
  let out = text;
  for (let k = 0; k < ops; k++) {
    const current = protectedRanges(out);
    const freeNow = (i: number): boolean => !current.some(([a, b]) => i >= a && i <= b);
    let i = pick();
    if (i > out.length || !freeNow(i)) i = out.length;
    switch (rng.int(7)) {
      case 0: // flip one byte
        if (i < out.length) out = out.slice(0, i) + String.fromCharCode(rng.int(256)) + out.slice(i + 1);
        break;
      case 1: {
        // delete a run
        let n = 1 + rng.int(8);
        while (n > 0 && !freeNow(i + n - 1)) n--;
        out = out.slice(0, i) + out.slice(i + n);
        break;
      }
      case 2: // insert an interesting token
        out = out.slice(0, i) + Buffer.from(INTERESTING[rng.int(INTERESTING.length)] ?? '', 'utf8').toString('latin1') + out.slice(i);
        break;
      case 3: {
        // duplicate a header line
        const lines = out.split('\r\n');
        const j = 1 + rng.int(Math.max(1, lines.length - 2));
        const line = lines[j];
        if (line !== undefined) lines.splice(j, 0, line);
        out = lines.join('\r\n');
        break;
      }
      case 4: // truncate
        out = out.slice(0, i);
        break;
      case 5: // insert a long run of one byte
        out = out.slice(0, i) + String.fromCharCode(32 + rng.int(95)).repeat(1 + rng.int(2000)) + out.slice(i);
        break;
      default: {
        // change a Content-Length value
        out = out.replace(/(Content-Length|\r\nl)[ \t]*:[ \t]*\d+/i, (m) => m.replace(/\d+$/, String([0, 1, 5, 100, 70000, 4294967295][rng.int(6)])));
        break;
      }
    }
  }
  return Buffer.from(out, 'latin1');
}
