// Resolvers of concurrency limits (merged into resolvers.ts): arguments in, the limits operations
// (core/limits.ts) with the verified identity, records out.
import type { MutationResolvers, QueryResolvers } from './generated/resolver-types.js';
import type { GraphQLContext } from './context.js';
import { deleteConcurrencyLimit, listConcurrencyLimits, setConcurrencyLimit } from '../core/limits.js';

export const limitQueries: Pick<QueryResolvers, 'concurrencyLimits'> = {
  concurrencyLimits: (_, __, ctx) => listConcurrencyLimits(ctx.service.store, ctx.identity),
};

export const limitMutations: Pick<MutationResolvers, 'setConcurrencyLimit' | 'deleteConcurrencyLimit'> = {
  setConcurrencyLimit: (_, { scope, limit }, ctx) => setConcurrencyLimit(ctx.service.store, ctx.identity, scope, limit),
  deleteConcurrencyLimit: (_, { scope }, ctx) => deleteConcurrencyLimit(ctx.service.store, ctx.identity, scope),
};

/** The database clock, read once per request (the context) and shared by every field that needs it (`Agent.online`). */
const nowByRequest = new WeakMap<GraphQLContext, Promise<number>>();
export function databaseNowOf(ctx: GraphQLContext): Promise<number> {
  let now = nowByRequest.get(ctx);
  if (!now) nowByRequest.set(ctx, (now = ctx.service.store.now()));
  return now;
}
