// Resolvers of lineage (merged into resolvers.ts): arguments in, core/lineage.ts with the verified
// identity, records out. Objects below a root field were read under the caller's tenant, so their
// fields read on with the tenant the record carries.
import { FluxoError } from '../../common/errors.js';
import type { FlowRunResolvers, MutationResolvers, QueryResolvers, Resolvers } from './generated/resolver-types.js';
import { getDataTable, historyOf, listDataTables, materializationsOf, partitionsOf, recordMaterializations } from '../core/lineage.js';
import { connection } from './connection.js';

export const lineageQueries: Pick<QueryResolvers, 'dataTables' | 'dataTable'> = {
  dataTables: async (_, args, ctx) =>
    connection(await listDataTables(ctx.service.store, ctx.identity, { dataset: args.dataset, kind: args.kind }, { first: args.first, after: args.after })),
  dataTable: (_, args, ctx) => getDataTable(ctx.service.store, ctx.identity, { dataset: args.dataset, table: args.table, kind: args.kind }),
};

export const lineageMutations: Pick<MutationResolvers, 'recordMaterializations'> = {
  recordMaterializations: async (_, { input }, ctx) => (await recordMaterializations(ctx.service, ctx.identity, input)).length,
};

export const lineageFlowRunFields: Pick<FlowRunResolvers, 'materializations'> = {
  materializations: (run, _, ctx) => materializationsOf(ctx.service.store, run),
};

export const lineageTypes: Pick<Resolvers, 'Materialization' | 'DataTable' | 'DataPartition'> = {
  Materialization: {
    flowRun: async (m, _, ctx) => {
      // Retention deletes a run's writes with the run, so the run is there while its writes are.
      const run = await ctx.service.store.getFlowRun(m.tenant, m.flowRunId);
      if (!run) throw new FluxoError('NOT_FOUND', `flow run ${m.flowRunId} not found`);
      return run;
    },
  },
  DataTable: {
    partitions: (table, args, ctx) => partitionsOf(ctx.service.store, table, args.first),
    history: (table, args, ctx) => historyOf(ctx.service.store, table, args.first),
  },
  DataPartition: {},
};
