// Observability for the examples, from the environment, all off unless asked for:
//   METRICS_PORT=9464      Prometheus /metrics on 127.0.0.1:9464 (@sipts/metrics; Grafana:
//                          examples/grafana-dashboard.json)
//   HEP_TARGET=host:port   HEP3 capture of every SIP message to Homer (@sipts/hep), UDP unless
//                          HEP_TRANSPORT=tcp; HEP_CAPTURE_ID (default 2001), HEP_AUTH_KEY
//   LOG_LEVEL=debug        levelled JSON logs with call context on stdout (@sipts/observability + pino)
// An example passes what it runs (stack, and proxy / registrar / dialog UA when it has them) and
// prints the returned lines in its banner; everything stops when the stack closes.
import pino from 'pino';
import type { SipStack } from '@sipts/core';
import { captureHep } from '@sipts/hep';
import { SipMetrics, serveMetrics, type DialogSource, type ProxySource, type RegistrarSource } from '@sipts/metrics';
import { logStack } from '@sipts/observability';

export interface Observed {
  stack: SipStack;
  proxy?: ProxySource | undefined;
  registrar?: RegistrarSource | undefined;
  ua?: DialogSource | undefined;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error']);

/** Turn on what the environment asks for; returns the banner lines saying what is on. */
export function observeFromEnv(parts: Observed, env: NodeJS.ProcessEnv = process.env): { lines: string[] } {
  const { stack } = parts;
  const lines: string[] = [];
  const closers: (() => unknown)[] = [];
  const metricsPort = env.METRICS_PORT;
  const hepTarget = env.HEP_TARGET;
  const logLevel = env.LOG_LEVEL;

  let metrics: SipMetrics | undefined;
  if (metricsPort !== undefined && metricsPort !== '') {
    const port = Number(metricsPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`METRICS_PORT=${metricsPort} is not a port number`);
    metrics = new SipMetrics().addStack(stack);
    if (parts.proxy !== undefined) metrics.addProxy(parts.proxy);
    if (parts.registrar !== undefined) metrics.addRegistrar(parts.registrar);
    if (parts.ua !== undefined) metrics.addDialogUA(parts.ua);
    const m = metrics;
    closers.push(() => m.close());
    serveMetrics(m, { port }).then(
      (server) => {
        closers.push(() => server.close());
        if (closed) server.close();
      },
      (e: unknown) => console.error(`metrics: ${e instanceof Error ? e.message : String(e)}`),
    );
    lines.push(`Metrics: http://127.0.0.1:${port}/metrics`);
  }
  if (hepTarget !== undefined && hepTarget !== '') {
    const transport = env.HEP_TRANSPORT === 'tcp' ? 'tcp' : 'udp';
    const capture = captureHep(stack, {
      target: hepTarget,
      transport,
      ...(env.HEP_CAPTURE_ID ? { captureId: Number(env.HEP_CAPTURE_ID) } : {}),
      ...(env.HEP_AUTH_KEY ? { authKey: env.HEP_AUTH_KEY } : {}),
      onError: (e) => console.error(`hep: ${e.message}`),
    });
    metrics?.addHep(capture);
    closers.push(() => capture.close());
    lines.push(`HEP capture to ${hepTarget} (${transport})`);
  }
  if (logLevel !== undefined && LEVELS.has(logLevel)) {
    closers.push(logStack(stack, pino({ level: logLevel })));
    lines.push(`Logs: JSON at ${logLevel} on stdout`);
  }
  let closed = false;
  stack.once('close', () => {
    closed = true;
    for (const close of closers.splice(0)) close();
  });
  return { lines };
}
