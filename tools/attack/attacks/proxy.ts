// The proxy under attack: the ACK loop through the proxy itself (issue item 3), fork
// amplification with many Contacts (item 6), forged responses (item 9), and Max-Forwards / CANCEL
// of unknown transactions that held before.
import net from 'node:net';
import type { Attack } from '../lib/attack.js';
import { num, type Context } from '../lib/context.js';
import { sleep, udpClient, type UdpClient } from '../lib/net.js';
import { register, udpChannel } from '../lib/register.js';
import { readMessage, request, token } from '../lib/sip.js';

export const ackLoop: Attack = {
  id: 'ack-loop',
  title: 'ACK loop through the proxy itself (item 3)',
  async run(ctx) {
    const A = 'ACK loop through the proxy itself (item 3)';
    const ep = ctx.endpoint('main', 'UDP');
    const attacker = await udpClient(ctx.source());
    try {
      const before = await ctx.stats();
      // One ACK for an unknown user at the proxy's own address, Max-Forwards 255.
      await attacker.send(request({ method: 'ACK', uri: `sip:nobody@127.0.0.1:${ep.port}`, via: attacker.sentBy, proto: 'UDP', maxForwards: 255 }), ep.port, ep.address);
      await sleep(500);
      const after = await ctx.stats();
      const received = num(after, 'main.stack.requestsReceived.ACK') - num(before, 'main.stack.requestsReceived.ACK');
      const sent = num(after, 'main.stack.requestsSent.ACK') - num(before, 'main.stack.requestsSent.ACK');
      const refused = num(after, 'main.stack.selfLoopsRefused') - num(before, 'main.stack.selfLoopsRefused');
      ctx.check(A, 'one ACK to sip:nobody@<proxy itself>, Max-Forwards 255: hops', '255 hops per packet', `${received} received, ${sent} forwarded, selfLoopsRefused +${refused}`, received === 1 && sent === 0, 'a request whose next hop is the stack itself is sent to the network: @sipts/core next hop / self-loop check');

      // 100 ACKs per second for 3 s (ACKs are not rate limited: they get no answer).
      const cpu0 = ctx.server.cpuSeconds();
      const t0 = performance.now();
      for (let i = 0; i < 300; i++) {
        await attacker.send(request({ method: 'ACK', uri: `sip:nobody@127.0.0.1:${ep.port}`, via: attacker.sentBy, proto: 'UDP', maxForwards: 255 }), ep.port, ep.address);
        await sleep(10);
      }
      await sleep(300);
      const cpu = ((ctx.server.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
      const after2 = await ctx.stats();
      const received2 = num(after2, 'main.stack.requestsReceived.ACK') - num(after, 'main.stack.requestsReceived.ACK');
      ctx.check(A, '300 such ACKs at ~100/s: server CPU, ACKs processed', '100% CPU', `${cpu.toFixed(0)}% of a core, ${received2} ACKs processed`, received2 <= 300 && cpu < 50, 'the ACKs still loop or cost too much CPU');
    } finally {
      attacker.close();
    }
  },
};

/** UDP sinks standing for phones: count what reaches them, answer INVITEs 486, absorb ACKs. */
async function phones(n: number, address: string): Promise<{ sinks: UdpClient[]; invites: () => number; datagrams: () => number; close: () => void }> {
  const sinks = await Promise.all(Array.from({ length: n }, () => udpClient(address, 0)));
  let invites = 0;
  let datagrams = 0;
  for (const s of sinks) {
    s.socket.on('message', (data, rinfo) => {
      datagrams++;
      const m = readMessage(data.toString('utf8'));
      if (m.method !== 'INVITE') return;
      invites++;
      const lines = data.toString('utf8').split('\r\n\r\n')[0]?.split('\r\n') ?? [];
      const keep = lines.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l)).map((l) => (/^(to|t)\s*:/i.test(l) ? `${l};tag=${token('t')}` : l));
      const reply = ['SIP/2.0 486 Busy Here', ...keep, 'Content-Length: 0', '', ''].join('\r\n');
      s.socket.send(Buffer.from(reply), rinfo.port, rinfo.address);
    });
  }
  return { sinks, invites: () => invites, datagrams: () => datagrams, close: () => sinks.forEach((s) => s.close()) };
}

