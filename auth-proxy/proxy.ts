// The auth proxy: the only door to the fluxo server. It verifies each caller's bearer token,
// replaces whatever identity the caller claimed with one it signs itself, and forwards HTTP and
// WebSocket (graphql-ws) traffic to the server, which trusts nothing but that signed identity.
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { JSONWebKeySet } from 'jose';
import { FluxoError, coerceError, httpStatusOf } from '../common/errors.js';
import { signIdentity } from '../common/identity.js';
import { createLogger, type Logger } from '../common/logger.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from './claims.js';
import { forwardHttp } from './forward-http.js';
import { forwardUpgrade } from './forward-websocket.js';
import { refuse, refuseSocket, type Refusal } from './refuse.js';
import { createTokenVerifier, type VerifiedToken } from './verify-token.js';

/** Settings of `startProxy`. */
export interface ProxyOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** The fluxo server's base URL, e.g. `http://127.0.0.1:4200`. */
  upstreamUrl: string;
  /** Trusted public keys for bearer tokens (JWKS). */
  publicKeys: JSONWebKeySet;
  /** Secret shared with the server for the identity header (at least 32 bytes). */
  identitySecret: Uint8Array;
  /** Required `iss`. @default 'fluxo' */
  issuer?: string;
  /** Required `aud`. @default 'fluxo-api' */
  audience?: string;
  /** Largest request body. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** Accepted clock skew for token times. @default 30 */
  clockToleranceSeconds?: number;
  /** Socket inactivity allowed while waiting for the server (agents long-poll up to 30 s). @default 300000 */
  upstreamTimeoutMs?: number;
  /** How long `close()` lets in-flight requests finish before cutting them. @default 10000 */
  shutdownGraceMs?: number;
  /** @default createLogger('proxy') */
  logger?: Logger;
}

/** A listening proxy. */
export interface RunningProxy {
  /** Base URL, e.g. `http://127.0.0.1:4000` (the GraphQL endpoint is `${url}/graphql`). */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes WebSockets. */
  close(): Promise<void>;
}

/** Default body limit: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts the proxy and resolves once it listens.
 *
 * @example
 * const proxy = await startProxy({ upstreamUrl: 'http://127.0.0.1:4200', publicKeys, identitySecret, port: 4000 })
 * // ... later
 * await proxy.close()
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const upstream = parseUpstream(options.upstreamUrl);
  if (!(options.identitySecret instanceof Uint8Array) || options.identitySecret.byteLength < 32) {
    throw new TypeError('identitySecret must be a Uint8Array of at least 32 bytes');
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError('maxBodyBytes must be a positive integer');
  const logger = options.logger ?? createLogger('proxy');
  const identitySecret = options.identitySecret;
  const verify = createTokenVerifier({
    publicKeys: options.publicKeys,
    issuer: options.issuer ?? DEFAULT_ISSUER,
    audience: options.audience ?? DEFAULT_AUDIENCE,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 30,
  });
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const openSockets = new Set<Duplex>();
  const httpSettings = { upstream, agent, maxBodyBytes, upstreamTimeoutMs: options.upstreamTimeoutMs ?? 300_000, logger };

  /** Verifies the caller and prepares the headers that speak for it upstream. */
  const authenticate = async (req: IncomingMessage, requestId: string) => {
    const verified: VerifiedToken = await verify(req.headers.authorization);
    const identity = await signIdentity(verified.identity, identitySecret);
    return { verified, headerValues: { identity, requestId, clientAddress: req.socket.remoteAddress } };
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
      return;
    }
    let auth;
    try {
      auth = await authenticate(req, requestId);
    } catch (error) {
      const refusal = refusalOf(error);
      logger.info({ requestId, method: req.method, path, status: httpStatusOf[refusal.code], code: refusal.code, reason: refusal.message }, 'request refused');
      refuse(res, refusal, requestId);
      return;
    }
    const { identity } = auth.verified;
    const outcome = await forwardHttp(req, res, auth.headerValues, httpSettings); // never rejects
    logger.info(
      {
        requestId,
        method: req.method,
        path,
        status: outcome.status,
        subject: identity.subject,
        tenant: identity.tenant,
        role: identity.role,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = randomUUID();
    socket.on('error', () => socket.destroy());
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      refuseSocket(socket, { code: 'BAD_USER_INPUT', message: `only WebSocket upgrades are supported, not ${JSON.stringify(req.headers.upgrade)}` }, requestId);
      return;
    }
    authenticate(req, requestId).then(
      ({ verified, headerValues }) => {
        const { identity } = verified;
        logger.info({ requestId, path: req.url, subject: identity.subject, tenant: identity.tenant, role: identity.role }, 'websocket upgrade');
        try {
          forwardUpgrade(req, socket, head, headerValues, verified.expiresAtMs, { upstream, logger, openSockets });
        } catch (error) {
          logger.error({ requestId, err: error }, 'cannot forward the upgrade');
          refuseSocket(socket, { code: 'INTERNAL_SERVER_ERROR', message: `the proxy could not forward the upgrade (request id ${requestId})` }, requestId);
        }
      },
      (error: unknown) => {
        const refusal = refusalOf(error);
        logger.info({ requestId, path: req.url, status: httpStatusOf[refusal.code], code: refusal.code, reason: refusal.message }, 'websocket refused');
        refuseSocket(socket, refusal, requestId);
      },
    );
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug({ err: error }, 'client error');
    if (socket.writable && error.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${formatHost(address.address)}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      const grace = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      // Keep-alive connections become idle as their in-flight requests finish: close them then.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      server.close(() => {
        clearTimeout(grace);
        clearInterval(sweep);
        agent.destroy();
        logger.info('proxy stopped');
        resolve();
      });
      server.closeIdleConnections();
      for (const socket of openSockets) socket.destroy();
    }));

  return { url, port: address.port, close };
}

/** A refusal for anything `authenticate` threw: coded errors keep their code (the verifier codes every token failure). */
function refusalOf(error: unknown): Refusal {
  if (error instanceof FluxoError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL_SERVER_ERROR', message: `the proxy failed to authenticate the request (${coerceError(error).message})` };
}

function parseUpstream(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `upstream ${JSON.stringify(value)} is not a URL (e.g. http://127.0.0.1:4200)`, { cause: error });
  }
  if (url.protocol !== 'http:') {
    throw new FluxoError('BAD_USER_INPUT', `upstream ${value} must be an http:// URL (the server sits next to the proxy; terminate TLS in front of the proxy)`);
  }
  return url;
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
