// Reading and changing the lines of a section (session or media), the direction attributes
// (RFC 8866 §6.7, RFC 3264 §5.1) and a=rtcp (RFC 3605). Readers never throw on what a peer
// sent: a malformed value reads as undefined.
import { SdpError } from './errors.js';
import type {
  SdpAttribute,
  SdpConnection,
  SdpDirection,
  SdpLine,
  SdpLineType,
  SdpMedia,
  SdpOrigin,
  SdpSection,
  SdpSession,
} from './types.js';

/** The members of union `L` whose `type` admits `T` (SdpTextLine serves 's', 'i', ...). */
type LineWithType<L, T> = L extends { type: infer U } ? (T extends U ? L : never) : never;

/** The line type `T` of {@link SdpLine}: `SdpLineOf<'o'>` is SdpOrigin, `SdpLineOf<'s'>` SdpTextLine. */
export type SdpLineOf<T extends SdpLineType> = LineWithType<SdpLine, T>;

/** The first line of `type` in a section. */
export function getLine<T extends SdpLineType>(section: SdpSection, type: T): SdpLineOf<T> | undefined {
  const lines = section.lines;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as SdpLine;
    if (line.type === type) return line as SdpLineOf<T>;
  }
  return undefined;
}

/** Every line of `type` in a section, in order. */
export function getLines<T extends SdpLineType>(section: SdpSection, type: T): Array<SdpLineOf<T>> {
  const out: Array<SdpLineOf<T>> = [];
  for (const line of section.lines) if (line.type === type) out.push(line as SdpLineOf<T>);
  return out;
}

/** The o= line. */
export function getOrigin(session: SdpSession): SdpOrigin | undefined {
  return getLine(session, 'o');
}

/** The connection that applies to a media section: its own c=, else the session's (RFC 8866 §5.7). */
export function getConnection(session: SdpSession, media?: SdpMedia | undefined): SdpConnection | undefined {
  return (media && getLine(media, 'c')) ?? getLine(session, 'c');
}

/** Every attribute of a section, or those named `name` (names compare case-sensitively). */
export function getAttributes(section: SdpSection, name?: string | undefined): SdpAttribute[] {
  const out: SdpAttribute[] = [];
  for (const line of section.lines) {
    if (line.type === 'a' && (name === undefined || line.name === name)) out.push(line);
  }
  return out;
}

/** The first attribute named `name`. */
export function getAttribute(section: SdpSection, name: string): SdpAttribute | undefined {
  for (const line of section.lines) if (line.type === 'a' && line.name === name) return line;
  return undefined;
}

export function hasAttribute(section: SdpSection, name: string): boolean {
  return getAttribute(section, name) !== undefined;
}

/** Appends `a=name[:value]` at the end of the section and returns it. */
export function addAttribute(section: SdpSection, name: string, value?: string | undefined): SdpAttribute {
  const attribute: SdpAttribute = { type: 'a', name, value };
  section.lines.push(attribute);
  return attribute;
}

/** Removes every attribute named `name` (or for which `name` returns true); returns how many. */
export function removeAttributes(section: SdpSection, name: string | ((attribute: SdpAttribute) => boolean)): number {
  const lines = section.lines;
  let kept = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as SdpLine;
    const drop = line.type === 'a' && (typeof name === 'string' ? line.name === name : name(line));
    if (!drop) lines[kept++] = line;
  }
  const removed = lines.length - kept;
  lines.length = kept;
  return removed;
}

/**
 * Gives the section exactly one `a=name[:value]`: the first one changes in place (keeping its
 * position), the others go; appended when there was none.
 */
export function setAttribute(section: SdpSection, name: string, value?: string | undefined): SdpAttribute {
  const first = getAttribute(section, name);
  if (first === undefined) return addAttribute(section, name, value);
  removeAttributes(section, (a) => a.name === name && a !== first);
  first.value = value;
  delete first.raw;
  return first;
}

// ---- direction ----

export const SDP_DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

export function isDirection(value: unknown): value is SdpDirection {
  return value === 'sendrecv' || value === 'sendonly' || value === 'recvonly' || value === 'inactive';
}

