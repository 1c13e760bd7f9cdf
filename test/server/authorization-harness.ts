// A real server in this process (SQLite in a temporary file), called the way the auth proxy calls
// it: HTTP and graphql-ws on 127.0.0.1 with a signed identity header, any tenant, role and subject.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../common/identity.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/http-server.js';
import { openSqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup, tempDir } from '../support/harness.js';

/** One GraphQL answer as it came over the wire. */
export interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface TestServer {
  server: RunningServer;
  store: Store;
  /** POSTs one operation as `identity`. */
  post(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<Answer>;
  /** POSTs any body as `identity` (a batch, malformed JSON); a JSON array comes back as it is. */
  postRaw(identity: Identity, body: string): Promise<Answer | Answer[]>;
  /** Runs an operation over graphql-ws as `identity`: its first result, or the error it ended with. */
  overWebSocket(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<Answer>;
}

/** Starts a server on a fresh SQLite database, stopped after the test (or file, from beforeAll). */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const identitySecret = new Uint8Array(randomBytes(32));
  const store = openSqliteStore(`${await tempDir()}/fluxo.db`);
  await store.migrate();
  const server = await startServer({ store, identitySecret, logger: pino({ level: 'silent' }), port: 0, ...options });
  onCleanup(async () => {
    await server.close();
    await store.close();
  });

  async function postRaw(identity: Identity, body: string): Promise<Answer | Answer[]> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await signIdentity(identity, identitySecret) },
      body,
    });
    const parsed = (await response.json()) as Answer | Answer[];
    return Array.isArray(parsed) ? parsed : { ...parsed, status: response.status };
  }

  return {
    server,
    store,
    postRaw,
    post: async (identity, query, variables = {}) => (await postRaw(identity, JSON.stringify({ query, variables }))) as Answer,
    async overWebSocket(identity, query, variables = {}) {
      const header = await signIdentity(identity, identitySecret);
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
