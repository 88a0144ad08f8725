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
