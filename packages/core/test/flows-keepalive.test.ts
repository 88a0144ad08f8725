// What a registrar needs from the stack for RFC 5626 flows: holding a stream connection open
// past the idle timeout while a binding uses it, and keep-alives towards NATed UDP bindings.
import { connect } from 'node:net';
import type { Remote } from '@sipts/core';
import { RawUdpPeer, closeAll, listeningStack, portOf } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

test('holdFlow keeps a TCP connection past the idle timeout until released', async () => {
  const stack = await listeningStack({ idleTimeout: 200 });
  const opened = new Promise<Remote>((resolve) => stack.once('connectionOpen', resolve));
  const socket = connect(portOf(stack, 'TCP'), '127.0.0.1');
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  const flow = await opened;
  const release = stack.holdFlow(flow);
  await new Promise((r) => setTimeout(r, 600));
  expect(closed).toBe(false);
  release();
  release(); // idempotent
  for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
  expect(closed).toBe(true);
});

test('holdFlow on a flow that is not a held stream connection does nothing', async () => {
  const stack = await listeningStack();
  const release = stack.holdFlow({ protocol: 'UDP', address: '127.0.0.1', port: 9 });
  expect(() => release()).not.toThrow();
  const gone = stack.holdFlow({ protocol: 'TCP', address: '127.0.0.1', port: 9, local: { address: '127.0.0.1', port: 1 } });
  expect(() => gone()).not.toThrow();
});

test('sendKeepAlive sends CRLFCRLF to a UDP binding, and never opens a TCP connection', async () => {
  const peer = new RawUdpPeer();
  const port = await peer.bind();
  const stack = await listeningStack();
  const received = new Promise<string>((resolve) => peer.socket.once('message', (d) => resolve(d.toString('latin1'))));
  await stack.sendKeepAlive({ protocol: 'UDP', address: '127.0.0.1', port });
  expect(await received).toBe('\r\n\r\n');
  await expect(stack.sendKeepAlive({ protocol: 'TCP', address: '127.0.0.1', port: 9 })).rejects.toBeDefined();
  await peer.close();
});
