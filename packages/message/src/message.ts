// Helpers over parsed messages: responses, copies, the mandatory-header check, and the
// received/rport stamp a transport puts on the top Via of an incoming request.
import { randomFillSync } from 'node:crypto';
import { isTokenString } from './chars.js';
import { SipParseError } from './errors.js';
import type { NameAddr, SipHeaders, SipMessage, SipRequest, SipResponse, Via } from './types.js';

/** Reason phrases of RFC 3261 §21 and the registered extensions (IANA SIP response codes). */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  424: 'Bad Location Information',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  430: 'Flow Failed',
  433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info',
  437: 'Unsupported Certificate',
  438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
  608: 'Rejected',
};

/** The standard reason phrase for a status code, '' for codes without one. */
export function defaultReason(status: number): string {
  return REASONS[status] ?? '';
}

export interface ResponseExtension {
  headers?: SipHeaders | undefined;
  content?: string | undefined;
  /**
   * RFC 3261 §8.2.6.2: the To tag a response other than 100 carries. A string is used when the
   * request's To has no tag; `true` draws a random one (from `crypto`) in that case. Default:
   * the To is copied as it is (the `sip` behaviour; the stack adds a tag on sending).
   */
  toTag?: string | boolean | undefined;
}

/** A random To tag (RFC 3261 §19.3: at least 32 random bits; these are 64). */
export function generateTag(): string {
  // One call into crypto per 512 tags instead of one per tag (a registrar answering thousands of
  // REGISTERs a second spent ~6% of its CPU here); still 64 bits from crypto for each tag.
  if (tagPoolOffset + 8 > TAG_POOL.length) {
    randomFillSync(TAG_POOL);
    tagPoolOffset = 0;
  }
  const tag = TAG_POOL.toString('hex', tagPoolOffset, tagPoolOffset + 8);
  tagPoolOffset += 8;
  return tag;
}

const TAG_POOL = Buffer.alloc(4096);
let tagPoolOffset = TAG_POOL.length;

function copyNameAddr(na: NameAddr): NameAddr {
  return { name: na.name, uri: na.uri, params: { ...(typeof na.params === 'object' && na.params !== null ? na.params : {}) } };
}

/**
 * A response to `rq` (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and CSeq copied from the
 * request, the reason defaulting to the RFC phrase. The Via list and the To value are copied,
 * so adding a To tag or a Via does not change the request.
 */
export function makeResponse(rq: SipRequest, status: number, reason?: string, extension?: ResponseExtension): SipResponse {
  const h = rq.headers;
  const headers: SipHeaders = {};
  // `sip` users build requests by hand: a single Via object stands for a list of one.
  const via: unknown = h.via;
  if (Array.isArray(via)) headers.via = via.slice();
  else if (typeof via === 'object' && via !== null) headers.via = [via as NonNullable<SipHeaders['via']>[number]];
  if (typeof h.to === 'object' && h.to !== null) {
    const to = copyNameAddr(h.to);
    const tag = extension?.toTag;
    if (tag !== undefined && tag !== false && status > 100 && typeof to.params.tag !== 'string') {
      to.params.tag = typeof tag === 'string' ? tag : generateTag();
    }
    headers.to = to;
  } else if (h.to !== undefined) headers.to = h.to;
  if (h.from !== undefined) headers.from = h.from;
  if (h['call-id'] !== undefined) headers['call-id'] = h['call-id'];
  if (h.cseq !== undefined) headers.cseq = h.cseq;
  // RFC 3261 §8.2.6.1: a 100 Trying copies the Timestamp of the request.
  if (status === 100 && typeof h.timestamp === 'string') headers.timestamp = h.timestamp;
  const rs: SipResponse = {
    status,
    reason: reason ?? defaultReason(status),
    version: rq.version ?? '2.0',
    headers,
  };
  if (extension !== undefined) {
    if (extension.headers !== undefined) {
      for (const name of Object.keys(extension.headers)) headers[name] = extension.headers[name];
    }
    if (extension.content !== undefined) rs.content = extension.content;
  }
  return rs;
}

function clone(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(clone);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = clone((value as Record<string, unknown>)[key]);
  return out;
}

/** Below this length a V8 string is never a slice or a rope of another (SlicedString::kMinLength). */
const DETACHED_LENGTH = 13;

/**
 * A copy of `s` that shares nothing with the string it was cut from. The parser's substrings
 * (and `slice`) are V8 sliced strings that keep their whole parent, the message's header
 * section, alive; anything stored beyond the message's life (a binding, a dialog, a nonce's
 * replay entry) must be detached, or every stored value pins a whole message.
 */
export function detachString(s: string): string {
  // V8 makes neither slices nor ropes under 13 characters (a shorter substring or concatenation
  // is always a fresh flat string), so a short string pins nothing and needs no copy: a method,
  // a tag, a port. A longer one: concatenation builds a new string, and slicing that keeps at
  // most that small copy.
  return s.length < DETACHED_LENGTH ? s : (' ' + s).slice(1);
}

/**
 * Copies a message. Shallow (default): a new message object, a new headers object and a new
 * Via array; header values are shared. Deep: everything is copied.
 */
