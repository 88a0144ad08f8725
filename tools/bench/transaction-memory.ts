// What a live transaction costs in heap (not a test): N requests parsed from real SIP text go
// through a TransactionLayer on fake time and a no-op transport, each answered at once, so every
// transaction sits in the state a loaded proxy holds most of them in (Completed waiting for
// Timer J, Accepted waiting for Timer L/M). Heap measured after full GCs, before and after.
//
//   pnpm bench:tx-memory                 (N=50000)
//   TX_COUNT=100000 pnpm bench:tx-memory
//
// Runs node with --expose-gc through tsx (see package.json).
// Only dynamic imports for values: this file runs under tsx whatever the module kind of tools/.
import type { Remote, SipRequest, SipResponse } from '@sipts/message';
import type { BoundAddress, ServerTransaction, Transport } from '@sipts/transaction';

class NullTransport implements Transport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  send(): Promise<void> {
    return Promise.resolve();
  }
  listen(): Promise<BoundAddress> {
    return Promise.resolve({ address: '127.0.0.1', port: 5060, family: 'IPv4' });
  }
  address(): BoundAddress | undefined {
    return undefined;
  }
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function text(method: string, i: number): string {
  return (
    `${method} sip:service@127.0.0.1:5060 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-${i}-${method}-0123456789abcdef;rport\r\n` +
    `From: sipp <sip:sipp@127.0.0.1:5061>;tag=${i}SIPpTag00${i}\r\n` +
    'To: service <sip:service@127.0.0.1:5060>\r\n' +
    `Call-ID: ${i}-12345@127.0.0.1\r\n` +
    `CSeq: 1 ${method}\r\n` +
    'Contact: sip:sipp@127.0.0.1:5061\r\n' +
    'Max-Forwards: 70\r\n' +
    'Subject: Performance Test\r\n' +
    (method === 'INVITE' ? 'Content-Type: application/sdp\r\n' : '') +
    'Content-Length: 0\r\n\r\n'
  );
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc (pnpm bench:tx-memory does)');
  for (let i = 0; i < 4; i++) g();
}

async function measure(label: string, count: number, method: 'INVITE' | 'BYE', status: number): Promise<void> {
  const { makeResponse, parse } = await import('@sipts/message');
  const { ManualClock, TransactionLayer } = await import('@sipts/transaction');
  const clock = new ManualClock();
  const transport = new NullTransport();
  const remote: Remote = { protocol: 'UDP', address: '127.0.0.1', port: 5061 };
  const layer = new TransactionLayer({
    clock,
    onRequest: (rq: SipRequest, _remote: Remote, tx: ServerTransaction) => {
      const rs: SipResponse = makeResponse(rq, status, undefined, { toTag: true });
      tx.send(rs);
    },
  });
  // The datagrams exist before and after (freeing them would mask what the transactions hold);
  // the parsed messages are garbage once the transactions are created, as on a real socket.
  const datagrams: Buffer[] = [];
  for (let i = 0; i < count; i++) datagrams.push(Buffer.from(text(method, i)));
  gc();
  await new Promise((r) => setImmediate(r));
  const used = (): number => {
    const m = process.memoryUsage();
    // The serialised responses live in ArrayBuffers outside the V8 heap: count them too.
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  for (let i = 0; i < count; i++) {
    layer.receive(parse(datagrams[i] as Buffer), { ...remote }, transport);
  }
  gc();
  await new Promise((r) => setImmediate(r));
  const after = used();
  const live = layer.stats().server;
  if (datagrams.length !== count) throw new Error('datagrams freed early');
  console.log(`${label.padEnd(44)} ${String(live).padStart(7)} live  ${((after - before) / live).toFixed(0).padStart(6)} B each`);
  layer.shutdown();
}

const CASES = {
  'non-invite-200': ['non-INVITE, 200 sent, Completed (Timer J)', 'BYE', 200],
  'invite-200': ['INVITE, 200 sent, Accepted (Timer L)', 'INVITE', 200],
  'invite-486': ['INVITE, 486 sent, Completed (Timers G/H)', 'INVITE', 486],
} as const;

async function main(): Promise<void> {
  const count = Number(process.env['TX_COUNT'] ?? 50000);
  const which = process.argv[2] as keyof typeof CASES | undefined;
  if (which !== undefined && which in CASES) {
    const [label, method, status] = CASES[which];
    await measure(label, count, method, status);
    return;
  }
  // Each case in a fresh process: what one case leaves to the GC must not count in the next.
  const { spawnSync } = await import('node:child_process');
  console.log(`heap + ArrayBuffer bytes per live server transaction, ${count} each (node ${process.version})`);
  for (const name of Object.keys(CASES)) {
    const run = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, name], { stdio: 'inherit', env: process.env });
    if (run.status !== 0) process.exitCode = 1;
  }
}

void main();
