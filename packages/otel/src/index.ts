// @sipts/otel: OpenTelemetry traces for sipts stacks, proxy branches and B2BUA legs, through
// @opentelemetry/api (a peer dependency; no SDK).
export { SipTracer, traceStack } from './tracing.js';
export type { TraceOptions, TracedStack } from './tracing.js';
export { traceProxy, traceB2bua } from './legs.js';
export type { B2buaLegEnd, B2buaLegStart, BranchEmitter, LegEmitter, ProxyBranchEnd, ProxyBranchStart } from './legs.js';
