// Restart of a finished run and the stored task results its next attempt may return, in SQLite.
// One write transaction: the state check and the update cannot interleave with a claim.
import type { Database } from 'better-sqlite3';
import { FluxoError } from '../../../common/errors.js';
import { restartableStates } from '../../core/restart-states.js';
import type { FlowRunRecord, FlowRunStateType } from '../records.js';
import type { StoredTaskResultRecord } from '../store.js';
import { NOW_MS, toFlowRun, type FlowRunRow } from './rows.js';
import { statement } from './statements.js';

/** Store.restartFlowRun in SQLite. */
export function restartFlowRun(db: Database, tenant: string, id: string, actor: string): FlowRunRecord {
  return db.transaction(() => {
    const row = statement(db, `SELECT *, ${NOW_MS} AS now FROM flow_runs WHERE tenant = ? AND id = ?`).get(tenant, id) as (FlowRunRow & { now: number }) | undefined;
    if (!row) throw new FluxoError('NOT_FOUND', `flow run ${id} not found`);
    if (!restartableStates.includes(row.state as FlowRunStateType)) {
      throw new FluxoError('ILLEGAL_TRANSITION', `flow run ${id} is ${row.state}; only a FAILED, CRASHED, TIMED_OUT or CANCELLED run can be restarted`);
    }
    const attempt = row.attempt + 1;
    const message = `attempt ${attempt}, restarted by ${actor}`;
    statement(db,
      `UPDATE flow_runs SET state = 'SCHEDULED', state_reason = 'restart', state_message = ?, version = version + 1, attempt = ?,
         scheduled_at = ?, agent_id = NULL, lease_token = NULL, lease_expires_at = NULL, started_at = NULL, ended_at = NULL,
         exit_code = NULL, signal = NULL
       WHERE id = ?`,
    ).run(message, attempt, row.now, id);
    statement(db,
      `INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
       VALUES (?, ?, NULL, ?, 'SCHEDULED', 'restart', ?, ?, ?, ?)`,
    ).run(tenant, id, row.state, message, actor, attempt, row.now);
    return toFlowRun(statement(db, 'SELECT * FROM flow_runs WHERE id = ?').get(id) as FlowRunRow);
  }).immediate();
}

/** Store.listStoredResults in SQLite. */
export function listStoredResults(db: Database, tenant: string, flowRunId: string): StoredTaskResultRecord[] {
  return statement(db,
    `SELECT key AS taskKey, inputs_hash AS inputsHash, result_uri AS uri, result_sha256 AS sha256, result_size AS size
     FROM task_runs
     WHERE tenant = ? AND flow_run_id = ? AND state = 'SUCCESS' AND result_uri IS NOT NULL AND inputs_hash IS NOT NULL
     ORDER BY key`,
  ).all(tenant, flowRunId) as StoredTaskResultRecord[];
}
