// The smaller items of the issue (9 and the note on reply sizes): a Request-URI port above 65535,
// 400 then close for malformed messages over TCP, UDP parse errors reaching logger.error, the
// size of stateless error replies to junk, and the bytes an unACKed INVITE's final response
// brings back.
import type { Attack } from '../lib/attack.js';
import { num } from '../lib/context.js';
import { sleep, streamClient, udpClient } from '../lib/net.js';
import { request, token } from '../lib/sip.js';

/** The To tag a response must add (RFC 3261 §8.2.6.2): ";tag=" and 16 hex digits. */
const TO_TAG = 21;

export const requestUriPort: Attack = {
  id: 'ruri-port',
  title: 'Request-URI port above 65535 (item 9)',
  async run(ctx) {
    const A = 'Request-URI port above 65535 (item 9)';
    const ep = ctx.endpoint('main', 'UDP');
    const c = await udpClient(ctx.source());
    try {
      const results: string[] = [];
      let ok = true;
      for (const port of [70000, 65536, 99999999]) {
        const callId = token('port');
        const answer = c.inbox.final(callId, 1500);
        await c.send(request({ method: 'OPTIONS', uri: `sip:x@127.0.0.1:${port}`, via: c.sentBy, proto: 'UDP', callId }), ep.port, ep.address);
        const r = await answer;
        results.push(`:${port} -> ${r?.status ?? 'no answer'}`);
        ok &&= r?.status === 400;
      }
      ctx.check(A, 'OPTIONS sip:x@127.0.0.1:<port> for ports 70000, 65536, 99999999', 'passes the parser', results.join(', '), ok, 'the parser accepts a Request-URI port above 65535: @sipts/message Request-URI check');
    } finally {
      c.close();
    }
  },
};

export const tcpBadRequest: Attack = {
  id: 'tcp-400',
  title: 'malformed messages over TCP (item 9)',
  async run(ctx) {
    const A = 'malformed messages over TCP (item 9)';
    const ep = ctx.endpoint('main', 'TCP');
    const cases: [string, (sentBy: string) => string][] = [
      ['bad From', (v) => `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ${v};branch=z9hG4bK${token()}\r\nFrom: <<<garbage\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${token()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`],
      ['no Call-ID', (v) => `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ${v};branch=z9hG4bK${token()}\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`],
      ['bad Content-Length', (v) => `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ${v};branch=z9hG4bK${token()}\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${token()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: abc\r\n\r\n`],
      ['header over maxHeaderBytes', (v) => `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ${v};branch=z9hG4bK${token()}\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${token()}\r\nCSeq: 1 OPTIONS\r\nX-Big: ${'b'.repeat(70_000)}\r\nContent-Length: 0\r\n\r\n`],
      // The body is refused on its Content-Length, before any of it is read (none is sent).
      ['body over maxContentLength', (v) => `MESSAGE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP ${v};branch=z9hG4bK${token()}\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ${token()}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 700000\r\n\r\n`],
    ];
    const results: string[] = [];
    let ok = true;
    const source = ctx.source();
    for (const [name, make] of cases) {
      const c = await streamClient({ secure: false, host: ep.address, port: ep.port, localAddress: source });
      c.write(make(c.sentBy));
      const deadline = Date.now() + 2000;
      while (!c.isClosed && Date.now() < deadline) await sleep(20);
      const first = c.inbox.messages[0];
      results.push(`${name}: ${first?.status ?? 'nothing'}, ${c.isClosed ? 'closed' : 'left open'}`);
      ok &&= first?.status === 400 && c.isClosed;
      c.destroy();
    }
    ctx.check(A, 'malformed requests on a TCP connection (and the header/body limits)', 'closed without a 400 (limits held)', results.join('; '), ok, 'no 400 before closing a stream with a malformed request: @sipts/transport-tcp');
    ctx.skip(A, 'idle timeout (120 s without traffic)', 'not exercised: longer than the suite; @sipts/transport-tcp tests it on fake time');
  },
};

