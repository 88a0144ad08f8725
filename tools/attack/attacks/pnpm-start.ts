// `pnpm start` itself (examples/registrar-proxy.ts with AUTH_USERS, as a user runs it, in its
// own process): the torture corpus over UDP, TCP and WS, the ACK loop ("`pnpm start` too" in
// the issue), the lock-out, and forged responses. Its rate limiter trusts loopback, so floods
// are left to the launcher's stacks. Checked after: alive, legitimate OPTIONS over UDP and TCP
// within 1 s, fds back, RSS, nothing on stderr.
import net from 'node:net';
import { eachStream, eachUdp, eachWs, statusCounts, type Attack } from '../lib/attack.js';
import { corpusDir, loadCorpus, loopbackify } from '../lib/corpus.js';
import { mib, type Context } from '../lib/context.js';
import { sleep, udpClient } from '../lib/net.js';
import { fmtProbe, optionsStream, optionsUdp, probeOk } from '../lib/probe.js';
import { sendRegister, udpChannel, type RegisterSpec } from '../lib/register.js';
import { authorization, readChallenge, request, token } from '../lib/sip.js';
import { startPnpmStart, type Target } from '../lib/target.js';

async function health(ctx: Context, target: Target, A: string, fds0: number, rss0: number): Promise<void> {
  const udp = target.endpoint('main', 'UDP');
  const tcp = target.endpoint('main', 'TCP');
  const probe = await udpClient('127.0.0.1');
  const u = await optionsUdp(probe, udp);
  probe.close();
  const t = await optionsStream(tcp, false, '127.0.0.1');
  let fds = target.fds();
  for (let i = 0; i < 50 && fds > fds0 + 2; i++) {
    await sleep(200);
    fds = target.fds();
  }
  const stderr = target.stderr.slice(target.stderrSeen);
  target.stderrSeen = target.stderr.length;
  const ok = target.running && probeOk(u) && probeOk(t) && fds <= fds0 + 2 && stderr === '';
  ctx.check(
    A,
    'health after: alive, legit OPTIONS UDP/TCP < 1 s, fds back, stderr empty',
    '',
    `${target.running ? 'alive' : `exited ${target.exitCode ?? target.exitSignal}`}; OPTIONS UDP ${fmtProbe(u)}, TCP ${fmtProbe(t)}; fds ${fds0}->${fds}; RSS ${mib(rss0)}->${mib(target.rss())}; ${stderr === '' ? 'stderr empty' : `stderr: ${JSON.stringify(stderr.slice(0, 300))}`}`,
    ok,
    'pnpm start did not come through the attack unharmed',
  );
}

