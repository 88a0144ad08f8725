// The in-memory store: the shared contract, and its timer wheel.
import { MemoryBindingStore } from '@sipts/registrar';
import { binding, change, describeStore, NOW } from './store-suite';

describeStore('MemoryBindingStore', async (maxBindings) => new MemoryBindingStore({ now: () => NOW, ...(maxBindings !== undefined ? { maxBindings } : {}) }));

describe('MemoryBindingStore expiry', () => {
  afterEach(() => jest.useRealTimers());

  test('one interval walks the wheel and reports expired bindings; none runs while the store is empty', async () => {
    jest.useFakeTimers({ now: NOW });
    const store = new MemoryBindingStore();
    const seen: string[] = [];
    store.onExpired((list) => seen.push(...list.map((b) => b.key)));
    expect(jest.getTimerCount()).toBe(0);
    await store.apply('alice', change([binding('alice', 'a', { expiresAt: NOW + 1500 }), binding('alice', 'b', { expiresAt: NOW + 3000 })]));
    await store.apply('bob', change([binding('bob', 'a', { expiresAt: NOW + 1500 })]));
    expect(jest.getTimerCount()).toBe(1); // one timer for all bindings
    await jest.advanceTimersByTimeAsync(2000);
    expect(seen.sort()).toEqual(['a', 'a']);
    // A refresh moves a binding in the wheel: it does not expire at its old time.
    await store.apply('alice', change([binding('alice', 'b', { cseq: 2, expiresAt: NOW + 60_000 })], { cseq: 2, now: NOW + 2000 }));
    await jest.advanceTimersByTimeAsync(5000);
    expect(seen).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(seen).toHaveLength(3);
    expect(store.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    await store.close();
  });

  test('a long pause (time jumps a day) walks only the occupied slots', async () => {
    jest.useFakeTimers({ now: NOW });
    const store = new MemoryBindingStore();
    for (let i = 0; i < 100; i++) await store.apply(`u${i}`, change([binding(`u${i}`, 'a', { expiresAt: NOW + 1000 * (i + 1) })]));
    jest.setSystemTime(NOW + 86_400_000);
    expect((await store.expire(Date.now(), 1000)).length).toBe(100);
    await store.close();
  });

  test('bad options throw ERR_INVALID_OPTION', () => {
    expect(() => new MemoryBindingStore({ maxBindings: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new MemoryBindingStore({ tickMs: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });
});