export const forkAmplification: Attack = {
  id: 'fork',
  title: 'fork amplification (item 6)',
  async run(ctx) {
    const A = 'fork amplification (item 6)';
    const ep = ctx.endpoint('main', 'UDP');
    const sinkAddress = ctx.source();
    const phoneSet = await phones(12, sinkAddress);
    const mallory = await udpClient(ctx.source());
    const caller = await udpClient(ctx.source());
    const password = ctx.users['mallory'] ?? '';
    try {
      const ch = udpChannel(mallory, ep);
      // 500 Contacts in one REGISTER (over UDP on loopback: one 20 KB datagram).
      const many = Array.from({ length: 500 }, (_, i) => `<sip:m${i}@${sinkAddress}:${(phoneSet.sinks[i % 12]?.port ?? 9)}>`);
      const r500 = await register(ch, { ep, user: 'mallory', contacts: many, expires: 300 }, password);
      // Then Contacts one REGISTER at a time, each to its own phone, until refused.
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await register(ch, { ep, user: 'mallory', contacts: [`<sip:p${i}@${phoneSet.sinks[i]?.sentBy ?? ''}>`], expires: 300 }, password, 10 + i * 2);
        statuses.push(r.final?.status ?? 0);
      }
      const accepted = statuses.filter((s) => s === 200).length;
      const refusedWith = statuses.find((s) => s !== 200);
      ctx.check(
        A,
        '500 Contacts in one REGISTER, then 12 one by one',
        '500 bindings accepted',
        `500 at once: ${r500.final?.status ?? 'no answer'} ${r500.final?.text.split('\r\n')[0]?.slice(12) ?? ''}; one by one: ${accepted} accepted, then ${refusedWith ?? 'none refused'}`,
        r500.final?.status === 403 && accepted <= 10 && refusedWith === 403,
        'no cap on bindings per AOR: @sipts/registrar maxBindingsPerAor',
      );

      const before = await ctx.stats();
      const callId = token('fork');
      const answer = caller.inbox.final(callId, 8000);
      const invite = request({ method: 'INVITE', uri: `sip:mallory@127.0.0.1:${ep.port}`, via: caller.sentBy, proto: 'UDP', callId, extra: [`Contact: <sip:caller@${caller.sentBy}>`] });
      await caller.send(invite, ep.port, ep.address);
      const final = await answer;
      if (final !== undefined) {
        // RFC 3261 §17.1.1.3: ACK the non-2xx final.
        await caller.send(request({ method: 'ACK', uri: `sip:mallory@127.0.0.1:${ep.port}`, via: caller.sentBy, proto: 'UDP', callId, branch: /branch=([^;\s]+)/.exec(final.header('via') ?? '')?.[1] }), ep.port, ep.address);
      }
      await sleep(300);
      const after = await ctx.stats();
      const outUdp = num(after, 'main.stack.transports.UDP.sent') - num(before, 'main.stack.transports.UDP.sent');
      ctx.check(
        A,
        'one INVITE to the AOR: branches, datagrams the stack sent (ratio)',
        '500 Contacts: 3,500 datagrams per INVITE',
        `${phoneSet.invites()} INVITEs reached phones, ${phoneSet.datagrams()} datagrams in all; the stack sent ${outUdp} datagrams for 2 from the caller (${(outUdp / 2).toFixed(1)}x); caller got ${final?.status ?? 'no final'}; forks truncated ${num(after, 'main.proxy.forksTruncated')}`,
        phoneSet.invites() <= 10 && phoneSet.invites() >= 1,
        'one INVITE fans out to more than 10 branches',
      );
      ctx.info(A, 'maxBranches (20) per request', '', 'not reachable through the registrar (10 bindings per AOR); covered by @sipts/proxy tests');
      // Leave no binding behind.
      await register(ch, { ep, user: 'mallory', contacts: ['*'], expires: 0 }, password, 100);
    } finally {
      phoneSet.close();
      mallory.close();
      caller.close();
    }
  },
};

