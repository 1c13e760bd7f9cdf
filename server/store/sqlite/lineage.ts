// Lineage in SQLite (migration 010). A batch is written in one write transaction under the run's
// live lease, like a log batch (run-writes.ts writeLogs). Reads walk the indexes one table (or one
// partition) at a time: better-sqlite3 runs a prepared statement in microseconds, so a loop of
// index seeks in this process beats one query that groups every write of the tenant.
import type { Database } from 'better-sqlite3';
import { newId } from '../../../common/ids.js';
import { pageSize } from '../cursor.js';
import {
  decodeTableCursor, encodeTableCursor, tableOf, toMaterialization,
  type DataPartitionRecord, type DataTableFilter, type DataTableKey, type LineageStore, type MaterializationRow, type MaterializationWrite,
} from '../lineage-store.js';
import type { DataTableRecord, MaterializationRecord } from '../records.js';
import type { Page, PageRequest } from '../store.js';
import { assertLease } from './run-writes.js';
import { NOW_MS } from './rows.js';
import { statement } from './statements.js';

const TABLE = 'tenant = ? AND dataset = ? AND table_name = ? AND kind = ?';

/** Lineage on one SQLite connection. */
export class SqliteLineageStore implements LineageStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async record(tenant: string, flowRunId: string, leaseToken: string, batchId: string, items: MaterializationWrite[]): Promise<MaterializationRecord[]> {
    const db = this.#db;
    return db.transaction(() => {
      const now = (statement(db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;
      const run = assertLease(db, tenant, flowRunId, leaseToken, now);
      return recordMaterializations(db, tenant, flowRunId, run.attempt, batchId, items, now);
    }).immediate();
  }

  async listForRun(tenant: string, flowRunId: string): Promise<MaterializationRecord[]> {
    const rows = statement(this.#db, 'SELECT * FROM materializations WHERE flow_run_id = ? AND tenant = ? ORDER BY recorded_at, id').all(flowRunId, tenant) as MaterializationRow[];
    return rows.map(toMaterialization);
  }

  async listTables(tenant: string, filter: DataTableFilter, page: PageRequest): Promise<Page<DataTableRecord>> {
    const first = pageSize(page.first);
    const where = ['tenant = ?', '(dataset, table_name, kind) > (?, ?, ?)'];
    const filters: unknown[] = [];
    if (filter.dataset != null) (where.push('dataset = ?'), filters.push(filter.dataset));
    if (filter.kind != null) (where.push('kind = ?'), filters.push(filter.kind));
    // One index seek per table (a loose index scan): a table's thousands of writes are skipped, not read.
    const next = statement(this.#db, `SELECT dataset, table_name, kind FROM materializations WHERE ${where.join(' AND ')} ORDER BY dataset, table_name, kind LIMIT 1`);
    // Every dataset id is at least one character, so the empty key comes before them all.
    let key = decodeTableCursor(page.after) ?? { dataset: '', table: '', kind: '' };
    const tables: DataTableRecord[] = [];
    while (tables.length <= first) {
      const found = next.get(tenant, key.dataset, key.table, key.kind, ...filters) as { dataset: string; table_name: string; kind: string } | undefined;
      if (!found) break;
      key = { dataset: found.dataset, table: found.table_name, kind: found.kind as DataTableKey['kind'] };
      tables.push(tableOf(this.#latest(tenant, key)!));
    }
    const hasNextPage = tables.length > first;
    const nodes = hasNextPage ? tables.slice(0, first) : tables;
    const last = nodes.at(-1);
    return { nodes, hasNextPage, endCursor: last ? encodeTableCursor(last) : null };
  }

  async getTable(tenant: string, key: DataTableKey): Promise<DataTableRecord | null> {
    const latest = this.#latest(tenant, key);
    return latest ? tableOf(latest) : null;
  }

  async partitions(tenant: string, key: DataTableKey, first: number): Promise<DataPartitionRecord[]> {
    const table = [tenant, key.dataset, key.table, key.kind];
    // The partitions by a loose index scan (each step one MAX() seek below the previous one), each
    // with its latest write by one more seek: a partition rewritten by a thousand runs costs one step.
    const rows = statement(this.#db, `
      WITH RECURSIVE parts(p) AS (
        SELECT MAX("partition") FROM materialization_partitions WHERE ${TABLE}
        UNION ALL
        SELECT (SELECT MAX("partition") FROM materialization_partitions WHERE ${TABLE} AND "partition" < parts.p) FROM parts WHERE parts.p IS NOT NULL
        LIMIT ?
      )
      SELECT d.p AS "partition",
        (SELECT x.materialization_id FROM materialization_partitions x
         WHERE x.tenant = ? AND x.dataset = ? AND x.table_name = ? AND x.kind = ? AND x."partition" = d.p
         ORDER BY x.recorded_at DESC, x.materialization_id DESC LIMIT 1) AS materialization_id
      FROM parts d WHERE d.p IS NOT NULL ORDER BY d.p DESC`).all(...table, ...table, first, ...table) as { partition: string; materialization_id: string }[];
    const writes = this.#byIds([...new Set(rows.map((r) => r.materialization_id))]);
    return rows.map((r) => ({ partition: r.partition, lastWrite: writes.get(r.materialization_id)! }));
  }

  async history(tenant: string, key: DataTableKey, first: number): Promise<MaterializationRecord[]> {
    const rows = statement(this.#db, `SELECT * FROM materializations WHERE ${TABLE} ORDER BY recorded_at DESC, id DESC LIMIT ?`)
      .all(tenant, key.dataset, key.table, key.kind, first) as MaterializationRow[];
    return rows.map(toMaterialization);
  }

  #latest(tenant: string, key: DataTableKey): MaterializationRecord | null {
    const row = statement(this.#db, `SELECT * FROM materializations WHERE ${TABLE} ORDER BY recorded_at DESC, id DESC LIMIT 1`)
      .get(tenant, key.dataset, key.table, key.kind) as MaterializationRow | undefined;
    return row ? toMaterialization(row) : null;
  }

  #byIds(ids: string[]): Map<string, MaterializationRecord> {
    if (ids.length === 0) return new Map();
    const rows = statement(this.#db, 'SELECT * FROM materializations WHERE id IN (SELECT value FROM json_each(?))').all(JSON.stringify(ids)) as MaterializationRow[];
    return new Map(rows.map((r) => [r.id, toMaterialization(r)]));
  }
}

/**
 * Records writes of a run whose lease the caller checked, under `attempt`, once per (run,
 * batchId), inside the caller's transaction (a repeat records nothing).
 */
export function recordMaterializations(
  db: Database, tenant: string, flowRunId: string, attempt: number, batchId: string, items: MaterializationWrite[], now: number,
): MaterializationRecord[] {
  const fresh = statement(db, 'INSERT OR IGNORE INTO materialization_batches (flow_run_id, batch_id) VALUES (?, ?)').run(flowRunId, batchId).changes === 1;
  if (!fresh) return [];
  const insert = statement(db,
    `INSERT INTO materializations (id, tenant, flow_run_id, attempt, task_run_key, kind, dataset, table_name, partitions, "rows", bytes, uri, mode, recorded_at, batch_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertPartition = statement(db,
    `INSERT INTO materialization_partitions (materialization_id, tenant, dataset, table_name, kind, "partition", recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  return items.map((item) => {
    const id = newId();
    insert.run(id, tenant, flowRunId, attempt, item.taskRunKey, item.kind, item.dataset, item.table, JSON.stringify(item.partitions), item.rows, item.bytes,
      item.uri, item.mode, now, batchId);
    for (const partition of item.partitions) insertPartition.run(id, tenant, item.dataset, item.table, item.kind, partition, now);
    return { id, tenant, flowRunId, attempt, ...item, recordedAt: now };
  });
}