export const udpJunk: Attack = {
  id: 'udp-junk',
  title: 'junk over UDP: error replies and logging (item 9, reply sizes)',
  async run(ctx) {
    const A = 'junk over UDP (item 9, reply sizes)';
    const ep = ctx.endpoint('main', 'UDP');
    const c = await udpClient(ctx.source());
    const v = c.sentBy;
    const junk: [string, string][] = [
      ['compact, no From', `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP ${v};branch=z9hG4bKj1\r\nt: <sip:b@127.0.0.1>\r\ni: j1\r\nCSeq: 1 OPTIONS\r\n\r\n`],
      ['compact, bad Max-Forwards', `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP ${v};branch=z9hG4bKj2\r\nf: <sip:a@127.0.0.1>;tag=1\r\nt: <sip:b@127.0.0.1>\r\ni: j2\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 999\r\n\r\n`],
      ['header line without a colon', `INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP ${v};branch=z9hG4bKj3\r\nCSeq: 1 INVITE\r\nthis is not a header\r\n\r\n`],
      ['bad CSeq', `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP ${v};branch=z9hG4bKj4\r\nCSeq: x OPTIONS\r\n\r\n`],
      ['long bad header name', `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP ${v};branch=z9hG4bKj5\r\nCSeq: 1 OPTIONS\r\n${'x'.repeat(300)} y: z\r\n\r\n`],
      ['no Via', `OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n`],
      ['binary garbage', '\u0000\u0001\u0002garbage\r\n\r\n'],
      ['SIP/3.0', `OPTIONS sip:a@127.0.0.1 SIP/3.0\r\nv: SIP/2.0/UDP ${v};branch=z9hG4bKj6\r\nf: <sip:a@127.0.0.1>;tag=1\r\nt: <sip:b@127.0.0.1>\r\ni: j6\r\nCSeq: 1 OPTIONS\r\n\r\n`],
    ];
    try {
      const before = await ctx.stats();
      const rows: string[] = [];
      let worstRatio = 0;
      let worstExcess = -Infinity;
      let replies = 0;
      for (const [name, text] of junk) {
        const got = c.datagrams;
        const bytes0 = c.inbox.bytes;
        await c.send(text, ep.port, ep.address);
        await sleep(150);
        const n = c.datagrams - got;
        const replyBytes = c.inbox.bytes - bytes0;
        const sent = Buffer.byteLength(text);
        replies += n;
        if (n > 0) {
          worstRatio = Math.max(worstRatio, replyBytes / sent);
          worstExcess = Math.max(worstExcess, replyBytes - sent);
        }
        rows.push(`${name} ${sent} B -> ${n === 0 ? 'none' : `${c.inbox.messages.at(-1)?.status ?? '?'} ${replyBytes} B`}`);
      }
      await sleep(200);
      const after = await ctx.stats();
      const errors = num(after, 'main.logger.errors') - num(before, 'main.logger.errors');
      const badRequests = num(after, 'main.stack.transports.UDP.badRequests') - num(before, 'main.stack.transports.UDP.badRequests');
      ctx.check(
        A,
        `${junk.length} junk datagrams: largest error reply vs its request`,
        '5.5x for junk',
        `${worstRatio.toFixed(2)}x, at most ${worstExcess} bytes over the request (${rows.join('; ')})`,
        worstRatio <= 1.25 && worstExcess <= TO_TAG,
        `an error reply exceeds its request by more than the To tag (${TO_TAG} bytes) that bad-request.ts documents: @sipts/message buildBadRequest (compact header names are expanded in the copy)`,
      );
      ctx.check(A, 'UDP parse errors reach logger.error; error replies are counted', 'never reach logger.error', `logger.error +${errors} for ${junk.length} datagrams; UDP badRequests +${badRequests} for ${replies} replies`, errors >= junk.length - 1 && badRequests === replies, 'UDP parse errors do not reach logger.error, or stateless replies go uncounted: @sipts/core / @sipts/transport-udp');
    } finally {
      c.close();
    }
  },
};

export const unackedInvite: Attack = {
  id: 'unacked-invite',
  title: "an unACKed INVITE's retransmitted final (reply sizes)",
  async run(ctx) {
    const A = "an unACKed INVITE's retransmitted final (reply sizes)";
    const ep = ctx.endpoint('main', 'UDP');
    const c = await udpClient(ctx.source());
    const text = request({ method: 'INVITE', uri: `sip:nobody@127.0.0.1:${ep.port}`, via: c.sentBy, proto: 'UDP', callId: token('noack') });
    await c.send(text, ep.port, ep.address);
    const sent = Buffer.byteLength(text);
    // RFC 3261 §17.2.1: the final is retransmitted (Timer G) until an ACK or Timer H (64*T1 =
    // 32 s). The suite reads the count at the end of the run, once the transaction is over.
    ctx.deferred.push(async () => {
      ctx.info(A, 'one INVITE to an unknown user, never ACKed: bytes back / bytes sent (until Timer H)', '16x', `${c.datagrams} datagrams, ${c.inbox.bytes} B for ${sent} B: ${(c.inbox.bytes / sent).toFixed(1)}x (RFC 3261 Timer G until Timer H; a rate-limited source cannot repeat it more than 200/s)`);
      c.close();
    });
  },
};
