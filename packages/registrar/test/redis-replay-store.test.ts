// RedisReplayStore against a real redis-server (started here on a free loopback port, its own temp
// dir, stopped by PID): counts accepted once across nodes, the per-nonce cap, the TTL, two
// registrars sharing the nonce secret (a challenge of one answered to the other, the same
// Authorization replayed to the first refused), and Redis down (500 + Retry-After, then back).
import { signRequest, type DigestClientSession } from '@sipts/digest';
import { createRegistrar, isRegistrarError, RedisReplayStore, type Registrar } from '@sipts/registrar';
import { registerRequest, UDP_SOURCE } from './helpers';
import { RedisServer, findRedisServer } from './redis-server';

const installed = findRedisServer() !== undefined;
if (!installed) console.warn('packages/registrar: Redis replay store tests SKIPPED: redis-server is not installed (apt-get install redis-server)');
const suite = installed ? describe : describe.skip;

jest.setTimeout(30_000);
const server = new RedisServer();
let prefixes = 0;
const open: { close(): Promise<void> }[] = [];

async function fresh(options: { prefix?: string; maxCountsPerNonce?: number; now?: () => number } = {}): Promise<RedisReplayStore> {
  const store = new RedisReplayStore({ url: server.url, prefix: options.prefix ?? `r${++prefixes}:`, ...options });
  open.push(store);
  expect(await store.ready()).toBe(true);
  return store;
}

const SECRET = 'the secret every node of the test cluster shares';
const lookup = (user: string): { password: string } | undefined => (user === 'alice' ? { password: 'wonderland' } : undefined);

function node(replayStore: RedisReplayStore): Registrar {
  const registrar = createRegistrar({ auth: { realm: 'sipts.test', secret: SECRET, replayStore, lookup } });
  open.push(registrar);
  return registrar;
}

suite('RedisReplayStore (redis-server on loopback)', () => {
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await Promise.all(open.map((s) => s.close()));
    await server.dispose();
  });

  test('each count is accepted once per nonce, whichever node asks; other nonces are independent', async () => {
    const prefix = `shared${++prefixes}:`;
    const a = await fresh({ prefix });
    const b = await fresh({ prefix });
    const expires = Date.now() + 300_000;
    expect(await a.checkAndRecord('n1', 1, expires)).toBe(true);
    expect(await b.checkAndRecord('n1', 1, expires)).toBe(false);
    expect(await b.checkAndRecord('n1', 2, expires)).toBe(true);
    expect(await a.checkAndRecord('n1', 2, expires)).toBe(false);
    // Out of order is fine (requests that overtook each other): 4 before 3.
    expect(await a.checkAndRecord('n1', 4, expires)).toBe(true);
    expect(await b.checkAndRecord('n1', 3, expires)).toBe(true);
    expect(await a.checkAndRecord('n2', 1, expires)).toBe(true);
    expect(a.stats()).toMatchObject({ recorded: 3, replays: 1 });
    expect(b.stats()).toMatchObject({ recorded: 2, replays: 1 });
  });

  test('a nonce that has used maxCountsPerNonce counts is refused (its client gets a fresh nonce)', async () => {
    const store = await fresh({ maxCountsPerNonce: 3 });
    const expires = Date.now() + 300_000;
    for (const nc of [1, 2, 3]) expect(await store.checkAndRecord('full', nc, expires)).toBe(true);
    expect(await store.checkAndRecord('full', 4, expires)).toBe(false);
    expect(await store.checkAndRecord('full', 2, expires)).toBe(false);
    expect(store.stats()).toMatchObject({ recorded: 3, replays: 1, refusedAfterEviction: 1 });
  });

  test("the entry lives until the nonce expires plus the skew margin, on the node's clock", async () => {
    const now = 1_000_000;
    const store = await fresh({ prefix: 'ttl-nonce:', now: () => now });
    expect(await store.checkAndRecord('n', 1, now + 10_000)).toBe(true);
    const { Redis } = await import('ioredis');
    const client = new Redis(server.url);
    try {
      const ttl = await client.pttl('ttl-nonce:n');
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(70_000);
    } finally {
      client.disconnect();
    }
  });

  test('bad options throw ERR_INVALID_OPTION', () => {
    const codes: string[] = [];
    for (const options of [{}, { url: 'redis://127.0.0.1:1', maxCountsPerNonce: 0 }, { url: 'redis://127.0.0.1:1', skewMarginMs: -1 }]) {
      try {
        new RedisReplayStore(options);
      } catch (e) {
        if (isRegistrarError(e)) codes.push(e.code);
      }
    }
    expect(codes).toEqual(['ERR_INVALID_OPTION', 'ERR_INVALID_OPTION', 'ERR_INVALID_OPTION']);
  });

  test('two registrars sharing the secret and the store: the challenge of one is answered to the other, and the same answer replayed is refused', async () => {
    const prefix = `nodes${++prefixes}:`;
    const first = node(await fresh({ prefix }));
    const second = node(await fresh({ prefix }));
    const challenge = await first.register(registerRequest({ user: 'alice', cseq: 1, contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE);
    expect(challenge.status).toBe(401);
    const answer = registerRequest({ user: 'alice', cseq: 2, contacts: ['<sip:alice@127.0.0.1:5070>'] });
    const session: DigestClientSession = {};
    expect(signRequest(session, answer, challenge, { user: 'alice', password: 'wonderland' })).not.toBeNull();
    const replay = structuredClone(answer);
    expect((await second.register(answer, UDP_SOURCE)).status).toBe(200);
    // The same Authorization (same nonce and nc) sent to the first node: a replay, challenged stale.
    const refused = await first.register(replay, UDP_SOURCE);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.headers['www-authenticate'])).toContain('stale');
  });

  test('Redis down: an authenticated REGISTER gets 500 with Retry-After, and succeeds again once Redis is back', async () => {
    const store = new RedisReplayStore({ url: server.url, prefix: 'down-nonce:', maxReconnectDelay: 200, commandTimeout: 500 });
    open.push(store);
    expect(await store.ready()).toBe(true);
    const registrar = node(store);
    const session: DigestClientSession = {};
    const challenge = await registrar.register(registerRequest({ user: 'alice', cseq: 1, contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE);
    await server.stop();
    try {
      const answer = registerRequest({ user: 'alice', cseq: 2, contacts: ['<sip:alice@127.0.0.1:5070>'] });
      signRequest(session, answer, challenge, { user: 'alice', password: 'wonderland' });
      const failed = await registrar.register(answer, UDP_SOURCE);
      expect([failed.status, failed.headers['retry-after']]).toEqual([500, '5']);
    } finally {
      await server.start();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const next = registerRequest({ user: 'alice', cseq: 3 + i, contacts: ['<sip:alice@127.0.0.1:5070>'] });
      signRequest(session, next);
      status = (await registrar.register(next, UDP_SOURCE)).status;
    }
    expect(status).toBe(200);
  });
});
