// Fork targets and the copy of a request each branch gets (RFC 3261 §16.6 step 1-2).
import type { RouteAddr, SipRequest, SipUri } from '@sipts/message';
import { SipProxyError } from './errors.js';
import type { ForkTarget } from './options.js';

/** The Request-URI of a target. */
export function targetUri(target: ForkTarget): string | SipUri {
  if (typeof target === 'string') return target;
  if ('uri' in target && (typeof target.uri === 'string' || typeof target.uri === 'object') && !('host' in target)) {
    return target.uri;
  }
  return target as SipUri;
}

/** The Route entries a target comes with (put before the request's own Route), if any. */
function targetRoute(target: ForkTarget): RouteAddr[] | undefined {
  if (typeof target === 'string' || 'host' in target) return undefined;
  return target.route;
}

/** RFC 5626 §5.3: the other flows to try when this target's fails, if any. */
export function targetAlternates(target: ForkTarget): readonly ForkTarget[] | undefined {
  if (typeof target === 'string' || 'host' in target) return undefined;
  const alternates = target.alternates;
  return Array.isArray(alternates) && alternates.length > 0 ? alternates : undefined;
}

/** Throws `ERR_INVALID_TARGET` unless every target is a URI string or a parsed URI with a host. */
export function checkTargets(targets: readonly ForkTarget[]): void {
  if (!Array.isArray(targets)) throw new SipProxyError('ERR_INVALID_TARGET', 'fork: targets must be an array');
  for (const t of targets) {
    checkTarget(t);
    // The alternates of a target are targets too (their own alternates are not used).
    const alternates: unknown = typeof t === 'object' && t !== null && !('host' in t) ? t.alternates : undefined;
    if (alternates === undefined) continue;
    if (!Array.isArray(alternates)) throw new SipProxyError('ERR_INVALID_TARGET', 'fork: alternates must be an array of targets');
    for (const a of alternates as unknown[]) checkTarget(a as ForkTarget);
  }
}

function checkTarget(t: ForkTarget): void {
  if (typeof t !== 'string' && (typeof t !== 'object' || t === null)) {
    throw new SipProxyError('ERR_INVALID_TARGET', 'fork: a target is not a SIP URI');
  }
  const uri = targetUri(t);
  if (typeof uri !== 'string' && (typeof uri !== 'object' || uri === null || typeof uri.host !== 'string')) {
    throw new SipProxyError('ERR_INVALID_TARGET', 'fork: a target is not a SIP URI');
  }
}

/** A branch's own copy of the request: the fields forwarding changes are copied (§16.6 step 1). */
export function branchCopy(rq: SipRequest, target: ForkTarget): SipRequest {
  const h = rq.headers;
  const extra = targetRoute(target);
  const route = extra === undefined ? h.route?.slice() : [...extra, ...(h.route ?? [])];
  const headers = { ...h, via: h.via?.slice() ?? [] };
  if (route !== undefined) headers.route = route;
  else delete headers.route;
  if (h['record-route'] !== undefined) headers['record-route'] = h['record-route'].slice();
  if (h.path !== undefined) headers.path = h.path.slice();
  const copy: SipRequest = { method: rq.method, uri: targetUri(target), headers };
  if (rq.version !== undefined) copy.version = rq.version;
  if (rq.content !== undefined) copy.content = rq.content;
  return copy;
}

/** RFC 3327 §5.1: the REGISTER says `Supported: path`. */
export function supportsPath(rq: SipRequest): boolean {
  const supported = rq.headers['supported'];
  if (typeof supported !== 'string') return false;
  for (const token of supported.split(',')) if (token.trim().toLowerCase() === 'path') return true;
  return false;
}
