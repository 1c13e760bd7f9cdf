// Task states under a flow run's lease, in PostgreSQL. The run's row stays locked for the whole
// batch, so the lease cannot expire, be reaped or change hands half-way through it.
import { newId } from '../../../common/ids.js';
import { isFinalTaskRunState } from '../../../contract/states.js';
import type { TaskStateWrite } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { pgText } from './rows.js';
import { assertLease } from './run-writes.js';
import { sql } from './sql.js';

export async function setTaskRunStates(
  db: PgDatabase, tenant: string, flowRunId: string, leaseToken: string, states: TaskStateWrite[], actor: string, batchId: string | null = null,
): Promise<number> {
  return db.transaction(async (tx) => {
    const { now } = await assertLease(tx, tenant, flowRunId, leaseToken);
    return recordTaskStates(tx, tenant, flowRunId, states, actor, batchId, now);
  });
}

/**
 * Records task states of a run the caller locked and whose lease it checked, inside the caller's
 * transaction. With a `batchId`, once per (run, batchId): a repeat records nothing and answers 0.
 */
export async function recordTaskStates(
  tx: Executor, tenant: string, flowRunId: string, states: TaskStateWrite[], actor: string, batchId: string | null, now: number,
): Promise<number> {
  // A batch retried after its answer was lost: recorded already, in the same transaction as its
  // states (the run's row lock orders two copies of one batch: the second sees the first's row).
  if (batchId !== null) {
    const fresh = await tx.row(sql`
      INSERT INTO task_state_batches (flow_run_id, batch_id) VALUES (${flowRunId}, ${pgText(batchId)}) ON CONFLICT DO NOTHING RETURNING 1 AS fresh`);
    if (!fresh) return 0;
  }
  // One statement per state, in order: a batch may hold several states of one task, and each
  // transition records the state before it.
  for (const s of states) {
    const final = isFinalTaskRunState(s.state);
    const key = pgText(s.key);
    const message = pgText(s.message);
    await tx.rows(sql`
      WITH previous AS (SELECT state FROM task_runs WHERE flow_run_id = ${flowRunId} AND key = ${key}),
      upserted AS (
        INSERT INTO task_runs (id, tenant, flow_run_id, key, task_name, map_index, state, state_message, attempts, started_at, ended_at,
          result_uri, result_sha256, result_size, inputs_hash)
        VALUES (${newId()}, ${tenant}, ${flowRunId}, ${key}, ${pgText(s.taskName)}, ${s.mapIndex}::integer, ${s.state}, ${message},
          ${s.attempt}::integer, ${now}::bigint, ${final ? now : null}::bigint, ${pgText(s.result?.uri ?? null)}::text,
          ${s.result?.sha256 ?? null}::text, ${s.result?.size ?? null}::bigint, ${s.inputsHash ?? null}::text)
        ON CONFLICT (flow_run_id, key) DO UPDATE SET state = EXCLUDED.state, state_message = EXCLUDED.state_message,
          attempts = GREATEST(task_runs.attempts, EXCLUDED.attempts), ended_at = EXCLUDED.ended_at,
          result_uri = EXCLUDED.result_uri, result_sha256 = EXCLUDED.result_sha256, result_size = EXCLUDED.result_size,
          inputs_hash = EXCLUDED.inputs_hash
        RETURNING id
      )
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
      SELECT ${tenant}::text, ${flowRunId}::text, upserted.id, (SELECT state FROM previous), ${s.state}::text, NULL, ${message}::text,
        ${actor}::text, ${s.attempt}::integer, ${now}::bigint
      FROM upserted`);
  }
  return states.length;
}
