// A minimal forwarding HTTP proxy, the kind agencies put between their hosts and the internet, for
// tests of HTTPS_PROXY / HTTP_PROXY / NO_PROXY: it really forwards, both ways a client may ask:
// `CONNECT host:port` (a TCP tunnel; undici tunnels every proxied request this way, TLS included)
// and plain-HTTP requests with an absolute URI (`GET http://host:port/path`). It records what it
// forwarded, so a test can tell whether traffic went through it.
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { onCleanup } from './harness.js';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>`: the value for HTTP_PROXY / HTTPS_PROXY. */
  url: string;
  /** Tunnels opened, as `host:port`, in order. */
  tunnels: string[];
  /** Absolute-URI requests forwarded, as `METHOD url`. */
  requests: string[];
}

/** Starts the proxy on a free 127.0.0.1 port; it stops after the test (or file) that started it. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const requests: string[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('a proxy request needs an absolute URI\n');
      return;
    }
    requests.push(`${req.method} ${target.href}`);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const forwarded = request(
      { hostname: target.hostname, port: target.port || 80, path: `${target.pathname}${target.search}`, method: req.method, headers },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error.message}\n`);
    });
    req.pipe(forwarded);
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const [host, port] = splitHostPort(req.url ?? '');
    tunnels.push(`${host}:${port}`);
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, tunnels, requests };
}

function splitHostPort(authority: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  return match ? [match[1]!, Number(match[2])] : [authority, 443];
}
