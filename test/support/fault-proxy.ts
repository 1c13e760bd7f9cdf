// A fault injector for tests: an HTTP hop between a client (an agent) and the fluxo proxy that
// forwards every request, except that it can let a chosen request reach the server and then cut
// the connection before the answer gets back, the way a network failure after commit does. With
// every request passed it is a recording hop: what the client put on the wire, with the status.
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { onCleanup } from './harness.js';

export type FaultRule = (body: string, req: IncomingMessage) => 'pass' | 'drop-response';

/** One request as it went through the hop. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as text ('' when none). */
  body: string;
  /** The upstream's HTTP status (502 when it could not be reached, 0 while waiting or dropped). */
  status: number;
}

export interface FaultProxy {
  /** The hop's origin followed by the target's path: give this to the client instead of `target`. */
  url: string;
  /** `http://127.0.0.1:<port>`, without the target's path. */
  origin: string;
  /** Bodies of the requests whose answers were dropped. */
  dropped: string[];
  /** Every request so far, oldest first. */
  requests: RecordedRequest[];
}

/**
 * Starts the hop in front of `target`, stopped in the caller's cleanup. `rule` sees each request's
 * body before it is forwarded.
 *
 * @example const hop = await startFaultProxy(stack.apiUrl, (body) => (body.includes('setTaskRunStates') ? 'drop-response' : 'pass'))
 */
export async function startFaultProxy(target: string, rule: FaultRule = () => 'pass'): Promise<FaultProxy> {
  const upstream = new URL(target);
  const dropped: string[] = [];
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: body.toString('utf8'), status: 0 };
      requests.push(record);
      const verdict = rule(record.body, req);
      const forwarded = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          record.status = answer.statusCode ?? 0;
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
      forwarded.on('error', (error) => {
        record.status = 502;
        if (verdict === 'drop-response') req.socket.destroy();
        else res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: ${error.message}`);
      });
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
  return { url: `http://127.0.0.1:${port}${upstream.pathname}`, origin: `http://127.0.0.1:${port}`, dropped, requests };
}
