// Keys that name connections (addresses normalised by @sipts/message's normalizeAddress).

/** True for the wildcard addresses a server binds to but a socket never uses as a source. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** `address|port`: one remote end. Addresses must already be normalised. */
export function remoteKey(address: string, port: number): string {
  return address + '|' + port;
}

/** `address|port|localAddress|localPort`: one flow (connection), as `sip` keys its flows. */
export function flowKey(address: string, port: number, localAddress: string, localPort: number): string {
  return address + '|' + port + '|' + localAddress + '|' + localPort;
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536;
}

/**
 * The key that `maxConnectionsPerSource` counts by: an IPv4 address as it is, an IPv6 address
 * by its /64 prefix (one subscriber's site gets a /64 or more, so per-address counting would
 * give an attacker 2^64 sources). Addresses must already be normalised (no brackets, lower case).
 */
export function sourceKey(address: string): string {
  if (address.indexOf(':') === -1) return address;
  const zone = address.indexOf('%');
  const ip = zone === -1 ? address : address.slice(0, zone);
  const gap = ip.indexOf('::');
  const head = gap === -1 ? ip : ip.slice(0, gap);
  const groups = head === '' ? [] : head.split(':');
  if (gap !== -1) {
    // `::` stands for the zero groups up to eight; a /64 needs the first four.
    const tail = ip.slice(gap + 2);
    const tailGroups = tail === '' ? [] : tail.split(':');
    const zeros = 8 - groups.length - tailGroups.length;
    for (let n = 0; n < zeros && groups.length < 4; n++) groups.push('0');
    for (let n = 0; n < tailGroups.length && groups.length < 4; n++) groups.push(tailGroups[n] as string);
  }
  let key = '';
  for (let n = 0; n < 4; n++) key += (n === 0 ? '' : ':') + (parseInt(groups[n] ?? '0', 16) || 0).toString(16);
  return key + '::/64';
}
