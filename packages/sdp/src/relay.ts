// Rewriting where media goes, as a media relay (or a B2BUA anchoring media) does before it
// forwards a description: the connection addresses, the ports, a=rtcp, and ICE candidates that
// would let the endpoints bypass the relay.
import { addrTypeOf, formatRtcp, getLine, parseRtcp, removeAttributes } from './attributes.js';
import { SdpError } from './errors.js';
import { MAX_PORT } from './line.js';
import { cloneSdp } from './session.js';
import type { SdpConnection, SdpLine, SdpSession } from './types.js';

export interface RewriteConnectionOptions {
  /** The relay's address for every c= line (and o= unless `originAddress` says otherwise). */
  address: string;
  /**
   * The relay's RTP port per m= line, in order; an undefined entry (or a shorter array) keeps
   * the port. A rejected stream (port 0) stays rejected.
   */
  ports?: ReadonlyArray<number | undefined> | undefined;
  /**
   * The relay's RTCP port per m= line for a=rtcp (RFC 3605). Without one, the a=rtcp of a
   * stream whose port was rewritten is removed (RTCP then goes to port + 1, RFC 3550 §11),
   * and the a=rtcp of any other stream gets the new address.
   */
  rtcpPorts?: ReadonlyArray<number | undefined> | undefined;
  /** The o= address: `address` by default; `false` keeps it. */
  originAddress?: string | false | undefined;
  /**
   * Remove ICE (a=candidate, a=end-of-candidates, a=remote-candidates, a=ice-*), whose
   * addresses would route media around the relay. Default true.
   */
  removeIce?: boolean | undefined;
}

const ICE_ATTRIBUTES = new Set(['candidate', 'end-of-candidates', 'remote-candidates', 'ice-ufrag', 'ice-pwd', 'ice-options', 'ice-lite', 'ice-mismatch', 'ice-pacing']);

function checkPort(port: unknown, what: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new SdpError('ERR_INVALID_OPTION', `${what} must be an integer from 1 to ${MAX_PORT}, got ${String(port)}`);
  }
  return port;
}

function pointAt(line: SdpConnection, address: string): void {
  line.address = address;
  line.addrType = addrTypeOf(address);
  line.netType = 'IN';
  // a relay's unicast address has no multicast TTL or count
  delete line.ttl;
  delete line.count;
  delete line.raw;
}

/**
 * A copy of `session` whose media goes to `options.address`: every c= line (one is added to a
 * media section that had none and no session-level c=), the m= ports from `options.ports`,
 * a=rtcp, o= address, and no ICE attributes. The origin version is not changed: a relay
 * rewrites each version of the endpoint's description the same way. `session` is not changed.
 */
export function rewriteConnection(session: SdpSession, options: RewriteConnectionOptions): SdpSession {
  if (typeof options !== 'object' || options === null || typeof options.address !== 'string' || options.address === '') {
    throw new SdpError('ERR_INVALID_OPTION', 'rewriteConnection needs { address }');
  }
  const { address, ports = [], rtcpPorts = [], removeIce = true } = options;
  const out = cloneSdp(session);
  const originAddress = options.originAddress === undefined ? address : options.originAddress;
  const origin = getLine(out, 'o');
  if (origin !== undefined && originAddress !== false) {
    origin.address = originAddress;
    origin.addrType = addrTypeOf(originAddress);
    delete origin.raw;
  }
  const sessionConnection = getLine(out, 'c');
  for (const line of out.lines) if (line.type === 'c') pointAt(line, address);
  if (removeIce) removeAttributes(out, (a) => ICE_ATTRIBUTES.has(a.name));
  out.media.forEach((m, i) => {
    let connected = false;
    for (const line of m.lines) {
      if (line.type === 'c') {
        pointAt(line, address);
        connected = true;
      }
    }
    if (!connected && sessionConnection === undefined) {
      // RFC 8866 §5.7: c= follows i= in a media section
      let at = 0;
      while (at < m.lines.length && (m.lines[at] as SdpLine).type === 'i') at++;
      m.lines.splice(at, 0, { type: 'c', netType: 'IN', addrType: addrTypeOf(address), address });
    }
    const newPort = ports[i];
    const rewritten = newPort !== undefined && m.port !== 0;
    if (rewritten) {
      m.port = checkPort(newPort, `ports[${i}]`);
      delete m.raw;
    }
    const rtcpPort = rtcpPorts[i];
    if (rtcpPort !== undefined) {
      const value = formatRtcp({ port: checkPort(rtcpPort, `rtcpPorts[${i}]`), address });
      removeAttributes(m, 'rtcp');
      m.lines.push({ type: 'a', name: 'rtcp', value });
    } else if (rewritten) {
      removeAttributes(m, 'rtcp');
    } else {
      for (const line of m.lines) {
        if (line.type !== 'a' || line.name !== 'rtcp') continue;
        const rtcp = parseRtcp(line.value);
        if (rtcp?.address !== undefined) {
          line.value = formatRtcp({ port: rtcp.port, address });
          delete line.raw;
        }
      }
    }
    if (removeIce) removeAttributes(m, (a) => ICE_ATTRIBUTES.has(a.name));
  });
  return out;
}
