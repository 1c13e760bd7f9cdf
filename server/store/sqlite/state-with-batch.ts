// A state write with the entries that ride with it (SetFlowRunStateInput.batch), in SQLite: one
// write transaction holds the decision, the entries and the transition, so a run's last task
// states, lines and lineage writes commit with its final state or not at all, and a repeat of a
// write that landed (its answer was lost) records nothing twice.
import type { Database } from 'better-sqlite3';
import { decideStateWrite } from '../../core/transitions.js';
import type { LogRecord } from '../records.js';
import type { RunBatchWrite, StateWithBatchResult, StateWrite } from '../store.js';
import { recordMaterializations } from './lineage.js';
import { toFlowRun } from './rows.js';
import { applyStateWrite, currentOf, mustGetRun, nowMs, recordLogLines, recordTaskStates } from './run-writes.js';

/**
 * setFlowRunState with a batch: RUNNING first, then its entries; any other state after its entries
 * (while the lease still holds). The batch id names each part in its own ledger.
 */
export function setFlowRunStateWithBatch(db: Database, tenant: string, write: StateWrite, batch: RunBatchWrite): StateWithBatchResult {
  return db.transaction(() => {
    const now = nowMs(db);
    const row = mustGetRun(db, tenant, write.flowRunId);
    // A repeat of a write that landed: its batch committed in the same transaction.
    if (decideStateWrite(currentOf(row), write, now) === 'unchanged') return { run: toFlowRun(row), lines: [] };
    let lines: LogRecord[] = [];
    const record = (): void => {
      if (batch.states.length > 0) recordTaskStates(db, tenant, row.id, batch.states, write.actor, batch.batchId, now);
      if (batch.materializations.length > 0) recordMaterializations(db, tenant, row.id, row.attempt, batch.batchId, batch.materializations, now);
      if (batch.lines.length > 0) lines = recordLogLines(db, tenant, row.id, batch.batchId, batch.lines);
    };
    if (write.state !== 'RUNNING') record();
    const run = applyStateWrite(db, tenant, row, write, now);
    if (write.state === 'RUNNING') record();
    return { run, lines };
  }).immediate();
}
