// A real fluxo server in this process (startServer on a real store, real HTTP on 127.0.0.1) and
// the requests the proxy would send it: GraphQL with a signed identity header, internal routes
// with the proxy credential.
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../../common/logger.js';
import { IDENTITY_HEADER, PROXY_CREDENTIAL_HEADER, REQUEST_ID_HEADER, signIdentity, signProxyCredential, type Identity } from '../../../common/identity.js';
import { startServer, type RunningServer } from '../../../server/http-server.js';
import type { Store } from '../../../server/store/store.js';
import { onCleanup } from '../../support/harness.js';

export interface TestServer {
  server: RunningServer;
  store: Store;
  secret: Uint8Array;
  /** POST /graphql as `identity`; resolves with the HTTP status and parsed body. */
  graphql(identity: Identity, query: string, variables?: Record<string, unknown>, requestId?: string): Promise<{ status: number; body: GraphQLBody }>;
  /** POST an internal route with the proxy credential (or the given headers instead). */
  internal(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Starts a server on an already migrated `store`, stopped after the test. */
export async function startTestServer(store: Store): Promise<TestServer> {
  const secret = new Uint8Array(randomBytes(32));
  const server = await startServer({ store, identitySecret: secret, logger: createLogger('test', 'silent'), port: 0 });
  onCleanup(() => server.close());
  const post = async (path: string, headers: Record<string, string>, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  };
  return {
    server,
    store,
    secret,
    async graphql(identity, query, variables = {}, requestId) {
      const headers = { [IDENTITY_HEADER]: await signIdentity(identity, secret), ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}) };
      const { status, body } = await post('/graphql', headers, { query, variables });
      return { status, body: body as GraphQLBody };
    },
    async internal(path, body, headers) {
      return post(path, headers ?? { [PROXY_CREDENTIAL_HEADER]: await signProxyCredential(secret) }, body);
    },
  };
}
