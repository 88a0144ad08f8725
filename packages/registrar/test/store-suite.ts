// The behaviour every BindingStore must have, run against the in-memory store and against Redis
// (memory-store.test.ts, redis-store.test.ts): the same answers for the same changes.
import type { Binding, BindingChange, BindingStore } from '@sipts/registrar';

export const NOW = 1_800_000_000_000;

export function binding(aor: string, key: string, overrides: Partial<Binding> = {}): Binding {
  return {
    aor,
    key,
    contact: `sip:${aor}@127.0.0.1:${5000 + (key.length % 100)}`,
    params: {},
    q: 1000,
    expiresAt: NOW + 3600_000,
    callId: 'c1',
    cseq: 1,
    registeredAt: NOW,
    updatedAt: NOW,
    source: { protocol: 'UDP', address: '127.0.0.1', port: 5070 },
    ...overrides,
  };
}

export function change(upserts: Binding[], overrides: Partial<BindingChange> = {}): BindingChange {
  return { callId: upserts[0]?.callId ?? 'c1', cseq: upserts[0]?.cseq ?? 1, removeAll: false, upserts, now: NOW, maxBindings: 10, ...overrides };
}

const keysOf = (list: Binding[]): string[] => list.map((b) => b.key).sort();

/**
 * `make` returns a fresh, empty store (and may take the cap on bindings in all); `second` a
 * second handle on the same data (another node) when the store is shared.
 */
