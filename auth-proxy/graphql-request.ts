// Reading the GraphQL request out of an HTTP request or a graphql-ws `subscribe` message, the way
// the server reads it (Apollo's runHttpQuery, graphql-ws's validateMessage), so that the operation
// the proxy checks is the one the server would execute. Whatever the proxy cannot read as a single
// operation with its text is refused here, never forwarded unchecked: batches, and requests without
// a query (Apollo would run a persisted query by its hash, a text the proxy never saw).
import type { Refusal } from './refuse.js';
import type { GraphQLRequestText } from './operation-kinds.js';

/** The path the server serves GraphQL on; other paths execute nothing and pass unchecked. */
export const GRAPHQL_PATH = '/graphql';

/** A request to check, a refusal, or `unreadable`: a body the server cannot read either (not JSON), left to it to answer. */
export type ReadRequest = { request: GraphQLRequestText } | { refusal: Refusal } | 'unreadable';

const NO_QUERY: Refusal = {
  code: 'BAD_USER_INPUT',
  message: 'the request has no GraphQL query: send {"query": "...", "variables": {...}} (persisted queries by hash alone are not accepted through the proxy)',
};
const BATCHED: Refusal = { code: 'BAD_USER_INPUT', message: 'batched requests are not supported: send one operation per request' };

/** Reads a POST body (JSON `{query, operationName, variables}`). */
export function readPostBody(body: Buffer): ReadRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'unreadable';
  }
  if (Array.isArray(parsed)) return { refusal: BATCHED };
  return requestFrom(parsed);
}

/** Reads a GET request's search string (`?query=...&operationName=...`). */
export function readSearch(search: string): ReadRequest {
  const params = new URLSearchParams(search);
  const queries = params.getAll('query');
  if (queries.length > 1) return { refusal: { code: 'BAD_USER_INPUT', message: 'the query parameter may be given only once' } };
  const query = queries[0];
  if (!query) return { refusal: NO_QUERY };
  return { request: { query, operationName: params.get('operationName') ?? undefined } };
}

/** Reads a graphql-ws `subscribe` message's payload; a refusal when it has no query. */
export function readSubscribePayload(payload: unknown): { request: GraphQLRequestText } | { refusal: Refusal } {
  return requestFrom(payload);
}

function requestFrom(value: unknown): { request: GraphQLRequestText } | { refusal: Refusal } {
  if (!value || typeof value !== 'object') return { refusal: NO_QUERY };
  const { query, operationName } = value as { query?: unknown; operationName?: unknown };
  if (typeof query !== 'string' || query === '') return { refusal: NO_QUERY };
  return { request: { query, operationName: typeof operationName === 'string' ? operationName : undefined } };
}
