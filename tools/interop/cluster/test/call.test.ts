// The cluster of examples/cluster (`pnpm cluster`): Kamailio's dispatcher in front of two sipts
// registrar-proxy nodes sharing one Redis and one secret, on loopback. A SIPp uas registers
// through the front (digest, answered on the node the AOR hashes to); a SIPp uac calls it through
// the front, its calls spread over both nodes by Call-ID, so the node that did not take the
// REGISTER finds the binding in Redis; every call completes along the route set front → node →
// front. A digest challenge of one node is answered to the other, and the same answer replayed
// to the first is refused (nonce counts in Redis). Skipped with a message when SIPp, Kamailio or
// redis-server is missing.
import { signRequest, type DigestClientSession } from '@sipts/digest';
import { parse, type SipRequest } from '@sipts/message';
import { caller, callee, cluster, expectPassed, missing, received, sendRequest, sipRequest } from './helpers.js';

const why = missing();
if (why !== undefined) console.warn(`tools/interop/cluster: SKIPPED: ${why}`);
const suite = why === undefined ? describe : describe.skip;

suite('a call through the dispatcher front, the callee registered on one node, the calls on both', () => {
  jest.setTimeout(60_000);
  let c: Awaited<ReturnType<typeof cluster>> | undefined;
  beforeAll(async () => {
    c = await cluster({ authUsers: 'callee:secret,alice:wonderland' });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('SIPp uas registers through the front (digest), SIPp uac calls it through the front: every call completes, on both nodes', async () => {
    const cl = c!;
    const calls = 10;
    const uas = await callee(cl, 'callee', calls, 30, { password: 'secret' });
    const registers = await received(cl, 'REGISTER');
    // The REGISTER and its answer to the 401 landed on one node (the AOR hash).
    expect(registers.filter((n) => n > 0)).toHaveLength(1);
    const uac = await caller(cl, 'callee', calls, 20, 100, 'call', 25);
    expectPassed('uac through the front', await uac.done, calls);
    expectPassed('uas behind the front', await uas.done, calls);
    const invites = await received(cl, 'INVITE');
    // Both nodes served calls: one of them had not seen the REGISTER (the binding came from Redis).
    expect(invites.every((n) => n > 0)).toBe(true);
    expect(invites.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(calls);
    const byes = await received(cl, 'BYE');
    expect(byes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(calls);
  });

  test("a digest challenge of node 1 is answered to node 2; the same answer replayed to node 1 is refused (stale)", async () => {
    const cl = c!;
    const [one, two] = cl.nodes;
    const challenge = await sendRequest(one!.port, sipRequest('REGISTER', 'alice', one!.port));
    expect(challenge?.status).toBe(401);
    // The answer, signed against node 1's nonce, goes to node 2 (same secret, nonce counts in Redis).
    let signed = '';
    const answer = sipRequest('REGISTER', 'alice', two!.port);
    const build = (local: number): string => {
      if (signed !== '') return signed;
      const rq = parse(answer(local)) as SipRequest;
      const session: DigestClientSession = {};
      expect(signRequest(session, rq, challenge!, { user: 'alice', password: 'wonderland' })).not.toBeNull();
      const auth = rq.headers.authorization?.[0];
      expect(auth).toBeDefined();
      const fields = Object.entries(auth!)
        .filter(([k]) => k !== 'scheme')
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ');
      signed = answer(local).replace('Content-Length: 0', `Authorization: Digest ${fields}\r\nContent-Length: 0`);
      return signed;
    };
    const ok = await sendRequest(two!.port, build);
    expect(ok?.status).toBe(200);
    // The very same request (same nonce, nc, response) sent to node 1: a replay.
    const replay = await sendRequest(one!.port, () => signed.replace(/branch=z9hG4bK[^;\r]+/, 'branch=z9hG4bKreplayed'));
    expect(replay?.status).toBe(401);
    expect(JSON.stringify(replay?.headers['www-authenticate'])).toContain('stale');
  });
});
