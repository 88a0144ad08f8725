// A minimal `/metrics` endpoint on node:http: GET only, one path, loopback by default (metrics
// describe traffic; exposing them beyond the host is the operator's decision).
import { createServer, type Server } from 'node:http';
import { MetricsError } from './errors.js';

export interface ServeMetricsOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to bind. Default 127.0.0.1. */
  host?: string | undefined;
  /** Path served. Default `/metrics`. */
  path?: string | undefined;
}

/** What serveMetrics() needs: the exposition text and its content type. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Serve `source` at `http://host:port/path`; resolves with the listening server (close it to stop). */
export function serveMetrics(source: MetricsSource, options: ServeMetricsOptions): Promise<Server> {
  const { port, host = '127.0.0.1', path = '/metrics' } = options ?? ({} as ServeMetricsOptions);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new MetricsError('ERR_INVALID_OPTION', 'options.port must be an integer in 0..65535'));
  if (typeof source?.metrics !== 'function') return Promise.reject(new MetricsError('ERR_INVALID_OPTION', 'serveMetrics() needs a metrics source (SipMetrics or a prom-client Registry)'));
  const server = createServer((request, response) => {
    const url = request.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path) {
      response.writeHead(404).end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    source.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': source.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`# metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  return new Promise<Server>((resolve, reject) => {
    server.once('error', (cause) => reject(new MetricsError('ERR_LISTEN', `cannot serve metrics on ${host}:${port}: ${cause.message}`, { cause })));
    server.listen(port, host, () => resolve(server));
  });
}
