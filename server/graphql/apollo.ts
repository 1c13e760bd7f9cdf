// The executable schema and the Apollo Server instance, with fluxo's error codes in
// `extensions.code`. Unexpected errors are logged with the request id and answered without a
// stack trace.
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { FluxoError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { unavailableReason } from '../store/database-unavailable.js';
import { typeDefs } from '../../schema/generated/sdl.js';
import type { GraphQLContext } from './context.js';
import { guardFields } from './field-permissions.js';
import { assertCost, defaultLimits, shapeLimitsRule, tokenLimitError, type GraphQLLimits } from './limits.js';
import { resolvers } from './resolvers.js';

/** The executable schema, every field wrapped in its check from field-permissions.ts. */
export function buildSchema(): GraphQLSchema {
  return guardFields(makeExecutableSchema({ typeDefs, resolvers: resolvers as never }));
}

/** How the server answers GraphQL beyond the schema. */
export interface GraphQLServerOptions {
  /** Introspection and field suggestions ("Did you mean ...?") off. @default false */
  production?: boolean;
  /** @default defaultLimits */
  limits?: GraphQLLimits;
}

/** The FluxoError behind a GraphQL error (a resolver's, or a limit's inside a validation error). */
function fluxoErrorIn(error: unknown): FluxoError | undefined {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current instanceof FluxoError ? current : undefined;
}

/** Apollo's own codes that fluxo keeps as they are (they are in the ErrorCode enum). */
const passThrough = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/** The answer to any request carrying `extensions.persistedQuery` (APQ is off: see startApollo). */
export const APQ_REFUSED = 'automatic persisted queries are not supported: send the operation\'s full text in "query", without extensions.persistedQuery';

/** Maps any error to fluxo's formatted error; used by HTTP and WebSocket alike. */
export function formatError(formatted: GraphQLFormattedError, error: unknown, logger: Logger, requestId?: string): GraphQLFormattedError {
  const original = fluxoErrorIn(error) ?? unwrapResolverError(error);
  if (original instanceof FluxoError) {
    return {
      message: original.message,
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: original.code, ...(original.details === undefined ? {} : { details: original.details }) },
    };
  }
  const code = formatted.extensions?.code;
  const tooManyTokens = code === 'GRAPHQL_PARSE_FAILED' ? tokenLimitError(formatted) : undefined;
  if (tooManyTokens) return { message: tooManyTokens.message, extensions: { code: tooManyTokens.code } };
  if (typeof code === 'string' && passThrough.has(code)) {
    return { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), extensions: { code } };
  }
  if (code === 'PERSISTED_QUERY_NOT_SUPPORTED') return { message: APQ_REFUSED, extensions: { code: 'BAD_USER_INPUT' } };
  if (code === 'BAD_REQUEST' || code === 'OPERATION_RESOLUTION_FAILURE') {
    return { message: formatted.message, extensions: { code: 'BAD_USER_INPUT' } };
  }
  const databaseUnavailable = unavailableReason(original) !== null;
  logger.error({ err: original, requestId }, 'unexpected error');
  if (databaseUnavailable) return { message: `the database is unavailable; retry shortly (request ${requestId ?? '?'})`, extensions: { code: 'SERVICE_UNAVAILABLE' } };
  return { message: `internal error (request ${requestId ?? '?'}); the server log has the details`, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** Starts Apollo with fluxo's error handling; `plugins` are added after fluxo's own (the audit plugin). */
export async function startApollo(
  schema: GraphQLSchema,
  logger: Logger,
  plugins: ApolloServerPlugin<GraphQLContext>[] = [],
  options: GraphQLServerOptions = {},
): Promise<ApolloServer<GraphQLContext>> {
  const production = options.production ?? false;
  const limits = options.limits ?? defaultLimits;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    // One operation per request: batching multiplies the cost of a single request.
    allowBatchedHttpRequests: false,
    // No automatic persisted queries (APQ). fluxo's clients always send the query text, and the
    // proxy must read it to check the token's operation kind (it refuses hash-only requests); APQ
    // would add only a cache of query texts and its own failure modes (a mismatched hash used to
    // answer INTERNAL_SERVER_ERROR). Every persistedQuery request gets one coded 400 instead.
    persistedQueries: false,
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules: [shapeLimitsRule(limits)],
    introspection: !production,
    hideSchemaDetailsFromClientErrors: production,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(formatted, error, logger),
    plugins: [
      // fluxo sets no cache hints, and its answers are per caller: the cache-control plugin would
      // only add a hook to every resolved field (Apollo then wraps every resolver to call it).
      ApolloServerPluginCacheControlDisabled(),
      // Nothing of fluxo's goes to Apollo's cloud, whatever APOLLO_KEY the environment holds.
      ApolloServerPluginUsageReportingDisabled(),
      {
        async requestDidStart(requestContext: GraphQLRequestContext<GraphQLContext>) {
          const requestId = requestContext.contextValue.requestId;
          return {
            // The cost depends on page sizes, which usually come in variables: checked once they are known.
            async didResolveOperation({ schema: apiSchema, document, operation, request }) {
              // Apollo executes HTTP requests only; graphql-ws runs subscriptions on its own. A
              // subscription POSTed here would be executed as a query and fail inside; say where to go.
              if (operation?.operation === 'subscription') {
                throw new FluxoError('BAD_USER_INPUT', 'subscriptions are served over WebSocket (the graphql-ws protocol, graphql-transport-ws) at /graphql, not over HTTP POST');
              }
              if (operation) assertCost(apiSchema, document, operation, request.variables, limits.maxCost);
            },
            async willSendResponse({ response }) {
              // formatError has no request context; tag internal errors with the request id here.
              if (response.body.kind !== 'single') return;
              const errors = response.body.singleResult.errors ?? [];
              // Apollo answers a refused persisted query with HTTP 200; it is a bad request.
              if (requestContext.request.extensions?.persistedQuery && errors.length > 0) response.http.status = 400;
              // Nothing but "the database is unavailable": answer HTTP 503 too, so load balancers,
              // proxies and clients that only look at the status know to retry (the body keeps the code).
              if (errors.length > 0 && errors.every((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')) response.http.status = 503;
              for (const e of errors) {
                if (typeof e.message === 'string' && e.message.includes('(request ?)')) {
                  (e as { message: string }).message = e.message.replace('(request ?)', `(request ${requestId})`);
                }
              }
            },
          };
        },
      },
      ...plugins,
    ],
  });
  await apollo.start();
  return apollo;
}
