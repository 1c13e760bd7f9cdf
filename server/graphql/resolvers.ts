// Thin resolvers: arguments in, service or store calls scoped by the identity's tenant, records out.
import { FluxoError } from '../../common/errors.js';
import { kindToGraphQL, roleToGraphQL } from '../../common/identity.js';
import type { Resolvers } from './generated/resolver-types.js';
import { authorize } from '../core/authorize.js';
import { handOutSecrets } from '../core/claim-secrets.js';
import { explainWait, isOnline } from '../core/wait-reason.js';
import { finalStates, type FlowRunRecord, type LogRecord } from '../store/records.js';
import { parseDateTime } from '../core/validate-input.js';
import type { GraphQLContext } from './context.js';
import { connection } from './connection.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { securityMutations, securityQueries } from './service-token-resolvers.js';
import { secretMutations, secretQueries } from './secret-resolvers.js';
import { registrationMutations, registrationQueries } from './registration-resolvers.js';
import { flowScheduleField, scheduleMutations, scheduleQueries, scheduleTypes } from './schedule-resolvers.js';
import { notificationMutations, notificationQueries, notificationTypes } from './notification-resolvers.js';
import { limitMutations, limitQueries, databaseNowOf } from './limits-resolvers.js';
import { restartMutations } from './restart-resolvers.js';
import { storedResultsFor } from '../core/restart.js';
import { outputKeyOf } from '../core/lineage.js';
import { lineageFlowRunFields, lineageMutations, lineageQueries, lineageTypes } from './lineage-resolvers.js';
import { leaseSignalSubscriptions } from './lease-signal-resolvers.js';
import { lateEntriesMutations, lateEntriesTypes, lateLogLineField } from './late-entries-resolvers.js';
import { runBatchOf } from './run-batch-input.js';

function reading(ctx: GraphQLContext): string {
  authorize(ctx.identity, 'read');
  return ctx.identity.tenant;
}

async function must<T>(value: Promise<T | null>, what: string): Promise<T> {
  const found = await value;
  if (found === null) throw new FluxoError('NOT_FOUND', `${what} not found`);
  return found;
}

