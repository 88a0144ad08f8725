// Where a send goes: the keys that name a connection (a flow, or a peer to reuse a connection
// to) and the URL to dial when there is none. Plain functions over strings; no sockets here.
import { isIP } from 'node:net';
import { normalizeAddress } from '@sipts/message';
import type { Remote } from '@sipts/message';

/** A target: a `Remote`, optionally with the URL to dial for a new connection. */
export interface WsTarget extends Remote {
  /**
   * `ws://` or `wss://` URL to open when no connection exists (needed for WSS to a host name,
   * so TLS verifies the name, or for a path). Connections opened by URL are reused by URL.
   */
  url?: string | undefined;
}

/** Per-send options; `allowOversize` (from `SendOptions` of `@sipts/transaction`) is ignored. */
export interface WsSendOptions {
  allowOversize?: boolean | undefined;
  /** Same as `target.url`. */
  url?: string | undefined;
}

/** The key of an open connection: remote address, port, local address, port. */
export function flowKey(address: string, port: number, localAddress: string, localPort: number): string {
  return `${address} ${port} ${localAddress} ${localPort}`;
}

/** The key under which a connection to a peer's address and port is reused (RFC 5923 style). */
export function peerKey(address: string, port: number): string {
  return `${address} ${port}`;
}

/** A copy, so that what we hand out cannot change our indexes. */
export function copyRemote(remote: Remote): Remote {
  return remote.local === undefined
    ? { protocol: remote.protocol, address: remote.address, port: remote.port }
    : { protocol: remote.protocol, address: remote.address, port: remote.port, local: { address: remote.local.address, port: remote.local.port } };
}

/** An absolute ws: or wss: URL with a host (RFC 6455 §3). */
export function isWebSocketUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

/** How to reach a target without `local`: the reuse keys to look up, and the URL to dial. */
export interface DialPlan {
  /** The first is looked up; all of them name the new connection. */
  keys: string[];
  url: string;
}

/**
 * The dial plan for `target` (`url` from the target or the send options), or a description of
 * what is wrong with it. `secureByDefault`: this transport is WSS, so a target whose protocol is
 * neither WS nor WSS is dialled with `wss:`.
 */
export function dialPlan(target: WsTarget, url: string | undefined, secureByDefault: boolean): DialPlan | string {
  if (url !== undefined) {
    if (typeof url !== 'string' || !isWebSocketUrl(url)) return `not a ws: or wss: URL: ${String(url)}`;
    return { keys: [url], url };
  }
  const address = normalizeAddress(typeof target.address === 'string' ? target.address : '');
  const port = target.port;
  if (address === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return `invalid WebSocket target ${String(target.address)}:${String(port)}`;
  }
  const protocol = typeof target.protocol === 'string' ? target.protocol.toUpperCase() : '';
  const secure = protocol === 'WSS' || (protocol !== 'WS' && secureByDefault);
  return { keys: [peerKey(address, port)], url: `${secure ? 'wss' : 'ws'}://${isIP(address) === 6 ? `[${address}]` : address}:${port}/` };
}
