// One error family for the metrics package: a literal `code` so `switch (err.code)` narrows, and
// a `Symbol.for` brand so `instanceof` holds across duplicate copies of the package.
//
// Every code a `MetricsError` carries:
// - `ERR_INVALID_OPTION`  an unusable option or source (a prefix that is not a metric name, a
//                         registry that is not prom-client's, a source without stats(), a port
//                         outside 0..65535, a metric defined twice)
// - `ERR_LISTEN`          serveMetrics() could not bind its port (`cause`: EADDRINUSE, ...)

export type MetricsErrorCode = 'ERR_INVALID_OPTION' | 'ERR_LISTEN';

const kMetricsError: unique symbol = Symbol.for('@sipts/metrics.MetricsError');

export class MetricsError extends Error {
  readonly code: MetricsErrorCode;
  readonly [kMetricsError] = true;

  constructor(code: MetricsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MetricsError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isMetricsError(value);
  }
}

/** True for a `MetricsError` from any copy of this package. */
export function isMetricsError(value: unknown): value is MetricsError {
  return typeof value === 'object' && value !== null && (value as { [kMetricsError]?: unknown })[kMetricsError] === true;
}
