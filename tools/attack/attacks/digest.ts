// Digest authentication of REGISTER under attack: registration lock-out (issue item 2),
// password guessing (item 9), duplicated auth-params (item 9), and the replay, forged-nonce and
// downgrade attempts that held before.
import type { Attack } from '../lib/attack.js';
import type { Context } from '../lib/context.js';
import { udpClient, type UdpClient } from '../lib/net.js';
import { register, sendRegister, udpChannel, type Channel, type RegisterSpec } from '../lib/register.js';
import { authorization, readChallenge, token } from '../lib/sip.js';

function uriOf(spec: RegisterSpec): string {
  return `sip:${spec.ep.address}:${spec.ep.port}`;
}

export const lockout: Attack = {
  id: 'lockout',
  title: 'registration lock-out (item 2)',
  async run(ctx) {
    const A = 'registration lock-out (item 2)';
    const ep = ctx.endpoint('main', 'UDP');
    // The user registers from 127.0.0.1; the attacker, from its own address, makes the server
    // challenge the same account four times between the user's challenge and its answer.
    const user = await udpClient('127.0.0.1');
    const attacker = await udpClient(ctx.source());
    try {
      const u = udpChannel(user, ep);
      const a = udpChannel(attacker, ep);
      const spec: RegisterSpec = { ep, user: 'alice', contacts: [`<sip:alice@${user.sentBy}>`], expires: 300 };
      let ok = 0;
      let attackerChallenges = 0;
      const rounds = 15;
      const callId = token('alice');
      let cseq = 1;
      for (let round = 0; round < rounds; round++) {
        const first = await sendRegister(u, spec, cseq++, callId);
        const challenge = first?.status === 401 ? readChallenge(first) : undefined;
        for (let k = 0; k < 4; k++) {
          const r = await sendRegister(a, { ...spec, contacts: [`<sip:alice@${attacker.sentBy}>`] }, 1, token('evil'));
          if (r?.status === 401) attackerChallenges++;
        }
        if (challenge === undefined) continue;
        const auth = authorization({ user: 'alice', password: ctx.users['alice'] ?? '', method: 'REGISTER', uri: uriOf(spec), challenge });
        const final = await sendRegister(u, spec, cseq++, callId, auth);
        if (final?.status === 200) ok++;
      }
      ctx.check(A, `user's answers to its own challenge accepted with ${attackerChallenges} attacker challenges interleaved`, '0/15 registered (digest README)', `${ok}/${rounds} registered`, ok === rounds, 'a challenge issued to someone else invalidated the user\'s nonce: @sipts/digest nonce/replay handling');
    } finally {
      user.close();
      attacker.close();
    }
  },
};

