// Resolvers of tenant secrets (merged into resolvers.ts): names for users; values only ever leave
// in the claim answer (resolvers.ts, core/claim-secrets.ts). Arguments go straight to the core's
// secrets service (`service.secrets`), which checks roles and input.
import type { MutationResolvers, QueryResolvers } from './generated/resolver-types.js';

export const secretQueries: Pick<QueryResolvers, 'secrets'> = {
  secrets: (_, __, ctx) => ctx.service.secrets.list(ctx.identity),
};

export const secretMutations: Pick<MutationResolvers, 'setSecret' | 'deleteSecret'> = {
  setSecret: (_, { input }, ctx) => ctx.service.secrets.set(ctx.identity, input),
  deleteSecret: (_, { name }, ctx) => ctx.service.secrets.delete(ctx.identity, name),
};
