// A small GraphQL client for the CLI and the agent: HTTP POST for queries and mutations (through
// corporate proxies: undici's EnvHttpProxyAgent honours HTTPS_PROXY / NO_PROXY), graphql-ws for
// subscriptions. Errors come back as FluxoError with the server's (or proxy's) code.
//
// undici is loaded only when a proxy variable is set (or a test gives a dispatcher): it costs an
// idle agent ~20 MB of RSS, and Node 20's global fetch (undici inside Node) ~12 MB. Without a
// proxy, requests go out through node:http(s) with a keep-alive agent (docs/benchmarks.md, "Idle agent").
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Client as WsClient } from 'graphql-ws';
import { FluxoError, type ErrorCode } from '../common/errors.js';

export interface GraphQLClientOptions {
  /** The proxy's GraphQL URL, e.g. `http://127.0.0.1:4000/graphql`. */
  apiUrl: string;
  /** Bearer token. */
  token: string;
  /** Per-request timeout in milliseconds. @default 60000 */
  timeoutMs?: number;
  /**
   * Custom undici dispatcher (tests). @default an undici EnvHttpProxyAgent when HTTPS_PROXY or
   * HTTP_PROXY (either spelling) is set, honouring NO_PROXY; else node:http(s) straight to the API
   */
  dispatcher?: Dispatcher;
  /**
   * Extra certificate authorities (PEM) to trust, on top of Node's bundled ones and
   * NODE_EXTRA_CA_CERTS: for the API's own certificate, a TLS-inspecting proxy, or an https://
   * proxy. Ignored with `dispatcher`. @default none
   */
  ca?: string | readonly string[];
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string; details?: unknown };
}

/** Longest wait for a WebSocket to open and for the server's `connection_ack`. */
const WS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Spread over retries of rate-limited requests, so that clients refused together do not all return at once. */
const RATE_LIMIT_JITTER_MS = 250;

/** Thrown for transport failures (connection refused, timeout): the request may be retried. */
export class TransportError extends Error {
  override name = 'TransportError';
}

/**
 * The proxy refused the request with RATE_LIMITED (HTTP 429) and the request's timeout left no
 * time to wait `retryAfterSeconds` (its `Retry-After`) and try again. Retryable like a transport
 * failure: the server never saw the request.
 */
export class RateLimitedError extends TransportError {
  override name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class GraphQLClient {
  readonly apiUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  /** undici's dispatcher, when requests go through undici (see {@link usesUndici}). */
  readonly #dispatcher: Promise<Dispatcher> | undefined;
  /** The keep-alive agent of the node:http(s) path, made on the first request. */
  #agent: Promise<HttpAgent> | undefined;
  /** Authorities to trust (undefined: Node's default) for node:https, the undici dispatcher and a wss:// WebSocket. */
  readonly #ca: Promise<string[] | undefined>;
  #ws: Promise<WsClient> | undefined;

  constructor(options: GraphQLClientOptions) {
    if (!options.apiUrl) throw new TypeError('apiUrl is required');
    this.apiUrl = options.apiUrl;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#ca = trustedAuthorities(options.ca);
    this.#ca.catch(() => undefined);
    if (options.dispatcher) this.#dispatcher = Promise.resolve(options.dispatcher);
    else if (proxyConfigured()) this.#dispatcher = this.#ca.then(proxyAwareDispatcher);
  }

  /**
   * Runs a query or mutation and returns `data`. Throws FluxoError (with the first error's code)
   * when the answer carries errors, TransportError when no answer came. A request the proxy refused
   * with RATE_LIMITED never reached the server, so it is sent again after its `Retry-After` (plus a
   * little jitter) while the timeout allows; then RateLimitedError.
   */
  async request<T>(
    query: string,
    variables: Record<string, unknown> = {},
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    // `signal` lets a caller abandon a request (the agent's long-poll claim when it stops).
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const body = JSON.stringify({ query, variables });
    for (;;) {
      try {
        return await this.#send<T>(body, signal);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        const waitMs = error.retryAfterSeconds * 1000 + Math.random() * RATE_LIMIT_JITTER_MS;
        if (Date.now() + waitMs >= deadline || signal.aborted) throw error;
        await sleep(waitMs, undefined, { signal }).catch(() => {
          throw error;
        });
      }
    }
  }

  async #send<T>(body: string, signal: AbortSignal): Promise<T> {
    let response: HttpAnswer;
    try {
      response = this.#dispatcher ? await postWithUndici(this.apiUrl, this.#headers(), body, await this.#dispatcher, signal) : await this.#post(body, signal);
    } catch (error) {
      throw new TransportError(`cannot reach ${this.apiUrl}: ${describeFetchFailure(error)}`, { cause: error });
    }
    const { text } = response;
    let answer: { data?: T; errors?: GraphQLErrorShape[] };
    try {
      answer = JSON.parse(text);
    } catch (error) {
      if (response.status >= 500) throw new TransportError(`${this.apiUrl} answered HTTP ${response.status}`, { cause: error });
      throw new FluxoError('INTERNAL_SERVER_ERROR', `${this.apiUrl} answered HTTP ${response.status} with a body that is not JSON`);
    }
    const first = answer.errors?.[0];
    if (first) {
      const code = (first.extensions?.code ?? 'INTERNAL_SERVER_ERROR') as ErrorCode;
      if (code === 'SERVICE_UNAVAILABLE') throw new TransportError(first.message);
      if (code === 'RATE_LIMITED') throw new RateLimitedError(first.message, Math.max(1, Number(response.retryAfter) || 1));
      throw new FluxoError(code, first.message, { details: first.extensions?.details });
    }
    if (answer.data === undefined) throw new FluxoError('INTERNAL_SERVER_ERROR', `${this.apiUrl} answered HTTP ${response.status} without data`);
    return answer.data;
  }

