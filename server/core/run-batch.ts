// The entries that ride with a state write (SetFlowRunStateInput.batch, issue 14), checked the way
// setTaskRunStates, writeLogs and recordMaterializations check theirs (same codes, same limits),
// all before anything is written: one bad entry refuses the whole write, state included.
import { FluxoError } from '../../common/errors.js';
import type { LogLineWrite, RunBatchWrite, TaskStateWrite } from '../store/store.js';
import { checkTaskState, clipLogLines } from './agent-entries.js';
import { checkMaterialization, MAX_MATERIALIZATIONS, type MaterializationInput } from './lineage.js';
import { checkString } from './validate-input.js';

/** Task states per batch (RunBatchInput.taskRunStates). */
export const MAX_BATCH_STATES = 1_000;
/** Log lines per batch (RunBatchInput.logLines), as writeLogs. */
export const MAX_BATCH_LINES = 5_000;

/** RunBatchInput with timestamps already parsed (the resolver's part). */
export interface RunBatchArgs {
  batchId: string;
  taskRunStates?: readonly TaskStateWrite[] | null | undefined;
  logLines?: readonly LogLineWrite[] | null | undefined;
  materializations?: readonly MaterializationInput[] | null | undefined;
}

function bad(message: string): never {
  throw new FluxoError('BAD_USER_INPUT', message);
}

/**
 * Checks a batch and returns it as the store takes it. BAD_USER_INPUT names the first problem
 * (`batch.taskRunStates[2].state ...`); an empty batch is allowed (it records nothing).
 *
 * @example checkRunBatch({ batchId: 'b1', logLines: [{ taskRunKey: null, level: 'INFO', stream: 'stdout', message: 'hi', timestamp: 0 }] })
 */
export function checkRunBatch(batch: RunBatchArgs): RunBatchWrite {
  const batchId = checkString('batch.batchId', batch.batchId, 100);
  const states = batch.taskRunStates ?? [];
  const lines = batch.logLines ?? [];
  const items = batch.materializations ?? [];
  if (states.length > MAX_BATCH_STATES) bad(`batch.taskRunStates: at most ${MAX_BATCH_STATES.toLocaleString('en')} per batch, got ${states.length}`);
  if (lines.length > MAX_BATCH_LINES) bad(`batch.logLines: at most ${MAX_BATCH_LINES.toLocaleString('en')} per batch, got ${lines.length}`);
  if (items.length > MAX_MATERIALIZATIONS) bad(`batch.materializations: at most ${MAX_MATERIALIZATIONS} writes per batch, got ${items.length}`);
  states.forEach((s, i) => checkTaskState(s, (name) => `batch.taskRunStates[${i}].${name}`, `batch.taskRunStates[${i}].state`));
  const materializations = items.map((item, i) => {
    try {
      return checkMaterialization(item, i);
    } catch (error) {
      // checkMaterialization names `items[i]` (recordMaterializations' field): say where it sits here.
      if (error instanceof FluxoError) throw new FluxoError(error.code, `batch.materializations: ${error.message}`, { cause: error });
      throw error;
    }
  });
  return {
    batchId,
    states: [...states],
    lines: clipLogLines(lines),
    materializations,
  };
}