/** Wrong answers as fast as the server takes them, each to the last challenge it sent. */
async function guess(ctx: Context, client: UdpClient, ms: number, perSecond: number): Promise<{ checked: number; blocked: number; other: number; sent: number }> {
  const ep = ctx.endpoint('main', 'UDP');
  const ch: Channel = udpChannel(client, ep);
  const spec: RegisterSpec = { ep, user: 'alice', contacts: [`<sip:alice@${client.sentBy}>`], timeoutMs: 1000 };
  const callId = token('guess');
  let cseq = 1;
  let last = await sendRegister(ch, spec, cseq++, callId);
  let checked = 0;
  let blocked = 0;
  let other = 0;
  let sent = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t = performance.now();
    const challenge = last?.status === 401 ? readChallenge(last) : undefined;
    if (challenge === undefined) {
      last = await sendRegister(ch, spec, cseq++, callId);
    } else {
      const auth = authorization({ user: 'alice', password: `guess-${sent}`, method: 'REGISTER', uri: uriOf(spec), challenge });
      last = await sendRegister(ch, spec, cseq++, callId, auth);
      sent++;
      if (last?.status === 401) checked++;
      else if (last?.status === 503) blocked++;
      else other++;
      if (last?.status === 503) last = await sendRegister(ch, spec, cseq++, callId);
    }
    const wait = 1000 / perSecond - (performance.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { checked, blocked, other, sent };
}

export const guessing: Attack = {
  id: 'guessing',
  title: 'password guessing (item 9)',
  async run(ctx) {
    const A = 'password guessing (item 9)';
    // 150 attempts/s from each guesser: under the rate limit (200/s), so the digest limiter is
    // what answers them.
    const g1 = await udpClient(ctx.source());
    const g2 = await udpClient(ctx.source());
    const user = await udpClient('127.0.0.1');
    try {
      const first = await guess(ctx, g1, 2000, 150);
      const second = await guess(ctx, g2, 1000, 150);
      ctx.check(
        A,
        'wrong passwords checked for one account from two sources (2 s + 1 s at 150/s)',
        '~2,000 guesses/s, no limit',
        `source 1: ${first.sent} sent, ${first.checked} checked (401), ${first.blocked} blocked (503); source 2: ${second.sent} sent, ${second.checked} checked, ${second.blocked} blocked`,
        first.checked <= 20 && second.checked <= 20 && first.checked + second.checked <= 40 && first.blocked > 0,
        'password guesses are not limited per source / per user: @sipts/digest failure limiter',
      );
      const ep = ctx.endpoint('main', 'UDP');
      const r = await register(udpChannel(user, ep), { ep, user: 'alice', contacts: [`<sip:alice@${user.sentBy}>`], expires: 300 }, ctx.users['alice'] ?? '');
      ctx.check(A, 'the real user (its address authenticated before) still registers', 'not tried', `${r.final?.status ?? 'no answer'}`, r.final?.status === 200, 'guessing locked the real user out: @sipts/digest trusted (user, source) pairs');
      await register(udpChannel(user, ep), { ep, user: 'alice', contacts: ['*'], expires: 0 }, ctx.users['alice'] ?? '', 10);
    } finally {
      g1.close();
      g2.close();
      user.close();
    }
  },
};

export const digestTricks: Attack = {
  id: 'digest',
  title: 'digest tricks (item 9 and held)',
  async run(ctx) {
    const A = 'digest tricks (item 9 and held)';
    const ep = ctx.endpoint('main', 'UDP');
    const client = await udpClient(ctx.source());
    try {
      const ch = udpChannel(client, ep);
      const spec: RegisterSpec = { ep, user: 'dave', contacts: [`<sip:dave@${client.sentBy}>`], expires: 300 };
      const password = ctx.users['dave'] ?? '';
      const callId = token('dave');
      const challengeFor = async (cseq: number) => {
        const r = await sendRegister(ch, spec, cseq, callId);
        return r?.status === 401 ? readChallenge(r) : undefined;
      };

      // Duplicated nonce: a proxy may read the first, we computed the answer for the last one.
      const c1 = await challengeFor(1);
      if (c1 === undefined) throw new Error('no challenge for dave');
      const dup = authorization({ user: 'dave', password, method: 'REGISTER', uri: uriOf(spec), challenge: c1, prefix: 'nonce="0123456789abcdef"' });
      const r1 = await sendRegister(ch, spec, 2, callId, dup);
      ctx.check(A, 'Authorization with nonce twice (answer valid for the last one)', 'last one wins: accepted', `${r1?.status ?? 'no answer'}`, r1 !== undefined && r1.status !== 200, 'a duplicated auth-param is not refused: @sipts/message marks it, @sipts/digest must refuse it');

      // Downgrade: the server offers qop=auth; an RFC 2069 answer (no qop) must not pass.
      const c2 = await challengeFor(3);
      if (c2 === undefined) throw new Error('no challenge for dave');
      const downgraded = authorization({ user: 'dave', password, method: 'REGISTER', uri: uriOf(spec), challenge: { ...c2, qop: undefined } });
      const r2 = await sendRegister(ch, spec, 4, callId, downgraded);
      ctx.check(A, 'answer without qop to a qop=auth challenge (downgrade)', 'held', `${r2?.status ?? 'no answer'}`, r2 !== undefined && r2.status !== 200, 'an RFC 2069 answer passes where qop was required: @sipts/digest');

      // Forged nonce.
      const forged = authorization({ user: 'dave', password, method: 'REGISTER', uri: uriOf(spec), challenge: { ...c2, nonce: Buffer.alloc(40, 7).toString('base64url') } });
      const r3 = await sendRegister(ch, spec, 5, callId, forged);
      ctx.check(A, 'correct password on a nonce the server never issued', 'held', `${r3?.status ?? 'no answer'}`, r3 !== undefined && r3.status !== 200, 'a forged nonce is accepted: @sipts/digest nonce check');

      // A real registration, then the same credentials again (same nonce, same nc).
      const c4 = await challengeFor(6);
      if (c4 === undefined) throw new Error('no challenge for dave');
      const good = authorization({ user: 'dave', password, method: 'REGISTER', uri: uriOf(spec), challenge: c4, nc: 1, cnonce: 'fixedcnonce' });
      const r4 = await sendRegister(ch, spec, 7, callId, good);
      const r5 = await sendRegister(ch, spec, 8, callId, good);
      const staleFlag = r5 !== undefined && r5.status === 401 ? readChallenge(r5)?.stale : undefined;
      ctx.check(
        A,
        'the same credentials twice (nonce and nc replayed)',
        'held',
        `first ${r4?.status ?? 'no answer'}, replay ${r5?.status ?? 'no answer'}${staleFlag !== undefined ? ` stale=${staleFlag}` : ''}`,
        r4?.status === 200 && r5 !== undefined && r5.status !== 200,
        'a replayed nonce count is accepted: @sipts/digest replay store',
      );
      // Leave no binding behind.
      const c5 = r5 !== undefined ? readChallenge(r5) : undefined;
      if (c5 !== undefined) {
        const auth = authorization({ user: 'dave', password, method: 'REGISTER', uri: uriOf(spec), challenge: c5 });
        await sendRegister(ch, { ...spec, contacts: ['*'], expires: 0 }, 9, callId, auth);
      }
    } finally {
      client.close();
    }
  },
};
