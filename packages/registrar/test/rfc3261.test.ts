// RFC 3261 §10.3, rule by rule, on the in-memory store with fake time.
import { createRegistrar, MemoryBindingStore, type Registrar } from '@sipts/registrar';
import { contactsOf, registerRequest, UDP_SOURCE } from './helpers';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
let registrar: Registrar;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  registrar = createRegistrar();
});
afterEach(async () => {
  await registrar.close();
  jest.useRealTimers();
});

const contact = (port: number, params = ''): string => `<sip:alice@127.0.0.1:${port}>${params}`;

describe('RFC 3261 §10.3 REGISTER processing', () => {
  test('a Contact is bound with the default expiry; the 200 lists it with its expiry and a Date', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [contact(5070)] }), UDP_SOURCE);
    expect(rs.status).toBe(200);
    expect(contactsOf(rs).get('sip:alice@127.0.0.1:5070')?.expires).toBe('3600');
    expect(rs.headers['date']).toBe('Mon, 07 Dec 2026 12:00:00 GMT');
    const found = await registrar.lookup('sip:alice@127.0.0.1');
    expect(found.outcome).toBe('found');
  });

  test('the Contact expires parameter wins over the Expires header, which wins over the default', async () => {
    const rs = await registrar.register(
      registerRequest({ contacts: [contact(5070, ';expires=120'), contact(5071)], expires: 300 }),
      UDP_SOURCE,
    );
    const c = contactsOf(rs);
    expect(c.get('sip:alice@127.0.0.1:5070')?.expires).toBe('120');
    expect(c.get('sip:alice@127.0.0.1:5071')?.expires).toBe('300');
  });

  test('an expiry above the maximum is shortened to it; a malformed one counts as the default', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [contact(5070, ';expires=99999'), contact(5071, ';expires=soon')] }), UDP_SOURCE);
    expect(contactsOf(rs).get('sip:alice@127.0.0.1:5070')?.expires).toBe('7200');
    expect(contactsOf(rs).get('sip:alice@127.0.0.1:5071')?.expires).toBe('3600');
  });

  test('an expiry under Min-Expires is refused with 423 and Min-Expires, and nothing is bound', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [contact(5070), contact(5071, ';expires=30')] }), UDP_SOURCE);
    expect(rs.status).toBe(423);
    expect(rs.headers['min-expires']).toBe('60');
    expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('not-registered');
  });

  test('expires=0 removes that binding only', async () => {
    await registrar.register(registerRequest({ contacts: [contact(5070), contact(5071)] }), UDP_SOURCE);
    const rs = await registrar.register(registerRequest({ cseq: 2, contacts: [contact(5070, ';expires=0')] }), UDP_SOURCE);
    expect([...contactsOf(rs).keys()]).toEqual(['sip:alice@127.0.0.1:5071']);
  });

  test('Contact: * with Expires: 0 removes every binding; * without Expires: 0 is a 400', async () => {
    await registrar.register(registerRequest({ contacts: [contact(5070), contact(5071)] }), UDP_SOURCE);
    const bad = await registrar.register(registerRequest({ cseq: 2, contacts: ['*'], expires: 60 }), UDP_SOURCE);
    expect(bad.status).toBe(400);
    const rs = await registrar.register(registerRequest({ cseq: 3, contacts: ['*'], expires: 0 }), UDP_SOURCE);
    expect(rs.status).toBe(200);
    expect(rs.headers.contact).toBeUndefined();
    expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('not-registered');
  });

  test('a REGISTER without Contact is a query: the 200 lists every binding with the time it has left', async () => {
    await registrar.register(registerRequest({ contacts: [contact(5070, ';expires=600'), contact(5071)] }), UDP_SOURCE);
    jest.setSystemTime(T0 + 100_000);
    const rs = await registrar.register(registerRequest({ callId: 'query', cseq: 1 }), UDP_SOURCE);
    expect(rs.status).toBe(200);
    const c = contactsOf(rs);
    expect(c.get('sip:alice@127.0.0.1:5070')?.expires).toBe('500');
    expect(c.get('sip:alice@127.0.0.1:5071')?.expires).toBe('3500');
    expect(rs.headers['date']).toBe('Mon, 07 Dec 2026 12:01:40 GMT');
  });

  test('same Call-ID with a CSeq not higher than the stored one is out of order: refused, nothing changes', async () => {
    await registrar.register(registerRequest({ cseq: 5, contacts: [contact(5070, ';expires=600')] }), UDP_SOURCE);
    for (const cseq of [5, 4]) {
      const rs = await registrar.register(registerRequest({ cseq, contacts: [contact(5070, ';expires=0')] }), UDP_SOURCE);
      expect(rs.status).toBe(400);
    }
    const star = await registrar.register(registerRequest({ cseq: 3, contacts: ['*'], expires: 0 }), UDP_SOURCE);
    expect(star.status).toBe(400);
    expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('found');
    // Another Call-ID (the phone restarted) replaces the binding whatever its CSeq.
    const other = await registrar.register(registerRequest({ callId: 'call-2', cseq: 1, contacts: [contact(5070, ';expires=900')] }), UDP_SOURCE);
    expect(contactsOf(other).get('sip:alice@127.0.0.1:5070')?.expires).toBe('900');
    // A higher CSeq on the same Call-ID updates.
    const next = await registrar.register(registerRequest({ callId: 'call-2', cseq: 2, contacts: [contact(5070, ';expires=0')] }), UDP_SOURCE);
    expect(next.headers.contact).toBeUndefined();
  });

  test('bindings are ordered by q-value, highest first, in the 200 and in lookups', async () => {
    const rs = await registrar.register(
      registerRequest({ contacts: [contact(5070, ';q=0.1'), contact(5071, ';q=0.9'), contact(5072, ';q=0.5')] }),
      UDP_SOURCE,
    );
    expect([...contactsOf(rs).keys()]).toEqual(['sip:alice@127.0.0.1:5071', 'sip:alice@127.0.0.1:5072', 'sip:alice@127.0.0.1:5070']);
    expect(contactsOf(rs).get('sip:alice@127.0.0.1:5071')?.q).toBe('0.9');
    const found = await registrar.lookup('sip:alice@127.0.0.1');
    if (found.outcome !== 'found') throw new Error(found.outcome);
    expect(found.targets.map((t) => [t.uri, t.q])).toEqual([
      ['sip:alice@127.0.0.1:5071', 900],
      ['sip:alice@127.0.0.1:5072', 500],
      ['sip:alice@127.0.0.1:5070', 100],
    ]);
  });

  test('an unknown extension in Require gets 420 with Unsupported', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [contact(5070)], require: 'path, foo' }), UDP_SOURCE);
    expect(rs.status).toBe(420);
    expect(rs.headers['unsupported']).toBe('foo');
  });

  test('a To URI without a user is not an AOR of ours: 404', async () => {
    const rq = registerRequest({ contacts: [contact(5070)] });
    rq.headers.to = { uri: 'sip:127.0.0.1', params: {} };
    expect((await registrar.register(rq, UDP_SOURCE)).status).toBe(404);
  });

  test('bindings expire: gone from lookups at once, and reported by the timer wheel', async () => {
    const expired: string[] = [];
    registrar.on('expired', (e) => expired.push(e.binding.contact));
    await registrar.register(registerRequest({ contacts: [contact(5070, ';expires=60'), contact(5071, ';expires=120')] }), UDP_SOURCE);
    jest.setSystemTime(T0 + 60_000);
    const found = await registrar.lookup('sip:alice@127.0.0.1');
    expect(found.outcome === 'found' && found.targets.map((t) => t.uri)).toEqual(['sip:alice@127.0.0.1:5071']);
    await jest.advanceTimersByTimeAsync(2000);
    expect(expired).toEqual(['sip:alice@127.0.0.1:5070']);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(expired).toEqual(['sip:alice@127.0.0.1:5070', 'sip:alice@127.0.0.1:5071']);
    expect((await registrar.stats()).bindings).toBe(0);
  });

  test('registered / unregistered events and counters', async () => {
    const events: string[] = [];
    registrar.on('registered', (e) => events.push(`${e.refreshed ? 'refreshed' : 'added'} ${e.binding.contact}`));
    registrar.on('unregistered', (e) => events.push(`${e.reason} ${e.binding.contact}`));
    await registrar.register(registerRequest({ contacts: [contact(5070)] }), UDP_SOURCE);
    await registrar.register(registerRequest({ cseq: 2, contacts: [contact(5070)] }), UDP_SOURCE);
    await registrar.register(registerRequest({ cseq: 3, contacts: ['*'], expires: 0 }), UDP_SOURCE);
    expect(events).toEqual(['added sip:alice@127.0.0.1:5070', 'refreshed sip:alice@127.0.0.1:5070', 'register sip:alice@127.0.0.1:5070']);
    const stats = await registrar.stats();
    expect(stats).toMatchObject({ registers: 3, responses: { '200': 3 }, added: 1, refreshed: 1, removed: 1, aors: 0, bindings: 0 });
  });
});

