// Run by retention.test.ts in its own process (node --expose-gc): registers REGISTERs that each
// carry a 40 KB header, drops them, collects garbage and prints how much heap is still held.
// Mode `control` also keeps the parsed Call-ID of each message as the parser made it (a slice
// of the message text), to show what retaining the message text costs.
import { parse } from '@sipts/message';
import type { SipRequest } from '@sipts/message';
import { createRegistrar } from '@sipts/registrar';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const mode = process.argv[2] ?? 'registrar';
const count = 400;
const padding = 'abcdefghij'.repeat(4000);

function text(i: number): string {
  // Users longer than 12 characters: V8 copies shorter slices anyway, longer ones are views.
  const user = `retention-user-${i}`;
  return [
    'REGISTER sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-retention-${i};rport`,
    `From: <sip:${user}@127.0.0.1>;tag=retention-${i}`,
    `To: "A Long Display Name ${i}" <sip:${user}@127.0.0.1>`,
    `Call-ID: retention-test-call-${i}@127.0.0.1`,
    'CSeq: 1 REGISTER',
    `Contact: "Phone ${i}" <sip:${user}@127.0.0.1:5070;transport=udp>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-${String(i).padStart(12, '0')}>";q=0.5`,
    'Supported: path, gruu',
    `Path: <sip:edge-proxy-number-${i}@127.0.0.1:5060;lr>`,
    `User-Agent: retention-test-agent/${i} (a long user agent string)`,
    `X-Pad: ${i} ${padding}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function main(): Promise<void> {
  const registrar = createRegistrar();
  const kept: string[] = [];
  const refs: WeakRef<SipRequest>[] = [];
  gc?.();
  const before = process.memoryUsage().heapUsed;
  // One function call per message, so no local of this (async) function keeps the last one.
  const one = async (i: number): Promise<void> => {
    const rq = parse(text(i)) as SipRequest;
    if (mode === 'control') kept.push(rq.headers['call-id'] as string);
    refs.push(new WeakRef(rq));
    const rs = await registrar.register(rq, { protocol: 'UDP', address: '127.0.0.1', port: 5070 });
    if (rs.status !== 200) throw new Error(`REGISTER ${i}: ${rs.status}`);
  };
  for (let i = 0; i < count; i++) await one(i);
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  const after = process.memoryUsage().heapUsed;
  const stats = await registrar.stats();
  console.log(JSON.stringify({ growth: after - before, aliveRequests: refs.filter((r) => r.deref() !== undefined).length, bindings: stats.bindings, kept: kept.length }));
  await registrar.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
