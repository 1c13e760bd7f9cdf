// The checks every way an agent sends task states and log lines shares (setTaskRunStates,
// writeLogs, a state write's batch, a late batch): one rule for a task state, one cut for a line.
import { FluxoError } from '../../common/errors.js';
import { isTaskRunState, taskRunStates } from '../../contract/states.js';
import type { LogLineWrite, TaskStateWrite } from '../store/store.js';
import { checkTaskResult } from './task-result-input.js';
import { checkInt, checkString } from './validate-input.js';

/** Longer log lines are cut to this many characters, with an ellipsis. */
export const MAX_LOG_LINE = 32 * 1024;

/**
 * Checks one reported task state; BAD_USER_INPUT names the field as `field(name)` calls it
 * (`task key`, or `batch.taskRunStates[2].key`) and the state as `stateLabel`.
 */
export function checkTaskState(s: TaskStateWrite, field: (name: 'key' | 'taskName' | 'attempt') => string, stateLabel: string): void {
  checkString(field('key'), s.key, 300);
  checkString(field('taskName'), s.taskName, 200);
  checkInt(field('attempt'), s.attempt, 1, 10_000, 1);
  if (!isTaskRunState(s.state)) throw new FluxoError('BAD_USER_INPUT', `${stateLabel} ${s.state} is not one of ${taskRunStates.join(', ')}`);
  checkTaskResult(s);
}

/** The lines as stored: each message cut at {@link MAX_LOG_LINE}. */
export function clipLogLines(lines: readonly LogLineWrite[]): LogLineWrite[] {
  return lines.map((line) => ({ ...line, message: line.message.length > MAX_LOG_LINE ? `${line.message.slice(0, MAX_LOG_LINE)}…` : line.message }));
}
