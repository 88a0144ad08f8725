// The Redis store against a real redis-server (started here on a free loopback port, its own temp
// dir, stopped by PID): the shared contract, two nodes on one AOR, expiry by Redis, Redis down.
import { createRegistrar, RedisBindingStore, type BindingStore } from '@sipts/registrar';
import { registerRequest, UDP_SOURCE } from './helpers';
import { RedisServer, findRedisServer } from './redis-server';
import { binding, change, describeStore } from './store-suite';

const installed = findRedisServer() !== undefined;
if (!installed) console.warn('packages/registrar: Redis store tests SKIPPED: redis-server is not installed (apt-get install redis-server)');
const suite = installed ? describe : describe.skip;

jest.setTimeout(30_000);
const server = new RedisServer();
let prefixes = 0;
const open: BindingStore[] = [];

async function fresh(maxBindings?: number, prefix = `t${++prefixes}:`): Promise<RedisBindingStore> {
  const store = new RedisBindingStore({ url: server.url, prefix, ...(maxBindings !== undefined ? { maxBindings } : {}) });
  open.push(store);
  expect(await store.ready()).toBe(true);
  return store;
}

suite('RedisBindingStore (redis-server on loopback)', () => {
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await Promise.all(open.map((s) => s.close()));
    await server.dispose();
  });

  describeStore('RedisBindingStore', (max) => fresh(max), () => fresh(undefined, `t${prefixes}:`));

  test('a store used at once, before its client has connected: the first REGISTER waits for the connection instead of failing 500', async () => {
    // The node answers as soon as it listens; with ioredis's offline queue off, a command issued
    // while the first connection is on its way would fail at once without the start-up wait.
    const store = new RedisBindingStore({ url: server.url, prefix: 'early:' });
    open.push(store);
    const registrar = createRegistrar({ store });
    try {
      const ok = await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE);
      expect(ok.status).toBe(200);
      const early = new RedisBindingStore({ url: server.url, prefix: 'early:' });
      open.push(early);
      expect((await early.get('alice', Date.now())).length).toBe(1);
    } finally {
      await registrar.close();
    }
  });

  test('Redis not up yet at start-up: concurrent commands share one bounded wait and leave no listener behind', async () => {
    const later = new RedisServer();
    await later.start();
    await later.stop(); // a port nothing listens on, until started again below
    const { Redis } = await import('ioredis');
    const client = new Redis(later.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => {});
    try {
      const store = new RedisBindingStore({ client, prefix: 'late:', commandTimeout: 300 });
      open.push(store);
      const baseline = client.listenerCount('ready');
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.get('alice', Date.now())));
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      expect(client.listenerCount('ready')).toBe(baseline);
      await later.start();
      let found: unknown = undefined;
      for (let i = 0; i < 50 && found === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        found = await store.get('alice', Date.now()).catch(() => undefined);
      }
      expect(found).toEqual([]);
    } finally {
      client.disconnect();
      await later.dispose();
    }
  });

  test('Redis expires an AOR by itself: the hash has a TTL past its last binding', async () => {
    const store = await fresh(undefined, 'ttl:');
    const now = Date.now();
    await store.apply('alice', change([binding('alice', 'a', { expiresAt: now + 1000 })], { now }));
    const { Redis } = await import('ioredis');
    const client = new Redis(server.url);
    try {
      const ttl = await client.pttl('ttl:b:alice');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000 + 300_000);
    } finally {
      client.disconnect();
    }
  });

  test('Redis down: REGISTER answered 500 with Retry-After, lookups unavailable, no crash; back after it restarts', async () => {
    const store = new RedisBindingStore({ url: server.url, prefix: 'down:', maxReconnectDelay: 200, commandTimeout: 500 });
    open.push(store);
    expect(await store.ready()).toBe(true);
    const registrar = createRegistrar({ store });
    const errors: string[] = [];
    registrar.on('error', (e) => errors.push(e.code));
    try {
      const ok = await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE);
      expect(ok.status).toBe(200);
      await server.stop();
      const failed = await registrar.register(registerRequest({ cseq: 2, contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE);
      expect([failed.status, failed.headers['retry-after']]).toEqual([500, '5']);
      const lookup = await registrar.lookup('sip:alice@127.0.0.1');
      expect(lookup.outcome).toBe('unavailable');
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors.every((c) => c === 'ERR_STORE')).toBe(true);
      await server.start();
      // The client reconnects by itself (backoff capped at 200 ms here).
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await registrar.register(registerRequest({ cseq: 3 + i, contacts: ['<sip:alice@127.0.0.1:5070>'] }), UDP_SOURCE)).status;
      }
      expect(status).toBe(200);
    } finally {
      await registrar.close();
    }
  });

  test("the registrar's expired event on the Redis store: reported once, by one of two nodes", async () => {
    const prefix = 'events:';
    const node1 = createRegistrar({ store: await fresh(undefined, prefix), minExpires: 1, expireInterval: 200 });
    const node2 = createRegistrar({ store: await fresh(undefined, prefix), minExpires: 1, expireInterval: 200 });
    const expired: string[] = [];
    node1.on('expired', (e) => expired.push(`node1 ${e.aor}`));
    node2.on('expired', (e) => expired.push(`node2 ${e.aor}`));
    try {
      const rs = await node1.register(registerRequest({ contacts: ['<sip:alice@127.0.0.1:5070>;expires=1'] }), UDP_SOURCE);
      expect(rs.status).toBe(200);
      for (let i = 0; i < 40 && expired.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      expect(expired).toHaveLength(1);
      expect(expired[0]).toMatch(/^node[12] alice$/);
      expect((await node2.lookup('sip:alice@127.0.0.1')).outcome).toBe('not-registered');
    } finally {
      await node1.close();
      await node2.close();
    }
  });

  test('a URL and a client together, or neither, is ERR_INVALID_OPTION', () => {
    expect(() => new RedisBindingStore({})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