export const pnpmStart: Attack = {
  id: 'pnpm-start',
  title: 'pnpm start (examples/registrar-proxy.ts, AUTH_USERS)',
  async run(ctx) {
    const A = 'pnpm start (AUTH_USERS=alice:secret)';
    const target = await startPnpmStart(ctx.root, { AUTH_USERS: 'alice:secret' });
    ctx.start = target;
    try {
      const udp = target.endpoint('main', 'UDP');
      const tcp = target.endpoint('main', 'TCP');
      const ws = target.endpoint('main', 'WS');
      await sleep(500);
      // Warm up, then the baseline.
      for (let i = 0; i < 3; i++) {
        const p = await udpClient('127.0.0.1');
        await optionsUdp(p, udp);
        p.close();
        await optionsStream(tcp, false, '127.0.0.1');
      }
      const fds0 = target.fds();
      const rss0 = target.rss();

      const dir = corpusDir(ctx.root);
      if (dir !== undefined) {
        const bytes = loadCorpus(dir).map((e) => (ctx.netns ? e.bytes : loopbackify(e.bytes)));
        const u = await eachUdp(udp, bytes, ctx.source(), 1200);
        const t = await eachStream(tcp, false, bytes, ctx.source(), 1200);
        const w = await eachWs(ws, false, bytes, ctx.source(), 1200);
        ctx.check(A, `RFC 4475 corpus (${bytes.length} messages) over UDP, TCP, WS`, 'held', `UDP ${statusCounts(u)}; TCP ${statusCounts(t)}; WS ${statusCounts(w)}`, target.running, 'pnpm start died on the torture corpus');
      }

      // The ACK loop: one ACK, then 100/s for 2 s; CPU of the process.
      const attacker = await udpClient(ctx.source());
      const cpu0 = target.cpuSeconds();
      const t0 = performance.now();
      for (let i = 0; i < 200; i++) {
        await attacker.send(request({ method: 'ACK', uri: `sip:nobody@127.0.0.1:${udp.port}`, via: attacker.sentBy, proto: 'UDP', maxForwards: 255 }), udp.port, udp.address);
        await sleep(10);
      }
      await sleep(300);
      const cpu = ((target.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
      attacker.close();
      ctx.check(A, '200 ACKs to sip:nobody@<itself> at ~100/s, Max-Forwards 255: CPU', '100% CPU', `${cpu.toFixed(0)}% of a core`, cpu < 50, 'pnpm start still forwards ACKs to itself: @sipts/core self-loop check');

      // Lock-out: 5 rounds, 4 attacker challenges between the user's challenge and its answer.
      const user = await udpClient('127.0.0.1');
      const evil = await udpClient(ctx.source());
      const spec: RegisterSpec = { ep: udp, user: 'alice', contacts: [`<sip:alice@${user.sentBy}>`], expires: 60 };
      const callId = token('alice');
      let ok = 0;
      for (let round = 0; round < 5; round++) {
        const first = await sendRegister(udpChannel(user, udp), spec, round * 2 + 1, callId);
        const challenge = first?.status === 401 ? readChallenge(first) : undefined;
        for (let k = 0; k < 4; k++) await sendRegister(udpChannel(evil, udp), spec, 1, token('evil'));
        if (challenge === undefined) continue;
        const auth = authorization({ user: 'alice', password: 'secret', method: 'REGISTER', uri: `sip:${udp.address}:${udp.port}`, challenge });
        if ((await sendRegister(udpChannel(user, udp), spec, round * 2 + 2, callId, auth))?.status === 200) ok++;
      }
      const last = await sendRegister(udpChannel(user, udp), { ...spec, contacts: ['*'], expires: 0 }, 20, callId);
      const c = last?.status === 401 ? readChallenge(last) : undefined;
      if (c !== undefined) {
        await sendRegister(udpChannel(user, udp), { ...spec, contacts: ['*'], expires: 0 }, 21, callId, authorization({ user: 'alice', password: 'secret', method: 'REGISTER', uri: `sip:${udp.address}:${udp.port}`, challenge: c }));
      }
      user.close();
      evil.close();
      ctx.check(A, 'registration with 4 attacker challenges interleaved, 5 rounds', '0/15 (digest README)', `${ok}/5 registered`, ok === 5, 'an attacker challenge invalidates the user\'s nonce in pnpm start');

      // Forged responses towards a loopback victim.
      const victim = await udpClient(ctx.source(), 0);
      let accepted = 0;
      const server = net.createServer((s) => {
        accepted++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(victim.port, victim.address, resolve));
      const f = await udpClient(ctx.source());
      for (const proto of ['UDP', 'TCP']) {
        const text = [
          'SIP/2.0 200 OK',
          `Via: SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK${token()}`,
          `Via: SIP/2.0/${proto} ${victim.sentBy};branch=z9hG4bK${token()}`,
          `From: <sip:a@127.0.0.1>;tag=${token()}`,
          `To: <sip:b@127.0.0.1>;tag=${token()}`,
          `Call-ID: ${token()}`,
          'CSeq: 1 INVITE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        await f.send(text, udp.port, udp.address);
      }
      await sleep(800);
      ctx.check(A, 'forged responses with a loopback victim as next Via (UDP, TCP)', 'forwarded / connected', `victim got ${victim.datagrams} datagrams, ${accepted} connections`, victim.datagrams === 0 && accepted === 0, 'pnpm start relays forged responses');
      f.close();
      victim.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));

      await health(ctx, target, A, fds0, rss0);
    } finally {
      await target.stop();
      ctx.start = undefined;
      ctx.check(A, 'stops on SIGTERM with exit code 0', '', `exit ${target.exitCode ?? target.exitSignal}`, target.exitCode === 0, 'pnpm start does not exit cleanly after the attacks');
    }
  },
};
