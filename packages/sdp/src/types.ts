// The typed, lossless model of a session description (RFC 8866). A description is its lines in
// order: the session-level lines up to the first m=, then one SdpMedia per m= line with the
// lines that follow it. Known line types get typed fields; every other line and every attribute
// keeps its text, so nothing is lost or reordered.
//
// `raw`: a typed line (v, o, c, b, t, m, a) whose text is not in the canonical form that
// stringifySdp writes from its fields (two spaces between fields, a trailing space, a leading
// zero in a number, spaces around an attribute name) keeps its text in `raw`. stringifySdp
// writes `raw` only while the fields still say what `raw` says; change a field and the line is
// written from the fields.

/** RFC 3264 §5.1 / RFC 8866 §6.7: the four direction attributes. */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** `v=` (RFC 8866 §5.1). */
export interface SdpVersionLine {
  type: 'v';
  version: number;
  raw?: string | undefined;
}

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (§5.2). */
export interface SdpOrigin {
  type: 'o';
  username: string;
  /** Digits, kept as text: often 64-bit NTP time stamps, beyond a JavaScript number. */
  sessionId: string;
  /** Digits, kept as text; RFC 3264 §8 increments it on every changed offer or answer. */
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
  raw?: string | undefined;
}

/** `c=<nettype> <addrtype> <connection-address>` (§5.7). */
export interface SdpConnection {
  type: 'c';
  netType: string;
  addrType: string;
  /** The address without the `/ttl` and `/count` suffixes (for IP4 and IP6). */
  address: string;
  /** IP4 multicast TTL (`224.2.1.1/127`). */
  ttl?: number | undefined;
  /** Number of multicast addresses (`224.2.1.1/127/3`, `ff15::101/3`). */
  count?: number | undefined;
  raw?: string | undefined;
}

/** `b=<bwtype>:<bandwidth>` (§5.8), e.g. `AS:64`, `TIAS:64000`. */
export interface SdpBandwidth {
  type: 'b';
  bwtype: string;
  bandwidth: number;
  raw?: string | undefined;
}

/** `t=<start-time> <stop-time>` (§5.9), decimal NTP seconds kept as text; `0 0` is unbounded. */
export interface SdpTiming {
  type: 't';
  start: string;
  stop: string;
  raw?: string | undefined;
}

/** `a=<name>` or `a=<name>:<value>` (§5.13). The value is the text after the first colon. */
export interface SdpAttribute {
  type: 'a';
  name: string;
  /** undefined for a property attribute (`a=sendrecv`), else the text after the first `:`. */
  value?: string | undefined;
  raw?: string | undefined;
}

/** Lines kept as their text: s= i= u= e= p= k= r= z= (§5.3-§5.6, §5.10-§5.12). */
export interface SdpTextLine {
  type: 's' | 'i' | 'u' | 'e' | 'p' | 'k' | 'r' | 'z';
  value: string;
}

/** A line whose type letter RFC 8866 does not define; kept and written back unchanged. */
export interface SdpUnknownLine {
  type: 'unknown';
  /** The type letter (an ASCII letter). */
  letter: string;
  value: string;
}

/** One line of a session or media section (m= lines are the {@link SdpMedia} objects). */
export type SdpLine =
  | SdpVersionLine
  | SdpOrigin
  | SdpConnection
  | SdpBandwidth
  | SdpTiming
  | SdpAttribute
  | SdpTextLine
  | SdpUnknownLine;

/** The type letters of {@link SdpLine}, plus `unknown`. */
export type SdpLineType = SdpLine['type'];

/** A media section: the `m=` line's fields (§5.14) and the lines after it, in order. */
export interface SdpMedia {
  /** `audio`, `video`, `text`, `application`, `message`, `image`, ... */
  media: string;
  port: number;
  /** `m=video 49170/2 ...`: the number of ports; undefined when not written. */
  portCount?: number | undefined;
  /** `RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, `udptl`, ... */
  proto: string;
  /** The format tokens as written: RTP payload types (`'0'`, `'101'`) or other formats. */
  formats: string[];
  /** The lines after m= up to the next m= (i, c, b, k, a and unknown lines), in order. */
  lines: SdpLine[];
  /** The m= line's text when it is not in canonical form (see the top of types.ts). */
  raw?: string | undefined;
}

/** A whole session description. */
export interface SdpSession {
  /** The session-level lines from v= up to the first m=, in order. */
  lines: SdpLine[];
  media: SdpMedia[];
  /**
   * What ends each line when written: parseSdp records the first line's ending. CRLF by
   * default (RFC 8866 §5); `'\n'` keeps a description that used bare LFs as it was.
   */
  lineEnding?: '\r\n' | '\n' | undefined;
}

/** Either level of a description: the session, or one media section. */
export type SdpSection = SdpSession | SdpMedia;

/** Input limits of parseSdp and the sip-compatible parse. */
export interface SdpParseOptions {
  /** Largest input accepted: bytes for a Uint8Array, UTF-16 code units for a string. Default 65536. */
  maxBytes?: number | undefined;
  /** Most lines accepted. Default 4096. */
  maxLines?: number | undefined;
}
