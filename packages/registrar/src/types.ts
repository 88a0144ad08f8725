// The shapes the registrar and its stores share. A Binding holds only strings, numbers and small
// plain objects copied out of the REGISTER (never a slice of it: see copy.ts), so it is the same
// in memory and as JSON in Redis.

/** Where a REGISTER came from, or the connection a binding is reached over (a `Remote` copy). */
export interface FlowAddress {
  protocol: string;
  address: string;
  port: number;
  local?: { address: string; port: number } | undefined;
}

/** One binding of an address-of-record (RFC 3261 §10.3), as stored. */
export interface Binding {
  /** The address-of-record key (see `aorKey`). */
  aor: string;
  /**
   * The binding's identity within its AOR: `<instance>;reg-id=N` for an RFC 5626 flow,
   * `<instance>` for an instance without reg-id (RFC 5627), else the Contact URI in the form
   * URIs compare equal by (RFC 3261 §19.1.4, the parts that matter).
   */
  key: string;
  /** The Contact URI as registered. */
  contact: string;
  /** Display name of the Contact, when it had one. */
  name?: string | undefined;
  /**
   * The Contact's parameters other than `expires` (`q`, `+sip.instance`, `reg-id`, feature tags),
   * in order, values as on the wire (quoted strings keep their quotes); null for a flag.
   */
  params: Record<string, string | null>;
  /** q-value in thousandths (0..1000); absent q counts as 1000 (RFC 3261 §16.6 leaves it to us). */
  q: number;
  /** Absolute expiry, ms since the epoch. */
  expiresAt: number;
  callId: string;
  cseq: number;
  /** When this binding was first made (ms), kept across refreshes. */
  registeredAt: number;
  /** When this binding was last written by a REGISTER (ms). */
  updatedAt: number;
  /** RFC 3327: the Path URIs, the first one nearest to the registrar (the first Route towards the UA). */
  path?: string[] | undefined;
  /** RFC 5626 / 5627: the `+sip.instance` value without its quotes, e.g. `<urn:uuid:...>`. */
  instance?: string | undefined;
  /** RFC 5626 reg-id. */
  regId?: number | undefined;
  /** Where the REGISTER came from. */
  source: FlowAddress;
  /**
   * The connection (or, for a NATed UDP client, the source address) requests must use to reach
   * this binding: an outbound flow, a WebSocket client, a NATed client. Unset when the Contact
   * (or the Path) is reached the ordinary way.
   */
  flow?: FlowAddress | undefined;
  /** The signed flow URI (`stack.encodeFlowUri(flow)`) of the node that holds the flow, as a string. */
  flowUri?: string | undefined;
  /** True when the binding is reached at its source address because the Contact is behind NAT. */
  nat?: boolean | undefined;
  /** The User-Agent of the REGISTER (truncated), for operators. */
  userAgent?: string | undefined;
}

/** What a REGISTER asks of the store for one AOR: applied all or nothing (RFC 3261 §10.3 step 8). */
export interface BindingChange {
  callId: string;
  cseq: number;
  /** `Contact: *` with `Expires: 0`: remove every binding (each one subject to the Call-ID/CSeq rule). */
  removeAll: boolean;
  /** Bindings to add, refresh or (expiresAt <= now) remove. */
  upserts: Binding[];
  /** RFC 3261 §10.3 step 7 is checked against these keys too (a binding the UA removes). */
  now: number;
  /** Most live bindings this AOR may have after the change (a refresh of a full AOR is allowed). */
  maxBindings: number;
}

/** Why the store refused a change. */
export type ApplyRefusal =
  /** RFC 3261 §10.3 step 7: same Call-ID, CSeq not higher than the stored one. */
  | 'out-of-order'
  /** The AOR would have more than `maxBindings` bindings. */
  | 'too-many'
  /** The store holds its total cap of bindings. */
  | 'full';

export type ApplyResult =
  | {
      ok: true;
      /** Every live binding of the AOR after the change. */
      bindings: Binding[];
      /** Bindings added (no binding with that key before). */
      added: Binding[];
      /** Bindings refreshed (replaced a binding with the same key). */
      refreshed: Binding[];
      /** Bindings removed by the change (expires 0, `*`), as they were. */
      removed: Binding[];
    }
  | { ok: false; reason: ApplyRefusal };

/**
 * Where bindings live. Every method may be called concurrently from several registrars (nodes)
 * on the same AOR; `apply` is atomic per AOR. Rejections are `RegistrarError` `ERR_STORE`.
 */
export interface BindingStore {
  /** The live bindings of `aor` at `now` (any order). */
  get(aor: string, now: number): Promise<Binding[]>;
  /** The RFC 3261 §10.3 update of one AOR, with the Call-ID/CSeq check, atomically. */
  apply(aor: string, change: BindingChange): Promise<ApplyResult>;
  /**
   * Removes bindings of `aor` (`keys` given: those; else all). With `flowUri`, removes only
   * bindings still reached over that flow (a connection closed; a newer REGISTER on another
   * flow keeps its binding). Resolves with the bindings removed.
   */
  remove(aor: string, keys?: readonly string[], flowUri?: string): Promise<Binding[]>;
  /** Takes out up to `limit` bindings whose expiry is at or before `now` and resolves with them. */
  expire(now: number, limit: number): Promise<Binding[]>;
  /** Number of AORs and live bindings held (approximate for a shared store while it changes). */
  count(): Promise<{ aors: number; bindings: number }>;
  /** Releases timers and connections. */
  close(): Promise<void>;
  /**
   * When the store expires bindings by itself (the in-memory store's timer wheel), the
   * registrar subscribes here for its `expired` events instead of polling `expire`.
   */
  onExpired?(listener: (bindings: Binding[]) => void): void;
}
