// The server's one port: GraphQL over HTTP (Apollo) and graphql-ws subscriptions on /graphql, plus
// /healthz. Every request must carry the identity the auth proxy signed; nothing else gets in.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { HeaderMap } from '@apollo/server';
import { WebSocket, WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { FluxoError } from '../common/errors.js';
import { IDENTITY_HEADER, REQUEST_ID_HEADER, type Identity } from '../common/identity.js';
import { identityVerifier } from './identity-cache.js';
import type { SecretsKeyring } from '../common/keys.js';
import type { Logger } from '../common/logger.js';
import { EventBus } from './core/events.js';
import { readBody, refuse, refuseUpgrade } from './http-responses.js';
import { relayRemoteChanges } from './core/remote-events.js';
import { SecretCipher } from './core/secret-cipher.js';
import { TenantSecrets } from './core/secrets.js';
import { Notifications } from './core/notifications.js';
import { leaseKeyFrom } from './core/lease-binding.js';
import { FluxoService } from './core/service.js';
import { AuditLog } from './core/audit-log.js';
import { auditPlugin, auditWebSocketOperation } from './graphql/audit-plugin.js';
import { createInternalRoutes } from './internal-routes.js';
import { defaultUiDir, loadUiFiles } from './ui-static.js';
import { isUiPath, UI_CONFIG_PATH } from '../common/ui-paths.js';
import { startLeaderServices } from './services/leader-services.js';
import type { Scheduler } from './services/scheduler.js';
import { DEFAULT_RETENTION_DAYS } from './services/retention.js';
import { buildSchema, formatError, startApollo } from './graphql/apollo.js';
import { defaultLimits, prepareOperation } from './graphql/limits.js';
import type { GraphQLContext } from './graphql/context.js';
import type { Store } from './store/store.js';
import type { StorageRoots } from '../storage/storage-location.js';

export interface ServerOptions {
  store: Store;
  /** Secret shared with the auth proxy (at least 32 bytes). */
  identitySecret: Uint8Array;
  logger: Logger;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 4200 */
  port?: number;
  /** @default 30000 */
  leaseMs?: number;
  /** How often the lease reaper looks for expired leases. @default 1000 */
  reaperIntervalMs?: number;
  /**
   * How often a replica that does not lead tries to take the lead (and the leader checks it still
   * holds it). The lease reaper and retention run on the leader only. @default 5000
   */
  leaderRetryMs?: number;
  /** Days finished runs are kept, for tenants without their own setting; 0 keeps them forever. @default 30 */
  retentionDays?: number;
  /** Time between retention passes (on the leader). @default 3600000 */
  retentionIntervalMs?: number;
  /** Told when this replica becomes the leader or stops being it. */
  onLeaderChange?: (leader: boolean) => void;
  /** Largest request body accepted. @default 8 MiB */
  maxBodyBytes?: number;
  /** Production mode: no introspection, no field suggestions in errors (docs/security.md). @default false */
  production?: boolean;
  /** Keys that seal tenant secrets; without them secrets answer SECRETS_UNAVAILABLE and the rest works. */
  secretsKeyring?: SecretsKeyring | undefined;
  /** Where each tenant's bundles may live; registerFlow refuses any other storageUri. @default unconfined */
  storageRoots?: StorageRoots | undefined;
  /** The zone of cron clocks that name none (`--timezone`). @default 'UTC' */
  timezone?: string;
  /** How far ahead the scheduler creates runs (`--schedule-horizon`). @default 3600000 */
  scheduleHorizonMs?: number;
  /** Time between scheduler passes (`--scheduler-interval-ms`; a registration or resume wakes it too). @default 5000 */
  schedulerIntervalMs?: number;
  /** Notification settings (`--public-url`, `--allow-http-webhooks`, `--late-after-minutes`, `--notification-backoff`, `--notifier-interval-ms`). */
  notifications?: NotificationServerOptions;
  /** The web interface's build, served without an identity (docs/ui.md); null serves none. @default dist/ui */
  uiDir?: string | null;
}

/** The server's notification settings (docs/operators.md#notifications). */
export interface NotificationServerOptions {
  /** Base URL of the UI behind the proxy; run links are `<publicUrl>/runs/<id>`. @default none (no links) */
  publicUrl?: string | undefined;
  /** Accept http:// receivers on a loopback address (tests, local receivers). @default false */
  allowHttpWebhooks?: boolean;
  /** A SCHEDULED run this long past its time is LATE. @default 900000 */
  lateAfterMs?: number;
  /** Waits between delivery attempts; attempts = waits + 1. @default 5 s, 30 s, 2 min, 10 min, 1 h */
  backoffMs?: number[];
  /** Time between notifier passes. @default 1000 */
  intervalMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  service: FluxoService;
  /** Whether this replica runs the leader's services (the lease reaper, retention, the scheduler) right now. */
  readonly leader: { readonly isLeader: boolean; readonly scheduler: Scheduler | null };
  /** Steps down as leader, stops listening and closes every connection; later calls wait for the first. */
  close(): Promise<void>;
}

const hangUps = new WeakMap<WebSocket, AbortSignal>();

/**
 * The signal an operation over graphql-ws gets: aborted when its client hangs up, so a claim's
 * long-poll stops waiting and claims nothing for an agent that is gone (over HTTP the response's
 * close does the same). One per socket, shared by its operations: a listener per operation would
 * pile up on a socket that carries many subscriptions.
 */
function hangUpSignalOf(socket: WebSocket): AbortSignal {
  let signal = hangUps.get(socket);
  if (signal === undefined) {
    const aborter = new AbortController();
    if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) aborter.abort();
    else socket.once('close', () => aborter.abort());
    signal = aborter.signal;
    hangUps.set(socket, signal);
  }
  return signal;
}

