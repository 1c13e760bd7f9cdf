// A state write with the entries that ride with it (SetFlowRunStateInput.batch), in PostgreSQL:
// one transaction locks the run, decides, records the entries and the transition, so a run's last
// task states, lines and lineage writes commit with its final state or not at all, and a repeat
// of a write that landed (its answer was lost) records nothing twice (the row lock orders two
// copies: the second sees the first's state and answers it unchanged).
import { decideStateWrite } from '../../core/transitions.js';
import type { LogRecord } from '../records.js';
import type { RunBatchWrite, StateWithBatchResult, StateWrite } from '../store.js';
import type { PgDatabase } from './database.js';
import { recordMaterializations } from './lineage.js';
import { recordLogLines } from './logs.js';
import { toFlowRun } from './rows.js';
import { applyStateWrite, currentOf, lockRun } from './run-writes.js';
import { recordTaskStates } from './task-runs.js';

/**
 * setFlowRunState with a batch: RUNNING first, then its entries; any other state after its entries
 * (while the lease still holds). The batch id names each part in its own ledger. Always the locked
 * path: a batch costs statements anyway, and one transaction keeps it with its state.
 */
export async function setFlowRunStateWithBatch(db: PgDatabase, tenant: string, write: StateWrite, batch: RunBatchWrite): Promise<StateWithBatchResult> {
  return db.transaction(async (tx) => {
    const row = await lockRun(tx, tenant, write.flowRunId);
    if (decideStateWrite(currentOf(row), write, row.now) === 'unchanged') return { run: toFlowRun(row), lines: [] };
    let lines: LogRecord[] = [];
    const record = async (): Promise<void> => {
      if (batch.states.length > 0) await recordTaskStates(tx, tenant, row.id, batch.states, write.actor, batch.batchId, row.now);
      if (batch.materializations.length > 0) await recordMaterializations(tx, tenant, row.id, row.attempt, batch.batchId, batch.materializations, row.now);
      if (batch.lines.length > 0) lines = await recordLogLines(tx, tenant, row.id, batch.batchId, batch.lines);
    };
    if (write.state !== 'RUNNING') await record();
    const run = await applyStateWrite(tx, row, write);
    if (write.state === 'RUNNING') await record();
    return { run, lines };
  });
}
