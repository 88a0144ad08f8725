// A pino logger plugged in as is prints levelled JSON lines with the call context; default
// silent; the old logger.send/recv/error hooks keep working through stackLogger().
import { Writable } from 'node:stream';
import pino from 'pino';
import { create, makeResponse } from '@sipts/core';
import type { SipRequest, SipStack } from '@sipts/core';
import { logStack, remoteText, stackLogger, type SipLogger } from '@sipts/observability';

jest.setTimeout(20_000);
const stacks: SipStack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});

function capturedPino(level: string): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

async function pair(onRequest = true): Promise<{ server: SipStack; client: SipStack; uri: string }> {
  const server = create({ address: '127.0.0.1', port: 0 }, onRequest ? (rq, _r, reply) => void reply.reply(makeResponse(rq, 200)) : undefined);
  const client = create({ address: '127.0.0.1', port: 0 });
  stacks.push(server, client);
  await Promise.all([server.ready(), client.ready()]);
  const port = server.addresses().find((a) => a.protocol === 'UDP')!.port;
  return { server, client, uri: `sip:s@127.0.0.1:${port}` };
}

function options(uri: string, callId: string): SipRequest {
  return { method: 'OPTIONS', uri, headers: { to: { uri, params: {} }, from: { uri: 'sip:c@127.0.0.1', params: { tag: 't' } }, 'call-id': callId, cseq: { seq: 7, method: 'OPTIONS' } } };
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

describe('logStack with pino', () => {
  test('debug: JSON lines with level, message, Call-ID, branch, transaction kind and remote', async () => {
    const { server, client, uri } = await pair();
    const { logger, lines } = capturedPino('debug');
    logStack(server, logger);
    await client.request(options(uri, 'call-log-1'));
    await settle();
    const clientPort = client.addresses().find((a) => a.protocol === 'UDP')!.port;
    const received = lines.find((l) => l['msg'] === 'sip received');
    expect(received).toMatchObject({ level: 20, component: 'sipts', callId: 'call-log-1', cseq: '7 OPTIONS', method: 'OPTIONS', remote: `udp:127.0.0.1:${clientPort}` });
    expect(String(received?.['branch'])).toMatch(/^z9hG4bK/);
    const created = lines.find((l) => l['msg'] === 'transaction created');
    expect(created).toMatchObject({ level: 20, callId: 'call-log-1', txKind: 'non-invite-server', method: 'OPTIONS', branch: received?.['branch'], remote: `udp:127.0.0.1:${clientPort}` });
    const sent = lines.find((l) => l['msg'] === 'sip sent');
    expect(sent).toMatchObject({ level: 20, callId: 'call-log-1', status: 200, method: 'OPTIONS', branch: received?.['branch'] });
    // Every line carries the call context.
    for (const line of lines) {
      expect(line['callId']).toBe('call-log-1');
      expect(typeof line['time']).toBe('number');
    }
  });

  test('info: the per-message lines are below the level and cost nothing; a timeout is logged at info', async () => {
    const { client } = await pair();
    const { logger, lines } = capturedPino('info');
    const isLevelEnabled = jest.spyOn(logger, 'isLevelEnabled');
    logStack(client, logger);
    // Nobody answers on this port: the non-INVITE client transaction times out (Timer F).
    const silent = create({ address: '127.0.0.1', port: 0, udp: true, tcp: false });
    stacks.push(silent);
    await silent.ready();
    silent.removeAllListeners('request');
    silent.on('request', () => {}); // never answers
    const port = silent.addresses()[0]!.port;
    const quick = create({ address: '127.0.0.1', port: 0, t1: 5, tcp: false });
    stacks.push(quick);
    await quick.ready();
    logStack(quick, logger);
    const response = await quick.request(options(`sip:x@127.0.0.1:${port}`, 'call-timeout'));
    expect(response.status).toBe(408);
    await settle();
    expect(lines.filter((l) => l['level'] === 20)).toHaveLength(0);
    expect(isLevelEnabled).toHaveBeenCalled();
    expect(lines.find((l) => l['msg'] === 'transaction timeout')).toMatchObject({ level: 30, timer: 'F', txKind: 'non-invite-client', callId: 'call-timeout' });
  });

  test('default silent: nothing is logged until attached, nothing after detach', async () => {
    const { server, client, uri } = await pair();
    const { logger, lines } = capturedPino('trace');
    await client.request(options(uri, 'before'));
    const detach = logStack(server, logger);
    await client.request(options(uri, 'during'));
    detach();
    await client.request(options(uri, 'after'));
    await settle();
    expect(new Set(lines.map((l) => l['callId']))).toEqual(new Set(['during']));
  });

  test('stack errors at error level', async () => {
    const { server } = await pair();
    const { logger, lines } = capturedPino('info');
    logStack(server, logger);
    server.emit('error', new Error('boom'));
    await settle();
    expect(lines.find((l) => l['msg'] === 'stack error')).toMatchObject({ level: 50, err: { message: 'boom' } });
  });

  test('stackLogger: the old send/recv/error hooks on a levelled logger', async () => {
    const { logger, lines } = capturedPino('debug');
    const server = create({ address: '127.0.0.1', port: 0, logger: stackLogger(logger) }, (rq, _r, reply) => void reply.reply(makeResponse(rq, 200)));
    const client = create({ address: '127.0.0.1', port: 0 });
    stacks.push(server, client);
    await Promise.all([server.ready(), client.ready()]);
    const port = server.addresses().find((a) => a.protocol === 'UDP')!.port;
    await client.request(options(`sip:s@127.0.0.1:${port}`, 'hooks'));
    await settle();
    expect(lines.map((l) => l['msg'])).toEqual(['sip received', 'sip sent']);
    expect(lines[0]).toMatchObject({ level: 20, callId: 'hooks', method: 'OPTIONS' });
    // A plain object with the SipLogger shape works too (console-backed, no isLevelEnabled).
    const seen: string[] = [];
    const plain: SipLogger = {
      trace: () => {},
      debug: (o, m) => seen.push(`debug ${m} ${String(o['callId'])}`),
      info: () => {},
      warn: () => {},
      error: (_o, m) => seen.push(`error ${m}`),
      child: () => plain,
    };
    stackLogger(plain).error?.(new Error('x'));
    expect(seen).toEqual(['error stack error']);
  });

  test('remoteText brackets IPv6; options are checked', () => {
    expect(remoteText({ protocol: 'TCP', address: '::1', port: 5060 })).toBe('tcp:[::1]:5060');
    expect(() => logStack({ observe: () => () => {}, on: () => undefined, off: () => undefined } as never, pino({ level: 'silent' }), { messages: 'loud' as 'info' })).toThrow(TypeError);
  });
});
