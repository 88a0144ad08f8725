// Transaction ids: how requests and responses find their transaction (RFC 3261 §17.1.3,
// §17.2.3 and its RFC 2543 fallback), and branch generation.
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import type { SipUri, Via } from '@sipts/message';

/** RFC 3261 §8.1.1.7: the magic cookie that starts every RFC 3261 branch. */
export const BRANCH_COOKIE = 'z9hG4bK';

/**
 * Random bytes for branches, drawn from `crypto` 4 KiB at a time (one call into OpenSSL per 256
 * branches rather than a UUID and a dash-stripping copy each).
 */
const branchPool = Buffer.allocUnsafe(4096);
let branchPoolOffset = branchPool.length;

/** A fresh branch: the cookie plus 128 random bits from `crypto` (32 hex digits). */
export function generateBranch(): string {
  if (branchPoolOffset + 16 > branchPool.length) {
    randomFillSync(branchPool);
    branchPoolOffset = 0;
  }
  const random = branchPool.toString('hex', branchPoolOffset, branchPoolOffset + 16);
  branchPoolOffset += 16;
  return BRANCH_COOKIE + random;
}

/** True when `branch` starts with the magic cookie (compared case-insensitively). */
export function hasBranchCookie(branch: string | null | undefined): branch is string {
  if (typeof branch !== 'string' || branch.length < 7) return false;
  return branch.slice(0, 7).toLowerCase() === 'z9hg4bk';
}

/** The branch of a Via as a string, or undefined (absent or a bare `;branch` flag). */
export function branchOf(via: Via): string | undefined {
  const b = via.params.branch;
  return typeof b === 'string' && b.length > 0 ? b : undefined;
}

function sentBy(via: Via): string {
  return via.port === undefined ? via.host.toLowerCase() : via.host.toLowerCase() + ':' + via.port;
}

/**
 * RFC 3261 §17.1.3: a response matches a client transaction by the top Via branch (compared
 * case-insensitively) and the CSeq method (case-sensitive).
 */
export function clientKey(branch: string, cseqMethod: string): string {
  return branch.toLowerCase() + '\u0000' + cseqMethod;
}

/**
 * RFC 3261 §17.2.3 for a cookie branch: branch + sent-by + method (ACK is looked up with method
 * INVITE). The Call-ID is part of the key too: it costs nothing for compliant peers and keeps
 * two calls apart when a peer's branches collide (sip@0.0.6 draws them from 10^6 values).
 */
export function serverKey(branch: string, via: Via, callId: string, method: string): string {
  return 'b' + branch.toLowerCase() + '\u0000' + sentBy(via) + '\u0000' + callId + '\u0000' + method;
}

function viaKey(via: Via): string {
  return via.protocol.toUpperCase() + ' ' + sentBy(via) + ' ' + (branchOf(via) ?? '');
}

function tagOf(params: Record<string, string | null | undefined> | undefined): string {
  const tag = params?.tag;
  return typeof tag === 'string' ? tag : '';
}

/** A stable string for a Request-URI given as a string or a parsed SipUri (a key, not wire text). */
export function uriKey(uri: string | SipUri): string {
  if (typeof uri === 'string') return uri;
  if (!uri || typeof uri !== 'object') return String(uri);
  let s = uri.schema + ':' + (uri.user !== undefined ? uri.user + '@' : '') + uri.host;
  if (uri.port !== undefined) s += ':' + uri.port;
  for (const name of Object.keys(uri.params)) {
    const v = uri.params[name];
    s += ';' + name + (typeof v === 'string' ? '=' + v : '');
  }
  return s;
}

/** The fields the RFC 2543 fallback compares, read from a request or a response. */
export interface LegacyFields {
  via: Via;
  callId: string;
  fromTag: string;
  toTag: string;
  seq: number;
}

export function legacyFields(
  via: Via,
  callId: string,
  from: { params: Record<string, string | null | undefined> } | undefined,
  to: { params: Record<string, string | null | undefined> } | undefined,
  seq: number,
): LegacyFields {
  return { via, callId, fromTag: tagOf(from?.params), toTag: tagOf(to?.params), seq };
}

/**
 * RFC 3261 §17.2.3 (last paragraphs), requests without the cookie: Request-URI, To tag, From
 * tag, Call-ID, CSeq and the top Via must all equal those of the request that created the
 * transaction. `method` is the CSeq method to look up (INVITE for an ACK or a CANCEL's target).
 */
export function legacyRequestKey(uri: string, f: LegacyFields, method: string): string {
  return (
    'r' + uri + '\u0000' + f.toTag + '\u0000' + f.fromTag + '\u0000' + f.callId + '\u0000' + f.seq +
    '\u0000' + viaKey(f.via) + '\u0000' + method
  );
}

/**
 * The RFC 2543 key without Request-URI and To tag: what a response (whose To tag the TU may have
 * added) and an ACK (whose To tag is the response's) share with the request. The Request-URI
 * and To tag of an ACK are then checked against the transaction.
 */
export function legacyDialogKey(f: LegacyFields, method: string): string {
  return 'p' + f.fromTag + '\u0000' + f.callId + '\u0000' + f.seq + '\u0000' + viaKey(f.via) + '\u0000' + method;
}
