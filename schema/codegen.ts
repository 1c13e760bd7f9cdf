// Generates the TypeScript types of the GraphQL contract. The outputs are committed and the test
// command regenerates them and fails on drift (scripts/check-generated.sh), so no hand-written copy
// of the schema can fall out of step.
//
// Two outputs, because the contract must not import the server: schema/generated/graphql.ts holds
// the pure contract types every part imports (it imports nothing); the server's resolver signatures,
// which name its record types as mappers and its context, are generated into
// server/graphql/generated/resolver-types.ts. The resolvers plugin refers to the base types by bare
// name, so that file carries its own copy of them (generated, so it cannot drift).
//
// A third output types the clients' operations: schema/generated/operations.ts holds the variables
// and result of every GraphQL document the CLI, the client and the agent send (the `/* GraphQL */`
// template literals, plucked from their sources; a shared selection is a fragment appended to the
// document, so each literal is valid GraphQL alone). A document that no longer matches the schema
// fails codegen, and a result read differently from what the schema says fails tsc. The plugin
// emits the schema types it needs into the same file, so it imports nothing either.
import type { CodegenConfig } from '@graphql-codegen/cli';

/** The base-type options both outputs share, so a contract type reads the same in either file. */
const contractTypes = {
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: { input: 'string', output: 'number | string' }, JSON: 'unknown' },
  avoidOptionals: { field: true, inputValue: false, object: false },
  maybeValue: 'T | null',
  inputMaybeValue: 'T | null | undefined',
};

const config: CodegenConfig = {
  schema: 'schema/fluxo.graphql',
  generates: {
    'schema/generated/graphql.ts': {
      plugins: ['typescript'],
      config: contractTypes,
    },
    'schema/generated/operations.ts': {
      documents: ['cli/**/*.ts', 'client/**/*.ts', 'agent/**/*.ts', '!**/*.test.ts'],
      plugins: ['typescript-operations'],
      config: {
        ...contractTypes,
        // What a client receives: DateTime is always an ISO-8601 string on the wire (the number is
        // only what resolvers may return before serialization).
        scalars: { DateTime: 'string', JSON: 'unknown' },
        skipTypename: true,
      },
    },
    'server/graphql/generated/resolver-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        ...contractTypes,
        contextType: '../context.js#GraphQLContext',
        mappers: {
          Flow: '../../store/records.js#FlowRecord',
          FlowVersion: '../../store/records.js#FlowVersionRecord',
          FlowRun: '../../store/records.js#FlowRunRecord',
          TaskRun: '../../store/records.js#TaskRunRecord',
          Agent: '../../store/records.js#AgentRecord',
          Project: '../../store/records.js#ProjectRecord',
          LogLine: '../../store/records.js#LogRecord',
          StateTransition: '../../store/records.js#StateTransitionRecord',
          Clock: '../../store/records.js#ClockRecord',
          FlowSchedule: '../../store/records.js#FlowScheduleRecord',
          ConcurrencyLimit: '../../store/records.js#ConcurrencyLimitRecord',
          NotificationRule: '../../store/records.js#NotificationRuleRecord',
          NotificationDelivery: '../../store/records.js#NotificationDeliveryRecord',
          Materialization: '../../store/records.js#MaterializationRecord',
          DataTable: '../../store/records.js#DataTableRecord',
          DataPartition: '../../store/lineage-store.js#DataPartitionRecord',
        },
      },
    },
  },
};
export default config;
