// Run by shared-port.test.ts inside `unshare -n`, where the ephemeral port range is this
// namespace's own and set to 4 ports (FIRST..FIRST+3). TCP listeners hold the first three, so a
// stack on port 0 finds a free TCP twin only on the fourth, whichever UDP port the kernel picks
// first. Prints one JSON line: the UDP and TCP port of each of a few stacks in turn.
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { create } from '@sipts/core';

const first = Number(process.argv[2]);

function holdTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const held = await Promise.all([0, 1, 2].map((i) => holdTcp(first + i)));
  const ports: Array<{ udp: number | undefined; tcp: number | undefined }> = [];
  for (let i = 0; i < 4; i++) {
    const stack = create({ address: '127.0.0.1', port: 0 });
    await stack.ready();
    const of = (protocol: string) => stack.addresses().find((a) => a.protocol === protocol)?.port;
    ports.push({ udp: of('UDP'), tcp: of('TCP') });
    await stack.close();
  }
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  console.log(JSON.stringify({ ports }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
