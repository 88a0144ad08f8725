// A small RFC 3261 §10.3 location service shared by the registrar examples: bindings per
// address-of-record with expiry, Call-ID/CSeq ordering, `Contact: *` removal, and the flow a
// binding arrived on (so a WebSocket or RFC 5626 client is reached over its own connection).
// The store is an interface so a cluster can keep bindings in Redis; the default is in memory.
import type { NameAddr, Remote, SipRequest, SipUri } from '@sipts/core';
import { parseUri, stringifyUri } from '@sipts/core';

export interface Binding {
  contact: NameAddr;
  /** Absolute expiry time in ms. */
  expires: number;
  callId: string;
  cseq: number;
  /** The connection the REGISTER came in on, when requests must go back over it. */
  flow?: Remote | undefined;
}

/** Where bindings live. Replace with a shared store to run several registrars. */
export interface BindingStore {
  get(aor: string): Binding[] | undefined;
  set(aor: string, bindings: Binding[]): void;
  delete(aor: string): void;
  /** Every address-of-record held (optional: a shared store may not enumerate). */
  keys?(): Iterable<string>;
}

export class MemoryBindingStore implements BindingStore {
  readonly #map = new Map<string, Binding[]>();
  get(aor: string): Binding[] | undefined {
    return this.#map.get(aor);
  }
  set(aor: string, bindings: Binding[]): void {
    this.#map.set(aor, bindings);
  }
  delete(aor: string): void {
    this.#map.delete(aor);
  }
  keys(): Iterable<string> {
    return [...this.#map.keys()];
  }
}

export type RegisterResult =
  | { status: 200; contacts: NameAddr[] | undefined }
  | { status: 400; reason: string }
  | { status: 423; minExpires: number };

export interface LocationServiceOptions {
  store?: BindingStore;
  now?: () => number;
  defaultExpires?: number;
  maxExpires?: number;
  minExpires?: number;
}

/** The key of an address-of-record: the user part of the To URI, as the `sip` examples use. */
export function aorOf(uri: string | SipUri): string | undefined {
  const parsed = parseUri(uri);
  return parsed?.user ?? undefined;
}

function contactKey(contact: NameAddr): string {
  return stringifyUri(contact.uri);
}

/** Does a binding need its flow (RFC 5626 `reg-id`/`+sip.instance`, WebSocket, `.invalid` host)? */
function needsFlow(contact: NameAddr, remote: Remote): boolean {
  const p = contact.params;
  if (p['reg-id'] !== undefined && p['+sip.instance'] !== undefined) return true;
  if (/^wss?$/i.test(remote.protocol)) return true;
  const host = parseUri(contact.uri)?.host ?? '';
  return host.toLowerCase().endsWith('.invalid');
}

export class LocationService {
  readonly #store: BindingStore;
  readonly #now: () => number;
  readonly #defaultExpires: number;
  readonly #maxExpires: number;
  readonly #minExpires: number;

  constructor(options: LocationServiceOptions = {}) {
    this.#store = options.store ?? new MemoryBindingStore();
    this.#now = options.now ?? Date.now;
    this.#defaultExpires = options.defaultExpires ?? 3600;
    this.#maxExpires = options.maxExpires ?? 7200;
    this.#minExpires = options.minExpires ?? 60;
  }

  /** RFC 3261 §10.3 steps 5-8 for one REGISTER (authentication is the caller's business). */
  register(rq: SipRequest, remote: Remote): RegisterResult {
    const aor = rq.headers.to ? aorOf(rq.headers.to.uri) : undefined;
    if (aor === undefined) return { status: 400, reason: 'Bad To URI' };
    const callId = rq.headers['call-id'] ?? '';
    const cseq = rq.headers.cseq?.seq ?? 0;
    const expiresHeader = rq.headers.expires === undefined ? undefined : Number(rq.headers.expires);
    const contacts = rq.headers.contact;
    const now = this.#now();
    let bindings = this.#live(aor, now);

    if (contacts === '*') {
      // RFC 3261 §10.3 step 6: `Contact: *` only with Expires: 0, removes every binding.
      if (expiresHeader !== 0) return { status: 400, reason: 'Contact * requires Expires: 0' };
      this.#store.delete(aor);
      return { status: 200, contacts: undefined };
    }

    for (const contact of contacts ?? []) {
      const raw = contact.params.expires;
      let expires = raw !== undefined && raw !== null ? Number(raw) : expiresHeader ?? this.#defaultExpires;
      if (!Number.isFinite(expires) || expires < 0) expires = this.#defaultExpires;
      if (expires > 0 && expires < this.#minExpires) return { status: 423, minExpires: this.#minExpires };
      expires = Math.min(expires, this.#maxExpires);
      const key = contactKey(contact);
      const existing = bindings.find((b) => contactKey(b.contact) === key);
      // RFC 3261 §10.3 step 7: same Call-ID with a CSeq not higher is out of order.
      if (existing && existing.callId === callId && existing.cseq >= cseq) continue;
      bindings = bindings.filter((b) => contactKey(b.contact) !== key);
      if (expires > 0) {
        bindings.push({
          contact: { ...(contact.name !== undefined ? { name: contact.name } : {}), uri: contact.uri, params: { ...contact.params } },
          expires: now + expires * 1000,
          callId,
          cseq,
          flow: needsFlow(contact, remote) ? remote : undefined,
        });
      }
    }
    if (bindings.length > 0) this.#store.set(aor, bindings);
    else this.#store.delete(aor);
    return { status: 200, contacts: this.#contactsOf(bindings, now) };
  }

  /** Live bindings of an address-of-record, most recent first. */
  lookup(aor: string): Binding[] {
    return this.#live(aor, this.#now()).slice().reverse();
  }

  /**
   * RFC 5626 §5.3 spirit: a connection that closed takes the bindings that can only be reached
   * over it (those registered with their flow) with it. Returns how many were removed.
   */
  dropFlow(flow: Remote): number {
    if (this.#store.keys === undefined) return 0; // a store that cannot enumerate lets them expire
    let removed = 0;
    const same = (f: Remote | undefined): boolean =>
      f !== undefined &&
      f.protocol === flow.protocol &&
      f.address === flow.address &&
      f.port === flow.port &&
      f.local?.address === flow.local?.address &&
      f.local?.port === flow.local?.port;
    for (const aor of this.#store.keys()) {
      const all = this.#store.get(aor) ?? [];
      const kept = all.filter((b) => !same(b.flow));
      removed += all.length - kept.length;
      if (kept.length === all.length) continue;
      if (kept.length > 0) this.#store.set(aor, kept);
      else this.#store.delete(aor);
    }
    return removed;
  }

  #live(aor: string, now: number): Binding[] {
    const all = this.#store.get(aor) ?? [];
    const live = all.filter((b) => b.expires > now);
    if (live.length !== all.length) {
      if (live.length > 0) this.#store.set(aor, live);
      else this.#store.delete(aor);
    }
    return live;
  }

  #contactsOf(bindings: Binding[], now: number): NameAddr[] | undefined {
    if (bindings.length === 0) return undefined;
    return bindings.map((b) => ({
      ...(b.contact.name !== undefined ? { name: b.contact.name } : {}),
      uri: b.contact.uri,
      params: { ...b.contact.params, expires: String(Math.max(0, Math.round((b.expires - now) / 1000))) },
    }));
  }
}