export const forgedResponses: Attack = {
  id: 'forged-responses',
  title: 'forged responses (item 9)',
  async run(ctx) {
    const A = 'forged responses (item 9)';
    const ep = ctx.endpoint('main', 'UDP');
    const victim = ctx.source();
    const udpVictim = await udpClient(victim, 0);
    let tcpAccepted = 0;
    const tcpVictim = net.createServer((s) => {
      tcpAccepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => tcpVictim.listen(udpVictim.port, victim, resolve));
    const attacker = await udpClient(ctx.source());
    try {
      const before = await ctx.stats();
      const forged = (topHost: string, second: string): string =>
        [
          'SIP/2.0 200 OK',
          `Via: SIP/2.0/UDP ${topHost};branch=z9hG4bK${token()}`,
          `Via: SIP/2.0/${second} ${victim}:${udpVictim.port};branch=z9hG4bK${token()}`,
          `From: <sip:a@127.0.0.1>;tag=${token()}`,
          `To: <sip:b@127.0.0.1>;tag=${token()}`,
          `Call-ID: ${token('forged')}`,
          'CSeq: 1 INVITE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
      const sends = [forged(`127.0.0.1:${ep.port}`, 'UDP'), forged(`127.0.0.1:${ep.port}`, 'TCP'), forged(`${victim}:${udpVictim.port}`, 'TCP'), forged(`127.0.0.1:${ep.port}`, 'TLS')];
      for (const s of sends) await attacker.send(s, ep.port, ep.address);
      await sleep(1000);
      const after = await ctx.stats();
      const dropped = num(after, 'main.stack.strayResponsesDropped') - num(before, 'main.stack.strayResponsesDropped');
      ctx.check(
        A,
        '4 responses matching no transaction, next Via a loopback victim (UDP, TCP, TLS)',
        'forwarded to any Via; TCP connections opened',
        `victim got ${udpVictim.datagrams} datagrams and ${tcpAccepted} TCP connections; strayResponsesDropped +${dropped}`,
        udpVictim.datagrams === 0 && tcpAccepted === 0,
        'a forged response is relayed or opens a connection: @sipts/core stray response handling (signed stateless branch, connect:false)',
      );
    } finally {
      attacker.close();
      udpVictim.close();
      await new Promise<void>((resolve) => tcpVictim.close(() => resolve()));
    }
  },
};

export const hops: Attack = {
  id: 'hops',
  title: 'Max-Forwards, loops, spirals, CANCEL (held)',
  async run(ctx: Context) {
    const A = 'Max-Forwards, loops, spirals, CANCEL (held)';
    const ep = ctx.endpoint('main', 'UDP');
    const c = await udpClient(ctx.source());
    try {
      const sink = await udpClient(ctx.source(), 0);
      const id1 = token('mf');
      const a1 = c.inbox.final(id1, 2000);
      await c.send(request({ method: 'OPTIONS', uri: `sip:x@${sink.sentBy}`, via: c.sentBy, proto: 'UDP', callId: id1, maxForwards: 0 }), ep.port, ep.address);
      const r1 = await a1;
      const id2 = token('cancel');
      const a2 = c.inbox.final(id2, 2000);
      await c.send(request({ method: 'CANCEL', uri: `sip:x@127.0.0.1:${ep.port}`, via: c.sentBy, proto: 'UDP', callId: id2 }), ep.port, ep.address);
      const r2 = await a2;
      await sleep(200);
      ctx.check(A, 'Max-Forwards: 0 to another host; CANCEL of an unknown transaction', '483; 481', `${r1?.status ?? 'no answer'} (sink got ${sink.datagrams}); ${r2?.status ?? 'no answer'}`, r1?.status === 483 && sink.datagrams === 0 && r2?.status === 481, 'Max-Forwards or CANCEL handling regressed: @sipts/proxy');
      sink.close();

      // A spiral, then a loop (RFC 3261 §16.3 step 4): a "proxy" at `bouncer` sends what it gets
      // back to our proxy, first with a new Request-URI (a spiral: served), then unchanged (a
      // loop: 482). It then answers both requests 200, so every context ends.
      const bouncer = await udpClient(ctx.source(), 0);
      const received: { text: string; from: { port: number; address: string } }[] = [];
      bouncer.socket.on('message', (data, rinfo) => {
        const text = data.toString('utf8');
        if (text.startsWith('SIP/2.0')) return;
        // Retransmissions (Timer E) of a request already seen are not new hops.
        const topVia = /\r\nVia:[^\r]*/i.exec(text)?.[0];
        if (received.some((r) => /\r\nVia:[^\r]*/i.exec(r.text)?.[0] === topVia)) return;
        received.push({ text, from: rinfo });
        const bounced = received.length === 1 ? text.replace(/^OPTIONS sip:x@/, 'OPTIONS sip:y@') : text;
        if (received.length <= 2) {
          const withVia = bounced.replace('\r\n', `\r\nVia: SIP/2.0/UDP ${bouncer.sentBy};branch=z9hG4bK${token()}\r\n`).replace(/Max-Forwards: (\d+)/, (_, n: string) => `Max-Forwards: ${Number(n) - 1}`);
          bouncer.socket.send(Buffer.from(withVia), ep.port, ep.address);
        }
      });
      const before = await ctx.stats();
      const id3 = token('loop');
      const a3 = c.inbox.final(id3, 3000);
      await c.send(request({ method: 'OPTIONS', uri: `sip:x@${bouncer.sentBy}`, via: c.sentBy, proto: 'UDP', callId: id3 }), ep.port, ep.address);
      await sleep(600);
      const after = await ctx.stats();
      for (const r of received.slice(0, 2)) {
        const head = r.text.split('\r\n\r\n')[0]?.split('\r\n') ?? [];
        const keep = head.filter((l) => /^(via|from|to|call-id|cseq)\s*:/i.test(l)).map((l) => (/^to\s*:/i.test(l) ? `${l};tag=${token('t')}` : l));
        bouncer.socket.send(Buffer.from(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n')), r.from.port, r.from.address);
      }
      const r3 = await a3;
      bouncer.close();
      const loops = num(after, 'main.proxy.loopsDetected') - num(before, 'main.proxy.loopsDetected');
      ctx.check(A, 'a request that spirals back once (new Request-URI), then loops back unchanged', '482 for loops, spirals served', `the spiral was forwarded again (${received.length} requests reached the bouncer), loopsDetected +${loops}; the caller got ${r3?.status ?? 'no answer'}`, received.length === 2 && loops === 1, 'loop detection or spiral handling regressed: @sipts/proxy §16.3 step 4');
    } finally {
      c.close();
    }
  },
};
