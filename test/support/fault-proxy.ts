// A fault injector for tests: an HTTP hop between a client (an agent) and the fluxo proxy that
// forwards every request, except that it can let a chosen request reach the server and then cut
// the connection before the answer gets back, the way a network failure after commit does.
import { createServer, request, type IncomingMessage } from 'node:http';
import { onCleanup } from './harness.js';

export type FaultRule = (body: string, req: IncomingMessage) => 'pass' | 'drop-response';

export interface FaultProxy {
  url: string;
  /** Bodies of the requests whose answers were dropped. */
  dropped: string[];
}

export async function startFaultProxy(target: string, rule: FaultRule): Promise<FaultProxy> {
  const upstream = new URL(target);
  const dropped: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = rule(body.toString('utf8'), req);
      const forwarded = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          if (verdict === 'drop-response') {
            // The server has done the work; the client never hears of it.
            dropped.push(body.toString('utf8'));
            answer.resume();
            answer.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => req.socket.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}${upstream.pathname}`, dropped };
}
