// What the one-pass check of the request line cannot see in a sip:/sips: Request-URI: the port
// range and brackets around an IPv6 host (RFC 3261 §25.1, RFC 5118 §4.2).

/** `sip` or `sips`, any case. */
export function isSipScheme(b: Uint8Array, start: number, length: number): boolean {
  return (
    (length === 3 || (length === 4 && ((b[start + 3] as number) | 0x20) === 115)) &&
    ((b[start] as number) | 0x20) === 115 &&
    ((b[start + 1] as number) | 0x20) === 105 &&
    ((b[start + 2] as number) | 0x20) === 112
  );
}

/**
 * The hostport of a sip:/sips: Request-URI, checked where the one-pass character check cannot:
 * a port is 1-5 digits up to 65535 (RFC 3261 §25.1), and an IPv6 address is in brackets (RFC
 * 5118 §4.2: `sip:2001:db8::10` is invalid). Returns the offset of the problem, -1 when fine.
 */
export function badSipHostPort(b: Uint8Array, s: string, from: number, end: number): number {
  // RFC 3261 §19.1.1: the first "@" ends the userinfo.
  const at = s.indexOf('@', from);
  let p = at >= 0 && at < end ? at + 1 : from;
  const hostStart = p;
  if (b[p] === 0x5b /* [ */) {
    while (p < end && b[p] !== 0x5d /* ] */) p++;
    if (p >= end) return hostStart;
    p++;
  } else {
    while (p < end) {
      const c = b[p];
      if (c === 0x3a /* : */ || c === 0x3b /* ; */ || c === 0x3f /* ? */) break;
      p++;
    }
  }
  if (p === hostStart) return hostStart;
  if (p >= end || b[p] !== 0x3a) return -1;
  const portStart = ++p;
  let port = 0;
  while (p < end) {
    const c = b[p] as number;
    if (c < 48 || c > 57) break;
    port = port * 10 + (c - 48);
    p++;
  }
  if (p === portStart || p - portStart > 5 || port > 65535) return portStart;
  // After the port only parameters or headers: a second ":" means an unbracketed IPv6 address.
  if (p < end && b[p] !== 0x3b && b[p] !== 0x3f) return p;
  return -1;
}

