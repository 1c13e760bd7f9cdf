// Resolvers of bulk registration (merged into resolvers.ts): `registerFlows` and `knownBundles`,
// which `fluxo register` uses to register a repository of flows in a few requests. Arguments go
// straight to the core (`service.registerFlows`, core/register-flows.ts), which checks roles and input.
import type { MutationResolvers, QueryResolvers } from './generated/resolver-types.js';

export const registrationQueries: Pick<QueryResolvers, 'knownBundles'> = {
  knownBundles: (_, { sha256 }, ctx) => ctx.service.knownBundles(ctx.identity, sha256),
};

export const registrationMutations: Pick<MutationResolvers, 'registerFlows'> = {
  registerFlows: (_, { inputs }, ctx) => ctx.service.registerFlows(ctx.identity, inputs),
};
