// A real fluxo server in this process (startServer on a real store, real HTTP and graphql-ws on
// 127.0.0.1), called the way the auth proxy calls it: GraphQL with a signed identity header (any
// tenant, role and subject), internal routes with the proxy credential.
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../../common/logger.js';
import { IDENTITY_HEADER, PROXY_CREDENTIAL_HEADER, REQUEST_ID_HEADER, signIdentity, signProxyCredential, type Identity } from '../../common/identity.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/http-server.js';
import { openSqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup, tempDir } from './harness.js';

/** A GraphQL response body. */
export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One GraphQL answer as it came over the wire: the body with the HTTP status beside it. */
export interface Answer extends GraphQLBody {
  status: number;
}

export interface TestServer {
  server: RunningServer;
  store: Store;
  /** The identity secret the server verifies identity headers and proxy credentials with. */
  secret: Uint8Array;
  /** POSTs one operation as `identity`: the status and the body apart. */
  graphql(identity: Identity, query: string, variables?: Record<string, unknown>, requestId?: string): Promise<{ status: number; body: GraphQLBody }>;
  /** POSTs one operation as `identity` and answers its data; errors throw (for a test's setup steps). */
  data<T>(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<T>;
  /** POSTs one operation as `identity`: the body with its status. */
  post(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<Answer>;
  /** POSTs any body as `identity` (a batch, malformed JSON); a JSON array comes back as it is. */
  postRaw(identity: Identity, body: string): Promise<Answer | Answer[]>;
  /** POSTs an internal route with the proxy credential (or the given headers instead). */
  internal(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  /** Runs an operation over graphql-ws as `identity`: its first result, or the error it ended with. */
  overWebSocket(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<Answer>;
}

/**
 * Starts a server, stopped after the test (or file, from beforeAll). Without `options.store` it
 * opens a fresh SQLite database, closed with the server; a given store stays the caller's.
 *
 * @example const api = await startTestServer({ store, leaseMs: 60_000 })
 */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const secret = new Uint8Array(randomBytes(32));
  const ownStore = options.store === undefined;
  const store = options.store ?? openSqliteStore(`${await tempDir()}/fluxo.db`);
  if (ownStore) await store.migrate();
  const server = await startServer({ identitySecret: secret, logger: createLogger('test', 'silent'), port: 0, ...options, store });
  onCleanup(async () => {
    await server.close();
    if (ownStore) await store.close();
  });

  const request = async (path: string, headers: Record<string, string>, body: string) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  };
  const as = async (identity: Identity, requestId?: string) => ({
    [IDENTITY_HEADER]: await signIdentity(identity, secret),
    ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}),
  });
  const postRaw = async (identity: Identity, body: string): Promise<Answer | Answer[]> => {
    const answer = await request('/graphql', await as(identity), body);
    return Array.isArray(answer.body) ? (answer.body as Answer[]) : { ...(answer.body as GraphQLBody), status: answer.status };
  };

  return {
    server,
    store,
    secret,
    async graphql(identity, query, variables = {}, requestId) {
      const { status, body } = await request('/graphql', await as(identity, requestId), JSON.stringify({ query, variables }));
      return { status, body: body as GraphQLBody };
    },
    async data<T>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const { body } = await request('/graphql', await as(identity), JSON.stringify({ query, variables }));
      const answer = body as GraphQLBody;
      if (answer.errors) throw new Error(JSON.stringify(answer.errors));
      return answer.data as T;
    },
    postRaw,
    post: async (identity, query, variables = {}) => (await postRaw(identity, JSON.stringify({ query, variables }))) as Answer,
    async internal(path, body, headers) {
      return request(path, headers ?? { [PROXY_CREDENTIAL_HEADER]: await signProxyCredential(secret) }, JSON.stringify(body));
    },
    async overWebSocket(identity, query, variables = {}) {
      const header = await signIdentity(identity, secret);
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: { [IDENTITY_HEADER]: header } });
          }
        },
        retryAttempts: 0,
        lazy: true,
      });
      try {
        return await new Promise<Answer>((resolve, reject) => {
          const stop = client.subscribe<Record<string, unknown>>({ query, variables }, {
            next: (result) => {
              resolve({ status: 200, data: result.data ?? null, ...(result.errors ? { errors: result.errors as Answer['errors'] } : {}) });
              stop();
            },
            // graphql-ws answers a refused operation with an `error` message: a list of errors.
            error: (error) => (Array.isArray(error) ? resolve({ status: 200, errors: error as Answer['errors'] }) : reject(error)),
            complete: () => resolve({ status: 200, data: null }),
          });
        });
      } finally {
        await client.dispose();
      }
    },
  };
}

/** The codes of an answer's errors, in order. */
export const codesOf = (answer: Answer): (string | undefined)[] => (answer.errors ?? []).map((e) => e.extensions?.code);