export function describeStore(
  name: string,
  make: (maxBindings?: number) => Promise<BindingStore>,
  second?: () => Promise<BindingStore>,
): void {
  describe(`BindingStore contract: ${name}`, () => {
    let store: BindingStore;
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    test('apply adds, get lists, a refresh keeps registeredAt and reports refreshed', async () => {
      const r1 = await store.apply('alice', change([binding('alice', 'a'), binding('alice', 'b')]));
      expect(r1.ok && [keysOf(r1.added), keysOf(r1.refreshed), keysOf(r1.bindings)]).toEqual([['a', 'b'], [], ['a', 'b']]);
      const later = binding('alice', 'a', { cseq: 2, registeredAt: NOW + 5000, updatedAt: NOW + 5000, expiresAt: NOW + 7200_000 });
      const r2 = await store.apply('alice', change([later], { now: NOW + 5000 }));
      expect(r2.ok && [keysOf(r2.added), keysOf(r2.refreshed)]).toEqual([[], ['a']]);
      const got = await store.get('alice', NOW + 5000);
      const a = got.find((b) => b.key === 'a');
      expect(a).toMatchObject({ registeredAt: NOW, updatedAt: NOW + 5000, expiresAt: NOW + 7200_000, cseq: 2 });
      expect(keysOf(got)).toEqual(['a', 'b']);
      expect(await store.count()).toEqual({ aors: 1, bindings: 2 });
    });

    test('a stored binding comes back as it went in (strings, numbers, nested values, null params)', async () => {
      const full = binding('alice', '<urn:uuid:1>;reg-id=1', {
        name: '"Alice"',
        params: { q: '0.5', '+sip.instance': '"<urn:uuid:1>"', 'reg-id': '1', ob: null },
        q: 500,
        path: ['sip:edge.invalid;lr;ob', 'sip:p2.invalid;lr'],
        instance: '<urn:uuid:1>',
        regId: 1,
        flow: { protocol: 'TCP', address: '127.0.0.1', port: 40000, local: { address: '127.0.0.1', port: 5060 } },
        flowUri: 'sip:tok@127.0.0.1:5060;lr',
        nat: true,
        userAgent: 'test/1.0 "quoted" \\ ünïcode',
      });
      await store.apply('alice', change([full]));
      expect(await store.get('alice', NOW)).toEqual([full]);
    });

    test('expires 0 removes; an unknown key with expires 0 is no error', async () => {
      await store.apply('alice', change([binding('alice', 'a'), binding('alice', 'b')]));
      const r = await store.apply('alice', change([binding('alice', 'a', { cseq: 2, expiresAt: NOW }), binding('alice', 'zz', { cseq: 2, expiresAt: NOW })], { cseq: 2 }));
      expect(r.ok && [keysOf(r.removed), keysOf(r.bindings)]).toEqual([['a'], ['b']]);
    });

    test('removeAll removes everything unless a binding has the same Call-ID and a CSeq not lower', async () => {
      await store.apply('alice', change([binding('alice', 'a', { cseq: 5 })], { cseq: 5 }));
      await store.apply('alice', change([binding('alice', 'b', { callId: 'c2' })], { callId: 'c2' }));
      expect(await store.apply('alice', change([], { removeAll: true, callId: 'c1', cseq: 5 }))).toEqual({ ok: false, reason: 'out-of-order' });
      expect(keysOf(await store.get('alice', NOW))).toEqual(['a', 'b']);
      const r = await store.apply('alice', change([], { removeAll: true, callId: 'c1', cseq: 6 }));
      expect(r.ok && keysOf(r.removed)).toEqual(['a', 'b']);
      expect(await store.get('alice', NOW)).toEqual([]);
      expect(await store.count()).toEqual({ aors: 0, bindings: 0 });
    });

    test('an out-of-order change is refused whole: nothing of it is written', async () => {
      await store.apply('alice', change([binding('alice', 'a', { cseq: 3 })], { cseq: 3 }));
      const r = await store.apply('alice', change([binding('alice', 'new', { cseq: 3 }), binding('alice', 'a', { cseq: 3 })], { cseq: 3 }));
      expect(r).toEqual({ ok: false, reason: 'out-of-order' });
      expect(keysOf(await store.get('alice', NOW))).toEqual(['a']);
    });

    test('the per-AOR cap refuses growth past it but not a refresh of a full AOR', async () => {
      await store.apply('alice', change([binding('alice', 'a'), binding('alice', 'b')], { maxBindings: 2 }));
      expect(await store.apply('alice', change([binding('alice', 'c', { cseq: 2 })], { cseq: 2, maxBindings: 2 }))).toEqual({ ok: false, reason: 'too-many' });
      const r = await store.apply('alice', change([binding('alice', 'a', { cseq: 3 })], { cseq: 3, maxBindings: 2 }));
      expect(r.ok).toBe(true);
    });

    test('the total cap refuses new bindings with full', async () => {
      await store.close();
      store = await make(3);
      await store.apply('alice', change([binding('alice', 'a'), binding('alice', 'b')]));
      await store.apply('bob', change([binding('bob', 'a')]));
      expect(await store.apply('carol', change([binding('carol', 'a')]))).toEqual({ ok: false, reason: 'full' });
      // Refreshing and removing still work at the cap.
      expect((await store.apply('bob', change([binding('bob', 'a', { cseq: 2 })], { cseq: 2 }))).ok).toBe(true);
    });

    test('get ignores expired bindings; expire takes them out once, up to the limit', async () => {
      await store.apply('alice', change([binding('alice', 'a', { expiresAt: NOW + 1000 }), binding('alice', 'b', { expiresAt: NOW + 2000 }), binding('alice', 'c')]));
      await store.apply('bob', change([binding('bob', 'a', { expiresAt: NOW + 1000 })]));
      expect(keysOf(await store.get('alice', NOW + 1500))).toEqual(['b', 'c']);
      const first = await store.expire(NOW + 2500, 2);
      const second = await store.expire(NOW + 2500, 10);
      expect([first.length, second.length]).toEqual([2, 1]);
      expect([...first, ...second].map((b) => `${b.aor}/${b.key}`).sort()).toEqual(['alice/a', 'alice/b', 'bob/a']);
      expect(await store.expire(NOW + 2500, 10)).toEqual([]);
      expect(await store.count()).toEqual({ aors: 1, bindings: 1 });
    });

    test('remove: by keys, all, and only while still on a given flow', async () => {
      await store.apply('alice', change([binding('alice', 'a', { flowUri: 'sip:f1@127.0.0.1;lr' }), binding('alice', 'b', { flowUri: 'sip:f2@127.0.0.1;lr' }), binding('alice', 'c')]));
      expect(keysOf(await store.remove('alice', ['a', 'b'], 'sip:f1@127.0.0.1;lr'))).toEqual(['a']);
      expect(keysOf(await store.remove('alice', ['c']))).toEqual(['c']);
      expect(keysOf(await store.remove('alice'))).toEqual(['b']);
      expect(await store.remove('nobody')).toEqual([]);
      expect(await store.count()).toEqual({ aors: 0, bindings: 0 });
    });

    test('concurrent REGISTERs for one AOR lose no binding', async () => {
      const other = second === undefined ? store : await second();
      try {
        const writes = Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? store : other).apply('alice', change([binding('alice', `k${i}`, { callId: `c${i}` })], { callId: `c${i}`, maxBindings: 100 })),
        );
        const results = await Promise.all(writes);
        expect(results.every((r) => r.ok)).toBe(true);
        expect((await store.get('alice', NOW)).length).toBe(40);
      } finally {
        if (other !== store) await other.close();
      }
    });

    test('operations after close reject with ERR_STORE_CLOSED', async () => {
      await store.close();
      await expect(store.get('alice', NOW)).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
      store = await make();
    });
  });
}
