// RFC 3263 server location: NAPTR -> SRV -> A/AAAA, producing an ordered list of targets the
// stack tries one after another (RFC 3263 §4.3: next target on a transport error or a 503).
import { randomInt } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { unbracket } from '@sipts/message';
import type { SipUri } from '@sipts/message';

export type TargetProtocol = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/** One place to send a request: a transport protocol, an IP address (no brackets) and a port. */
export interface ResolvedTarget {
  protocol: TargetProtocol;
  address: string;
  port: number;
}

export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface LookupAddress {
  address: string;
  family: number;
}

/**
 * The DNS operations the resolver needs. The default uses `node:dns`: `resolveNaptr`,
 * `resolveSrv`, and `lookup(host, { all: true })` for A/AAAA so `/etc/hosts` is honoured.
 * Tests inject a fake.
 */
export interface DnsClient {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
  lookup(host: string): Promise<LookupAddress[]>;
}

export interface ResolveOptions {
  /** Protocols the caller can send on, in order of preference. Default: all five. */
  protocols?: readonly TargetProtocol[];
  /** IP families the caller can reach. Default: both. */
  families?: readonly (4 | 6)[];
}

/** Anything with this shape can replace the RFC 3263 resolver in a stack (`options.resolver`). */
export interface Resolver {
  resolve(uri: SipUri, options?: ResolveOptions): Promise<ResolvedTarget[]>;
}

export interface ResolverOptions {
  dns?: DnsClient;
  /** How long a positive answer is reused, in ms (Node's NAPTR/SRV APIs do not expose TTLs). */
  cacheTtl?: number;
  /** How long an empty or failed answer is reused, in ms. */
  negativeCacheTtl?: number;
  /** Cached names kept at most (oldest dropped first). */
  maxCacheEntries?: number;
  /** Longest target list returned. */
  maxTargets?: number;
  /** Clock for the cache, in ms. */
  now?: () => number;
  /** Uniform integer in [0, maxExclusive): RFC 2782 weighted selection. Default: crypto.randomInt. */
  randomInt?: (maxExclusive: number) => number;
}

export const defaultPorts: Readonly<Record<TargetProtocol, number>> = {
  UDP: 5060,
  TCP: 5060,
  TLS: 5061,
  WS: 80,
  WSS: 443,
};

const allProtocols: readonly TargetProtocol[] = ['UDP', 'TCP', 'TLS', 'WS', 'WSS'];

// RFC 3263 §4.1 and RFC 7118 §5: NAPTR service fields and the transports they name.
const naptrServices: Readonly<Record<string, TargetProtocol>> = {
  'SIP+D2U': 'UDP',
  'SIP+D2T': 'TCP',
  'SIPS+D2T': 'TLS',
  'SIP+D2W': 'WS',
  'SIPS+D2W': 'WSS',
};

// RFC 3263 §4.2 / RFC 7118 §5: SRV owner-name prefixes per transport.
const srvPrefixes: Readonly<Record<TargetProtocol, string>> = {
  UDP: '_sip._udp.',
  TCP: '_sip._tcp.',
  TLS: '_sips._tcp.',
  WS: '_sip._ws.',
  WSS: '_sips._ws.',
};

export function defaultDnsClient(): DnsClient {
  return {
    resolveNaptr: (name) => dnsPromises.resolveNaptr(name),
    resolveSrv: (name) => dnsPromises.resolveSrv(name),
    lookup: (host) => dnsPromises.lookup(host, { all: true }),
  };
}

/** `[2001:db8::1]` -> `2001:db8::1`; other hosts unchanged (the name core has always exported). */
export const unbracketHost = unbracket;

/** RFC 3261 §19.1.2 `transport` values (and the deprecated `tls`), with `sips` upgrading TCP/WS. */
export function protocolFromTransportParam(transport: string, secure: boolean): TargetProtocol | undefined {
  switch (transport.toLowerCase()) {
    case 'udp':
      return secure ? undefined : 'UDP';
    case 'tcp':
      return secure ? 'TLS' : 'TCP';
    case 'tls':
      return 'TLS';
    case 'ws':
      return secure ? 'WSS' : 'WS';
    case 'wss':
      return 'WSS';
    default:
      return undefined;
  }
}

interface CacheEntry<T> {
  value: T;
  expires: number;
}

