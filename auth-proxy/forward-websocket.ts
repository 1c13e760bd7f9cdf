// WebSockets (graphql-ws, subprotocol graphql-transport-ws) end in the proxy. Browsers cannot set
// Authorization on a WebSocket, so a client may authenticate either on the handshake (the header,
// as Node clients do) or with its first message, `connection_init` carrying
// `payload.authorization: "Bearer <token>"`. Only once the caller is admitted does the proxy open
// its own WebSocket to the server, with the signed identity on the handshake, and send it the
// `connection_init` minus the token. From then on messages are relayed both ways; each `subscribe`
// is charged to the rate limits and checked against the token's kind, and refused with an `error`
// message for its id, so the server never sees it. The connection closes with 4401 when the token
// expires, so a subscription cannot outlive its credential.
//
// Close codes follow graphql-ws (CloseCode): 4400 bad message, 4401 not authenticated (no token,
// a refused token, a message before connection_init, the token expired), 4403 forbidden (tenant
// switch), 4406 wrong subprotocol, 4408 no connection_init in time, 4429 a second connection_init;
// plus RFC 6455's 1013 "try again later" for RATE_LIMITED and an unreachable server, 1011 for
// failures of the proxy or the server, and 1001 when the proxy shuts down.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL } from 'graphql-ws';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { httpStatusOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { Admission, Admitted } from './admission.js';
import { TENANT_HEADER, upstreamHeaders } from './forward-headers.js';
import { joinPath } from './forward-http.js';
import { readSubscribePayload } from './graphql-request.js';
import { refuseSocket, type Refusal } from './refuse.js';

/** The graphql-ws subprotocol; the only one the proxy speaks. */
export const GRAPHQL_TRANSPORT_WS = GRAPHQL_TRANSPORT_WS_PROTOCOL;

/** How long a client has to send `connection_init` (graphql-ws's default). @default 3000 */
export const DEFAULT_CONNECTION_INIT_TIMEOUT_MS = 3_000;

/** How long a client has to answer the proxy's close frame when the proxy shuts down. */
const CLOSING_HANDSHAKE_MS = 1_000;
/** Bytes the proxy holds for a client that reads too slowly before it closes the connection. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** setTimeout's largest delay (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the relay needs from the proxy. */
export interface WebSocketRelaySettings {
  upstream: URL;
  admission: Admission;
  logger: Logger;
  /** Largest message accepted from a client. */
  maxPayloadBytes: number;
  /** @default DEFAULT_CONNECTION_INIT_TIMEOUT_MS */
  connectionInitTimeoutMs?: number;
  /** A new request id per connection and per subscribe. */
  newRequestId: () => string;
}

/** The proxy's WebSocket side. */
export interface WebSocketRelay {
  /** Takes over an HTTP upgrade: refuses it, or accepts it and relays until either side closes. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, requestId: string): void;
  /** Closes every relayed connection (1001), cutting those that do not answer within a second. */
  close(): void;
}

interface GraphQLWsMessage {
  type?: unknown;
  id?: unknown;
  payload?: unknown;
}

/**
 * Builds the relay; the proxy hands it every upgrade request.
 *
 * @example server.on('upgrade', (req, socket, head) => relay.handleUpgrade(req, socket, head, randomUUID()))
 */