const isFinal = (run: FlowRunRecord): boolean => finalStates.has(run.state);

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  JSON: JSONScalar,

  Query: {
    viewer: (_, __, ctx) => ({ subject: ctx.identity.subject, tenant: ctx.identity.tenant, role: roleToGraphQL(ctx.identity.role), kind: kindToGraphQL(ctx.identity.role) }),
    projects: (_, __, ctx) => ctx.service.store.listProjects(reading(ctx)),
    flows: async (_, args, ctx) => connection(await ctx.service.store.listFlows(reading(ctx), args.project ?? null, { first: args.first, after: args.after })),
    flow: async (_, args, ctx) => {
      const tenant = reading(ctx);
      if (args.id) return ctx.service.store.getFlow(tenant, args.id);
      if (args.name) return ctx.service.store.findFlow(tenant, args.project ?? 'production', args.name);
      throw new FluxoError('BAD_USER_INPUT', 'give id, or name (and project)');
    },
    flowVersion: (_, args, ctx) => ctx.service.store.getFlowVersion(reading(ctx), args.id),
    flowRuns: async (_, args, ctx) => {
      const filter = args.filter ?? {};
      const page = await ctx.service.store.listFlowRuns(
        reading(ctx),
        {
          flowId: filter.flowId,
          states: filter.states,
          createdAfter: parseDateTime('createdAfter', filter.createdAfter),
          createdBefore: parseDateTime('createdBefore', filter.createdBefore),
          label: filter.label,
        },
        { first: args.first, after: args.after },
      );
      return connection(page);
    },
    flowRun: (_, args, ctx) => ctx.service.readFlowRun(ctx.identity, args.id),
    agents: async (_, args, ctx) => connection(await ctx.service.store.listAgents(reading(ctx), { first: args.first, after: args.after })),
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
    claimFlowRuns: async (_, { input }, ctx) => {
      const claims = await handOutSecrets(ctx.service, ctx.secrets, ctx.identity, await ctx.service.claimFlowRuns(ctx.identity, input, ctx.signal));
      const leaseSeconds = Math.floor(ctx.service.leaseMs / 1000);
      return Promise.all(claims.map(async (c) => ({
        flowRun: c.run, leaseToken: c.leaseToken, leaseExpiresAt: c.leaseExpiresAt, leaseSeconds, secrets: c.secrets,
        storedResults: await storedResultsFor(ctx.service, c.run),
        outputKey: await outputKeyOf(ctx.service.store, c.run),
      })));
    },
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
      // Events come from this replica (in order) and from others (read when notified, so possibly
      // repeated or newer than the change notified): each version is sent once, in increasing order.
      // After a gap (the connection hearing other replicas was down) the run is read again.
      subscribe: async function* (_, { id }, ctx) {
        const tenant = reading(ctx);
        const { events, store } = ctx.service;
        const pending: FlowRunRecord[] = [];
        let reread = false;
        let wake: (() => void) | undefined;
        const onRun = (run: FlowRunRecord): void => {
          if (run.id !== id || run.tenant !== tenant) return;
          pending.push(run);
          wake?.();
        };
        const onGap = (): void => {
          reread = true;
          wake?.();
        };
        events.on('run:changed', onRun);
        events.on('events:gap', onGap);
        try {
          const current = await must(store.getFlowRun(tenant, id), `flow run ${id}`);
          yield { flowRunStateChanged: { flowRun: current } };
          if (isFinal(current)) return;
          let sent = current.version;
          for (;;) {
            if (reread) {
              reread = false;
              const fresh = await store.getFlowRun(tenant, id);
              if (fresh) pending.push(fresh);
            }
            while (pending.length) {
              const run = pending.shift()!;
              if (run.version <= sent) continue;
              sent = run.version;
              yield { flowRunStateChanged: { flowRun: run } };
              if (isFinal(run)) return;
            }
            if (reread) continue;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          events.off('run:changed', onRun);
          events.off('events:gap', onGap);
        }
      },
    },
    flowRunLogs: {
      // Lines are read from the store after the cursor whenever lines of the run are stored (here
      // or on another replica) or events may have been missed: notifications only wake the
      // subscription, so their order across replicas cannot make it skip a line.
      subscribe: async function* (_, { id, after }, ctx) {
        const tenant = reading(ctx);
        const { events, store } = ctx.service;
        await must(store.getFlowRun(tenant, id), `flow run ${id}`);
        // Listen before reading the backlog so no line falls between the two.
        let dirty = true;
        let ended = false;
        let wake: (() => void) | undefined;
        const onLogs = (runId: string): void => {
          if (runId !== id) return;
          dirty = true;
          wake?.();
        };
        const onRun = (run: FlowRunRecord): void => {
          if (run.id === id && isFinal(run)) {
            ended = true;
            dirty = true;
            wake?.();
          }
        };
        const onGap = (): void => {
          dirty = true;
          wake?.();
        };
        events.on('run:logs', onLogs);
        events.on('run:changed', onRun);
        events.on('events:gap', onGap);
        try {
          let cursor = Number(ctx.service.logIds.after(after) ?? 0);
          const run = await store.getFlowRun(tenant, id);
          if (run && isFinal(run)) ended = true;
          for (;;) {
            while (dirty) {
              dirty = false;
              for (;;) {
                const page = await store.listLogs(tenant, id, { first: 1000, after: String(cursor) });
                for (const line of page.nodes) yield { flowRunLogs: line };
                if (page.nodes.length) cursor = page.nodes.at(-1)!.id;
                if (!page.hasNextPage) break;
              }
            }
            // The final state is written after the run's last batch: once it is seen and the
            // store read after it, nothing more comes.
            if (ended) return;
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          events.off('run:logs', onLogs);
          events.off('run:changed', onRun);
          events.off('events:gap', onGap);
        }
      },
    },
  },

  Identity: {},
  Project: {},
  Flow: {
    project: (flow, _, ctx) => must(ctx.service.store.getProject(flow.tenant, flow.projectId), 'project'),
    latestVersion: (flow, _, ctx) => must(ctx.service.store.getLatestFlowVersion(flow.tenant, flow.id), `latest version of ${flow.name}`),
    versions: async (flow, args, ctx) => connection(await ctx.service.store.listFlowVersions(flow.tenant, flow.id, { first: args.first, after: args.after })),
    ...flowScheduleField,
  },
  ...scheduleTypes,
  ...notificationTypes,
  ...lineageTypes,
  ...lateEntriesTypes,
  FlowVersion: {
    flow: (version, _, ctx) => must(ctx.service.store.getFlow(version.tenant, version.flowId), 'flow'),
  },
  FlowRun: {
    flow: (run, _, ctx) => must(ctx.service.store.getFlow(run.tenant, run.flowId), 'flow'),
    flowVersion: (run, _, ctx) => must(ctx.service.store.getFlowVersion(run.tenant, run.flowVersionId), 'flow version'),
    agent: (run, _, ctx) => (run.agentId ? ctx.service.store.getAgent(run.tenant, run.agentId) : null),
    taskRuns: (run, args, ctx) => ctx.service.store.listTaskRuns(run.tenant, run.id, { first: args.first ?? 1000, after: args.after }),
    stateHistory: (run, _, ctx) => ctx.service.store.listStateTransitions(run.tenant, run.id, null),
    logs: async (run, args, ctx) => {
      const { logIds } = ctx.service;
      const page = await ctx.service.store.listLogs(run.tenant, run.id, { first: args.first, after: logIds.after(args.after) });
      // The store's cursor is its global id: shown encrypted like the lines' ids (log-ids.ts).
      return connection({ ...page, endCursor: page.endCursor === null ? null : logIds.encode(Number(page.endCursor)) });
    },
    waitReason: async (run, _, ctx) => (await explainWait(ctx.service.store, run, ctx.service.leaseMs))?.message ?? null,
    wait: (run, _, ctx) => explainWait(ctx.service.store, run, ctx.service.leaseMs),
    ...lineageFlowRunFields,
  },
  TaskRun: {
    stateHistory: (task, _, ctx) => ctx.service.store.listStateTransitions(task.tenant, task.flowRunId, task.id),
  },
  LogLine: {
    // Never the store's id: it counts every tenant's lines (log-ids.ts).
    id: (line, _, ctx) => ctx.service.logIds.encode(line.id),
    ...lateLogLineField,
  },
  Agent: {
    // Database time, as last_seen_at: a server whose clock drifts still tells online agents apart.
    // One reading per request, however many agents it lists.
    online: async (agent, _, ctx) => isOnline(agent, await databaseNowOf(ctx), ctx.service.leaseMs),
  },
};
