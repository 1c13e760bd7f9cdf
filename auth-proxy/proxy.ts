// The auth proxy: the only door to the fluxo server. It verifies each caller's bearer token,
// replaces whatever identity the caller claimed with one it signs itself (in another tenant, for an
// admin who asks), charges per-token and per-tenant rate limits, checks each GraphQL operation
// against the token's kind, and forwards HTTP and graphql-ws traffic to the server, which trusts
// nothing but that signed identity. It can terminate TLS itself.
import { randomUUID } from 'node:crypto';
import { Agent, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { JSONWebKeySet } from 'jose';
import { FluxoError, httpStatusOf } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { createAdmission, type AuditRecorder } from './admission.js';
import { createAuditForwarder } from './audit-forwarder.js';
import type { OidcIssuerConfig } from './auth-config.js';
import { TENANT_HEADER } from './forward-headers.js';
import { forwardHttp } from './forward-http.js';
import { createWebSocketRelay } from './forward-websocket.js';
import { GRAPHQL_PATH, readPostBody, readSearch } from './graphql-request.js';
import { createOperationKindChecker } from './operation-kinds.js';
import { createRateLimiter, type RateLimit } from './rate-limit.js';
import { refuse, type Refusal } from './refuse.js';
import { checkTlsCredentials, type TlsCredentials } from './tls.js';
import { createServiceTokenVerifier } from './service-tokens.js';
import { createUiRoutes } from './ui-routes.js';
import { isUiPath, UI_CONFIG_PATH } from '../common/ui-paths.js';
import { createTokenVerifier } from './verify-token.js';

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
  /** Trusted OpenID providers (`loadAuthConfig(path).oidcIssuers`). @default [] */
  oidcIssuers?: OidcIssuerConfig[];
  /** How long a verified service token is trusted before the server is asked again (bounds how late a revocation takes effect). @default 30 */
  serviceTokenCacheSeconds?: number;
  /** Certificate and key: the proxy serves HTTPS and WSS. @default plain HTTP */
  tls?: TlsCredentials;
  /** Per-token and per-tenant token buckets; null disables one. @default { perToken: 50:100, perTenant: 300:600 } */
  rateLimits?: { perToken?: RateLimit | null; perTenant?: RateLimit | null };
  /** Most lexical tokens in a GraphQL document (more is QUERY_TOO_COMPLEX). @default 5000 */
  maxQueryTokens?: number;
  /** How long a WebSocket client has to send `connection_init`. @default 3000 */
  connectionInitTimeoutMs?: number;
  /** Where refusals are recorded. @default createAuditForwarder: appended to the server's audit log */
  audit?: AuditRecorder & { close?(): Promise<void> };
}

/** A listening proxy. */
export interface RunningProxy {
  /** Base URL, e.g. `http://127.0.0.1:4000` or `https://...` with TLS (the GraphQL endpoint is `${url}/graphql`). */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes WebSockets. */
  close(): Promise<void>;
}