describe('caps', () => {
  test('more than maxBindingsPerAor bindings: 403 Too Many Bindings; a refresh of a full AOR passes', async () => {
    await registrar.close();
    registrar = createRegistrar({ maxBindingsPerAor: 2 });
    expect((await registrar.register(registerRequest({ contacts: [contact(5070), contact(5071)] }), UDP_SOURCE)).status).toBe(200);
    const over = await registrar.register(registerRequest({ cseq: 2, contacts: [contact(5072)] }), UDP_SOURCE);
    expect([over.status, over.reason]).toEqual([403, 'Too Many Bindings']);
    expect((await registrar.register(registerRequest({ cseq: 3, contacts: [contact(5070), contact(5071)] }), UDP_SOURCE)).status).toBe(200);
  });

  test('the store full: 503 with Retry-After', async () => {
    await registrar.close();
    registrar = createRegistrar({ store: new MemoryBindingStore({ maxBindings: 2 }) });
    expect((await registrar.register(registerRequest({ contacts: [contact(5070), contact(5071)] }), UDP_SOURCE)).status).toBe(200);
    const full = await registrar.register(registerRequest({ user: 'bob', contacts: ['<sip:bob@127.0.0.1:5080>'] }), UDP_SOURCE);
    expect([full.status, full.headers['retry-after']]).toEqual([503, '5']);
  });

  test('values over their limits are refused with 400', async () => {
    const long = `<sip:alice@127.0.0.1:5070;x=${'a'.repeat(1100)}>`;
    expect((await registrar.register(registerRequest({ contacts: [long] }), UDP_SOURCE)).status).toBe(400);
    const params = `<sip:alice@127.0.0.1:5070>${Array.from({ length: 20 }, (_, i) => `;p${i}=1`).join('')}`;
    expect((await registrar.register(registerRequest({ contacts: [params] }), UDP_SOURCE)).status).toBe(400);
    expect((await registrar.register(registerRequest({ callId: 'c'.repeat(300), contacts: [contact(5070)] }), UDP_SOURCE)).status).toBe(400);
  });
});