function directionOf(section: SdpSection): SdpDirection | undefined {
  for (const line of section.lines) {
    if (line.type === 'a' && line.value === undefined && isDirection(line.name)) return line.name;
  }
  return undefined;
}

/**
 * The direction attribute that applies: the media section's, else the session's, else
 * `sendrecv` (RFC 8866 §6.7, RFC 3264 §5.1). Without `media`, the session-level one.
 */
export function getDirection(session: SdpSession, media?: SdpMedia | undefined): SdpDirection {
  return (media && directionOf(media)) ?? directionOf(session) ?? 'sendrecv';
}

/** Replaces the section's direction attributes by one (in the place of the first, if any). */
export function setDirection(section: SdpSection, direction: SdpDirection): void {
  if (!isDirection(direction)) throw new SdpError('ERR_INVALID_OPTION', `not a direction: ${String(direction)}`);
  const first = section.lines.find((l): l is SdpAttribute => l.type === 'a' && l.value === undefined && isDirection(l.name));
  if (first === undefined) {
    addAttribute(section, direction);
    return;
  }
  removeAttributes(section, (a) => a !== first && a.value === undefined && isDirection(a.name));
  first.name = direction;
  delete first.raw;
}

/** Whether a direction sends, receives. */
export function directionSends(direction: SdpDirection): boolean {
  return direction === 'sendrecv' || direction === 'sendonly';
}

export function directionReceives(direction: SdpDirection): boolean {
  return direction === 'sendrecv' || direction === 'recvonly';
}

export function makeDirection(sends: boolean, receives: boolean): SdpDirection {
  if (sends) return receives ? 'sendrecv' : 'sendonly';
  return receives ? 'recvonly' : 'inactive';
}

/**
 * RFC 3264 §6.1: the answer's direction for an offered one, given what the answerer wants.
 * The answerer sends only if the offerer receives, receives only if the offerer sends:
 * sendonly → recvonly, recvonly → sendonly, inactive → inactive, sendrecv → what it wants.
 */
export function answerDirection(offered: SdpDirection, wanted: SdpDirection = 'sendrecv'): SdpDirection {
  return makeDirection(directionReceives(offered) && directionSends(wanted), directionSends(offered) && directionReceives(wanted));
}

// ---- a=rtcp (RFC 3605) ----

/** `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]`. */
export interface SdpRtcp {
  port: number;
  netType?: string | undefined;
  addrType?: string | undefined;
  address?: string | undefined;
}

/** Splits on runs of SP / HTAB (for attribute values). */
export function splitBlank(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    if (i >= s.length) break;
    let j = i;
    while (j < s.length && s.charCodeAt(j) !== 0x20 && s.charCodeAt(j) !== 0x09) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

/** The number in a string of 1-`maxDigits` decimal digits, else -1. */
export function decimal(s: string | undefined, maxDigits: number): number {
  if (s === undefined || s.length === 0 || s.length > maxDigits) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Reads an a=rtcp value; undefined when malformed. */
export function parseRtcp(value: string | undefined): SdpRtcp | undefined {
  if (value === undefined) return undefined;
  const f = splitBlank(value);
  const port = decimal(f[0], 5);
  if (port < 0 || port > 65535 || (f.length !== 1 && f.length !== 4)) return undefined;
  if (f.length === 1) return { port };
  return { port, netType: f[1], addrType: f[2], address: f[3] };
}

/** Writes an a=rtcp value. */
export function formatRtcp(rtcp: SdpRtcp): string {
  if (rtcp.address === undefined) return String(rtcp.port);
  return `${rtcp.port} ${rtcp.netType ?? 'IN'} ${rtcp.addrType ?? addrTypeOf(rtcp.address)} ${rtcp.address}`;
}

/** `IP6` for an address with a colon, else `IP4` (also for a host name, RFC 8866 §5.7). */
export function addrTypeOf(address: string): 'IP4' | 'IP6' {
  return address.indexOf(':') >= 0 ? 'IP6' : 'IP4';
}
