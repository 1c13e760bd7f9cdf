// What a restarted agent delivers from its on-disk spool for an attempt it held
// (deliverLateRunEntries; server/core/late-entries.ts checks the input). One store operation, in one
// transaction per dialect (sqlite/late-entries.ts, postgres/late-entries.ts).
import { isFinalTaskRunState } from '../../contract/states.js';
import type { LogRecord } from './records.js';
import type { LogLineWrite, TaskStateWrite } from './store.js';

/** One late batch, checked, with the caller's identity. */
export interface LateEntriesWrite {
  /** The agent that says it held the attempt (already checked to be the caller's). */
  agentId: string;
  /** The caller's token subject: the claim's transition must name it (`agent:<subject>`). */
  subject: string;
  flowRunId: string;
  attempt: number;
  batchId: string;
  states: TaskStateWrite[];
  lines: LogLineWrite[];
  /** Recorded on the late transitions. */
  actor: string;
}

/** What a late batch stored: how many entries, and the lines (to publish). Both empty for a batch delivered before. */
export interface LateEntriesResult {
  recorded: number;
  lines: LogRecord[];
}

/** Prefix of late batch ids in log_batches: an agent's writeLogs ids are UUIDs, so they never meet. */
export const LATE_BATCH_PREFIX = 'late:';

/**
 * Whether a late task state moves its task run (or only joins its history): a task run that does
 * not exist yet is created, since no later attempt touched it; an existing one moves only while
 * the run is still in the late state's attempt (no retry or restart began since) and the task run
 * is not final. The transition is recorded either way, marked late.
 */
export function lateStateApplies(existingState: string | null, runAttempt: number, lateAttempt: number): boolean {
  if (existingState === null) return true;
  return runAttempt === lateAttempt && !isFinalTaskRunState(existingState);
}

/** NOT_FOUND for a run or attempt this agent did not hold: the same words whatever the reason. */
export const lateNotFoundMessage = (flowRunId: string, attempt: number): string =>
  `flow run ${flowRunId} attempt ${attempt} was not held by this agent`;
