// Spans for proxy branches and B2BUA legs, from the events those packages emit (@sipts/proxy's
// branchStart/branchEnd; the B2BUA's legStart/legEnd, documented in the README).
import { SpanKind } from '@opentelemetry/api';
import type { SipTracer } from './tracing.js';

/** What a proxy emits for each branch (a forwarded request, one client transaction). */
export interface ProxyBranchStart {
  callId: string;
  /** Unique per branch of the proxy (`b1`, `b2`...). */
  branch: string;
  method: string;
  /** The target URI of the branch. */
  target: string;
}

export interface ProxyBranchEnd {
  callId: string;
  branch: string;
  /** The branch's final response status (408 for a timeout, 487 when cancelled...). */
  status: number;
  /** Why it ended: 'response', 'cancelled', 'timeout', 'error'. */
  reason: string;
}

/** A proxy with the branch events (`branchStart`, `branchEnd`). */
export interface BranchEmitter {
  on(event: 'branchStart', listener: (event: ProxyBranchStart) => void): unknown;
  on(event: 'branchEnd', listener: (event: ProxyBranchEnd) => void): unknown;
  off(event: 'branchStart', listener: (event: ProxyBranchStart) => void): unknown;
  off(event: 'branchEnd', listener: (event: ProxyBranchEnd) => void): unknown;
}

/** Span per proxy branch (`SIP branch <method>`, INTERNAL) under the call's trace. Returns detach. */
export function traceProxy(proxy: BranchEmitter, tracer: SipTracer): () => void {
  const start = (e: ProxyBranchStart): void => {
    tracer.startSpan(`branch\u0000${e.branch}`, `SIP branch ${e.method}`, e.callId, SpanKind.INTERNAL, {
      'sip.method': e.method,
      'sip.call_id': e.callId,
      'sip.branch': e.branch,
      'sip.target': e.target,
    });
  };
  const end = (e: ProxyBranchEnd): void => {
    tracer.span(`branch\u0000${e.branch}`)?.setAttribute('sip.branch.outcome', e.reason);
    tracer.endSpan(`branch\u0000${e.branch}`, e.status);
  };
  proxy.on('branchStart', start);
  proxy.on('branchEnd', end);
  return () => {
    proxy.off('branchStart', start);
    proxy.off('branchEnd', end);
  };
}

/** What a B2BUA emits for each leg. */
export interface B2buaLegStart {
  /** The Call-ID of the call's first (A) leg: the trace is the A leg's. */
  callId: string;
  /** This leg's own Call-ID (differs from `callId` on B legs). */
  legCallId: string;
  /** A unique id of the leg (e.g. its dialog id). */
  legId: string;
  /** 'a' (incoming) or 'b' (outgoing). */
  side: 'a' | 'b';
  target?: string | undefined;
}

export interface B2buaLegEnd {
  legId: string;
  /** The leg's final INVITE status, or the BYE's when it was answered. */
  status?: number | undefined;
  reason: string;
}

export interface LegEmitter {
  on(event: 'legStart', listener: (event: B2buaLegStart) => void): unknown;
  on(event: 'legEnd', listener: (event: B2buaLegEnd) => void): unknown;
  off(event: 'legStart', listener: (event: B2buaLegStart) => void): unknown;
  off(event: 'legEnd', listener: (event: B2buaLegEnd) => void): unknown;
}

/**
 * Span per B2BUA leg (`SIP leg a|b`, SERVER for A, CLIENT for B) under the A leg's trace; the B
 * leg's Call-ID joins that trace, so its transactions' spans are in it too. Returns detach.
 */
export function traceB2bua(b2bua: LegEmitter, tracer: SipTracer): () => void {
  const start = (e: B2buaLegStart): void => {
    if (e.legCallId !== e.callId) tracer.joinCall(e.legCallId, e.callId);
    tracer.startSpan(`leg\u0000${e.legId}`, `SIP leg ${e.side}`, e.callId, e.side === 'a' ? SpanKind.SERVER : SpanKind.CLIENT, {
      'sip.call_id': e.legCallId,
      'sip.b2bua.call_id': e.callId,
      'sip.b2bua.leg': e.side,
      'sip.target': e.target,
    });
  };
  const end = (e: B2buaLegEnd): void => {
    tracer.span(`leg\u0000${e.legId}`)?.setAttribute('sip.leg.outcome', e.reason);
    tracer.endSpan(`leg\u0000${e.legId}`, e.status);
  };
  b2bua.on('legStart', start);
  b2bua.on('legEnd', end);
  return () => {
    b2bua.off('legStart', start);
    b2bua.off('legEnd', end);
  };
}
