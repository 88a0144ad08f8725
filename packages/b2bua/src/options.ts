// Options of createB2bua() and bridge(): checked once (ERR_INVALID_OPTION) and turned into one
// normalised object; per-call options are laid over the B2BUA's without copying when absent.
import type { Dialog, UaOptions } from '@sipts/dialog';
import type { SipHeaders } from '@sipts/message';
import { B2buaError } from './errors.js';
import type { AuthenticateHook, HeaderHook, ReferHook, RouteHook, SdpHook } from './types.js';

/**
 * RFC 3262 reliable provisional responses across the B2BUA:
 * - `end-to-end` (default): the B leg's INVITE says about 100rel what the caller's said (Require,
 *   Supported or nothing), and a provisional that came reliably from B goes to A reliably; each leg
 *   PRACKs its own hop (the dialog layer PRACKs B at once).
 * - `local`: each leg negotiates on its own: the B leg always offers 100rel, the A leg gets
 *   reliable provisionals only when the caller requires them.
 */
export type Rel100Mode = 'end-to-end' | 'local';

/** Per-call options of `bridge()` (they win over the B2BUA's). */
export interface BridgeOptions {
  /** From URI / display name of B legs. Default: the caller's From URI and display name (a new tag). */
  from?: string | undefined;
  fromName?: string | undefined;
  /** To URI / display name of B legs. Default: the target. */
  to?: string | undefined;
  toName?: string | undefined;
  /** Extra headers on every B leg INVITE of this call (after the relayed ones, before `headersToB`). */
  headers?: SipHeaders | undefined;
  /** A pre-loaded route set for B legs (an outbound proxy), name-addr strings. */
  route?: readonly string[] | undefined;
  /** ms a target may ring without a final response before it is CANCELled and the next tried; 0: no limit. */
  targetTimeout?: number | undefined;
  /** ms an answered call may last before the B2BUA ends it with BYE on both legs; 0: no limit. */
  maxCallDuration?: number | undefined;
  rel100?: Rel100Mode | undefined;
  onOffer?: SdpHook | undefined;
  onAnswer?: SdpHook | undefined;
  headersToA?: HeaderHook | undefined;
  headersToB?: HeaderHook | undefined;
  onRefer?: ReferHook | undefined;
  /** Application data, readable as `call.data` (e.g. in hooks). */
  data?: unknown;
}

/** The dialog-layer options the B2BUA passes on to its UA (`rel100`, `sdp` and `attach` are its own). */
export type B2buaUaOptions = Omit<UaOptions<Dialog>, 'attach' | 'sdp' | 'rel100'>;

export interface B2buaOptions extends Omit<BridgeOptions, 'from' | 'fromName' | 'to' | 'toName' | 'data'> {
  /**
   * Bridge every new INVITE to these targets (tried in turn), or to what this function returns
   * for it. Without it the `invite` event decides (`b2bua.bridge()`).
   */
  target?: string | readonly string[] | RouteHook | undefined;
  /** Calls at once (ringing ones included); past it new INVITEs get 503 + Retry-After before any call or dialog state. Default 10000. */
  maxCalls?: number | undefined;
  /** Retry-After (s) of the 503 for `maxCalls`. Default 5. */
  retryAfter?: number | undefined;
  /**
   * Headers copied from the message of one leg to the one it causes on the other (the INVITE,
   * provisional and final responses, in-dialog requests and their responses), lower-case names.
   * Nothing else crosses: Via, Record-Route, Route, Contact, Call-ID, tags, CSeq, Max-Forwards and
   * the dialog layer's own headers are always per leg. Default: `DEFAULT_RELAY_HEADERS`.
   */
  relayHeaders?: readonly string[] | undefined;
  /** Authenticate new INVITEs before any call state (see `digestAuthenticator`). */
  authenticate?: AuthenticateHook | undefined;
  /** Options of the B2BUA's dialog UA (user, userAgent, sessionTimer, t1, t2, clock, ringTimeout, maxDialogs...). */
  ua?: B2buaUaOptions | undefined;
}

/**
 * Headers relayed by default: what callers and callees put there for each other and no hop needs
 * to own (RFC 3261 §20: Subject, Priority, Alert-Info, Call-Info, Accept-Language, Organization,
 * Warning, Retry-After; RFC 7433 User-to-User; RFC 3326 Reason on BYE and CANCEL).
 */
export const DEFAULT_RELAY_HEADERS: readonly string[] = [
  'subject',
  'priority',
  'alert-info',
  'call-info',
  'accept-language',
  'organization',
  'user-to-user',
  'warning',
  'retry-after',
  'reason',
];

/** Header names the B2BUA never copies from one leg to the other (topology and per-hop state). */
export const NEVER_RELAYED: ReadonlySet<string> = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'call-id',
  'from',
  'to',
  'cseq',
  'max-forwards',
  'content-length',
  'content-type',
  'path',
  'rseq',
  'rack',
  'require',
  'supported',
  'allow',
  'session-expires',
  'min-se',
  'authorization',
  'proxy-authorization',
  'www-authenticate',
  'proxy-authenticate',
  'authentication-info',
  'proxy-authentication-info',
]);

export interface NormalizedB2buaOptions {
  target: readonly string[] | RouteHook | undefined;
  maxCalls: number;
  retryAfter: number;
  relayHeaders: readonly string[];
  authenticate: AuthenticateHook | undefined;
  ua: UaOptions<Dialog>;
  call: NormalizedCallOptions;
}

