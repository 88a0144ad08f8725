// SDP benchmark: @sipts/sdp against sip@0.0.6's sdp.js and sdp-transform, measured in the same run.
//   pnpm bench:sdp              (7 rounds)
//   pnpm bench:sdp --rounds 15  (more rounds, steadier medians)
//   pnpm bench:sdp --in-process (time inside tsx instead of a plain node child; see runInPlainNode)
// Four descriptions, each a string as a SIP message's body is: a browser's WebRTC offer with
// candidates, a SIP phone's offer, a multi-stream offer, a hold re-offer. Timed per description:
// parseSdp (lossless typed model), parse (the sip/sdp-compatible object), sip@0.0.6's parse,
// sdp-transform's parse; and the matching stringify / write of each one's own object. Each
// round times every function in alternating order; the tables show medians over the rounds of
// CPU time per description, and ratios (theirs / ours) per round, then their median.
// Not a test: timings vary by machine. Run `pnpm build` first (the package is loaded from dist/).
// tools/ is CommonJS for TypeScript: only type imports, require-style imports and a dynamic
// import of the (ESM) package's built dist/ by path.
import childProcess = require('node:child_process');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import util = require('node:util');
import sdpTransform = require('sdp-transform');

interface SipSdpJs {
  parse(sdp: string): unknown;
  stringify(sdp: unknown): string;
}

const sip = require('sip/sdp') as SipSdpJs;

const args = process.argv.slice(2);
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Math.max(1, Number(args[roundsArg + 1]) || 7) : 7;
/** The repository root (the child gets it from the parent: it runs from a temporary copy). */
const ROOT = process.env.SIPTS_BENCH_ROOT ?? path.join(__dirname, '../..');
const IN_PROCESS = args.includes('--in-process') || process.env.SIPTS_BENCH_CHILD === '1';
const BATCH_NS = 40e6; // aim for ~40 ms per timed batch

const crlf = (lines: string[]): string => lines.map((l) => l + '\r\n').join('');

const PHONE_OFFER = crlf([
  'v=0',
  'o=- 1681226171 1681226171 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 16384 RTP/AVP 0 8 18 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:18 G729/8000',
  'a=fmtp:18 annexb=no',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
]);

