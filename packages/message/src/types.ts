// The message model: the object shapes of the npm package `sip`, typed.
// Header names are lower-case long names; compact forms are expanded by the parser.

/** Parameters of a URI, Via, name-addr: `;name=value` or `;flag` (value null). */
export type Params = Record<string, string | null | undefined>;

/** A parsed sip:/sips: URI (`parseUri`). IPv6 hosts keep their brackets: `[2001:db8::1]`. */
export interface SipUri {
  schema: string;
  user?: string | undefined;
  password?: string | undefined;
  host: string;
  port?: number | undefined;
  params: Params;
  headers: Record<string, string>;
  /**
   * The scheme-specific part of an absolute URI that is neither sip:, sips: nor tel:
   * (`http://x`, `urn:...`), kept as written; `host` is '' for those.
   */
  opaque?: string | undefined;
}

/** One Via value: `SIP/2.0/UDP host:port;branch=...`. */
export interface Via {
  version: string;
  protocol: string;
  host: string;
  port?: number | undefined;
  params: Params;
}

/** From, To, Contact, Refer-To: the URI stays a string as in `sip`. */
export interface NameAddr {
  name?: string | undefined;
  uri: string | SipUri;
  params: Params;
}

/** Route, Record-Route, Path: the URI is parsed, as `sip` does. */
export interface RouteAddr {
  name?: string | undefined;
  uri: SipUri;
  params: Params;
}

export interface CSeq {
  seq: number;
  method: string;
}

/**
 * WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization values.
 * Parameter values are kept as they appear on the wire (quoted strings keep their quotes),
 * as `sip` does; `@sipts/digest` unquotes them.
 */
export interface AuthHeader {
  scheme: string;
  [param: string]: string;
}

/** Authentication-Info / Proxy-Authentication-Info: parameters as on the wire. */
export type AuthInfo = Record<string, string>;

/**
 * Headers by lower-case long name. Unknown headers are raw strings (repeats joined with ', ').
 * A header set to undefined is left out by stringify, as in `sip`.
 */
export interface SipHeaders {
  via?: Via[] | undefined;
  from?: NameAddr | undefined;
  to?: NameAddr | undefined;
  'call-id'?: string | undefined;
  cseq?: CSeq | undefined;
  contact?: '*' | NameAddr[] | undefined;
  route?: RouteAddr[] | undefined;
  'record-route'?: RouteAddr[] | undefined;
  path?: RouteAddr[] | undefined;
  'content-length'?: number | undefined;
  'max-forwards'?: string | number | undefined;
  'www-authenticate'?: AuthHeader[] | undefined;
  'proxy-authenticate'?: AuthHeader[] | undefined;
  authorization?: AuthHeader[] | undefined;
  'proxy-authorization'?: AuthHeader[] | undefined;
  'authentication-info'?: AuthInfo | undefined;
  'proxy-authentication-info'?: AuthInfo | undefined;
  'refer-to'?: NameAddr | undefined;
  [name: string]: unknown;
}

export interface SipRequest {
  method: string;
  uri: string | SipUri;
  version?: string;
  headers: SipHeaders;
  content?: string;
}

export interface SipResponse {
  status: number;
  reason: string;
  version?: string;
  headers: SipHeaders;
  content?: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Narrowing helpers (`'method' in m` narrows too). */
export function isRequest(m: SipMessage): m is SipRequest {
  return 'method' in m && typeof m.method === 'string';
}
export function isResponse(m: SipMessage): m is SipResponse {
  return 'status' in m && typeof m.status === 'number';
}

/**
 * The peer a message came from or goes to, exactly like `sip`'s `remote`:
 * `local` names the local end of a connection (a flow) for stream and WebSocket transports.
 */
export interface Remote {
  protocol: string;
  address: string;
  port: number;
  local?: { address: string; port: number } | undefined;
}
