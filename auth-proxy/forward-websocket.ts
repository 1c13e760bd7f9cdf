// Forwarding an authenticated WebSocket upgrade (graphql-ws subscriptions) to the server.
//
// The proxy does not speak WebSocket itself: it re-sends the handshake upstream with the caller's
// credentials replaced by the signed identity, relays the server's answer, and from then on pipes
// raw bytes both ways. The server therefore sees the identity on the handshake, as it does on
// every HTTP request, and frames pass through untouched. The connection is cut when the bearer
// token expires, so a subscription cannot outlive the credential that opened it.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../common/logger.js';
import { upstreamHeaders, type ProxyHeaderValues } from './forward-headers.js';
import { joinPath } from './forward-http.js';
import { refuseSocket } from './refuse.js';

/** Settings for one upgrade. */
export interface UpgradeForwardSettings {
  upstream: URL;
  logger: Logger;
  /** Sockets the proxy must destroy when it closes. */
  openSockets: Set<Duplex>;
}

/** setTimeout's largest delay (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sends the handshake upstream and, once the server switches protocols, pipes client and server
 * sockets together until either side closes or `expiresAtMs` passes.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  headerValues: ProxyHeaderValues,
  expiresAtMs: number,
  settings: UpgradeForwardSettings,
): void {
  const { requestId } = headerValues;
  const { logger, openSockets } = settings;
  track(socket, openSockets);

  const upstreamRequest = httpRequest({
    protocol: settings.upstream.protocol,
    hostname: settings.upstream.hostname,
    port: settings.upstream.port,
    method: req.method,
    path: joinPath(settings.upstream, req.url ?? '/'),
    headers: upstreamHeaders(req.headers, headerValues, { upgrade: true }),
    agent: false, // an upgraded socket leaves the pool anyway
  });
  const abandon = (): void => {
    upstreamRequest.destroy();
  };
  socket.once('close', abandon);
  socket.on('error', (error) => logger.debug({ requestId, err: error }, 'client socket error during upgrade'));

  upstreamRequest.on('upgrade', (upstreamResponse: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
    socket.off('close', abandon);
    track(upstreamSocket, openSockets);
    if (socket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    upstreamSocket.setNoDelay(true);
    upstreamSocket.setTimeout(0);
    socket.write(`${statusLine(upstreamResponse)}\r\n${rawHeaderLines(upstreamResponse.rawHeaders)}\r\n`);
    if (upstreamHead.byteLength > 0) socket.write(upstreamHead);
    if (head.byteLength > 0) upstreamSocket.write(head);

    const closeBoth = (): void => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on('error', (error) => {
      logger.debug({ requestId, err: error }, 'upstream websocket error');
      closeBoth();
    });
    socket.on('error', closeBoth);
    socket.once('close', closeBoth);
    upstreamSocket.once('close', closeBoth);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);

    const stopExpiry = onExpiry(expiresAtMs, () => {
      logger.info({ requestId }, 'websocket closed: the bearer token expired');
      closeBoth();
    });
    socket.once('close', stopExpiry);
    logger.info({ requestId, path: req.url }, 'websocket connected');
  });

  // The server answered without switching protocols (it refused the handshake): relay its answer.
  upstreamRequest.on('response', (upstreamResponse: IncomingMessage) => {
    const headers = rawHeaderLines(upstreamResponse.rawHeaders, new Set(['connection', 'transfer-encoding', 'content-length', 'keep-alive']));
    socket.write(`${statusLine(upstreamResponse)}\r\n${headers}connection: close\r\n\r\n`);
    upstreamResponse.pipe(socket);
    upstreamResponse.once('error', () => socket.destroy());
  });

  upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
    if (socket.destroyed) return;
    logger.warn({ requestId, err: error, upstream: settings.upstream.origin }, 'upstream unavailable for websocket');
    refuseSocket(socket, { code: 'SERVICE_UNAVAILABLE', message: `the fluxo server behind this proxy is not reachable (${error.code ?? error.message}); retry shortly` }, requestId);
  });
  upstreamRequest.end();
}

function track(socket: Duplex, openSockets: Set<Duplex>): void {
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
}

function statusLine(response: IncomingMessage): string {
  return `HTTP/1.1 ${response.statusCode ?? 502} ${response.statusMessage ?? ''}`.trimEnd();
}

/** `name: value\r\n` for each raw header pair, minus the names in `skip` (lower-case). */
function rawHeaderLines(rawHeaders: string[], skip: Set<string> = new Set()): string {
  let lines = '';
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    if (skip.has(name.toLowerCase())) continue;
    lines += `${name}: ${rawHeaders[index + 1]!}\r\n`;
  }
  return lines;
}

/** Calls `fire` at `atMs` (epoch ms), re-arming for waits beyond setTimeout's limit. Returns a canceller. */
function onExpiry(atMs: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const wait = atMs - Date.now();
    if (wait <= 0) {
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
