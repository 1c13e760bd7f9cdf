// Retention in PostgreSQL: per-tenant settings, and deleting finished runs with everything that
// belongs to them in short transactions. The finished runs are taken `FOR UPDATE SKIP LOCKED`, so
// a run some writer holds right now (an agent repeating its final write) waits for the next pass
// instead of making either side wait.
import type { PruneCounts, TenantRetention } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { finalStates, sqlStateList } from '../../../contract/states.js';
import { raw, sql, type Sql } from './sql.js';

/** Word for word the condition of the `flow_runs_finished` partial index (migration 002). */
const FINISHED = raw(`state IN ${sqlStateList(finalStates)}`);

const zero = (): PruneCounts => ({ runs: 0, taskRuns: 0, stateTransitions: 0, logLines: 0, logBatches: 0, materializations: 0 });

export async function listTenantRetention(db: PgDatabase): Promise<TenantRetention[]> {
  // The distinct tenants of flow_runs by skipping through its (tenant, ...) index, one probe per
  // tenant (a loose index scan), rather than reading every run.
  const rows = await db.rows<{ tenant: string; retention_days: number | null }>(sql`
    WITH RECURSIVE t(tenant) AS (
      SELECT MIN(tenant) FROM flow_runs
      UNION ALL
      SELECT (SELECT MIN(r.tenant) FROM flow_runs r WHERE r.tenant > t.tenant) FROM t WHERE t.tenant IS NOT NULL
    ),
    tenants AS (SELECT tenant FROM t WHERE tenant IS NOT NULL UNION SELECT tenant FROM tenant_settings)
    SELECT tenants.tenant, s.retention_days FROM tenants LEFT JOIN tenant_settings s ON s.tenant = tenants.tenant
    ORDER BY tenants.tenant`);
  return rows.map((r) => ({ tenant: r.tenant, retentionDays: r.retention_days }));
}

export async function setTenantRetention(db: PgDatabase, tenant: string, retentionDays: number | null): Promise<void> {
  await db.rows(sql`
    INSERT INTO tenant_settings (tenant, retention_days) VALUES (${tenant}, ${retentionDays}::integer)
    ON CONFLICT (tenant) DO UPDATE SET retention_days = EXCLUDED.retention_days`);
}

const finishedBefore = (tenant: string, endedBefore: number): Sql =>
  sql`tenant = ${tenant} AND ${FINISHED} AND ended_at < ${endedBefore}::bigint`;

export async function countPrunableRuns(db: PgDatabase, tenant: string, endedBefore: number): Promise<PruneCounts> {
  const row = await db.row<{ runs: number; task_runs: number; state_transitions: number; log_lines: number; log_batches: number; materializations: number }>(sql`
    WITH doomed AS MATERIALIZED (SELECT id FROM flow_runs WHERE ${finishedBefore(tenant, endedBefore)})
    SELECT (SELECT COUNT(*) FROM doomed) AS runs,
      (SELECT COUNT(*) FROM task_runs WHERE flow_run_id IN (SELECT id FROM doomed)) AS task_runs,
      (SELECT COUNT(*) FROM state_transitions WHERE flow_run_id IN (SELECT id FROM doomed)) AS state_transitions,
      (SELECT COUNT(*) FROM logs WHERE flow_run_id IN (SELECT id FROM doomed)) AS log_lines,
      (SELECT COUNT(*) FROM log_batches WHERE flow_run_id IN (SELECT id FROM doomed)) AS log_batches,
      (SELECT COUNT(*) FROM materializations WHERE flow_run_id IN (SELECT id FROM doomed)) AS materializations`);
  return row
    ? {
      runs: row.runs, taskRuns: row.task_runs, stateTransitions: row.state_transitions, logLines: row.log_lines, logBatches: row.log_batches,
      materializations: row.materializations,
    }
    : zero();
}

async function deleteOf(
  tx: Executor, table: 'logs' | 'log_batches' | 'state_transitions' | 'task_runs' | 'task_state_batches' | 'materializations' | 'materialization_batches', ids: string[],
): Promise<number> {
  const row = await tx.row<{ n: number }>(sql`WITH gone AS (DELETE FROM ${raw(table)} WHERE flow_run_id = ANY(${ids}::text[]) RETURNING 1) SELECT COUNT(*) AS n FROM gone`);
  return row?.n ?? 0;
}

export async function pruneFinishedRuns(db: PgDatabase, tenant: string, endedBefore: number, limit: number): Promise<PruneCounts> {
  return db.transaction(async (tx) => {
    const doomed = await tx.rows<{ id: string }>(sql`
      SELECT id FROM flow_runs WHERE ${finishedBefore(tenant, endedBefore)}
      ORDER BY ended_at LIMIT ${limit}::integer FOR UPDATE SKIP LOCKED`);
    if (doomed.length === 0) return zero();
    const ids = doomed.map((r) => r.id);
    // Children first: task_runs references flow_runs.
    const counts = zero();
    counts.logLines = await deleteOf(tx, 'logs', ids);
    counts.logBatches = await deleteOf(tx, 'log_batches', ids);
    // Lineage: the partitions by their key, from the writes' own partitions (the table has no index
    // on materialization_id), then the writes and their batches.
    await tx.rows(sql`
      DELETE FROM materialization_partitions x USING materializations m, json_array_elements_text(m.partitions) AS p(value)
      WHERE m.flow_run_id = ANY(${ids}::text[]) AND x.tenant = m.tenant AND x.dataset = m.dataset AND x.table_name = m.table_name AND x.kind = m.kind
        AND x."partition" = p.value AND x.recorded_at = m.recorded_at AND x.materialization_id = m.id`);
    counts.materializations = await deleteOf(tx, 'materializations', ids);
    await deleteOf(tx, 'materialization_batches', ids);
    counts.stateTransitions = await deleteOf(tx, 'state_transitions', ids);
    counts.taskRuns = await deleteOf(tx, 'task_runs', ids);
    await deleteOf(tx, 'task_state_batches', ids);
    // By the label table's key, from the runs' own labels: the table has no index on flow_run_id.
    await tx.rows(sql`
      DELETE FROM flow_run_labels l USING flow_runs r, unnest(r.labels) AS x(label)
      WHERE r.id = ANY(${ids}::text[]) AND l.tenant = r.tenant AND l.label = x.label AND l.created_at = r.created_at AND l.flow_run_id = r.id`);
    counts.runs = (await tx.row<{ n: number }>(sql`WITH gone AS (DELETE FROM flow_runs WHERE id = ANY(${ids}::text[]) RETURNING 1) SELECT COUNT(*) AS n FROM gone`))?.n ?? 0;
    return counts;
  });
}
