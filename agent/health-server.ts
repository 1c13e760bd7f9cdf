// The agent's optional local port (`--metrics-port`): `GET /healthz` (200 or 503 with a JSON
// report) and `GET /metrics` (Prometheus text). It binds 127.0.0.1 unless told otherwise: the agent
// has no inbound API, this port only answers a local scraper or a probe.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coerceError } from '../common/errors.js';
import type { AgentMetrics } from './metrics.js';

export interface HealthServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the health and metrics endpoint. Rejects when the port cannot be bound (in use, no permission).
 *
 * @example const server = await startHealthServer({ port: 9464, metrics }); // curl 127.0.0.1:9464/healthz
 */
export async function startHealthServer({ port, host = '127.0.0.1', metrics }: { port: number; host?: string; metrics: AgentMetrics }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const report = metrics.health();
      res.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(report));
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${coerceError(error).message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  // Keep-alive scrapers must not hold the agent's exit.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
