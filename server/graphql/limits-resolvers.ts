// Resolvers of concurrency limits (merged into resolvers.ts): arguments in, the core's limits
// (`service.limits`, core/concurrency-limits.ts) with the verified identity, records out.
import type { MutationResolvers, QueryResolvers } from './generated/resolver-types.js';
import type { GraphQLContext } from './context.js';

export const limitQueries: Pick<QueryResolvers, 'concurrencyLimits'> = {
  concurrencyLimits: (_, __, ctx) => ctx.service.limits.list(ctx.identity),
};

export const limitMutations: Pick<MutationResolvers, 'setConcurrencyLimit' | 'deleteConcurrencyLimit'> = {
  setConcurrencyLimit: (_, { scope, limit }, ctx) => ctx.service.limits.set(ctx.identity, scope, limit),
  deleteConcurrencyLimit: (_, { scope }, ctx) => ctx.service.limits.delete(ctx.identity, scope),
};

/** The database clock, read once per request (the context) and shared by every field that needs it (`Agent.online`). */
const nowByRequest = new WeakMap<GraphQLContext, Promise<number>>();
export function databaseNowOf(ctx: GraphQLContext): Promise<number> {
  let now = nowByRequest.get(ctx);
  if (!now) nowByRequest.set(ctx, (now = ctx.service.agents.databaseNow(ctx.identity)));
  return now;
}