export function createWebSocketRelay(settings: WebSocketRelaySettings): WebSocketRelay {
  const { admission, logger } = settings;
  const initTimeoutMs = settings.connectionInitTimeoutMs ?? DEFAULT_CONNECTION_INIT_TIMEOUT_MS;
  if (!Number.isInteger(initTimeoutMs) || initTimeoutMs < 1) throw new TypeError('connectionInitTimeoutMs must be a positive integer');
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxPayloadBytes,
    handleProtocols: (offered) => (offered.has(GRAPHQL_TRANSPORT_WS) ? GRAPHQL_TRANSPORT_WS : false),
  });
  const clients = new Set<WebSocket>();

  // Browsers cannot set headers on a WebSocket either: an admin's tenant switch may also come in
  // connection_init's payload, next to the token (`payload["x-fluxo-tenant"]`).
  const credentialsOf = (req: IncomingMessage, authorization: string | undefined, requestId: string, payloadTenant?: string) => ({
    authorization,
    tenant: req.headers[TENANT_HEADER] ?? payloadTenant,
    requestId,
    clientAddress: req.socket.remoteAddress,
  });

  const relay = (client: WebSocket, req: IncomingMessage, requestId: string, admittedOnHandshake: Admitted | undefined): void => {
    clients.add(client);
    const log = logger.child({ requestId });
    let upstream: WebSocket | undefined;
    /** Checked messages waiting for the upstream socket to open. */
    const pending: string[] = [];
    /** Messages that arrived while the token was being verified, kept parsed for the check that follows. */
    const held: { text: string; message: GraphQLWsMessage }[] = [];
    let stopExpiry: (() => void) | undefined;
    let initTimer: NodeJS.Timeout | undefined;

    const close = (code: number, reason: string): void => {
      if (client.readyState === WebSocket.OPEN || client.readyState === WebSocket.CONNECTING) client.close(code, closeReason(reason));
      upstream?.terminate();
    };
    client.on('close', () => {
      clients.delete(client);
      clearTimeout(initTimer);
      stopExpiry?.();
      if (upstream?.readyState === WebSocket.OPEN) upstream.close(1000);
      else upstream?.terminate();
    });
    client.on('error', (error) => log.debug({ err: error }, 'client websocket error'));

    if (client.protocol !== GRAPHQL_TRANSPORT_WS) {
      client.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
      return;
    }
    initTimer = setTimeout(() => close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout'), initTimeoutMs);

    const connectUpstream = (admitted: Admitted, init: GraphQLWsMessage): void => {
      stopExpiry = onExpiry(admitted.verified.expiresAtMs, () => {
        log.info('websocket closed: the bearer token expired');
        close(CloseCode.Unauthorized, 'token expired');
      });
      const url = new URL(joinPath(settings.upstream, req.url ?? '/'), settings.upstream);
      url.protocol = 'ws:';
      const socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS, {
        headers: upstreamHeaders(req.headers, admitted.headerValues, { websocket: true }) as Record<string, string>,
        perMessageDeflate: false,
      });
      upstream = socket;
      socket.on('open', () => {
        socket.send(JSON.stringify(withoutAuthorization(init)));
        for (const message of pending.splice(0)) socket.send(message);
        log.info({ subject: admitted.identity.subject, tenant: admitted.identity.tenant, role: admitted.identity.role }, 'websocket connected');
      });
      socket.on('message', (data: RawData, isBinary: boolean) => {
        if (client.bufferedAmount > MAX_BUFFERED_BYTES) {
          close(1008, 'the client reads too slowly');
          return;
        }
        client.send(data, { binary: isBinary });
      });
      socket.on('close', (code: number, reason: Buffer) => {
        if (code === 1006) close(1011, 'the fluxo server closed the connection');
        else close(code === 1005 ? 1000 : code, reason.toString('utf8'));
      });
      socket.on('unexpected-response', (_request, response: IncomingMessage) => {
        log.warn({ status: response.statusCode }, 'the server refused the websocket handshake');
        close(1011, `the fluxo server refused the connection (HTTP ${response.statusCode ?? 0})`);
        response.resume();
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        log.warn({ err: error, upstream: settings.upstream.origin }, 'upstream websocket error');
        close(1013, `SERVICE_UNAVAILABLE: the fluxo server is not reachable (${error.code ?? error.message}); retry shortly`);
      });
    };

    /** A message once the caller is admitted: subscribes are checked, anything else relayed. */
    const forward = (admitted: Admitted, text: string, message: GraphQLWsMessage): void => {
      if (message.type === 'connection_init') {
        close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
        return;
      }
      if (message.type === 'subscribe') {
        if (typeof message.id !== 'string' || message.id === '') {
          close(CloseCode.BadRequest, 'Invalid message received');
          return;
        }
        const operationId = settings.newRequestId();
        const read = readSubscribePayload(message.payload);
        const refusal = 'refusal' in read ? read.refusal : (admission.charge(admitted, operationId) ?? admission.checkOperation(admitted, read.request, operationId));
        if (refusal) {
          log.info({ code: refusal.code, reason: refusal.message, subscription: message.id }, 'subscribe refused');
          client.send(JSON.stringify({ id: message.id, type: 'error', payload: [errorOf(refusal)] }));
          return;
        }
      }
      if (upstream?.readyState === WebSocket.OPEN) upstream.send(text);
      else pending.push(text);
    };

    let admitted: Admitted | undefined;
    let authenticating = false;
    client.on('message', (data: RawData) => {
      const text = rawText(data);
      const message = parseMessage(text);
      if (!message) {
        close(CloseCode.BadRequest, 'Invalid message received');
        return;
      }
      if (admitted) {
        forward(admitted, text, message);
        return;
      }
      if (authenticating) {
        // graphql-ws clients wait for connection_ack before subscribing; a client that does not has
        // its messages held until the token is verified, then checked like any other.
        if (message.type === 'connection_init') close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
        else held.push({ text, message });
        return;
      }
      if (message.type !== 'connection_init') {
        close(CloseCode.Unauthorized, 'Unauthorized');
        return;
      }
      clearTimeout(initTimer);
      if (admittedOnHandshake) {
        admitted = admittedOnHandshake;
        connectUpstream(admitted, message);
        return;
      }
      authenticating = true;
      const authorization = authorizationOf(message.payload);
      admission.admit(credentialsOf(req, authorization, requestId, tenantOf(message.payload))).then(
        (outcome) => {
          if ('refusal' in outcome) {
            log.info({ code: outcome.refusal.code, reason: outcome.refusal.message }, 'websocket refused');
            close(closeCodeOf(outcome.refusal), `${outcome.refusal.code}: ${outcome.refusal.message}`);
            return;
          }
          if (client.readyState !== WebSocket.OPEN) return;
          admitted = outcome;
          authenticating = false;
          const early = held.splice(0);
          connectUpstream(outcome, message);
          for (const { text, message: heldMessage } of early) forward(outcome, text, heldMessage);
        },
        (error: unknown) => {
          log.error({ err: error }, 'websocket authentication failed');
          close(1011, 'the proxy failed to authenticate the connection');
        },
      );
    });
  };

  return {
    handleUpgrade(req, socket, head, requestId) {
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        refuseSocket(socket, { code: 'BAD_USER_INPUT', message: `only WebSocket upgrades are supported, not ${JSON.stringify(req.headers.upgrade)}` }, requestId);
        return;
      }
      const accept = (admitted: Admitted | undefined): void => {
        server.handleUpgrade(req, socket, head, (client) => relay(client, req, requestId, admitted));
      };
      const authorization = req.headers.authorization;
      if (authorization === undefined) {
        accept(undefined);
        return;
      }
      // A client that can send the header (Node) learns of a refusal as an HTTP answer.
      admission.admit(credentialsOf(req, authorization, requestId)).then(
        (outcome) => {
          if ('refusal' in outcome) {
            logger.info({ requestId, path: req.url, status: httpStatusOf[outcome.refusal.code], code: outcome.refusal.code, reason: outcome.refusal.message }, 'websocket refused');
            refuseSocket(socket, outcome.refusal, requestId);
          } else {
            accept(outcome);
          }
        },
        (error: unknown) => {
          logger.error({ requestId, err: error }, 'websocket authentication failed');
          refuseSocket(socket, { code: 'INTERNAL_SERVER_ERROR', message: `the proxy failed to authenticate the connection (request id ${requestId})` }, requestId);
        },
      );
    },
    close() {
      for (const client of clients) client.close(1001, 'the proxy is shutting down');
      // A client that does not answer the closing handshake within a second is cut.
      setTimeout(() => {
        for (const client of clients) client.terminate();
      }, CLOSING_HANDSHAKE_MS).unref();
      server.close();
    },
  };
}

