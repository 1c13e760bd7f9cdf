// Generates the TypeScript types of the GraphQL contract. The output is committed and the test
// command regenerates it and fails on drift (scripts/check-generated.sh), so no hand-written copy
// of the schema can fall out of step.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema/fluxo.graphql',
  generates: {
    'schema/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: { input: 'string', output: 'number | string' }, JSON: 'unknown' },
        contextType: '../../server/graphql/context.js#GraphQLContext',
        mappers: {
          Flow: '../../server/store/records.js#FlowRecord',
          FlowVersion: '../../server/store/records.js#FlowVersionRecord',
          FlowRun: '../../server/store/records.js#FlowRunRecord',
          TaskRun: '../../server/store/records.js#TaskRunRecord',
          Agent: '../../server/store/records.js#AgentRecord',
          Project: '../../server/store/records.js#ProjectRecord',
          LogLine: '../../server/store/records.js#LogRecord',
          StateTransition: '../../server/store/records.js#StateTransitionRecord',
          Clock: '../../server/store/records.js#ClockRecord',
          FlowSchedule: '../../server/store/records.js#FlowScheduleRecord',
          ConcurrencyLimit: '../../server/store/records.js#ConcurrencyLimitRecord',
          NotificationRule: '../../server/store/records.js#NotificationRuleRecord',
          NotificationDelivery: '../../server/store/records.js#NotificationDeliveryRecord',
          Materialization: '../../server/store/records.js#MaterializationRecord',
          DataTable: '../../server/store/records.js#DataTableRecord',
          DataPartition: '../../server/store/lineage-store.js#DataPartitionRecord',
        },
        avoidOptionals: { field: true, inputValue: false, object: false },
        maybeValue: 'T | null',
        inputMaybeValue: 'T | null | undefined',
      },
    },
  },
};
export default config;
