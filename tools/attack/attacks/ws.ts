// WebSocket and stream output: no output buffer cap on WebSocket (issue item 9), the 4 MiB TCP
// output cap, bad handshakes, 10 MB frames and fragment floods (held before).
import type { Attack } from '../lib/attack.js';
import { MiB, mib, num, type Context } from '../lib/context.js';
import { encodeFrame, sleep, streamClient, wsConnect, WsClient } from '../lib/net.js';
import { request, token } from '../lib/sip.js';
import type { Endpoint } from '../lib/target.js';

/** An OPTIONS whose response is big: 100 Via headers of ~520 bytes are copied into it. */
function bigReplyOptions(ep: Endpoint, proto: 'WS' | 'TCP', sentBy: string): string {
  const vias = Array.from({ length: 99 }, (_, i) => `Via: SIP/2.0/${proto} 127.0.0.${(i % 200) + 2}:5060;branch=z9hG4bK${'v'.repeat(480)}${i}`);
  return request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${ep.port}`, via: sentBy, proto, callId: token('big'), extra: vias });
}

export const wsHandshakes: Attack = {
  id: 'ws-handshake',
  title: 'WebSocket handshakes, 10 MB frames, fragment floods (held)',
  async run(ctx: Context) {
    const A = 'WebSocket handshakes, frames, fragments (held)';
    const ep = ctx.endpoint('main', 'WS');
    const source = ctx.source();
    const base = { secure: false, host: ep.address, port: ep.port, localAddress: source };
    const statuses: string[] = [];
    let refused = true;
    const tries: [string, Parameters<typeof wsConnect>[0]][] = [
      ['no sip subprotocol', { ...base, protocol: null }],
      ['subprotocol chat', { ...base, protocol: 'chat' }],
      // ws also speaks hybi-08 (version 8), wire-compatible with 13; 7 is refused.
      ['version 7', { ...base, rawHandshake: `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Protocol: sip\r\n\r\n` }],
      ['no key', { ...base, rawHandshake: 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n' }],
      ['plain GET', { ...base, rawHandshake: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' }],
      ['garbage', { ...base, rawHandshake: 'HELLO THERE\r\n\r\n' }],
    ];
    for (const [name, o] of tries) {
      const r = await wsConnect(o);
      const status = r instanceof WsClient ? 101 : r;
      if (r instanceof WsClient) r.destroy();
      statuses.push(`${name}: ${status === 0 ? 'closed' : status}`);
      refused &&= status !== 101;
    }
    ctx.check(A, 'bad upgrade requests', '400', statuses.join(', '), refused, 'a bad WebSocket handshake is accepted: @sipts/transport-ws upgrade checks');

    const big = await wsConnect(base);
    if (!(big instanceof WsClient)) throw new Error(`WebSocket refused: ${big}`);
    big.rawWrite(encodeFrame(1, Buffer.from('OPTIONS'), true, 10 * 1024 * 1024));
    await Promise.race([big.closed, sleep(3000)]);
    ctx.check(A, 'a frame announcing 10 MB', 'closed 1009', `close code ${big.closeCode ?? 'none'}, ${big.isClosed ? 'closed' : 'still open'}`, big.closeCode === 1009 && big.isClosed, 'an oversize frame is buffered: @sipts/transport-ws maxPayload');
    big.destroy();

    const frag = await wsConnect(base);
    if (!(frag instanceof WsClient)) throw new Error(`WebSocket refused: ${frag}`);
    const before = await ctx.stats();
    frag.frame(1, Buffer.from('O'), false);
    for (let i = 0; i < 20_000 && !frag.isClosed; i++) {
      frag.frame(0, Buffer.from('x'), false);
      if (i % 1000 === 999) await sleep(1);
    }
    await Promise.race([frag.closed, sleep(3000)]);
    const after = await ctx.stats();
    ctx.check(
      A,
      '20,000 one-byte fragments of one message',
      'closed 1008',
      `close code ${frag.closeCode ?? 'none'}, ${frag.isClosed ? 'closed' : 'still open'}; protocolErrors +${num(after, 'main.stack.transports.WS.protocolErrors') - num(before, 'main.stack.transports.WS.protocolErrors')}`,
      frag.isClosed && frag.closeCode !== undefined && [1002, 1008, 1009].includes(frag.closeCode),
      'a fragment flood is not cut: ws maxFragments / @sipts/transport-ws',
    );
    frag.destroy();
  },
};

export const outputCaps: Attack = {
  id: 'output-caps',
  title: 'peers that do not read (WS item 9, TCP held)',
  heapSlack: 24 * MiB,
  async run(ctx: Context) {
    const A = 'peers that do not read (WS item 9, TCP held)';
    // WebSocket: requests with big replies, never reading, in rounds of 380 (one per 2 s window
    // of the rate limit) until the server gives up on the connection, four rounds at most.
    const ws = ctx.endpoint('main', 'WS');
    const w = await wsConnect({ secure: false, host: ws.address, port: ws.port, localAddress: ctx.source() });
    if (!(w instanceof WsClient)) throw new Error(`WebSocket refused: ${w}`);
    w.socket.pause();
    const before = await ctx.stats();
    const sentBy = `${w.socket.localAddress ?? '127.0.0.1'}:${w.socket.localPort ?? 0}`;
    let maxExternal = 0;
    let maxHeap = 0;
    let wsRequests = 0;
    let overflows = 0;
    const overflowed = async (): Promise<boolean> => {
      overflows = num(await ctx.stats(), 'main.stack.transports.WS.bufferOverflows') - num(before, 'main.stack.transports.WS.bufferOverflows');
      return overflows > 0;
    };
    for (let round = 0; round < 4 && !(await overflowed()); round++) {
      const windowStart = Date.now();
      for (let i = 0; i < 380 && !w.isClosed; i++) {
        w.sendText(bigReplyOptions(ws, 'WS', sentBy));
        wsRequests++;
        if (i % 40 === 39) {
          await sleep(20);
          const m = await ctx.memory();
          maxExternal = Math.max(maxExternal, m.external);
          maxHeap = Math.max(maxHeap, m.heapUsed);
        }
      }
      while (Date.now() - windowStart < 2100 && !(await overflowed())) await sleep(100);
    }
    const after = await ctx.stats();
    const replyBytes = num(after, 'main.stack.transports.WS.bytesSent') - num(before, 'main.stack.transports.WS.bytesSent');
    w.destroy();
    ctx.check(
      A,
      `WebSocket client sends ${wsRequests} OPTIONS with ~50 KB replies and never reads`,
      'no output buffer cap',
      `bufferOverflows +${overflows}${overflows > 0 ? ' (closed 1008)' : ''}, ${mib(replyBytes)} of replies offered; server buffers peaked at ${mib(maxExternal)}, heap at ${mib(maxHeap)}`,
      overflows >= 1 && maxExternal < ctx.baseline.external + 64 * MiB && maxHeap < ctx.baseline.heapUsed + 64 * MiB,
      'a WebSocket peer that does not read makes the server buffer without bound: @sipts/transport-ws maxBufferedBytes',
    );

    // TCP: the same, in four rounds of 380 (one per rate-limit window): the kernel takes tens of
    // MiB (tcp_rmem) before anything waits in the process.
    const tcp = ctx.endpoint('main', 'TCP');
    const t = await streamClient({ secure: false, host: tcp.address, port: tcp.port, localAddress: ctx.source() });
    t.socket.pause();
    const before2 = await ctx.stats();
    let maxExternal2 = 0;
    let maxHeap2 = 0;
    let requests = 0;
    for (let round = 0; round < 4 && !t.isClosed; round++) {
      const windowStart = Date.now();
      for (let i = 0; i < 380 && !t.isClosed; i++) {
        t.write(bigReplyOptions(tcp, 'TCP', t.sentBy));
        requests++;
        if (i % 40 === 39) {
          await sleep(20);
          const m = await ctx.memory();
          maxExternal2 = Math.max(maxExternal2, m.external);
          maxHeap2 = Math.max(maxHeap2, m.heapUsed);
        }
      }
      const errors = num(await ctx.stats(), 'main.logger.errors') - num(before2, 'main.logger.errors');
      if (errors > 0) break;
      await sleep(Math.max(0, 2100 - (Date.now() - windowStart)));
    }
    await sleep(500);
    const after2 = await ctx.stats();
    const codes = Object.entries((after2['main']?.logger['errorCodes'] ?? {}) as Record<string, number>)
      .map(([code, n]) => [code, n - num(before2, `main.logger.errorCodes.${code}`)] as const)
      .filter(([, n]) => n > 0);
    const written = num(after2, 'main.stack.transports.TCP.bytesSent') - num(before2, 'main.stack.transports.TCP.bytesSent');
    t.destroy();
    ctx.check(
      A,
      `TCP client sends ${requests} OPTIONS with ~50 KB replies and never reads`,
      '4 MiB cap held',
      `${mib(written)} of replies offered to the transport; errors reported: ${codes.map(([c, n]) => `${c} x${n}`).join(', ') || 'none'}, transport errors +${num(after2, 'main.stack.transportErrors') - num(before2, 'main.stack.transportErrors')}; server buffers peaked at ${mib(maxExternal2)}, heap at ${mib(maxHeap2)}`,
      maxExternal2 < ctx.baseline.external + 64 * MiB && maxHeap2 < ctx.baseline.heapUsed + 64 * MiB,
      'a TCP peer that does not read makes the server buffer without bound: @sipts/transport-tcp maxBufferedBytes',
    );
  },
};