const CORPUS: ReadonlyArray<{ name: string; text: string }> = [
  {
    name: 'WebRTC offer, candidates',
    text: crlf([
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 1',
      'a=extmap-allow-mixed',
      'a=msid-semantic: WMS 4fb8f6a4-0a5a-4c9e-9b5e-0d6b7e0c1a2b',
      'm=audio 50704 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
      'c=IN IP4 203.0.113.5',
      'a=rtcp:9 IN IP4 0.0.0.0',
      'a=candidate:1467250027 1 udp 2122260223 192.0.2.33 50704 typ host generation 0 network-id 1 network-cost 10',
      'a=candidate:1467250027 2 udp 2122260222 192.0.2.33 50705 typ host generation 0 network-id 1 network-cost 10',
      'a=candidate:435653019 1 tcp 1845501695 192.0.2.33 9 typ host tcptype active generation 0 network-id 1 network-cost 10',
      'a=candidate:3352353590 1 udp 1686052607 203.0.113.5 50704 typ srflx raddr 192.0.2.33 rport 50704 generation 0 network-id 1 network-cost 10',
      'a=candidate:2999745851 1 udp 41885439 198.51.100.20 61112 typ relay raddr 203.0.113.5 rport 50704 generation 0 network-id 1',
      'a=ice-ufrag:EsAw',
      'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
      'a=ice-options:trickle',
      'a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F',
      'a=setup:actpass',
      'a=mid:0',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
      'a=sendrecv',
      'a=msid:4fb8f6a4-0a5a-4c9e-9b5e-0d6b7e0c1a2b 7c3e1f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      'a=rtcp-fb:111 transport-cc',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:63 red/48000/2',
      'a=fmtp:63 111/111',
      'a=rtpmap:9 G722/8000',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:13 CN/8000',
      'a=rtpmap:110 telephone-event/48000',
      'a=rtpmap:126 telephone-event/8000',
      'a=ssrc:1001 cname:kR3r9bmiw7ITtJV0',
      'a=ssrc:1001 msid:4fb8f6a4-0a5a-4c9e-9b5e-0d6b7e0c1a2b 7c3e1f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103',
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      'a=ice-ufrag:EsAw',
      'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
      'a=ice-options:trickle',
      'a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F',
      'a=setup:actpass',
      'a=mid:1',
      'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
      'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=sendrecv',
      'a=rtcp-mux',
      'a=rtcp-rsize',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 goog-remb',
      'a=rtcp-fb:96 transport-cc',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      'a=rtpmap:102 H264/90000',
      'a=rtcp-fb:102 nack pli',
      'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
      'a=rtpmap:103 rtx/90000',
      'a=fmtp:103 apt=102',
      'a=ssrc-group:FID 2002 2003',
      'a=ssrc:2002 cname:kR3r9bmiw7ITtJV0',
      'a=ssrc:2003 cname:kR3r9bmiw7ITtJV0',
    ]),
  },
  { name: 'SIP phone offer', text: PHONE_OFFER },
  {
    name: 'multi-stream offer',
    text: crlf([
      'v=0',
      'o=alice 2890844526 2890844526 IN IP4 198.51.100.7',
      's=-',
      'c=IN IP4 198.51.100.7',
      'b=AS:2048',
      't=0 0',
      'm=audio 49170 RTP/AVP 0 8 97',
      'b=AS:64',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:97 iLBC/8000',
      'a=fmtp:97 mode=30',
      'm=video 51372 RTP/AVP 31 32 98',
      'b=AS:1920',
      'a=rtpmap:31 H261/90000',
      'a=rtpmap:32 MPV/90000',
      'a=rtpmap:98 H264/90000',
      'a=fmtp:98 profile-level-id=42e01f;packetization-mode=1',
      'a=recvonly',
      'm=audio 49174 RTP/AVP 96',
      'a=rtpmap:96 opus/48000/2',
      'a=fmtp:96 minptime=10;useinbandfec=1',
      'a=sendonly',
      'm=text 49176 RTP/AVP 100',
      'a=rtpmap:100 t140/1000',
    ]),
  },
  { name: 'hold re-offer', text: PHONE_OFFER.replace('1681226171 IN', '1681226172 IN').replace('a=sendrecv', 'a=sendonly') },
];

let sink = 0;

/** CPU time (user + system) per call in ns (time descheduled lands on nobody). */
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

/**
 * Runs the timing in a plain `node` child: under tsx (how `pnpm bench:sdp` starts this file)
 * its loader hooks slow JIT-compiled code unevenly (see tools/bench/parser.ts). This file is
 * transpiled to a temporary directory and run there; `--in-process` times inside tsx instead.
 */
