// Restart of a finished run and the stored task results its next attempt may return, in
// PostgreSQL: the run's row is locked, checked and updated in one transaction (see run-writes.ts).
import { FluxoError } from '../../../common/errors.js';
import { restartableStates } from '../../core/restart-states.js';
import type { FlowRunRecord, FlowRunStateType } from '../records.js';
import type { StoredTaskResultRecord } from '../store.js';
import type { PgDatabase } from './database.js';
import { toFlowRun } from './rows.js';
import { lockRun, updateRun } from './run-writes.js';
import { sql } from './sql.js';

/** Store.restartFlowRun in PostgreSQL. */
export async function restartFlowRun(db: PgDatabase, tenant: string, id: string, actor: string): Promise<FlowRunRecord> {
  return db.transaction(async (tx) => {
    const row = await lockRun(tx, tenant, id);
    if (!restartableStates.includes(row.state as FlowRunStateType)) {
      throw new FluxoError('ILLEGAL_TRANSITION', `flow run ${id} is ${row.state}; only a FAILED, CRASHED, TIMED_OUT or CANCELLED run can be restarted`);
    }
    const attempt = row.attempt + 1;
    const message = `attempt ${attempt}, restarted by ${actor}`;
    const updated = await updateRun(
      tx,
      id,
      sql`state = 'SCHEDULED', state_reason = 'restart', state_message = ${message}, version = version + 1, attempt = ${attempt}::integer,
          scheduled_at = ${row.now}::bigint, agent_id = NULL, lease_token = NULL, lease_expires_at = NULL, started_at = NULL, ended_at = NULL,
          exit_code = NULL, signal = NULL`,
      { from: row.state, reason: 'restart', message, actor, at: row.now },
    );
    return toFlowRun(updated);
  });
}

/** Store.listStoredResults in PostgreSQL. */
export async function listStoredResults(db: PgDatabase, tenant: string, flowRunId: string): Promise<StoredTaskResultRecord[]> {
  const rows = await db.rows<StoredTaskResultRecord>(sql`
    SELECT key AS "taskKey", inputs_hash AS "inputsHash", result_uri AS uri, result_sha256 AS sha256, result_size AS size
    FROM task_runs
    WHERE tenant = ${tenant} AND flow_run_id = ${flowRunId} AND state = 'SUCCESS' AND result_uri IS NOT NULL AND inputs_hash IS NOT NULL
    ORDER BY key`);
  return rows.map((r) => ({ ...r, size: Number(r.size) }));
}
