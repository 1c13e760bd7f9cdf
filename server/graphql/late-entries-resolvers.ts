// deliverLateRunEntries (merged into resolvers.ts): arguments in, core/late-entries.ts with the
// verified identity, a count out. LogLine.late and StateTransition.late read the stored flag.
import type { MutationResolvers, Resolvers } from './generated/resolver-types.js';
import { deliverLateRunEntries } from '../core/late-entries.js';
import { parseDateTime } from '../core/validate-input.js';

export const lateEntriesMutations: Pick<MutationResolvers, 'deliverLateRunEntries'> = {
  deliverLateRunEntries: (_, { input }, ctx) =>
    deliverLateRunEntries(ctx.service, ctx.identity, {
      agentId: input.agentId,
      flowRunId: input.flowRunId,
      attempt: input.attempt,
      batchId: input.batchId,
      states: (input.taskRunStates ?? []).map((s) => ({
        key: s.key, taskName: s.taskName, mapIndex: s.mapIndex ?? null, attempt: s.attempt, state: s.state, message: s.message ?? null,
        result: s.result ?? null, inputsHash: s.inputsHash ?? null,
      })),
      lines: (input.logLines ?? []).map((l) => ({
        taskRunKey: l.taskRunKey ?? null,
        level: l.level,
        stream: l.stream,
        message: l.message,
        timestamp: parseDateTime('timestamp', l.timestamp) ?? 0,
      })),
    }),
};

/** Records written before migration 013, or built in memory by a live write, carry no flag: not late. */
export const lateEntriesTypes: Pick<Resolvers, 'StateTransition'> = {
  StateTransition: {
    late: (transition) => transition.late === true,
  },
};

/** Spread into resolvers.ts' LogLine. */
export const lateLogLineField = {
  late: (line: { late?: boolean }): boolean => line.late === true,
};