/** What one call runs with (the B2BUA's options, with the bridge() ones laid over). */
export interface NormalizedCallOptions {
  from: string | undefined;
  fromName: string | undefined;
  to: string | undefined;
  toName: string | undefined;
  headers: SipHeaders | undefined;
  route: readonly string[] | undefined;
  targetTimeout: number;
  maxCallDuration: number;
  rel100: Rel100Mode;
  onOffer: SdpHook | undefined;
  onAnswer: SdpHook | undefined;
  headersToA: HeaderHook | undefined;
  headersToB: HeaderHook | undefined;
  onRefer: ReferHook | undefined;
  relayHeaders: readonly string[];
  data: unknown;
}

function fail(name: string, expected: string): never {
  throw new B2buaError('ERR_INVALID_OPTION', `options.${name} must be ${expected}`);
}

function intOption(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(name, `an integer >= ${min}`);
  return value;
}

function fnOption<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') fail(name, 'a function');
  return value;
}

function stringOption(value: unknown, name: string): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value === '')) fail(name, 'a non-empty string');
  return value as string | undefined;
}

function routeOption(value: unknown, name: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string' && r !== '')) fail(name, 'an array of name-addr strings');
  return value as string[];
}

function headersOption(value: unknown, name: string): SipHeaders | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, 'an object of headers');
  return value as SipHeaders;
}

const REL100: readonly Rel100Mode[] = ['end-to-end', 'local'];

/** The 4-hour default of maxCallDuration, in ms. */
export const DEFAULT_MAX_CALL_DURATION = 4 * 3600 * 1000;

/** Lower-case names, none of them one the B2BUA keeps per leg. */
function relayList(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULT_RELAY_HEADERS;
  if (!Array.isArray(value) || !value.every((h) => typeof h === 'string' && h !== '')) fail('relayHeaders', 'an array of header names');
  const names = (value as string[]).map((h) => h.toLowerCase());
  for (const name of names) if (NEVER_RELAYED.has(name)) fail('relayHeaders', `free of per-leg headers (${name} is never relayed)`);
  return names;
}

/** Checks bridge()/createB2bua() call options and lays `over` on `base`. */
export function callOptions(base: NormalizedCallOptions | undefined, over: BridgeOptions & { relayHeaders?: readonly string[] | undefined }): NormalizedCallOptions {
  if (typeof over !== 'object' || over === null) fail('', 'an object');
  const rel100 = over.rel100 ?? base?.rel100 ?? 'end-to-end';
  if (!REL100.includes(rel100)) fail('rel100', REL100.map((r) => `'${r}'`).join(' or '));
  return {
    from: stringOption(over.from, 'from') ?? base?.from,
    fromName: over.fromName ?? base?.fromName,
    to: stringOption(over.to, 'to') ?? base?.to,
    toName: over.toName ?? base?.toName,
    headers: headersOption(over.headers, 'headers') ?? base?.headers,
    route: routeOption(over.route, 'route') ?? base?.route,
    targetTimeout: intOption(over.targetTimeout, 'targetTimeout', base?.targetTimeout ?? 0, 0),
    maxCallDuration: intOption(over.maxCallDuration, 'maxCallDuration', base?.maxCallDuration ?? DEFAULT_MAX_CALL_DURATION, 0),
    rel100,
    onOffer: fnOption(over.onOffer, 'onOffer') ?? base?.onOffer,
    onAnswer: fnOption(over.onAnswer, 'onAnswer') ?? base?.onAnswer,
    headersToA: fnOption(over.headersToA, 'headersToA') ?? base?.headersToA,
    headersToB: fnOption(over.headersToB, 'headersToB') ?? base?.headersToB,
    onRefer: fnOption(over.onRefer, 'onRefer') ?? base?.onRefer,
    relayHeaders: over.relayHeaders !== undefined ? relayList(over.relayHeaders) : (base?.relayHeaders ?? DEFAULT_RELAY_HEADERS),
    data: (over as BridgeOptions).data,
  };
}

function targetOption(value: B2buaOptions['target']): readonly string[] | RouteHook | undefined {
  if (value === undefined || typeof value === 'function') return value;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && t !== '')) {
    fail('target', 'a URI, a non-empty array of URIs or a function');
  }
  return list as readonly string[];
}

export function normalizeB2buaOptions(options: B2buaOptions = {}): NormalizedB2buaOptions {
  if (typeof options !== 'object' || options === null) fail('', 'an object');
  const ua = options.ua ?? {};
  if (typeof ua !== 'object' || ua === null) fail('ua', 'an object of dialog UA options');
  const maxCalls = intOption(options.maxCalls, 'maxCalls', 10_000, 1);
  const call = callOptions(undefined, { ...options, relayHeaders: options.relayHeaders });
  return {
    target: targetOption(options.target),
    maxCalls,
    retryAfter: intOption(options.retryAfter, 'retryAfter', 5, 0),
    relayHeaders: call.relayHeaders,
    authenticate: fnOption(options.authenticate, 'authenticate'),
    // Room for both legs of every call, a transfer's third leg, and early dialogs of forks.
    ua: { maxDialogs: 4 * maxCalls + 16, ...ua, rel100: 'supported', attach: false },
    call,
  };
}
