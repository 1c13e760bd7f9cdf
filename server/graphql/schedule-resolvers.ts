// Resolvers of schedules and backfills (merged into resolvers.ts): arguments in, the schedule
// operations (core/schedules.ts) with the verified identity, records out. A flow's schedule, its
// clocks and their next times are reached from a flow or version the caller could already read.
import { nextClockTimes } from '../../common/clocks.js';
import type { ClockResolvers, FlowResolvers, FlowScheduleResolvers, MutationResolvers, QueryResolvers } from './generated/resolver-types.js';
import { clockTiming } from '../core/schedules.js';
import { checkInt } from '../core/validate-input.js';
import { FluxoError } from '../../common/errors.js';
import { connection } from './connection.js';

export const scheduleQueries: Pick<QueryResolvers, 'schedules'> = {
  schedules: async (_, args, ctx) =>
    connection(await ctx.service.schedules.list(ctx.identity, { project: args.project, state: args.state }, { first: args.first, after: args.after })),
};

export const scheduleMutations: Pick<MutationResolvers, 'pauseSchedule' | 'resumeSchedule' | 'backfillFlowRuns'> = {
  pauseSchedule: (_, args, ctx) => ctx.service.schedules.pause(ctx.identity, args),
  // Resuming wakes the scheduler (schedules.ts), so the horizon fills without waiting for a pass.
  resumeSchedule: (_, args, ctx) => ctx.service.schedules.resume(ctx.identity, args),
  backfillFlowRuns: (_, { input }, ctx) => ctx.service.schedules.backfill(ctx.identity, input),
};

/** `Flow.schedule`, spread into the Flow resolvers. */
export const flowScheduleField: Pick<FlowResolvers, 'schedule'> = {
  schedule: (flow, _, ctx) => ctx.service.store.getFlowSchedule(flow.tenant, flow.id),
};

export const scheduleTypes: { Clock: ClockResolvers; FlowSchedule: FlowScheduleResolvers } = {
  Clock: {
    // Next times from the database's now: the server's clock, like the scheduler's.
    nextTimes: async (clock, args, ctx) => {
      const count = checkInt('count', args.count, 1, 100, 3);
      return nextClockTimes(clockTiming(clock), await ctx.service.store.now(), count);
    },
  },
  FlowSchedule: {
    flow: async (schedule, _, ctx) => {
      const flow = await ctx.service.store.getFlow(schedule.tenant, schedule.flowId);
      if (!flow) throw new FluxoError('NOT_FOUND', 'flow not found');
      return flow;
    },
    clocks: (schedule) => schedule.version.clocks,
    missedRuns: (schedule) => schedule.version.missedRuns,
    catchUpLimit: (schedule) => schedule.version.catchUpLimit,
  },
};