/** The close code for a refused connection (graphql-ws's codes where they fit). */
function closeCodeOf(refusal: Refusal): number {
  const status = httpStatusOf[refusal.code];
  if (status === 401) return CloseCode.Unauthorized;
  if (status === 403) return CloseCode.Forbidden;
  if (status === 429 || status === 503) return 1013;
  if (status === 400 || status === 413) return CloseCode.BadRequest;
  return 1011;
}

/** Close reasons are limited to 123 bytes of UTF-8. */
function closeReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.byteLength <= 123) return reason;
  // Cut on a character boundary: decoding a truncated multi-byte sequence yields U+FFFD, dropped here.
  return bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '') + '...';
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function parseMessage(text: string): GraphQLWsMessage | undefined {
  try {
    const message: unknown = JSON.parse(text);
    return message && typeof message === 'object' && !Array.isArray(message) && typeof (message as GraphQLWsMessage).type === 'string' ? (message as GraphQLWsMessage) : undefined;
  } catch {
    return undefined;
  }
}

function authorizationOf(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const value = (payload as Record<string, unknown>).authorization;
  return typeof value === 'string' ? value : undefined;
}

/** The tenant an admin's browser asks for in `connection_init` (`payload["x-fluxo-tenant"]`), if any. */
function tenantOf(payload: unknown): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const value = (payload as Record<string, unknown>)[TENANT_HEADER];
  return typeof value === 'string' ? value : undefined;
}

/** The `connection_init` the server gets: the same, minus any credential in its payload. */
function withoutAuthorization(init: GraphQLWsMessage): GraphQLWsMessage {
  if (!init.payload || typeof init.payload !== 'object') return init;
  const payload = Object.fromEntries(Object.entries(init.payload).filter(([name]) => name.toLowerCase() !== 'authorization'));
  return { ...init, payload };
}

function errorOf(refusal: Refusal) {
  return { message: refusal.message, extensions: { code: refusal.code, ...(refusal.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: refusal.retryAfterSeconds }) } };
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
