// Resolvers of restart and rerun (merged into resolvers.ts): arguments in, the core's
// `restartFlowRun` / `rerunFlowRun` (core/restart.ts) with the verified identity, records out.
import type { MutationResolvers } from './generated/resolver-types.js';

export const restartMutations: Pick<MutationResolvers, 'restartFlowRun' | 'rerunFlowRun'> = {
  restartFlowRun: (_, { id }, ctx) => ctx.service.restartFlowRun(ctx.identity, id),
  rerunFlowRun: (_, args, ctx) => ctx.service.rerunFlowRun(ctx.identity, args.id, args.parameters ?? null),
};
