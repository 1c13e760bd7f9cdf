// Resolvers of schedules and backfills (merged into resolvers.ts): arguments in, the schedule
// operations (core/schedules.ts) with the verified identity, records out. A flow's schedule, its
// clocks and their next times are reached from a flow or version the caller could already read.
import type { ClockResolvers, FlowResolvers, FlowScheduleResolvers, MutationResolvers, QueryResolvers } from './generated/resolver-types.js';
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
  schedule: (flow, _, ctx) => ctx.service.flows.scheduleOf(ctx.identity, flow),
};

export const scheduleTypes: { Clock: ClockResolvers; FlowSchedule: FlowScheduleResolvers } = {
  Clock: {
    // Next times from the database's now: the server's clock, like the scheduler's.
    nextTimes: (clock, args, ctx) => ctx.service.flows.nextTimesOf(ctx.identity, clock, args.count),
  },
  FlowSchedule: {
    flow: (schedule, _, ctx) => ctx.service.flows.flowOf(ctx.identity, schedule),
    clocks: (schedule) => schedule.version.clocks,
    missedRuns: (schedule) => schedule.version.missedRuns,
    catchUpLimit: (schedule) => schedule.version.catchUpLimit,
  },
};
