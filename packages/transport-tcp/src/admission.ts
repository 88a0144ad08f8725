// Who gets in: every TCP socket the server accepts passes here first, before any TLS work.
// A source (IPv4 address, IPv6 /64) may hold `maxConnectionsPerSource` inbound connections;
// when `maxConnections` are open, the slowest or longest idle connection is evicted before a
// newcomer is refused, so that peers that are slow on purpose cannot keep legitimate clients out.
import type { Socket } from 'node:net';
import { normalizeAddress } from '@sipts/message';
import { flowKey, sourceKey } from './address.js';
import { StreamConnection, describe } from './connection.js';
import { StreamTransportError } from './errors.js';
import type { ConnectionLimits } from './limits.js';
import { now } from './limits.js';
import type { StreamTransportStats } from './stats.js';

/** What admission needs from the transport. */
export interface AdmissionOwner {
  readonly protocol: 'TCP' | 'TLS';
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  /** Outbound connections open or connecting (they count against maxConnections too). */
  readonly outboundCount: number;
  /** True once close() was called. */
  readonly isClosing: boolean;
  /** Close `connection` with `error` (ERR_EVICTED) and report it. */
  evict(connection: StreamConnection, error: StreamTransportError): void;
  reportError(error: StreamTransportError): void;
}

/** An inbound socket the server accepted (TLS: from before its handshake) and not yet closed. */
interface Accepted {
  /** What `maxConnectionsPerSource` counts by. */
  readonly source: string;
  /** Its flow key, under which a TLS handshake in progress is kept. */
  readonly key: string;
}

export class Admission {
  /** Sockets the server accepted and that are not closed yet (TLS: handshaking ones too). */
  private readonly accepted = new Map<Socket, Accepted>();
  /** Inbound sockets per source key (see sourceKey). */
  private readonly sources = new Map<string, number>();
  /** Sockets refused or cut before their TLS handshake: their handshake error is no news. */
  private readonly refused = new WeakSet<Socket>();
  private readonly owner: AdmissionOwner;
  private readonly guard: ConnectionLimits;
  private readonly counters: StreamTransportStats;

  constructor(owner: AdmissionOwner, guard: ConnectionLimits, counters: StreamTransportStats) {
    this.owner = owner;
    this.guard = guard;
    this.counters = counters;
  }

  /** Inbound sockets open now, TLS handshakes and closing ones included. */
  get inbound(): number {
    return this.accepted.size;
  }

  /** Whether one more connection fits under maxConnections without evicting anyone. */
  hasRoom(): boolean {
    const max = this.owner.maxConnections;
    return max === 0 || this.accepted.size + this.owner.outboundCount < max;
  }

  /** The server's first 'connection' listener (prepended): let the socket in, or destroy it. */
  readonly admit = (socket: Socket): void => {
    const address = socket.remoteAddress;
    if (this.owner.isClosing || address === undefined) {
      this.refused.add(socket);
      socket.destroy();
      return;
    }
    const at = now();
    const peer = normalizeAddress(address);
    const source = sourceKey(peer);
    const fromSource = this.sources.get(source) ?? 0;
    const protocol = this.owner.protocol;
    const perSource = this.owner.maxConnectionsPerSource;
    if (perSource > 0 && fromSource >= perSource) {
      this.counters.refusedPerSource++;
      this.refuse(socket, 'ERR_SOURCE_LIMIT', `${protocol}: ${fromSource} connections from ${source} already, refused one from ${peer}:${String(socket.remotePort)}`);
      return;
    }
    if (!this.hasRoom() && !this.evictOne(at)) {
      this.counters.refusedMaxConnections++;
      this.refuse(socket, 'ERR_MAX_CONNECTIONS', `${protocol}: ${this.owner.maxConnections} connections open, refused one from ${peer}:${String(socket.remotePort)}`);
      return;
    }
    const key = flowKey(peer, socket.remotePort ?? 0, normalizeAddress(socket.localAddress ?? ''), socket.localPort ?? 0);
    this.accepted.set(socket, { source, key });
    this.sources.set(source, fromSource + 1);
    this.guard.handshakes.set(key, { socket, key, since: at });
    this.counters.accepted++;
    socket.once('close', () => this.forget(socket));
  };

  /**
   * Called by the server's own connection listener (TLS: after the handshake) with the flow's
   * key: true if the socket was admitted and not evicted meanwhile; it then stops counting as
   * a handshake.
   */
  promote(key: string): boolean {
    if (!this.guard.handshakes.has(key)) return false;
    this.guard.handshakes.delete(key);
    return true;
  }

  /**
   * Whether a TLS handshake failure is of our making (refused, evicted, or cut by close()):
   * `socket` is the TLSSocket or the TCP socket under it.
   */
  cutByUs(socket: Socket): boolean {
    if (this.refused.has(socket)) return true;
    // A TLSSocket made by tls.Server keeps the accepted TCP socket as `_parent` (not typed).
    const parent = (socket as { _parent?: unknown })._parent;
    return typeof parent === 'object' && parent !== null && this.refused.has(parent as Socket);
  }

  /** close(): end every accepted socket, TLS handshakes included. */
  destroyAll(): void {
    for (const socket of this.accepted.keys()) {
      this.refused.add(socket);
      socket.destroy();
    }
  }

  private refuse(socket: Socket, code: 'ERR_SOURCE_LIMIT' | 'ERR_MAX_CONNECTIONS', text: string): void {
    this.refused.add(socket);
    socket.destroy();
    this.owner.reportError(new StreamTransportError(code, text));
  }

  private forget(socket: Socket): void {
    const entry = this.accepted.get(socket);
    if (entry === undefined) return;
    this.accepted.delete(socket);
    const left = (this.sources.get(entry.source) ?? 1) - 1;
    if (left > 0) this.sources.set(entry.source, left);
    else this.sources.delete(entry.source);
    if (this.guard.handshakes.get(entry.key)?.socket === socket) this.guard.handshakes.delete(entry.key);
  }

  /** Close the slowest, else the longest idle, connection to make room; false if none qualifies. */
  private evictOne(at: number): boolean {
    const victim = this.guard.victim(at);
    if (victim === undefined) return false;
    const protocol = this.owner.protocol;
    if ('idle' in victim) {
      this.counters.evictedIdle++;
      const c = victim.idle;
      this.owner.evict(c, evicted(c, `idle for ${Math.round(at - c.lastActive)} ms, the longest`));
      return true;
    }
    this.counters.evictedSlow++;
    const slow = victim.slow;
    if (slow instanceof StreamConnection) {
      this.owner.evict(slow, evicted(slow, `its message has been arriving for ${Math.round(at - slow.incompleteSince)} ms, the longest`));
      return true;
    }
    this.guard.handshakes.delete(slow.key);
    this.refused.add(slow.socket);
    slow.socket.destroy();
    this.owner.reportError(
      new StreamTransportError(
        'ERR_EVICTED',
        `${protocol}: evicted a TLS handshake from ${String(slow.socket.remoteAddress)} unfinished after ${Math.round(at - slow.since)} ms to make room`,
      ),
    );
    return true;
  }
}

function evicted(connection: StreamConnection, why: string): StreamTransportError {
  const remote = connection.remote;
  return new StreamTransportError('ERR_EVICTED', `evicted ${describe(remote)} to make room: ${why}`, { remote });
}
