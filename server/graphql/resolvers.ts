// Thin resolvers: GraphQL arguments in, core calls (FluxoService, its single door) with the verified
// identity, records out as GraphQL shapes (connections, ids). No logic and no store here: the core
// checks roles, scopes by tenant and validates (scripts/check-boundaries.mjs enforces the door).
import { kindToGraphQL, roleToGraphQL } from '../../common/identity.js';
import type { Resolvers } from './generated/resolver-types.js';
import { parseDateTime } from '../core/validate-input.js';
import { connection } from './connection.js';
import { feed } from './subscription-feed.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { securityMutations, securityQueries } from './service-token-resolvers.js';
import { secretMutations, secretQueries } from './secret-resolvers.js';
import { registrationMutations, registrationQueries } from './registration-resolvers.js';
import { flowScheduleField, scheduleMutations, scheduleQueries, scheduleTypes } from './schedule-resolvers.js';
import { notificationMutations, notificationQueries, notificationTypes } from './notification-resolvers.js';
import { limitMutations, limitQueries, databaseNowOf } from './limits-resolvers.js';
import { restartMutations } from './restart-resolvers.js';
import { lineageFlowRunFields, lineageMutations, lineageQueries, lineageTypes } from './lineage-resolvers.js';
import { leaseSignalSubscriptions } from './lease-signal-resolvers.js';
import { lateEntriesMutations, lateEntriesTypes, lateLogLineField } from './late-entries-resolvers.js';
import { runBatchOf } from './run-batch-input.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  JSON: JSONScalar,

  Query: {
    viewer: (_, __, ctx) => ({ subject: ctx.identity.subject, tenant: ctx.identity.tenant, role: roleToGraphQL(ctx.identity.role), kind: kindToGraphQL(ctx.identity.role) }),
    projects: (_, __, ctx) => ctx.service.flows.projects(ctx.identity),
    flows: async (_, args, ctx) => connection(await ctx.service.flows.list(ctx.identity, { project: args.project, first: args.first, after: args.after })),
    flow: (_, args, ctx) => ctx.service.flows.get(ctx.identity, { id: args.id, name: args.name, project: args.project }),
    flowVersion: (_, args, ctx) => ctx.service.flows.version(ctx.identity, args.id),
    flowRuns: async (_, args, ctx) => connection(await ctx.service.runs.list(ctx.identity, args.filter ?? {}, { first: args.first, after: args.after })),
    flowRun: (_, args, ctx) => ctx.service.readFlowRun(ctx.identity, args.id),
    agents: async (_, args, ctx) => connection(await ctx.service.agents.list(ctx.identity, { first: args.first, after: args.after })),
    ...securityQueries,
    ...secretQueries,
    ...registrationQueries,
    ...scheduleQueries,
    ...notificationQueries,
    ...limitQueries,
    ...lineageQueries,
  },

  Mutation: {
    registerFlow: async (_, { input }, ctx) => {
      const { version, created } = await ctx.service.registerFlow(ctx.identity, input);
      return { flowVersion: version, created };
    },
    createFlowRun: (_, { input }, ctx) => ctx.service.createFlowRun(ctx.identity, input),
    cancelFlowRun: (_, { id }, ctx) => ctx.service.cancelFlowRun(ctx.identity, id),
    registerAgent: (_, { input }, ctx) => ctx.service.registerAgent(ctx.identity, input),
    moveAgent: (_, { input }, ctx) => ctx.service.moveAgent(ctx.identity, input),
    claimFlowRuns: (_, { input }, ctx) => ctx.service.claimWork(ctx.identity, input, ctx.signal),
    setFlowRunState: (_, { input }, ctx) => ctx.service.setFlowRunState(ctx.identity, { ...input, batch: runBatchOf(input.batch) }),
    setTaskRunStates: (_, { input }, ctx) =>
      ctx.service.setTaskRunStates(ctx.identity, {
        flowRunId: input.flowRunId,
        leaseToken: input.leaseToken,
        batchId: input.batchId ?? null,
        states: input.states.map((s) => ({
          key: s.key, taskName: s.taskName, mapIndex: s.mapIndex ?? null, attempt: s.attempt, state: s.state, message: s.message ?? null,
          result: s.result ?? null, inputsHash: s.inputsHash ?? null,
        })),
      }),
    writeLogs: async (_, { input }, ctx) => {
      const stored = await ctx.service.writeLogs(ctx.identity, {
        flowRunId: input.flowRunId,
        leaseToken: input.leaseToken,
        batchId: input.batchId,
        lines: input.lines.map((l) => ({
          taskRunKey: l.taskRunKey ?? null,
          level: l.level,
          stream: l.stream,
          message: l.message,
          timestamp: parseDateTime('timestamp', l.timestamp) ?? 0,
        })),
      });
      return stored.length;
    },
    heartbeat: async (_, { input }, ctx) => ({ ...(await ctx.service.heartbeat(ctx.identity, input)), leaseSeconds: Math.floor(ctx.service.leaseMs / 1000) }),
    ...securityMutations,
    ...secretMutations,
    ...registrationMutations,
    ...scheduleMutations,
    ...notificationMutations,
    ...limitMutations,
    ...restartMutations,
    ...lineageMutations,
    ...lateEntriesMutations,
  },

  Subscription: {
    ...leaseSignalSubscriptions,
    flowRunStateChanged: {
      subscribe: (_, { id }, ctx) => feed('flowRunStateChanged', (ended) => ctx.service.runs.states(ctx.identity, id, ended), (flowRun) => ({ flowRun })),
    },
    flowRunLogs: {
      subscribe: (_, { id, after }, ctx) => feed('flowRunLogs', (ended) => ctx.service.runs.logLines(ctx.identity, id, after, ended)),
    },
  },

  Identity: {},
  Project: {},
  Flow: {
    project: (flow, _, ctx) => ctx.service.flows.projectOf(ctx.identity, flow),
    latestVersion: (flow, _, ctx) => ctx.service.flows.latestVersionOf(ctx.identity, flow),
    versions: async (flow, args, ctx) => connection(await ctx.service.flows.versionsOf(ctx.identity, flow, { first: args.first, after: args.after })),
    ...flowScheduleField,
  },
  ...scheduleTypes,
  ...notificationTypes,
  ...lineageTypes,
  ...lateEntriesTypes,
  FlowVersion: {
    flow: (version, _, ctx) => ctx.service.flows.flowOf(ctx.identity, version),
  },
  FlowRun: {
    flow: (run, _, ctx) => ctx.service.flows.flowOf(ctx.identity, run),
    flowVersion: (run, _, ctx) => ctx.service.flows.versionOf(ctx.identity, run),
    agent: (run, _, ctx) => ctx.service.runs.agentOf(ctx.identity, run),
    taskRuns: (run, args, ctx) => ctx.service.runs.taskRunsOf(ctx.identity, run, { first: args.first, after: args.after }),
    stateHistory: (run, _, ctx) => ctx.service.runs.stateHistoryOf(ctx.identity, { flowRunId: run.id, taskRunId: null }),
    logs: async (run, args, ctx) => connection(await ctx.service.runs.logsOf(ctx.identity, run, { first: args.first, after: args.after })),
    waitReason: async (run, _, ctx) => (await ctx.service.runs.waitOf(ctx.identity, run))?.message ?? null,
    wait: (run, _, ctx) => ctx.service.runs.waitOf(ctx.identity, run),
    ...lineageFlowRunFields,
  },
  TaskRun: {
    stateHistory: (task, _, ctx) => ctx.service.runs.stateHistoryOf(ctx.identity, { flowRunId: task.flowRunId, taskRunId: task.id }),
  },
  LogLine: {
    // Never the store's id: it counts every tenant's lines (log-ids.ts).
    id: (line, _, ctx) => ctx.service.logIds.encode(line.id),
    ...lateLogLineField,
  },
  Agent: {
    // Database time, as last_seen_at: a server whose clock drifts still tells online agents apart.
    // One reading per request, however many agents it lists.
    online: async (agent, _, ctx) => ctx.service.agents.online(ctx.identity, agent, await databaseNowOf(ctx)),
  },
};
