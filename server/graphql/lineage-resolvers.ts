// Resolvers of lineage (merged into resolvers.ts): arguments in, the core's lineage
// (`service.lineage`, core/lineage-service.ts) with the verified identity, records out.
import type { FlowRunResolvers, MutationResolvers, QueryResolvers, Resolvers } from './generated/resolver-types.js';
import { connection } from './connection.js';

export const lineageQueries: Pick<QueryResolvers, 'dataTables' | 'dataTable'> = {
  dataTables: async (_, args, ctx) =>
    connection(await ctx.service.lineage.tables(ctx.identity, { dataset: args.dataset, kind: args.kind }, { first: args.first, after: args.after })),
  dataTable: (_, args, ctx) => ctx.service.lineage.table(ctx.identity, { dataset: args.dataset, table: args.table, kind: args.kind }),
};

export const lineageMutations: Pick<MutationResolvers, 'recordMaterializations'> = {
  recordMaterializations: async (_, { input }, ctx) => (await ctx.service.lineage.record(ctx.identity, input)).length,
};

export const lineageFlowRunFields: Pick<FlowRunResolvers, 'materializations'> = {
  materializations: (run, _, ctx) => ctx.service.lineage.materializationsOf(ctx.identity, run),
};

export const lineageTypes: Pick<Resolvers, 'Materialization' | 'DataTable' | 'DataPartition'> = {
  Materialization: {
    flowRun: (m, _, ctx) => ctx.service.runs.byId(ctx.identity, m.flowRunId),
  },
  DataTable: {
    partitions: (table, args, ctx) => ctx.service.lineage.partitionsOf(ctx.identity, table, args.first),
    history: (table, args, ctx) => ctx.service.lineage.historyOf(ctx.identity, table, args.first),
  },
  DataPartition: {},
};
