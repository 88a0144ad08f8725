// The defenses of a stream transport against peers that are slow on purpose (slowloris) or
// that send a little at a time to pin memory: deadlines for a header section and a body, the
// idle timeout, a budget for the bytes incomplete messages hold across all connections, and the
// choice of whom to evict when the connection table is full. One timer serves every deadline:
// each kind of deadline is the same length for every connection, so connections kept in
// insertion-ordered sets by start time expire from the front of each set.
import type { Socket } from 'node:net';
import type { StreamConnection } from './connection.js';
import { ConnectionState, Incomplete } from './connection.js';

/** A TLS connection still in its handshake: accepted, not yet a StreamConnection. */
export interface Handshake {
  readonly socket: Socket;
  /** Its key in `handshakes` (the flow key). */
  readonly key: string;
  readonly since: number;
}

/** What the limits close, and the counters they keep. */
export interface LimitsOwner {
  /** A deadline passed: close the connection (it must be retired at once). */
  expire(connection: StreamConnection, why: 'header' | 'body' | 'idle'): void;
  /** The pending-bytes budget is exceeded: close this connection (it must be retired at once). */
  shed(connection: StreamConnection): void;
}

export interface LimitSettings {
  readonly idleTimeout: number;
  readonly headerTimeout: number;
  readonly bodyTimeout: number;
  readonly evictAfter: number;
  readonly maxPendingBytes: number;
}

/** A monotonic clock in milliseconds. */
export const now: () => number = () => performance.now();

export class ConnectionLimits {
  /** Bytes held by incomplete messages, all connections together (framers' heldBytes). */
  pendingBytes = 0;

  private readonly settings: LimitSettings;
  private readonly owner: LimitsOwner;
  /** Open connections nobody holds, by the time of their last message (idle the longest first). */
  private readonly idle = new Set<StreamConnection>();
  /** Connections with a header section / body on its way, by when it started. */
  private readonly header = new Set<StreamConnection>();
  private readonly body = new Set<StreamConnection>();
  /** TLS sockets in their handshake, by when they were accepted (keyed by flow). */
  readonly handshakes = new Map<string, Handshake>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(settings: LimitSettings, owner: LimitsOwner) {
    this.settings = settings;
    this.owner = owner;
  }

  /**
   * A message (or ping) went either way, or the last hold was released: the idle period starts
   * again. Bytes of a message still arriving never come here (see `framed`).
   */
  touch(connection: StreamConnection, at: number): void {
    connection.lastActive = at;
    if (connection.refs > 0 || connection.state !== ConnectionState.Open || connection.retired) return;
    this.idle.delete(connection);
    this.idle.add(connection);
    if (this.settings.idleTimeout > 0) this.arm(at + this.settings.idleTimeout);
  }

  /** Held (`ref()`): the idle timeout no longer applies, and it is never evicted as idle. */
  hold(connection: StreamConnection): void {
    this.idle.delete(connection);
  }

  /**
   * After a chunk was framed: a header section or body that started during it starts its
   * deadline now (one that only grew keeps its start: a trickle cannot renew it), and the
   * bytes the framer holds are counted against `maxPendingBytes`.
   */
  framed(connection: StreamConnection, pinged: boolean): void {
    const framer = connection.framer;
    const held = framer.heldBytes;
    if (held !== connection.heldBytes) {
      this.pendingBytes += held - connection.heldBytes;
      connection.heldBytes = held;
    }
    const progress = framer.progress;
    if (progress !== connection.progress || pinged) {
      const at = now();
      if (progress !== connection.progress) {
        connection.progress = progress;
        this.setIncomplete(connection, framer.phase === 'header' ? Incomplete.Header : framer.phase === 'body' ? Incomplete.Body : Incomplete.None, at);
      }
      this.touch(connection, at);
    }
    const max = this.settings.maxPendingBytes;
    if (max > 0 && this.pendingBytes > max) this.shedOldest(max);
  }

