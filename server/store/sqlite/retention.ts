// Retention in SQLite: per-tenant settings, and deleting finished runs with everything that
// belongs to them, one short write transaction per batch (SQLite has one writer: a long delete
// would hold every other write back, so the caller keeps batches small and pauses between them).
import type { Database } from 'better-sqlite3';
import type { PruneCounts, TenantRetention } from '../store.js';
import { finalStates, sqlStateList } from '../../../contract/states.js';
import { statement } from './statements.js';

/** Word for word the condition of the `flow_runs_finished` partial index (migration 002): SQLite only uses it then. */
const FINISHED = `state IN ${sqlStateList(finalStates)}`;

const zero = (): PruneCounts => ({ runs: 0, taskRuns: 0, stateTransitions: 0, logLines: 0, logBatches: 0, materializations: 0 });

export function listTenantRetention(db: Database): TenantRetention[] {
  // The distinct tenants of flow_runs by skipping through its (tenant, ...) index, one probe per
  // tenant (a loose index scan), rather than reading every run.
  const rows = statement(db, `
    WITH RECURSIVE t(tenant) AS (
      SELECT MIN(tenant) FROM flow_runs
      UNION ALL
      SELECT (SELECT MIN(r.tenant) FROM flow_runs r WHERE r.tenant > t.tenant) FROM t WHERE t.tenant IS NOT NULL
    ),
    tenants AS (SELECT tenant FROM t WHERE tenant IS NOT NULL UNION SELECT tenant FROM tenant_settings)
    SELECT tenants.tenant, s.retention_days FROM tenants LEFT JOIN tenant_settings s ON s.tenant = tenants.tenant
    ORDER BY tenants.tenant`).all() as { tenant: string; retention_days: number | null }[];
  return rows.map((r) => ({ tenant: r.tenant, retentionDays: r.retention_days }));
}

export function setTenantRetention(db: Database, tenant: string, retentionDays: number | null): void {
  statement(db, `INSERT INTO tenant_settings (tenant, retention_days) VALUES (?, ?)
    ON CONFLICT (tenant) DO UPDATE SET retention_days = excluded.retention_days`).run(tenant, retentionDays);
}

export function countPrunableRuns(db: Database, tenant: string, endedBefore: number): PruneCounts {
  const row = statement(db, `
    WITH doomed AS MATERIALIZED (SELECT id FROM flow_runs WHERE tenant = ? AND ${FINISHED} AND ended_at < ?)
    SELECT (SELECT COUNT(*) FROM doomed) AS runs,
      (SELECT COUNT(*) FROM task_runs WHERE flow_run_id IN (SELECT id FROM doomed)) AS task_runs,
      (SELECT COUNT(*) FROM state_transitions WHERE flow_run_id IN (SELECT id FROM doomed)) AS state_transitions,
      (SELECT COUNT(*) FROM logs WHERE flow_run_id IN (SELECT id FROM doomed)) AS log_lines,
      (SELECT COUNT(*) FROM log_batches WHERE flow_run_id IN (SELECT id FROM doomed)) AS log_batches,
      (SELECT COUNT(*) FROM materializations WHERE flow_run_id IN (SELECT id FROM doomed)) AS materializations`)
    .get(tenant, endedBefore) as { runs: number; task_runs: number; state_transitions: number; log_lines: number; log_batches: number; materializations: number };
  return {
    runs: row.runs, taskRuns: row.task_runs, stateTransitions: row.state_transitions, logLines: row.log_lines, logBatches: row.log_batches,
    materializations: row.materializations,
  };
}

export function pruneFinishedRuns(db: Database, tenant: string, endedBefore: number, limit: number): PruneCounts {
  return db.transaction(() => {
    const ids = (statement(db, `SELECT id FROM flow_runs WHERE tenant = ? AND ${FINISHED} AND ended_at < ? ORDER BY ended_at LIMIT ?`)
      .all(tenant, endedBefore, limit) as { id: string }[]).map((r) => r.id);
    if (ids.length === 0) return zero();
    const list = JSON.stringify(ids);
    const deleteOf = (table: string, column = 'flow_run_id'): number =>
      statement(db, `DELETE FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`).run(list).changes;
    // Children first: task_runs references flow_runs.
    const counts = zero();
    counts.logLines = deleteOf('logs');
    counts.logBatches = deleteOf('log_batches');
    // Lineage: the partitions by their key, from the writes' own partitions (the table has no index
    // on materialization_id), then the writes and their batches.
    statement(db, `DELETE FROM materialization_partitions WHERE (tenant, dataset, table_name, kind, "partition", recorded_at, materialization_id) IN (
      SELECT m.tenant, m.dataset, m.table_name, m.kind, p.value, m.recorded_at, m.id
      FROM materializations m, json_each(m.partitions) AS p WHERE m.flow_run_id IN (SELECT value FROM json_each(?)))`).run(list);
    counts.materializations = deleteOf('materializations');
    deleteOf('materialization_batches');
    counts.stateTransitions = deleteOf('state_transitions');
    counts.taskRuns = deleteOf('task_runs');
    deleteOf('task_state_batches');
    // By the label table's key, from the runs' own labels: the table has no index on flow_run_id.
    statement(db, `DELETE FROM flow_run_labels WHERE (tenant, label, created_at, flow_run_id) IN (
      SELECT r.tenant, l.value, r.created_at, r.id FROM flow_runs r, json_each(r.labels) AS l WHERE r.id IN (SELECT value FROM json_each(?)))`).run(list);
    counts.runs = deleteOf('flow_runs', 'id');
    return counts;
  }).immediate();
}
