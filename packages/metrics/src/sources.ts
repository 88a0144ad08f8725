// What the metrics read, by shape: the `stats()` of a stack, a proxy, a registrar, a dialog UA
// and a HEP capture, and the proxy's `contextReleased` event. Structural types, so this package
// imports none of those packages at run time and works with any version that has these fields.
import type { StackStats } from '@sipts/core';

/** A `@sipts/core` stack (or anything with its `stats()`). */
export interface StackSource {
  stats(): StackStats;
}

/** What `@sipts/proxy`'s `stats()` returns (the fields read here). */
export interface ProxyStatsShape {
  contexts: number;
  contextsCreated: number;
  branches: number;
  branchesCancelled: number;
  branchesTimedOut: number;
  branchesRefused: number;
  loopsDetected: number;
  tooManyHops: number;
  contextsTimedOut: number;
  statelessForwarded: number;
  cancelsReceived: number;
}

/** What `@sipts/proxy` emits when a context ends. */
export interface ProxyReleasedShape {
  method: string;
  reason: string;
  status: number | undefined;
}

/** A `@sipts/proxy` SipProxy. */
export interface ProxySource {
  stats(): ProxyStatsShape;
  on(event: 'contextReleased', listener: (event: ProxyReleasedShape) => void): unknown;
  off(event: 'contextReleased', listener: (event: ProxyReleasedShape) => void): unknown;
}

/** A `@sipts/registrar` Registrar (its `stats()` is async: the store may be Redis). */
export interface RegistrarSource {
  stats(): Promise<{
    aors: number;
    bindings: number;
    registers: number;
    responses: Record<string, number>;
    added: number;
    refreshed: number;
    removed: number;
    expired: number;
    flowsDropped: number;
    lookups: number;
    storeErrors: number;
    authFailures: number;
  }>;
}

/** A `@sipts/dialog` DialogUA. */
export interface DialogSource {
  stats(): { dialogs: number; incoming: number; dialogsCreated: number; dialogsTerminated: number; unknownDialog: number; overloadRejected: number };
}

/**
 * A B2BUA (not built yet). What it must offer for `addB2bua()`: live calls and legs, calls
 * created and ended by outcome, as plain numbers in `stats()`.
 */
export interface B2buaSource {
  stats(): { calls: number; legs: number; callsCreated: number; callsEnded: Record<string, number> };
}

/** A `@sipts/hep` HepCapture. */
export interface HepSource {
  stats(): { captured: number; sent: number; dropped: number; errors: number; unencodable: number; queued: number };
}