/**
 * The RFC 3263 resolver: a small TTL cache with in-flight de-duplication in front of the DNS.
 * `resolve` never rejects; a name that resolves to nothing yields an empty list.
 */
export class Rfc3263Resolver implements Resolver {
  readonly #dns: DnsClient;
  readonly #cacheTtl: number;
  readonly #negativeCacheTtl: number;
  readonly #maxCacheEntries: number;
  readonly #maxTargets: number;
  readonly #now: () => number;
  readonly #randomInt: (maxExclusive: number) => number;
  readonly #cache = new Map<string, CacheEntry<unknown>>();
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(options: ResolverOptions = {}) {
    this.#dns = options.dns ?? defaultDnsClient();
    this.#cacheTtl = options.cacheTtl ?? 30_000;
    this.#negativeCacheTtl = options.negativeCacheTtl ?? 5_000;
    this.#maxCacheEntries = options.maxCacheEntries ?? 1_000;
    this.#maxTargets = options.maxTargets ?? 16;
    this.#now = options.now ?? Date.now;
    this.#randomInt = options.randomInt ?? ((max) => (max <= 1 ? 0 : randomInt(max)));
  }

  /** Number of cached DNS answers (for tests and stats). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  clearCache(): void {
    this.#cache.clear();
  }

  async resolve(uri: SipUri, options: ResolveOptions = {}): Promise<ResolvedTarget[]> {
    const supported = options.protocols ?? allProtocols;
    const families = options.families ?? [4, 6];
    const secure = uri.schema.toLowerCase() === 'sips';
    const host = unbracket(uri.host);
    const transportParam = uri.params['transport'];
    let explicit: TargetProtocol | undefined;
    if (typeof transportParam === 'string' && transportParam !== '') {
      explicit = protocolFromTransportParam(transportParam, secure);
      if (explicit === undefined || !supported.includes(explicit)) return [];
    }
    // RFC 3263 §4.1: no transport parameter and no NAPTR -> UDP for sip, TCP (TLS) for sips.
    const fallback = explicit ?? this.#defaultProtocol(secure, supported);

    // RFC 3263 §4.1/§4.2: a numeric host needs no DNS at all.
    const family = isIP(host);
    if (family !== 0) {
      if (fallback === undefined || !families.includes(family as 4 | 6)) return [];
      return [{ protocol: fallback, address: host, port: uri.port || defaultPorts[fallback] }];
    }

    // RFC 3263 §4.2: an explicit port means A/AAAA only.
    if (uri.port) {
      if (fallback === undefined) return [];
      return this.#withAddresses(host, fallback, uri.port, families, []);
    }

    if (explicit !== undefined) {
      // Transport known from the URI: SRV for it, else A/AAAA on the default port.
      const srv = await this.#srvTargets(srvPrefixes[explicit] + host, explicit, families);
      if (srv.length > 0) return srv;
      return this.#withAddresses(host, explicit, defaultPorts[explicit], families, []);
    }

    // RFC 3263 §4.1: NAPTR, keeping the services we support (only SIPS ones for a sips URI).
    const naptr = (await this.#cached('NAPTR', host, () => this.#dns.resolveNaptr(host)))
      .filter((r) => {
        if (r.flags.toLowerCase() !== 's') return false;
        const protocol = naptrServices[r.service.toUpperCase()];
        return protocol !== undefined && supported.includes(protocol) && (!secure || protocol === 'TLS' || protocol === 'WSS');
      })
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    const targets: ResolvedTarget[] = [];
    for (const record of naptr) {
      const protocol = naptrServices[record.service.toUpperCase()] as TargetProtocol;
      targets.push(...(await this.#srvTargets(record.replacement, protocol, families)));
      if (targets.length >= this.#maxTargets) break;
    }
    if (targets.length > 0) return this.#dedupe(targets);

    // RFC 3263 §4.1: no usable NAPTR -> SRV for each transport we support.
    const candidates = secure
      ? supported.filter((p) => p === 'TLS' || p === 'WSS')
      : supported.filter((p) => p === 'UDP' || p === 'TCP');
    const srvLists = await Promise.all(candidates.map((p) => this.#srvTargets(srvPrefixes[p] + host, p, families)));
    for (const list of srvLists) targets.push(...list);
    if (targets.length > 0) return this.#dedupe(targets);

    // RFC 3263 §4.2: no SRV -> A/AAAA on the default port of the default transport.
    if (fallback === undefined) return [];
    return this.#withAddresses(host, fallback, defaultPorts[fallback], families, []);
  }

  #defaultProtocol(secure: boolean, supported: readonly TargetProtocol[]): TargetProtocol | undefined {
    const order: readonly TargetProtocol[] = secure ? ['TLS', 'WSS'] : ['UDP', 'TCP', 'TLS', 'WS', 'WSS'];
    return order.find((p) => supported.includes(p));
  }

  async #srvTargets(name: string, protocol: TargetProtocol, families: readonly (4 | 6)[]): Promise<ResolvedTarget[]> {
    const records = await this.#cached('SRV', name, () => this.#dns.resolveSrv(name));
    // RFC 2782: a single record with target "." means the service is decidedly not available.
    const usable = records.filter((r) => r.name !== '' && r.name !== '.');
    const targets: ResolvedTarget[] = [];
    for (const record of this.#orderSrv(usable)) {
      await this.#withAddresses(record.name, protocol, record.port, families, targets);
      if (targets.length >= this.#maxTargets) break;
    }
    return targets;
  }

  /** RFC 2782: ascending priority; within a priority, weighted random order. */
  #orderSrv(records: readonly SrvRecord[]): SrvRecord[] {
    const byPriority = new Map<number, SrvRecord[]>();
    for (const r of records) {
      const group = byPriority.get(r.priority);
      if (group) group.push(r);
      else byPriority.set(r.priority, [r]);
    }
    const ordered: SrvRecord[] = [];
    for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
      // Zero-weight records first, so they get a small chance when others carry weight.
      const group = (byPriority.get(priority) as SrvRecord[]).slice().sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
      while (group.length > 0) {
        let total = 0;
        for (const r of group) total += r.weight;
        const pick = this.#randomInt(total + 1);
        let running = 0;
        let index = group.length - 1;
        for (let i = 0; i < group.length; i++) {
          running += (group[i] as SrvRecord).weight;
          if (running >= pick) {
            index = i;
            break;
          }
        }
        ordered.push(group.splice(index, 1)[0] as SrvRecord);
      }
    }
    return ordered;
  }

  async #withAddresses(
    host: string,
    protocol: TargetProtocol,
    port: number,
    families: readonly (4 | 6)[],
    into: ResolvedTarget[],
  ): Promise<ResolvedTarget[]> {
    const family = isIP(host);
    const addresses: LookupAddress[] =
      family !== 0 ? [{ address: host, family }] : await this.#cached('A/AAAA', host, () => this.#dns.lookup(host));
    for (const a of addresses) {
      if (into.length >= this.#maxTargets) break;
      if (families.includes(a.family as 4 | 6)) into.push({ protocol, address: a.address, port });
    }
    return into;
  }

  #dedupe(targets: ResolvedTarget[]): ResolvedTarget[] {
    const seen = new Set<string>();
    const out: ResolvedTarget[] = [];
    for (const t of targets) {
      const key = `${t.protocol} ${t.address} ${t.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(t);
      if (out.length >= this.#maxTargets) break;
    }
    return out;
  }

  /** A DNS answer from the cache, from a query already in flight, or from a new query. */
  async #cached<T>(kind: string, name: string, query: () => Promise<T[]>): Promise<T[]> {
    const key = `${kind} ${name.toLowerCase()}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.expires > this.#now()) return hit.value as T[];
      this.#cache.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending as Promise<T[]>;
    const promise = query().then(
      (value) => (Array.isArray(value) ? value : []),
      // NXDOMAIN, NODATA, timeouts: all mean "nothing here" to the caller, cached briefly.
      () => [] as T[],
    );
    this.#inFlight.set(key, promise);
    try {
      const value = await promise;
      this.#store(key, value, value.length > 0 ? this.#cacheTtl : this.#negativeCacheTtl);
      return value;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  #store(key: string, value: unknown, ttl: number): void {
    if (ttl <= 0) return;
    this.#cache.set(key, { value, expires: this.#now() + ttl });
    while (this.#cache.size > this.#maxCacheEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}

export function createResolver(options?: ResolverOptions): Rfc3263Resolver {
  return new Rfc3263Resolver(options);
}
