// A small real upstream for the proxy tests: an HTTP server that answers with what it received
// (method, path, headers, body), a WebSocket endpoint (/echo) that reports its handshake headers and
// echoes frames, and a graphql-ws endpoint (/graphql) with one subscription. It records every
// request it saw, so a test can prove the server was (or was not) reached.
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { onCleanup } from '../../support/harness.js';

/** What the upstream received for one HTTP request. */
export interface EchoedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoUpstream {
  url: string;
  /** Every HTTP request (not upgrades) that reached it, in order. */
  requests: EchoedRequest[];
  /** Handshake headers of every WebSocket upgrade that reached it. */
  upgrades: IncomingHttpHeaders[];
  /** Requests whose client went away before the answer (long-polls abandoned). */
  abandoned: string[];
  /** The `connection_init` payload of every graphql-ws connection. */
  connectionParams: unknown[];
  /** The query of every graphql-ws `subscribe` that reached it. */
  subscribed: string[];
}

// graphql-ws runs in plain Node and loads graphql's CommonJS build, while Vite would resolve an
// `import 'graphql'` in this file to the `.mjs` build: two instances that refuse each other's
// schemas. Loading it the way Node does keeps one instance.
const { buildSchema } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { ticks(count: Int!): Int!, whoami: String! }
`);

const roots = {
  async *ticks({ count }: { count: number }) {
    for (let tick = 1; tick <= count; tick += 1) yield { ticks: tick };
  },
  async *whoami(_args: unknown, context: { identity?: string }) {
    yield { whoami: context.identity ?? '' };
  },
};

/** Starts the upstream on a free 127.0.0.1 port; stopped after the test. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];
  const upgrades: IncomingHttpHeaders[] = [];
  const abandoned: string[] = [];
  const connectionParams: unknown[] = [];
  const subscribed: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const echoed = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(echoed);
      // `/slow?ms=N` answers after N ms (a long-poll); the proxy must neither time out nor keep it after the client leaves.
      const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
        res.end(JSON.stringify(echoed));
      };
      if (!slow) return answer();
      const timer = setTimeout(answer, Number(slow[1]));
      res.once('close', () => {
        if (!res.writableFinished) {
          clearTimeout(timer);
          abandoned.push(req.url ?? '');
        }
      });
    });
  });

  const echo = new WebSocketServer({ noServer: true });
  echo.on('connection', (socket, req: IncomingMessage) => {
    socket.send(JSON.stringify({ handshake: req.headers }));
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  const graphql = new WebSocketServer({ noServer: true });
  const graphqlServer = useServer(
    {
      schema,
      roots: { subscription: roots },
      context: (ctx) => ({ identity: ctx.extra.request.headers['x-fluxo-identity'] }),
      onConnect: (ctx) => {
        connectionParams.push(ctx.connectionParams);
      },
      onSubscribe: (_ctx, _id, payload) => {
        subscribed.push(payload.query);
      },
    },
    graphql,
  );
  server.on('upgrade', (req, socket, head) => {
    upgrades.push(req.headers);
    const target = req.url === '/graphql' ? graphql : req.url === '/echo' ? echo : undefined;
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nnot found');
      return;
    }
    target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    await graphqlServer.dispose();
    for (const client of [...echo.clients, ...graphql.clients]) client.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, upgrades, abandoned, connectionParams, subscribed };
}