  #headers(): Record<string, string> {
    return { 'content-type': 'application/json', authorization: `Bearer ${this.#token}` };
  }

  /**
   * POST through node:http(s). A request that fails with ECONNRESET on a reused keep-alive socket
   * is sent once more on a fresh one: the server closed that idle socket as it was picked, so the
   * request never reached it (Node's documented pattern, `request.reusedSocket`).
   */
  async #post(body: string, signal: AbortSignal): Promise<HttpAnswer> {
    const url = new URL(this.apiUrl);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new TypeError(`apiUrl must be http:// or https://, not ${url.protocol}`);
    const ca = await this.#ca;
    this.#agent ??= secure
      ? import('node:https').then(({ Agent }) => new Agent({ keepAlive: true, ...(ca ? { ca } : {}) }))
      : import('node:http').then(({ Agent }) => new Agent({ keepAlive: true }));
    const agent = await this.#agent;
    const { request } = secure ? await import('node:https') : await import('node:http');
    const options: RequestOptions = { method: 'POST', agent, signal, headers: { ...this.#headers(), 'content-length': Buffer.byteLength(body) } };
    for (let attempt = 1; ; attempt++) {
      try {
        return await postOnce(request, url, options, body);
      } catch (error) {
        const stale = (error as { reusedSocket?: boolean }).reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET';
        if (signal.aborted) throw signal.reason;
        if (!stale || attempt > 1) throw new Error('fetch failed', { cause: error });
      }
    }
  }

  /**
   * Subscribes over graphql-ws; calls `onData` per event until the returned function is called or
   * the stream ends. graphql-ws and ws load on first use: an agent never subscribes, and not
   * loading them keeps its memory down.
   */
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    handlers: { onData: (data: T) => void; onError: (error: Error) => void; onComplete?: () => void },
  ): () => void {
    let unsubscribe: (() => void) | undefined;
    let cancelled = false;
    this.#webSocketClient().then(
      (ws) => {
        if (cancelled) return;
        unsubscribe = ws.subscribe<T>(
          { query, variables },
          {
            next: (result) => {
              const first = (result.errors as GraphQLErrorShape[] | undefined)?.[0];
              if (first) handlers.onError(new FluxoError((first.extensions?.code ?? 'INTERNAL_SERVER_ERROR') as ErrorCode, first.message));
              else if (result.data) handlers.onData(result.data as T);
            },
            error: (error) => {
              // A refused subscribe (by the proxy or the server's validation) is an `error` message: a list of GraphQL errors.
              const refused = Array.isArray(error) ? (error as GraphQLErrorShape[])[0] : undefined;
              const reason = error instanceof Error
                ? error
                : refused
                  ? new FluxoError((refused.extensions?.code ?? 'INTERNAL_SERVER_ERROR') as ErrorCode, refused.message)
                  : new TransportError(describeClose(error));
              handlers.onError(reason);
            },
            complete: () => handlers.onComplete?.(),
          },
        );
      },
      (error: unknown) => handlers.onError(error instanceof Error ? error : new Error(String(error))),
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
    };
  }

  #webSocketClient(): Promise<WsClient> {
    this.#ws ??= (async () => {
      const [{ createClient }, { default: WebSocket }] = await Promise.all([import('graphql-ws'), import('ws')]);
      const token = this.#token;
      const ca = await this.#ca;
      return createClient({
        url: this.apiUrl.replace(/^http/, 'ws'),
        // The token goes on the handshake (Node can set headers) and in connection_init, the way a
        // browser, which cannot, presents it; the proxy takes the header when both are there.
        connectionParams: { authorization: `Bearer ${token}` },
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            // A hop that swallows the upgrade (a proxy passing plain HTTP only) would otherwise leave
            // the subscription waiting forever, neither open nor failed.
            super(address, protocols, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS, ...(ca ? { ca } : {}) });
          }
        },
        lazy: true,
        retryAttempts: 0,
        connectionAckWaitTimeout: WS_HANDSHAKE_TIMEOUT_MS,
      });
    })();
    return this.#ws;
  }

  /** Closes the WebSocket, if one was opened. */
  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    if (agent) (await agent).destroy();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) await (await ws).dispose();
  }
}

