// Run by retention.test.ts in its own process (node --expose-gc). A reply handle outlives the
// response it sent (a proxy keeps it with its context for 32 s): the To tag it remembers must be
// a copy, not a slice of the response's text. 2000 responses parsed from text with a 20 KB
// header each; the tags kept the way the handle keeps them; the responses dropped; a full GC;
// prints how much heap is still held. Mode `control` keeps each tag as the parser made it.
import { parse } from '@sipts/message';
import type { SipResponse } from '@sipts/message';
import { ensureToTag } from '../src/reply.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const mode = process.argv[2] ?? 'handle';
const count = 2000;
const padding = 'abcdefghij'.repeat(2000);

function text(i: number): string {
  return [
    'SIP/2.0 200 OK',
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-retention-${i}`,
    'From: <sip:a@127.0.0.1>;tag=from-tag-1',
    // A tag longer than 12 characters: V8 copies shorter substrings anyway.
    `To: <sip:b@127.0.0.1>;tag=to-tag-retention-${i}-${'x'.repeat(20)}`,
    `Call-ID: retention-${i}@127.0.0.1`,
    'CSeq: 1 INVITE',
    `X-Padding: ${padding}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const kept: (string | undefined)[] = [];
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < count; i++) {
  const response = parse(text(i)) as SipResponse;
  kept.push(mode === 'control' ? (response.headers.to?.params.tag as string) : ensureToTag(response, undefined));
}
gc();
gc();
const growth = process.memoryUsage().heapUsed - before;
console.log(JSON.stringify({ growth, tags: kept.filter((t) => typeof t === 'string' && t.startsWith('to-tag-retention-')).length }));