export function copyMessage<T extends SipMessage>(msg: T, deep?: boolean): T {
  if (deep === true) return clone(msg) as T;
  const copy = { ...msg, headers: { ...msg.headers } };
  // Always a new Via list, as sip's copyMessage does; a single Via object built by hand (as code
  // written for `sip` does) is copied as one.
  const via: unknown = msg.headers.via;
  if (Array.isArray(via)) copy.headers.via = via.slice();
  else if (typeof via === 'object' && via !== null) copy.headers.via = { ...via } as unknown as Via[];
  return copy;
}

function invalid(code: 'ERR_MISSING_HEADER' | 'ERR_HEADER_VALUE' | 'ERR_VERSION' | 'ERR_START_LINE', message: string, header?: string): SipParseError {
  return new SipParseError(code, message, -1, header);
}

function isNameAddr(v: unknown): v is NameAddr {
  return typeof v === 'object' && v !== null && (typeof (v as NameAddr).uri === 'string' || typeof (v as NameAddr).uri === 'object');
}

/**
 * Checks what every element needs before processing a message (RFC 3261 §8.1.1, §8.2,
 * RFC 4475 §3.1.2.16-18, §3.3.1): Via, From, To, Call-ID and CSeq present and well-formed,
 * SIP/2.0, and for requests a CSeq method equal to the request method. Returns the first
 * problem, or undefined. Answer a request that fails with 400 (505 for ERR_VERSION).
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  const h = msg.headers;
  if (typeof h !== 'object' || h === null) return invalid('ERR_MISSING_HEADER', 'no headers');
  const isRequest = 'method' in msg && typeof msg.method === 'string';
  if (isRequest) {
    if (!isTokenString(msg.method)) return invalid('ERR_START_LINE', 'bad method');
  } else {
    const status = (msg as SipResponse).status;
    if (!Number.isInteger(status) || status < 100 || status > 699) return invalid('ERR_START_LINE', 'bad status code');
  }
  if (msg.version !== undefined && msg.version !== '2.0') return invalid('ERR_VERSION', `unsupported SIP version ${msg.version}`);
  const via = h.via;
  if (via === undefined || (Array.isArray(via) && via.length === 0)) return invalid('ERR_MISSING_HEADER', 'missing Via', 'via');
  if (!Array.isArray(via)) return invalid('ERR_HEADER_VALUE', 'Via is not a list', 'via');
  for (const v of via) {
    if (typeof v !== 'object' || v === null || typeof v.host !== 'string' || v.host === '' || typeof v.protocol !== 'string') {
      return invalid('ERR_HEADER_VALUE', 'malformed Via', 'via');
    }
  }
  if (h.from === undefined) return invalid('ERR_MISSING_HEADER', 'missing From', 'from');
  if (!isNameAddr(h.from)) return invalid('ERR_HEADER_VALUE', 'malformed From', 'from');
  if (h.to === undefined) return invalid('ERR_MISSING_HEADER', 'missing To', 'to');
  if (!isNameAddr(h.to)) return invalid('ERR_HEADER_VALUE', 'malformed To', 'to');
  const callId = h['call-id'];
  if (callId === undefined) return invalid('ERR_MISSING_HEADER', 'missing Call-ID', 'call-id');
  if (typeof callId !== 'string' || callId === '') return invalid('ERR_HEADER_VALUE', 'malformed Call-ID', 'call-id');
  const cseq = h.cseq;
  if (cseq === undefined) return invalid('ERR_MISSING_HEADER', 'missing CSeq', 'cseq');
  if (typeof cseq !== 'object' || cseq === null || !Number.isInteger(cseq.seq) || cseq.seq < 0 || cseq.seq > 0xffffffff || !isTokenString(String(cseq.method))) {
    return invalid('ERR_HEADER_VALUE', 'malformed CSeq', 'cseq');
  }
  // RFC 3261 §8.1.1.5: the CSeq method matches the request method (RFC 4475 §3.1.2.17-18).
  if (isRequest && cseq.method !== (msg as SipRequest).method) {
    return invalid('ERR_HEADER_VALUE', `CSeq method ${cseq.method} does not match ${(msg as SipRequest).method}`, 'cseq');
  }
  return undefined;
}

function bareHost(host: string): string {
  return host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93 ? host.slice(1, -1) : host;
}

/**
 * Marks where a request really came from on its top Via, for the response to go back there:
 * RFC 3261 §18.2.1 adds `received=<source address>` when the sent-by host differs from it;
 * RFC 3581 §4 fills a valueless `rport` with the source port and then always adds
 * `received`. Values are strings. Returns the same request.
 */
export function stampReceived(request: SipRequest, address: string, port: number): SipRequest {
  const via = request.headers.via?.[0];
  if (via === undefined) return request;
  const params = via.params ?? (via.params = {});
  const rport = params.rport;
  const wantsRport = rport === null || rport === '' || (rport === undefined && 'rport' in params);
  if (wantsRport) params.rport = String(port);
  if (wantsRport || bareHost(via.host).toLowerCase() !== bareHost(address).toLowerCase()) {
    params.received = bareHost(address);
  }
  return request;
}