  /** Forget a connection that is closing: its deadlines, its idle slot, its pending bytes. */
  retire(connection: StreamConnection): void {
    this.idle.delete(connection);
    this.setIncomplete(connection, Incomplete.None, 0);
    this.pendingBytes -= connection.heldBytes;
    connection.heldBytes = 0;
  }

  /**
   * Whom to close so that a new inbound connection fits under `maxConnections`: the connection
   * whose incomplete message (or TLS handshake) started first, if that was more than
   * `evictAfter` ago; else the unheld connection idle the longest, if idle that long. The slow
   * go first: they cost memory and a slot and deliver nothing.
   */
  victim(at: number): { slow: StreamConnection | Handshake } | { idle: StreamConnection } | undefined {
    const before = at - this.settings.evictAfter;
    let slow: StreamConnection | Handshake | undefined;
    let since = Infinity;
    const header = first(this.header);
    if (header !== undefined && header.incompleteSince < since) {
      slow = header;
      since = header.incompleteSince;
    }
    const body = first(this.body);
    if (body !== undefined && body.incompleteSince < since) {
      slow = body;
      since = body.incompleteSince;
    }
    const handshake = first(this.handshakes.values());
    if (handshake !== undefined && handshake.since < since) {
      slow = handshake;
      since = handshake.since;
    }
    if (slow !== undefined && since <= before) return { slow };
    const idle = first(this.idle);
    if (idle !== undefined && idle.lastActive <= before) return { idle };
    return undefined;
  }

  /** Release the timer (the transport is closed). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private setIncomplete(connection: StreamConnection, incomplete: Incomplete, at: number): void {
    if (connection.incomplete === Incomplete.Header) this.header.delete(connection);
    else if (connection.incomplete === Incomplete.Body) this.body.delete(connection);
    connection.incomplete = incomplete;
    connection.incompleteSince = at;
    if (incomplete === Incomplete.Header) {
      this.header.add(connection);
      if (this.settings.headerTimeout > 0) this.arm(at + this.settings.headerTimeout);
    } else if (incomplete === Incomplete.Body) {
      this.body.add(connection);
      if (this.settings.bodyTimeout > 0) this.arm(at + this.settings.bodyTimeout);
    }
  }

  /** Close connections, the incomplete message that started first first, until the budget holds. */
  private shedOldest(max: number): void {
    // Each round retires one connection from the sets, so this ends.
    while (this.pendingBytes > max) {
      const header = first(this.header);
      const body = first(this.body);
      const oldest = header === undefined ? body : body === undefined || header.incompleteSince <= body.incompleteSince ? header : body;
      if (oldest === undefined) return;
      this.setIncomplete(oldest, Incomplete.None, 0);
      this.owner.shed(oldest);
    }
  }

  /** Make sure the timer fires by `deadline`. */
  private arm(deadline: number): void {
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    // +1: Node's timer clock rounds to whole milliseconds and may fire a little early.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - now()) + 1));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const at = now();
    const { headerTimeout, bodyTimeout, idleTimeout } = this.settings;
    if (headerTimeout > 0) this.expire(this.header, 'header', at - headerTimeout);
    if (bodyTimeout > 0) this.expire(this.body, 'body', at - bodyTimeout);
    if (idleTimeout > 0) {
      for (const c of this.idle) {
        if (c.lastActive > at - idleTimeout) break;
        this.idle.delete(c);
        this.owner.expire(c, 'idle');
      }
    }
    // The next deadline: the front of each set.
    const header = first(this.header);
    if (header !== undefined && headerTimeout > 0) this.arm(header.incompleteSince + headerTimeout);
    const body = first(this.body);
    if (body !== undefined && bodyTimeout > 0) this.arm(body.incompleteSince + bodyTimeout);
    const idle = first(this.idle);
    if (idle !== undefined && idleTimeout > 0) this.arm(idle.lastActive + idleTimeout);
  };

  private expire(set: Set<StreamConnection>, why: 'header' | 'body', startedBefore: number): void {
    for (const c of set) {
      if (c.incompleteSince > startedBefore) break;
      this.setIncomplete(c, Incomplete.None, 0);
      this.owner.expire(c, why);
    }
  }
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}