/**
 * The signal an HTTP request's operation gets: aborted when the client hangs up before the answer
 * is complete (a long-poll then claims nothing for an agent that is gone). Most operations never
 * read it, so the AbortController is made on first read: one per request cost more than the
 * field-level authorization of the whole answer.
 */
function hangUpSignalOfResponse(res: ServerResponse): () => AbortSignal {
  let aborter: AbortController | undefined;
  let hungUp = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    hungUp = true;
    aborter?.abort();
  });
  return () => {
    if (!aborter) {
      aborter = new AbortController();
      if (hungUp) aborter.abort();
    }
    return aborter.signal;
  };
}

/**
 * An HTTP request's resolver context. `signal` is a getter on the prototype, not an own property:
 * Apollo copies the context's own properties for each operation (Object.assign onto an object with
 * the same prototype), which would call an own getter and make the AbortController every time.
 */
class HttpContext implements GraphQLContext {
  constructor(
    readonly identity: Identity,
    readonly service: FluxoService,
    readonly requestId: string,
    readonly hangUpSignal: () => AbortSignal,
  ) {}

  get signal(): AbortSignal {
    return this.hangUpSignal();
  }
}

/** Starts the server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { store, identitySecret, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const events = new EventBus();
  const secrets = new TenantSecrets(store.secrets, options.secretsKeyring ? new SecretCipher(options.secretsKeyring) : null);
  const notify = options.notifications ?? {};
  const notifications = new Notifications(store, { secretsAvailable: options.secretsKeyring !== undefined, allowHttpWebhooks: notify.allowHttpWebhooks ?? false });
  const service = new FluxoService(store, events, {
    leaseMs: options.leaseMs ?? 30_000,
    leaseKey: leaseKeyFrom(identitySecret),
    ...(options.storageRoots ? { storageRoots: options.storageRoots } : {}),
    ...(options.timezone ? { timezone: options.timezone } : {}),
    secrets,
    notifications,
  });
  const audit = new AuditLog(store.audit);
  const internal = createInternalRoutes({ store, identitySecret, audit, logger });
  const schema = buildSchema();
  const production = options.production ?? false;
  const apollo = await startApollo(schema, logger, [auditPlugin(audit, logger)], { production });
  const ui = options.uiDir === null ? null : await loadUiFiles(options.uiDir ?? defaultUiDir());
  const verifyIdentity = identityVerifier(identitySecret);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://server');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url.pathname === '/readyz') {
      // Ready means the database answers: a replica that cannot reach it is taken out of rotation.
      try {
        await store.now();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', leader: leader.isLeader }));
      } catch (error) {
        refuse(res, error instanceof FluxoError ? error : new FluxoError('SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly'));
      }
      return;
    }
    if (url.pathname.startsWith('/internal/')) return internal(req, res, url.pathname);
    // The interface's static files are public; /ui-config.json is the proxy's own answer.
    if (ui && url.pathname !== UI_CONFIG_PATH && isUiPath(url.pathname) && ui.serve(req, res, url.pathname)) return;
    const requestId = (req.headers[REQUEST_ID_HEADER] as string | undefined) ?? randomUUID();
    let identity: Identity;
    try {
      identity = await verifyIdentity(req.headers[IDENTITY_HEADER] as string | undefined);
    } catch (error) {
      logger.warn({ requestId, path: url.pathname, remote: req.socket.remoteAddress }, 'refused a request without a valid identity');
      const { code, message } = error as FluxoError;
      void audit.record([{ at: Date.now(), tenant: null, subject: null, role: null, action: 'server.authenticate', requestId, outcome: 'DENIED', code, detail: message }]);
      return refuse(res, error as FluxoError);
    }
    if (url.pathname !== '/graphql') return refuse(res, new FluxoError('NOT_FOUND', `no route ${url.pathname}; the API is at /graphql`));
    let body: unknown;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, maxBodyBytes);
      } catch (error) {
        return refuse(res, error instanceof FluxoError ? error : new FluxoError('BAD_USER_INPUT', 'could not read the request body'));
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return refuse(res, new FluxoError('GRAPHQL_PARSE_FAILED', 'the request body is not JSON; send {"query": "...", "variables": {...}}'));
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(key, value);
    const context: GraphQLContext = new HttpContext(identity, service, requestId, hangUpSignalOfResponse(res));
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => context,
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      if (!res.headersSent) refuse(res, new FluxoError('INTERNAL_SERVER_ERROR', 'internal error; the server log has the details'));
      else res.destroy();
    });
  });
  // Long-polls hold requests up to 30 s; keep idle sockets a little longer than the proxy does.
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBodyBytes });
  const identities = new WeakMap<IncomingMessage, Identity>();
  const wsServer = useServer<Record<string, unknown>, { request: IncomingMessage }>(
    {
      schema,
      context: (ctx) => {
        const identity = identities.get(ctx.extra.request)!;
        const requestId = (ctx.extra.request.headers[REQUEST_ID_HEADER] as string | undefined) ?? randomUUID();
        return { identity, service, requestId, signal: hangUpSignalOf(ctx.extra.socket) } satisfies GraphQLContext;
      },
      // The same parsing, validation and limits as Apollo applies over HTTP.
      onSubscribe: (_ctx, _id, payload) => prepareOperation({ schema, limits: defaultLimits, production }, payload),
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ errors }, 'subscription error');
        return errors.map((e) => formatError(e.toJSON(), e, logger));
      },
      onOperation: async (_ctx, _id, _payload, args, result) => {
        const { identity, requestId } = args.contextValue as GraphQLContext;
        const operation = { identity, requestId, document: args.document, operationName: args.operationName, variables: args.variableValues ?? {} };
        return auditWebSocketOperation(audit, logger, operation, await result);
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!('errors' in result) || !result.errors) return;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e, logger)) } as never;
      },
    },
    wss,
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const { pathname } = new URL(req.url ?? '/', 'http://server');
    // Subscriptions live where the API does, as over HTTP; any other path is not a route.
    const admitted =
      pathname === '/graphql'
        ? verifyIdentity(req.headers[IDENTITY_HEADER] as string | undefined)
        : Promise.reject(new FluxoError('NOT_FOUND', `no route ${pathname}; the API (and its WebSocket) is at /graphql`));
    admitted.then(
      (identity) => {
        identities.set(req, identity);
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      },
      (error: unknown) => {
        if (!(error instanceof FluxoError)) logger.error({ err: error }, 'websocket upgrade failed');
        refuseUpgrade(socket, error instanceof FluxoError ? error : new FluxoError('INTERNAL_SERVER_ERROR', 'internal error; the server log has the details'));
      },
    );
  });

  // Other replicas' changes wake this one's long-polls and subscriptions (PostgreSQL); the lease
  // reaper and retention run on whichever replica leads.
  const remote = relayRemoteChanges(store, events, logger);
  const leader = startLeaderServices({
    service,
    logger,
    retryMs: options.leaderRetryMs ?? 5_000,
    reaperIntervalMs: options.reaperIntervalMs ?? 1_000,
    retention: { defaultDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS, intervalMs: options.retentionIntervalMs ?? 3_600_000 },
    scheduler: { horizonMs: options.scheduleHorizonMs ?? 3_600_000, intervalMs: options.schedulerIntervalMs ?? 5_000 },
    notifier: {
      secrets,
      publicUrl: notify.publicUrl,
      ...(notify.lateAfterMs !== undefined ? { lateAfterMs: notify.lateAfterMs } : {}),
      ...(notify.backoffMs !== undefined ? { backoffMs: notify.backoffMs } : {}),
      ...(notify.intervalMs !== undefined ? { intervalMs: notify.intervalMs } : {}),
    },
    ...(options.onLeaderChange ? { onChange: options.onLeaderChange } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 4200, options.host ?? '127.0.0.1', resolve);
    });
  } catch (error) {
    await leader.close();
    await remote.close();
    await wsServer.dispose();
    await apollo.stop();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    service,
    leader,
    close() {
      closing ??= (async () => {
        await leader.close();
        await remote.close();
        await wsServer.dispose();
        wss.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await apollo.stop();
        await audit.flush();
      })();
      return closing;
    },
  };
}