function runInPlainNode(): void {
  const ts = require('typescript') as typeof import('typescript');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipts-bench-'));
  try {
    const source = fs.readFileSync(path.join(__dirname, 'sdp.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
    fs.writeFileSync(path.join(dir, 'sdp.js'), js.outputText);
    const child = childProcess.spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', path.join(dir, 'sdp.js'), ...args], {
      stdio: 'inherit',
      env: { ...process.env, SIPTS_BENCH_CHILD: '1', SIPTS_BENCH_ROOT: ROOT, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
    process.exitCode = child.status ?? 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const KINDS = ['parseSdp', 'parse', 'sipParse', 'transformParse', 'stringifySdp', 'stringify', 'sipStringify', 'transformWrite'] as const;
type Kind = (typeof KINDS)[number];

async function main(): Promise<void> {
  if (!IN_PROCESS) {
    runInPlainNode();
    return;
  }
  let ours: typeof import('@sipts/sdp');
  try {
    ours = (await import(path.join(ROOT, 'packages/sdp/dist/index.js'))) as typeof import('@sipts/sdp');
  } catch (e) {
    console.error('cannot load @sipts/sdp: run `pnpm build` first\n', e);
    process.exitCode = 1;
    return;
  }
  const { parseSdp, stringifySdp, parse, stringify } = ours;

  // Sanity, and what each one keeps: our typed model writes every description back exactly;
  // our compat objects and text are sip's; sip and sdp-transform rewrite what they read.
  const lossless: string[][] = [];
  for (const c of CORPUS) {
    if (stringifySdp(parseSdp(c.text)) !== c.text) throw new Error(`parseSdp round trip differs for ${c.name}`);
    const theirs = sip.parse(c.text);
    if (!util.isDeepStrictEqual(parse(c.text), theirs) || stringify(parse(c.text)) !== sip.stringify(theirs)) {
      throw new Error(`compat output differs from sip for ${c.name}`);
    }
    lossless.push([c.name, 'yes', sip.stringify(theirs) === c.text ? 'yes' : 'no', sdpTransform.write(sdpTransform.parse(c.text)) === c.text ? 'yes' : 'no']);
  }

  const cases = CORPUS.map((c) => {
    const typed = parseSdp(c.text);
    const compat = parse(c.text);
    const sipObject = sip.parse(c.text);
    const transformObject = sdpTransform.parse(c.text);
    const fns: Record<Kind, () => unknown> = {
      parseSdp: () => parseSdp(c.text),
      parse: () => parse(c.text),
      sipParse: () => sip.parse(c.text),
      transformParse: () => sdpTransform.parse(c.text),
      stringifySdp: () => stringifySdp(typed),
      stringify: () => stringify(compat),
      sipStringify: () => sip.stringify(sipObject),
      transformWrite: () => sdpTransform.write(transformObject),
    };
    return { name: c.name, fns };
  });

  const iterations = new Map<string, number>();
  for (const c of cases) for (const k of KINDS) iterations.set(c.name + k, calibrate(c.fns[k]));

  const samples = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
      for (const k of order) {
        const key = c.name + k;
        if (!samples.has(key)) samples.set(key, []);
        (samples.get(key) as number[]).push(timeBatch(c.fns[k], iterations.get(key) as number));
      }
    }
  }

  const us = (name: string, k: Kind): string => (median(samples.get(name + k) as number[]) / 1000).toFixed(2);
  const ratio = (name: string, theirs: Kind, mine: Kind): string => {
    const xs = samples.get(name + theirs) as number[];
    const ys = samples.get(name + mine) as number[];
    return median(xs.map((x, i) => x / (ys[i] as number))).toFixed(2) + 'x';
  };
  const table = (header: string[], rows: string[][]): void => {
    console.log('| ' + header.join(' | ') + ' |');
    console.log('|' + header.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|');
    for (const r of rows) console.log('| ' + r.join(' | ') + ' |');
    console.log('');
  };

  console.log(`@sipts/sdp vs sip@0.0.6 sdp.js vs sdp-transform — node ${process.version}${process.env.SIPTS_BENCH_CHILD === '1' ? '' : ' (in process, under tsx)'}, ${ROUNDS} rounds, median µs per description\n`);
  table(
    ['parse', 'parseSdp', 'parse (compat)', 'sip', 'sdp-transform', 'sip ÷ compat', 'sip ÷ parseSdp', 'sdp-transform ÷ parseSdp'],
    cases.map(({ name }) => [name, us(name, 'parseSdp'), us(name, 'parse'), us(name, 'sipParse'), us(name, 'transformParse'), ratio(name, 'sipParse', 'parse'), ratio(name, 'sipParse', 'parseSdp'), ratio(name, 'transformParse', 'parseSdp')]),
  );
  table(
    ['stringify', 'stringifySdp', 'stringify (compat)', 'sip', 'sdp-transform', 'sip ÷ compat', 'sip ÷ stringifySdp', 'sdp-transform ÷ stringifySdp'],
    cases.map(({ name }) => [name, us(name, 'stringifySdp'), us(name, 'stringify'), us(name, 'sipStringify'), us(name, 'transformWrite'), ratio(name, 'sipStringify', 'stringify'), ratio(name, 'sipStringify', 'stringifySdp'), ratio(name, 'transformWrite', 'stringifySdp')]),
  );
  table(['writes the input back exactly', '@sipts/sdp (parseSdp)', 'sip', 'sdp-transform'], lossless);
  if (sink < 0) console.log(sink);
}

void main();