/** A POST's answer, from either path. */
interface HttpAnswer {
  status: number;
  /** The `Retry-After` header. */
  retryAfter: string | null;
  text: string;
}

type RequestFunction = (url: URL, options: RequestOptions, callback: (response: IncomingMessage) => void) => import('node:http').ClientRequest;

/** One POST; its error carries `reusedSocket` (whether it went out on a kept-alive socket). */
function postOnce(request: RequestFunction, url: URL, options: RequestOptions, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, retryAfter: retryAfter ?? null, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(body);
  });
}

let undici: Promise<typeof import('undici')> | undefined;

/** POST through undici's fetch (a proxy, or a test's dispatcher). */
async function postWithUndici(url: string, headers: Record<string, string>, body: string, dispatcher: Dispatcher, signal: AbortSignal): Promise<HttpAnswer> {
  const { fetch } = await (undici ??= import('undici'));
  const response = await fetch(url, { method: 'POST', headers, body, dispatcher, signal });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
}

/** Whether HTTPS_PROXY or HTTP_PROXY (either spelling) is set: only then is undici loaded. */
function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => Boolean(env[name]));
}

/**
 * The HTTP dispatcher: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment (undici's
 * EnvHttpProxyAgent; proxied requests, plain http:// ones included, go through a CONNECT tunnel),
 * trusting `ca` (from `trustedAuthorities`; undefined keeps Node's default). Node's TLS trusts its
 * bundled authorities plus NODE_EXTRA_CA_CERTS by default, but an explicit `ca` replaces that
 * default set, so `trustedAuthorities` lists both again. The same list serves the API directly
 * (`connect`), through a tunnel (`requestTls`) and an https:// proxy itself (`proxyTls`).
 */
async function proxyAwareDispatcher(ca: string[] | undefined): Promise<Dispatcher> {
  const { EnvHttpProxyAgent } = await (undici ??= import('undici'));
  if (!ca) return new EnvHttpProxyAgent();
  return new EnvHttpProxyAgent({ connect: { ca }, requestTls: { ca }, proxyTls: { ca } });
}

/** Node's bundled authorities, NODE_EXTRA_CA_CERTS and `extraCa`; undefined (Node's default) without `extraCa`. */
async function trustedAuthorities(extraCa: string | readonly string[] | undefined): Promise<string[] | undefined> {
  if (extraCa === undefined || extraCa.length === 0) return undefined;
  // node:tls (~2 MB) loads only for a client given its own CA.
  const { rootCertificates } = await import('node:tls');
  return [...rootCertificates, ...nodeExtraCaCerts(), ...(typeof extraCa === 'string' ? [extraCa] : extraCa)];
}

function nodeExtraCaCerts(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    // Node itself warns about an unreadable NODE_EXTRA_CA_CERTS at startup.
    return [];
  }
}

/**
 * Reads a PEM bundle of certificate authorities (`--ca-file`). Throws FluxoError BAD_USER_INPUT
 * when it cannot be read or holds no certificate.
 *
 * @example new GraphQLClient({ apiUrl, token, ca: readCaFile('/etc/ssl/corp-ca.pem') })
 */
export function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `cannot read the CA file ${path}: ${(error as Error).message}`, { cause: error, details: { setting: 'caFile' } });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new FluxoError('BAD_USER_INPUT', `the CA file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { details: { setting: 'caFile' } });
  }
  return pem;
}

/**
 * undici says "fetch failed" and keeps the reason (ECONNREFUSED, a certificate error) in `cause`;
 * the node:http path wraps its errors the same way, so both read alike.
 */
function describeFetchFailure(error: unknown): string {
  const message = (error as Error).message;
  const cause = (error as Error).cause as (Error & { code?: string; errors?: Error[] }) | undefined;
  if (!cause) return message;
  const reason = cause.message || cause.errors?.map((inner) => inner.message).join('; ') || cause.code || String(cause);
  return `${message} (${cause.code && !reason.includes(cause.code) ? `${cause.code}: ` : ''}${reason})`;
}

function describeClose(event: unknown): string {
  if (event && typeof event === 'object' && 'code' in event) {
    const { code, reason } = event as { code: number; reason?: string };
    return `subscription closed (${code}${reason ? `: ${reason}` : ''})`;
  }
  return 'subscription failed';
}
