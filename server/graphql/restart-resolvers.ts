// Resolvers of restart and rerun (merged into resolvers.ts): arguments in, core/restart.ts with
// the verified identity, records out.
import type { MutationResolvers } from './generated/resolver-types.js';
import { rerunFlowRun, restartFlowRun } from '../core/restart.js';

export const restartMutations: Pick<MutationResolvers, 'restartFlowRun' | 'rerunFlowRun'> = {
  restartFlowRun: (_, { id }, ctx) => restartFlowRun(ctx.service, ctx.identity, id),
  rerunFlowRun: (_, args, ctx) => rerunFlowRun(ctx.service, ctx.identity, args.id, args.parameters ?? null),
};
