// SetFlowRunStateInput.batch as the service takes it (core/run-batch.ts checks it): the same
// mapping the setTaskRunStates and writeLogs resolvers apply to their inputs.
import type { RunBatchArgs } from '../core/run-batch.js';
import { parseDateTime } from '../core/validate-input.js';
import type { RunBatchInput } from './generated/resolver-types.js';

/** The batch with optional fields made explicit and timestamps parsed (BAD_USER_INPUT for a bad one); null when there is none. */
export function runBatchOf(batch: RunBatchInput | null | undefined): RunBatchArgs | null {
  if (batch == null) return null;
  return {
    batchId: batch.batchId,
    taskRunStates: (batch.taskRunStates ?? []).map((s) => ({
      key: s.key, taskName: s.taskName, mapIndex: s.mapIndex ?? null, attempt: s.attempt, state: s.state, message: s.message ?? null,
      result: s.result ?? null, inputsHash: s.inputsHash ?? null,
    })),
    logLines: (batch.logLines ?? []).map((l, i) => ({
      taskRunKey: l.taskRunKey ?? null,
      level: l.level,
      stream: l.stream,
      message: l.message,
      timestamp: parseDateTime(`batch.logLines[${i}].timestamp`, l.timestamp) ?? 0,
    })),
    materializations: batch.materializations ?? [],
  };
}
