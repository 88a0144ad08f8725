import { createResolver, protocolFromTransportParam, unbracketHost } from '@sipts/core';
import type { DnsClient, LookupAddress, NaptrRecord, SrvRecord, SipUri } from '@sipts/core';

function uri(host: string, extra: Partial<SipUri> = {}): SipUri {
  return { schema: 'sip', host, params: {}, headers: {}, ...extra };
}

interface FakeZone {
  naptr?: Record<string, NaptrRecord[]>;
  srv?: Record<string, SrvRecord[]>;
  hosts?: Record<string, LookupAddress[]>;
}

/** A fake DNS over a zone; counts queries so tests can see caching and de-duplication. */
function fakeDns(zone: FakeZone) {
  const queries: string[] = [];
  const pending: Array<() => void> = [];
  let hold = false;
  const answer = <T>(kind: string, name: string, table: Record<string, T[]> | undefined): Promise<T[]> => {
    queries.push(`${kind} ${name}`);
    const records = table?.[name];
    const settle = (resolve: (v: T[]) => void, reject: (e: Error) => void) => {
      if (records) resolve(records);
      else reject(Object.assign(new Error(`${kind} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' }));
    };
    return new Promise<T[]>((resolve, reject) => {
      if (hold) pending.push(() => settle(resolve, reject));
      else settle(resolve, reject);
    });
  };
  const dns: DnsClient = {
    resolveNaptr: (name) => answer('NAPTR', name, zone.naptr),
    resolveSrv: (name) => answer('SRV', name, zone.srv),
    lookup: (host) => answer('A', host, zone.hosts),
  };
  return {
    dns,
    queries,
    holdAnswers(): void {
      hold = true;
    },
    release(): void {
      hold = false;
      for (const p of pending.splice(0)) p();
    },
  };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });
const naptr = (order: number, preference: number, service: string, replacement: string, flags = 's'): NaptrRecord => ({
  order,
  preference,
  service,
  replacement,
  flags,
  regexp: '',
});
const srv = (priority: number, weight: number, port: number, name: string): SrvRecord => ({ priority, weight, port, name });

describe('RFC 3263 resolver', () => {
  test('a numeric IPv4 host short-circuits DNS: UDP and port 5060 by default', async () => {
    const fake = fakeDns({});
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('192.0.2.1'))).resolves.toEqual([{ protocol: 'UDP', address: '192.0.2.1', port: 5060 }]);
    expect(fake.queries).toEqual([]);
  });

  test('a bracketed IPv6 host is accepted and unbracketed for sockets', async () => {
    const r = createResolver({ dns: fakeDns({}).dns });
    await expect(r.resolve(uri('[2001:db8::1]', { port: 5070 }))).resolves.toEqual([
      { protocol: 'UDP', address: '2001:db8::1', port: 5070 },
    ]);
  });

  test('sips with a numeric host is TLS on 5061 (RFC 3263 §4.1), never UDP', async () => {
    const r = createResolver({ dns: fakeDns({}).dns });
    await expect(r.resolve(uri('192.0.2.1', { schema: 'sips' }))).resolves.toEqual([
      { protocol: 'TLS', address: '192.0.2.1', port: 5061 },
    ]);
  });

  test('the transport parameter picks the protocol; sips upgrades tcp to TLS and ws to WSS', async () => {
    const r = createResolver({ dns: fakeDns({}).dns });
    await expect(r.resolve(uri('192.0.2.1', { params: { transport: 'tcp' } }))).resolves.toEqual([
      { protocol: 'TCP', address: '192.0.2.1', port: 5060 },
    ]);
    await expect(r.resolve(uri('192.0.2.1', { schema: 'sips', params: { transport: 'tcp' } }))).resolves.toEqual([
      { protocol: 'TLS', address: '192.0.2.1', port: 5061 },
    ]);
    await expect(r.resolve(uri('192.0.2.1', { params: { transport: 'ws' } }))).resolves.toEqual([
      { protocol: 'WS', address: '192.0.2.1', port: 80 },
    ]);
    // sip.js gave 433 here; RFC 7118 says the WSS default is 443.
    await expect(r.resolve(uri('192.0.2.1', { schema: 'sips', params: { transport: 'ws' } }))).resolves.toEqual([
      { protocol: 'WSS', address: '192.0.2.1', port: 443 },
    ]);
    expect(protocolFromTransportParam('udp', true)).toBeUndefined();
    expect(protocolFromTransportParam('SCTP', false)).toBeUndefined();
  });

  test('a protocol the caller cannot send on yields no targets', async () => {
    const r = createResolver({ dns: fakeDns({}).dns });
    await expect(r.resolve(uri('192.0.2.1', { params: { transport: 'tls' } }), { protocols: ['UDP', 'TCP'] })).resolves.toEqual([]);
    // No transport parameter and no UDP: the default falls to TCP.
    await expect(r.resolve(uri('192.0.2.1'), { protocols: ['TCP'] })).resolves.toEqual([
      { protocol: 'TCP', address: '192.0.2.1', port: 5060 },
    ]);
  });

  test('an explicit port skips NAPTR and SRV: A/AAAA only, every address in order', async () => {
    const fake = fakeDns({
      naptr: { 'example.com': [naptr(10, 10, 'SIP+D2T', '_sip._tcp.example.com')] },
      hosts: { 'example.com': [v4('192.0.2.10'), v6('2001:db8::10')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com', { port: 5080 }))).resolves.toEqual([
      { protocol: 'UDP', address: '192.0.2.10', port: 5080 },
      { protocol: 'UDP', address: '2001:db8::10', port: 5080 },
    ]);
    expect(fake.queries).toEqual(['A example.com']);
  });

  test('families filter addresses the caller cannot reach', async () => {
    const fake = fakeDns({ hosts: { 'example.com': [v6('2001:db8::10'), v4('192.0.2.10')] } });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com', { port: 5080 }), { families: [4] })).resolves.toEqual([
      { protocol: 'UDP', address: '192.0.2.10', port: 5080 },
    ]);
  });

  test('NAPTR order then preference picks the transport; flags other than "s" are ignored', async () => {
    const fake = fakeDns({
      naptr: {
        'example.com': [
          naptr(20, 10, 'SIP+D2U', '_sip._udp.example.com'),
          naptr(10, 20, 'SIP+D2T', '_sip._tcp.example.com'),
          naptr(10, 10, 'SIPS+D2T', '_sips._tcp.example.com'),
          naptr(5, 10, 'SIP+D2U', 'ignored.example.com', 'a'),
        ],
      },
      srv: {
        '_sips._tcp.example.com': [srv(0, 0, 5061, 'tls.example.com')],
        '_sip._tcp.example.com': [srv(0, 0, 5060, 'tcp.example.com')],
        '_sip._udp.example.com': [srv(0, 0, 5060, 'udp.example.com')],
      },
      hosts: {
        'tls.example.com': [v4('192.0.2.1')],
        'tcp.example.com': [v4('192.0.2.2')],
        'udp.example.com': [v4('192.0.2.3')],
      },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com'))).resolves.toEqual([
      { protocol: 'TLS', address: '192.0.2.1', port: 5061 },
      { protocol: 'TCP', address: '192.0.2.2', port: 5060 },
      { protocol: 'UDP', address: '192.0.2.3', port: 5060 },
    ]);
    expect(fake.queries).not.toContain('SRV ignored.example.com');
  });

  test('a sips URI keeps only SIPS services from NAPTR', async () => {
    const fake = fakeDns({
      naptr: {
        'example.com': [naptr(10, 10, 'SIP+D2U', '_sip._udp.example.com'), naptr(20, 10, 'SIPS+D2T', '_sips._tcp.example.com')],
      },
      srv: {
        '_sips._tcp.example.com': [srv(0, 0, 5061, 'tls.example.com')],
        '_sip._udp.example.com': [srv(0, 0, 5060, 'udp.example.com')],
      },
      hosts: { 'tls.example.com': [v4('192.0.2.1')], 'udp.example.com': [v4('192.0.2.3')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com', { schema: 'sips' }))).resolves.toEqual([
      { protocol: 'TLS', address: '192.0.2.1', port: 5061 },
    ]);
  });

  test('NAPTR services the caller does not support are skipped', async () => {
    const fake = fakeDns({
      naptr: { 'example.com': [naptr(10, 10, 'SIPS+D2T', '_sips._tcp.example.com'), naptr(20, 10, 'SIP+D2U', '_sip._udp.example.com')] },
      srv: { '_sip._udp.example.com': [srv(0, 0, 5062, 'udp.example.com')] },
      hosts: { 'udp.example.com': [v4('192.0.2.3')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com'), { protocols: ['UDP', 'TCP'] })).resolves.toEqual([
      { protocol: 'UDP', address: '192.0.2.3', port: 5062 },
    ]);
    expect(fake.queries).not.toContain('SRV _sips._tcp.example.com');
  });

  test('no NAPTR: SRV per supported transport (RFC 3263 §4.1)', async () => {
    const fake = fakeDns({
      srv: { '_sip._tcp.example.com': [srv(0, 0, 5070, 'tcp.example.com')] },
      hosts: { 'tcp.example.com': [v4('192.0.2.2')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com'))).resolves.toEqual([{ protocol: 'TCP', address: '192.0.2.2', port: 5070 }]);
    expect(fake.queries).toEqual(expect.arrayContaining(['NAPTR example.com', 'SRV _sip._udp.example.com', 'SRV _sip._tcp.example.com']));
  });

  test('no NAPTR and no SRV: A/AAAA on the default port of UDP (sip) or TLS (sips)', async () => {
    const fake = fakeDns({ hosts: { 'example.com': [v4('192.0.2.9')] } });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com'))).resolves.toEqual([{ protocol: 'UDP', address: '192.0.2.9', port: 5060 }]);
    await expect(r.resolve(uri('example.com', { schema: 'sips' }))).resolves.toEqual([
      { protocol: 'TLS', address: '192.0.2.9', port: 5061 },
    ]);
  });

  test('a transport parameter without a port queries the SRV of that transport, then A/AAAA', async () => {
    const fake = fakeDns({
      srv: { '_sip._tcp.example.com': [srv(0, 0, 5999, 'tcp.example.com')] },
      hosts: { 'tcp.example.com': [v4('192.0.2.2')], 'other.example.com': [v4('192.0.2.7')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com', { params: { transport: 'tcp' } }))).resolves.toEqual([
      { protocol: 'TCP', address: '192.0.2.2', port: 5999 },
    ]);
    expect(fake.queries).not.toContain('NAPTR example.com');
    await expect(r.resolve(uri('other.example.com', { params: { transport: 'tcp' } }))).resolves.toEqual([
      { protocol: 'TCP', address: '192.0.2.7', port: 5060 },
    ]);
  });

  test('SRV: lower priority first; within a priority, weighted random by RFC 2782', async () => {
    const zone: FakeZone = {
      srv: {
        '_sip._udp.example.com': [
          srv(20, 0, 5060, 'backup.example.com'),
          srv(10, 10, 5060, 'light.example.com'),
          srv(10, 90, 5060, 'heavy.example.com'),
        ],
      },
      hosts: {
        'backup.example.com': [v4('192.0.2.30')],
        'light.example.com': [v4('192.0.2.10')],
        'heavy.example.com': [v4('192.0.2.90')],
      },
    };
    // The RFC 2782 running sums are light=10, heavy=100 (zero-weight first, then as listed).
    // A draw of 5 selects light; a draw of 50 selects heavy.
    const draws: number[] = [];
    const lowDraw = createResolver({ dns: fakeDns(zone).dns, randomInt: (max) => (draws.push(max), draws.length === 1 ? 5 : 0) });
    const order1 = (await lowDraw.resolve(uri('example.com'), { protocols: ['UDP'] })).map((t) => t.address);
    expect(order1).toEqual(['192.0.2.10', '192.0.2.90', '192.0.2.30']);
    expect(draws[0]).toBe(101); // uniform over [0, sum of weights]

    let calls = 0;
    const highDraw = createResolver({ dns: fakeDns(zone).dns, randomInt: () => (++calls === 1 ? 50 : 0) });
    const order2 = (await highDraw.resolve(uri('example.com'), { protocols: ['UDP'] })).map((t) => t.address);
    expect(order2).toEqual(['192.0.2.90', '192.0.2.10', '192.0.2.30']);
  });

  test('SRV weights bias the first choice with the default crypto random source', async () => {
    const zone: FakeZone = {
      srv: { '_sip._udp.example.com': [srv(10, 1, 5060, 'rare.example.com'), srv(10, 99, 5060, 'common.example.com')] },
      hosts: { 'rare.example.com': [v4('192.0.2.1')], 'common.example.com': [v4('192.0.2.99')] },
    };
    let common = 0;
    for (let i = 0; i < 200; i++) {
      const r = createResolver({ dns: fakeDns(zone).dns });
      const [first] = await r.resolve(uri('example.com'), { protocols: ['UDP'] });
      if (first?.address === '192.0.2.99') common++;
    }
    // Expected ~198 of 200; the chance of fewer than 150 is astronomically small.
    expect(common).toBeGreaterThan(150);
  });

  test('an SRV target of "." means no service', async () => {
    const fake = fakeDns({
      srv: { '_sip._udp.example.com': [srv(0, 0, 0, '.')] },
      hosts: { 'example.com': [v4('192.0.2.5')] },
    });
    const r = createResolver({ dns: fake.dns });
    await expect(r.resolve(uri('example.com'), { protocols: ['UDP'] })).resolves.toEqual([
      { protocol: 'UDP', address: '192.0.2.5', port: 5060 },
    ]);
  });

  test('answers are cached for the TTL, then asked again', async () => {
    let now = 1_000;
    const fake = fakeDns({ hosts: { 'example.com': [v4('192.0.2.9')] } });
    const r = createResolver({ dns: fake.dns, cacheTtl: 10_000, now: () => now });
    await r.resolve(uri('example.com', { port: 5060 }));
    await r.resolve(uri('example.com', { port: 5060 }));
    expect(fake.queries).toEqual(['A example.com']);
    now += 10_001;
    await r.resolve(uri('example.com', { port: 5060 }));
    expect(fake.queries).toEqual(['A example.com', 'A example.com']);
  });

  test('failed answers are cached for the shorter negative TTL', async () => {
    let now = 0;
    const fake = fakeDns({});
    const r = createResolver({ dns: fake.dns, negativeCacheTtl: 1_000, now: () => now });
    await expect(r.resolve(uri('nowhere.invalid', { port: 5060 }))).resolves.toEqual([]);
    await r.resolve(uri('nowhere.invalid', { port: 5060 }));
    expect(fake.queries).toHaveLength(1);
    now += 1_001;
    await r.resolve(uri('nowhere.invalid', { port: 5060 }));
    expect(fake.queries).toHaveLength(2);
  });

  test('concurrent resolutions of one name share a single query', async () => {
    const fake = fakeDns({ hosts: { 'example.com': [v4('192.0.2.9')] } });
    const r = createResolver({ dns: fake.dns });
    fake.holdAnswers();
    const all = Promise.all([1, 2, 3, 4].map(() => r.resolve(uri('example.com', { port: 5060 }))));
    await new Promise((resolve) => setImmediate(resolve));
    fake.release();
    const results = await all;
    expect(results.every((list) => list.length === 1 && list[0]?.address === '192.0.2.9')).toBe(true);
    expect(fake.queries).toEqual(['A example.com']);
  });

  test('the cache is bounded: the oldest names are dropped first', async () => {
    const hosts: Record<string, LookupAddress[]> = {};
    for (let i = 0; i < 10; i++) hosts[`h${i}.example.com`] = [v4(`192.0.2.${i}`)];
    const fake = fakeDns({ hosts });
    const r = createResolver({ dns: fake.dns, maxCacheEntries: 4 });
    for (let i = 0; i < 10; i++) await r.resolve(uri(`h${i}.example.com`, { port: 5060 }));
    expect(r.cacheSize).toBe(4);
    await r.resolve(uri('h9.example.com', { port: 5060 }));
    await r.resolve(uri('h0.example.com', { port: 5060 }));
    expect(fake.queries.filter((q) => q === 'A h9.example.com')).toHaveLength(1);
    expect(fake.queries.filter((q) => q === 'A h0.example.com')).toHaveLength(2);
  });

  test('the target list is capped at maxTargets', async () => {
    const many = Array.from({ length: 40 }, (_, i) => v4(`192.0.2.${i}`));
    const r = createResolver({ dns: fakeDns({ hosts: { 'big.example.com': many } }).dns, maxTargets: 5 });
    await expect(r.resolve(uri('big.example.com', { port: 5060 }))).resolves.toHaveLength(5);
  });

  test('the default client honours /etc/hosts through dns.lookup (localhost)', async () => {
    const r = createResolver();
    const targets = await r.resolve(uri('localhost', { port: 5070 }), { families: [4] });
    expect(targets).toContainEqual({ protocol: 'UDP', address: '127.0.0.1', port: 5070 });
  });

  test('unbracketHost', () => {
    expect(unbracketHost('[::1]')).toBe('::1');
    expect(unbracketHost('example.com')).toBe('example.com');
  });
});