/** Paths of the server only the proxy itself calls. */
const INTERNAL_PREFIX = '/internal/';

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
  if (options.tls) checkTlsCredentials(options.tls);
  const logger = options.logger ?? createLogger('proxy');
  const identitySecret = options.identitySecret;
  const verify = createTokenVerifier({
    serviceTokens: createServiceTokenVerifier({ upstream, identitySecret, cacheSeconds: options.serviceTokenCacheSeconds }),
    publicKeys: options.publicKeys,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceSeconds: options.clockToleranceSeconds,
    oidcIssuers: options.oidcIssuers,
  });
  const audit = options.audit ?? createAuditForwarder({ upstream, identitySecret, logger });
  const admission = createAdmission({
    verify,
    identitySecret,
    rateLimiter: createRateLimiter(options.rateLimits),
    kinds: createOperationKindChecker({ maxTokens: options.maxQueryTokens }),
    audit,
  });
  const ui = createUiRoutes(options.oidcIssuers ?? []);
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const httpSettings = { upstream, agent, maxBodyBytes, upstreamTimeoutMs: options.upstreamTimeoutMs ?? 300_000, logger };
  const webSockets = createWebSocketRelay({
    upstream,
    admission,
    logger,
    maxPayloadBytes: maxBodyBytes,
    connectionInitTimeoutMs: options.connectionInitTimeoutMs,
    newRequestId: randomUUID,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = performance.now();
    const url = parseRequestUrl(req.url);
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
      return;
    }
    if (url.pathname.startsWith(INTERNAL_PREFIX)) {
      // The server's proxy-only routes (service-token checks, forwarded audit events): never a client's.
      refuse(res, { code: 'NOT_FOUND', message: `no route ${url.pathname}; the API is at ${GRAPHQL_PATH}` }, requestId);
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && isUiPath(url.pathname)) {
      // The web interface's public files: no token, no identity; the API below keeps every check.
      if (url.pathname === UI_CONFIG_PATH) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : ui.configBody);
        return;
      }
      const outcome = await forwardHttp(req, res, { identity: '', requestId, clientAddress: req.socket.remoteAddress }, httpSettings, {
        path: `${url.pathname}${url.search}`,
        responseHeaders: ui.adjustHeaders,
      });
      logger.debug({ requestId, method: req.method, path: url.pathname, status: outcome.status, ms: Math.round(performance.now() - started) }, 'ui request');
      return;
    }
    const admitted = await admission.admit({ authorization: req.headers.authorization, tenant: req.headers[TENANT_HEADER], requestId, clientAddress: req.socket.remoteAddress });
    if ('refusal' in admitted) {
      logRefusal(logger, req, url.pathname, requestId, admitted.refusal);
      refuse(res, admitted.refusal, requestId);
      return;
    }
    // GraphQL is served at /graphql only; the server executes nothing elsewhere (it answers NOT_FOUND).
    const isGraphQL = url.pathname === GRAPHQL_PATH;
    const check = (read: ReturnType<typeof readPostBody>): Refusal | undefined => {
      if (read === 'unreadable') return undefined; // not JSON: the server answers GRAPHQL_PARSE_FAILED
      if ('refusal' in read) return read.refusal;
      return admission.checkOperation(admitted, read.request, requestId);
    };
    let inspect: ((body: Buffer) => Refusal | undefined) | undefined;
    if (isGraphQL && req.method === 'POST') inspect = (body) => check(readPostBody(body));
    if (isGraphQL && req.method === 'GET') {
      const refusal = check(readSearch(url.search));
      if (refusal) {
        logRefusal(logger, req, url.pathname, requestId, refusal);
        refuse(res, refusal, requestId);
        return;
      }
    }
    const { identity } = admitted;
    const outcome = await forwardHttp(req, res, admitted.headerValues, httpSettings, { path: `${url.pathname}${url.search}`, ...(inspect ? { inspect } : {}) });
    if (outcome.refusal) logRefusal(logger, req, url.pathname, requestId, outcome.refusal);
    logger.info(
      {
        requestId,
        method: req.method,
        path: url.pathname,
        status: outcome.status,
        subject: identity.subject,
        tenant: identity.tenant,
        role: identity.role,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      refuse(res, { code: 'INTERNAL_SERVER_ERROR', message: 'the proxy failed to handle the request; its log has the details' }, 'unknown');
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    webSockets.handleUpgrade(req, socket, head, randomUUID());
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug({ err: error }, 'client error');
    if (socket.writable && error.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // A client that fails the TLS handshake (an untrusted certificate) ends there; worth a debug line only.
  server.on('tlsClientError', (error: Error) => logger.debug({ err: error }, 'TLS handshake failed'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${formatHost(address.address)}:${address.port}`;

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
        (audit.close?.() ?? Promise.resolve()).then(
          () => undefined,
          (error: unknown) => logger.warn({ err: error }, 'the audit forwarder did not flush'),
        ).finally(() => {
          logger.info('proxy stopped');
          resolve();
        });
      });
      server.closeIdleConnections();
      webSockets.close();
    }));

  return { url, port: address.port, close };
}

function logRefusal(logger: Logger, req: IncomingMessage, path: string, requestId: string, refusal: Refusal): void {
  logger.info({ requestId, method: req.method, path, status: httpStatusOf[refusal.code], code: refusal.code, reason: refusal.message }, 'request refused');
}

/**
 * The request target as the server will read it (`new URL(target, base)`), so path and query are
 * judged and forwarded in one reading.
 */
function parseRequestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://proxy');
  } catch {
    return new URL('/', 'http://proxy');
  }
}

function parseUpstream(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `upstream ${JSON.stringify(value)} is not a URL (e.g. http://127.0.0.1:4200)`, { cause: error });
  }
  if (url.protocol !== 'http:') {
    throw new FluxoError('BAD_USER_INPUT', `upstream ${value} must be an http:// URL (the server sits next to the proxy; the proxy terminates TLS with --tls-cert and --tls-key)`);
  }
  return url;
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
