// @sipts/metrics: Prometheus metrics (prom-client) for sipts stacks, proxies, registrars,
// dialog UAs, B2BUAs and HEP captures, read from their stats() at scrape time.
export { SipMetrics } from './metrics.js';
export type { SipMetricsOptions } from './metrics.js';
export { serveMetrics } from './server.js';
export type { MetricsSource, ServeMetricsOptions } from './server.js';
export type {
  B2buaSource,
  DialogSource,
  HepSource,
  ProxyReleasedShape,
  ProxySource,
  ProxyStatsShape,
  RegistrarSource,
  StackSource,
} from './sources.js';
export { MetricsError, isMetricsError } from './errors.js';
export type { MetricsErrorCode } from './errors.js';
