// Lineage in PostgreSQL (migration 010). A batch is written in one transaction that holds the
// run's row lock (assertLease), as a log batch is (logs.ts), so a write racing a reclaim or the
// end of the attempt either lands under the live lease or not at all. Reads are loose index
// scans (a recursive CTE that skips from one table, or partition, to the next) with a LATERAL
// probe for each one's latest write: a table's thousands of writes are skipped, not read.
import { newId } from '../../../common/ids.js';
import { pageSize } from '../cursor.js';
import {
  decodeTableCursor, encodeTableCursor, tableOf, toMaterialization,
  type DataPartitionRecord, type DataTableFilter, type DataTableKey, type LineageStore, type MaterializationRow, type MaterializationWrite,
} from '../lineage-store.js';
import type { DataTableRecord, MaterializationRecord } from '../records.js';
import type { Page, PageRequest } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { pgText } from './rows.js';
import { assertLease } from './run-writes.js';
import { join, raw, sql, type Sql } from './sql.js';

const COLUMNS = sql`m.id, m.tenant, m.flow_run_id, m.attempt, m.task_run_key, m.kind, m.dataset, m.table_name, m.partitions, m."rows", m.bytes, m.uri, m.mode, m.recorded_at`;

/** Lineage on a `pg` pool. */
export class PostgresLineageStore implements LineageStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async record(tenant: string, flowRunId: string, leaseToken: string, batchId: string, items: MaterializationWrite[]): Promise<MaterializationRecord[]> {
    return this.#db.transaction(async (tx) => {
      const run = await assertLease(tx, tenant, flowRunId, leaseToken);
      return recordMaterializations(tx, tenant, flowRunId, run.attempt, batchId, items, run.now);
    });
  }

  async listForRun(tenant: string, flowRunId: string): Promise<MaterializationRecord[]> {
    const rows = await this.#db.rows<MaterializationRow>(sql`
      SELECT ${COLUMNS} FROM materializations m WHERE m.flow_run_id = ${flowRunId} AND m.tenant = ${tenant} ORDER BY m.recorded_at, m.id`);
    return rows.map(toMaterialization);
  }

  async listTables(tenant: string, filter: DataTableFilter, page: PageRequest): Promise<Page<DataTableRecord>> {
    const first = pageSize(page.first);
    const after = decodeTableCursor(page.after) ?? { dataset: '', table: '', kind: '' };
    const filters: Sql[] = [sql`TRUE`];
    if (filter.dataset != null) filters.push(sql`dataset = ${filter.dataset}::text`);
    if (filter.kind != null) filters.push(sql`kind = ${filter.kind}::text`);
    const where = join(filters, ' AND ');
    const rows = await this.#db.rows<MaterializationRow>(sql`
      WITH RECURSIVE keys AS (
        (SELECT dataset, table_name, kind FROM materializations
         WHERE tenant = ${tenant}::text AND (dataset, table_name, kind) > (${after.dataset}::text, ${after.table}::text, ${after.kind}::text) AND ${where}
         ORDER BY dataset, table_name, kind LIMIT 1)
        UNION ALL
        SELECT n.dataset, n.table_name, n.kind FROM keys k CROSS JOIN LATERAL (
          SELECT dataset, table_name, kind FROM materializations
          WHERE tenant = ${tenant}::text AND (dataset, table_name, kind) > (k.dataset, k.table_name, k.kind) AND ${where}
          ORDER BY dataset, table_name, kind LIMIT 1) n
      )
      SELECT ${COLUMNS} FROM (SELECT * FROM keys LIMIT ${first + 1}::integer) k CROSS JOIN LATERAL (
        SELECT * FROM materializations m
        WHERE m.tenant = ${tenant}::text AND m.dataset = k.dataset AND m.table_name = k.table_name AND m.kind = k.kind
        ORDER BY m.recorded_at DESC, m.id DESC LIMIT 1) m
      ORDER BY m.dataset, m.table_name, m.kind`);
    const tables = rows.map((r) => tableOf(toMaterialization(r)));
    const hasNextPage = tables.length > first;
    const nodes = hasNextPage ? tables.slice(0, first) : tables;
    const last = nodes.at(-1);
    return { nodes, hasNextPage, endCursor: last ? encodeTableCursor(last) : null };
  }

  async getTable(tenant: string, key: DataTableKey): Promise<DataTableRecord | null> {
    const [latest] = await this.history(tenant, key, 1);
    return latest ? tableOf(latest) : null;
  }

  async partitions(tenant: string, key: DataTableKey, first: number): Promise<DataPartitionRecord[]> {
    const table = sql`tenant = ${tenant}::text AND dataset = ${key.dataset}::text AND table_name = ${key.table}::text AND kind = ${key.kind}::text`;
    // Each step is one backward probe of the key (…, partition, recorded_at, materialization_id):
    // the next partition down and, being first in that order, its latest write.
    const latestFirst = raw('ORDER BY "partition" DESC, recorded_at DESC, materialization_id DESC LIMIT 1');
    const rows = await this.#db.rows<MaterializationRow & { partition: string }>(sql`
      WITH RECURSIVE parts AS (
        (SELECT "partition", materialization_id FROM materialization_partitions WHERE ${table} ${latestFirst})
        UNION ALL
        SELECT n."partition", n.materialization_id FROM parts d CROSS JOIN LATERAL (
          SELECT "partition", materialization_id FROM materialization_partitions WHERE ${table} AND "partition" < d."partition" ${latestFirst}) n
      )
      SELECT d."partition", ${COLUMNS} FROM (SELECT * FROM parts LIMIT ${first}::integer) d
      JOIN materializations m ON m.id = d.materialization_id
      ORDER BY d."partition" DESC`);
    return rows.map((r) => ({ partition: r.partition, lastWrite: toMaterialization(r) }));
  }

  async history(tenant: string, key: DataTableKey, first: number): Promise<MaterializationRecord[]> {
    const rows = await this.#db.rows<MaterializationRow>(sql`
      SELECT ${COLUMNS} FROM materializations m 
      WHERE m.tenant = ${tenant}::text AND m.dataset = ${key.dataset}::text AND m.table_name = ${key.table}::text AND m.kind = ${key.kind}::text
      ORDER BY m.recorded_at DESC, m.id DESC LIMIT ${first}::integer`);
    return rows.map(toMaterialization);
  }
}

/**
 * Records writes of a run the caller locked and whose lease it checked, under `attempt`, once per
 * (run, batchId), inside the caller's transaction (a repeat records nothing).
 */
export async function recordMaterializations(
  tx: Executor, tenant: string, flowRunId: string, attempt: number, batchId: string, items: MaterializationWrite[], now: number,
): Promise<MaterializationRecord[]> {
  const fresh = await tx.row(sql`
    INSERT INTO materialization_batches (flow_run_id, batch_id) VALUES (${flowRunId}, ${pgText(batchId)}) ON CONFLICT DO NOTHING RETURNING 1 AS fresh`);
  if (!fresh) return [];
  const stored = items.map((item) => ({
    id: newId(),
    tenant,
    flowRunId,
    attempt,
    kind: item.kind,
    taskRunKey: pgText(item.taskRunKey),
    dataset: item.dataset,
    table: item.table,
    partitions: item.partitions.map(pgText),
    rows: item.rows,
    bytes: item.bytes,
    uri: pgText(item.uri),
    mode: pgText(item.mode),
    recordedAt: now,
  }));
  await tx.rows(sql`
    INSERT INTO materializations (id, tenant, flow_run_id, attempt, task_run_key, kind, dataset, table_name, partitions, "rows", bytes, uri, mode, recorded_at, batch_id)
    SELECT m.id, ${tenant}::text, ${flowRunId}::text, ${attempt}::integer, m.task_run_key, m.kind, m.dataset, m.table_name, m.partitions::json,
      m."rows", m.bytes, m.uri, m.mode, ${now}::bigint, ${pgText(batchId)}::text
    FROM unnest(${stored.map((m) => m.id)}::text[], ${stored.map((m) => m.taskRunKey)}::text[], ${stored.map((m) => m.kind)}::text[],
      ${stored.map((m) => m.dataset)}::text[], ${stored.map((m) => m.table)}::text[], ${stored.map((m) => JSON.stringify(m.partitions))}::text[],
      ${stored.map((m) => m.rows)}::float8[], ${stored.map((m) => m.bytes)}::float8[], ${stored.map((m) => m.uri)}::text[], ${stored.map((m) => m.mode)}::text[])
      AS m(id, task_run_key, kind, dataset, table_name, partitions, "rows", bytes, uri, mode)`);
  const partitions = stored.flatMap((m) => m.partitions.map((partition) => ({ id: m.id, dataset: m.dataset, table: m.table, kind: m.kind, partition })));
  if (partitions.length > 0) {
    await tx.rows(sql`
      INSERT INTO materialization_partitions (materialization_id, tenant, dataset, table_name, kind, "partition", recorded_at)
      SELECT p.id, ${tenant}::text, p.dataset, p.table_name, p.kind, p."partition", ${now}::bigint
      FROM unnest(${partitions.map((p) => p.id)}::text[], ${partitions.map((p) => p.dataset)}::text[], ${partitions.map((p) => p.table)}::text[],
        ${partitions.map((p) => p.kind)}::text[], ${partitions.map((p) => p.partition)}::text[]) AS p(id, dataset, table_name, kind, "partition")`);
  }
  return stored;
}
