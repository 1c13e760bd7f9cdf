// The interface's only way to the server: GraphQL over HTTP POST to /graphql on the host that
// served the page, and graphql-ws subscriptions on the same path (ws: or wss: as the page). The
// bearer token goes in the Authorization header (in connection_init for WebSockets, which cannot
// carry headers from a browser), the admin's tenant switch in x-fluxo-tenant.
import { createClient, type Client } from 'graphql-ws';
import { getSession, signOut, subscribeSession } from './session';

/** A GraphQL or transport error, with the API's stable code (`extensions.code`). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Codes that mean the token is no longer good: the session ends and the sign-in page says why. */
const SESSION_ENDING = new Set(['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_SIGNATURE_INVALID', 'TOKEN_KEY_UNKNOWN', 'TOKEN_ISSUER_MISMATCH', 'TOKEN_AUDIENCE_MISMATCH', 'TOKEN_TYPE_INVALID', 'TOKEN_CLAIM_MISSING', 'TOKEN_UNSIGNED', 'TOKEN_ALGORITHM_NOT_ALLOWED', 'TOKEN_HEADER_FORBIDDEN', 'TOKEN_NOT_YET_VALID']);

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: unknown } }[];
}

/** Headers every API request carries. */
export function authHeaders(): Record<string, string> {
  const session = getSession();
  if (!session) return {};
  return { authorization: `Bearer ${session.token}`, ...(session.tenant ? { 'x-fluxo-tenant': session.tenant } : {}) };
}

/**
 * Runs a query or mutation; resolves with `data`, rejects with an ApiError carrying the first
 * error's code. A refused token ends the session.
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() },
      body: JSON.stringify({ query, variables }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError('the fluxo API cannot be reached; check the network and retry', 'NETWORK');
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`the API answered HTTP ${response.status} without JSON`, 'INTERNAL_SERVER_ERROR');
  }
  const first = body.errors?.[0];
  if (first) {
    const code = first.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
    if (SESSION_ENDING.has(code)) signOut(`${code}: ${first.message}`);
    throw new ApiError(first.message, code, first.extensions?.details);
  }
  if (!body.data) throw new ApiError(`the API answered HTTP ${response.status} without data`, 'INTERNAL_SERVER_ERROR');
  return body.data;
}

let wsClient: Client | null = null;

/** The WebSocket client of the current session (one connection, lazily opened, shared). */
export function subscriptions(): Client {
  if (wsClient) return wsClient;
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
  wsClient = createClient({
    url,
    lazy: true,
    retryAttempts: 5,
    connectionParams: () => {
      const session = getSession();
      return session ? { authorization: `Bearer ${session.token}`, ...(session.tenant ? { 'x-fluxo-tenant': session.tenant } : {}) } : {};
    },
  });
  return wsClient;
}

// A new token or tenant needs a new connection: the proxy admits a connection once.
let lastKey = '';
subscribeSession(() => {
  const session = getSession();
  const key = session ? `${session.token}\n${session.tenant ?? ''}` : '';
  if (key !== lastKey && wsClient) {
    void wsClient.dispose();
    wsClient = null;
  }
  lastKey = key;
});

/**
 * Subscribes to a GraphQL subscription; `onData` gets each event's data. Returns the unsubscribe
 * function.
 */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (error: ApiError) => void): () => void {
  return subscriptions().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        const first = result.errors?.[0];
        if (first) onError(new ApiError(first.message, String((first.extensions as { code?: string } | undefined)?.code ?? 'INTERNAL_SERVER_ERROR')));
        else if (result.data) onData(result.data as T);
      },
      error: (error) => {
        const message = error instanceof Error ? error.message : error instanceof CloseEvent ? `connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''})` : 'subscription failed';
        onError(new ApiError(message, 'NETWORK'));
      },
      complete: () => undefined,
    },
  );
}
