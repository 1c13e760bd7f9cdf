// Resolvers of concurrency limits (merged into resolvers.ts): arguments in, the limits operations
// (core/limits.ts) with the verified identity, records out.
import type { MutationResolvers, QueryResolvers } from '../../schema/generated/graphql.js';
import { deleteConcurrencyLimit, listConcurrencyLimits, setConcurrencyLimit } from '../core/limits.js';

export const limitQueries: Pick<QueryResolvers, 'concurrencyLimits'> = {
  concurrencyLimits: (_, __, ctx) => listConcurrencyLimits(ctx.service.store, ctx.identity),
};

export const limitMutations: Pick<MutationResolvers, 'setConcurrencyLimit' | 'deleteConcurrencyLimit'> = {
  setConcurrencyLimit: (_, { scope, limit }, ctx) => setConcurrencyLimit(ctx.service.store, ctx.identity, scope, limit),
  deleteConcurrencyLimit: (_, { scope }, ctx) => deleteConcurrencyLimit(ctx.service.store, ctx.identity, scope),
};
