// Where lineage rests (migration 010): one row per write a run reported (materializations), its
// partitions one per row (materialization_partitions), and the batches already recorded
// (materialization_batches). A "table" is not stored: it is every write with the same (dataset,
// table, kind), and its state is its latest write.
import { FluxoError } from '../../common/errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { DataTableRecord, MaterializationKind, MaterializationRecord } from './records.js';
import type { Page, PageRequest } from './store.js';

/** One write as the core hands it to the store: validated, partitions without repeats. */
export interface MaterializationWrite {
  kind: MaterializationKind;
  taskRunKey: string | null;
  dataset: string;
  table: string;
  partitions: string[];
  rows: number | null;
  bytes: number | null;
  uri: string;
  mode: string | null;
}

/** Filters of {@link LineageStore.listTables}. */
export interface DataTableFilter {
  dataset?: string | null | undefined;
  kind?: MaterializationKind | null | undefined;
}

/** The key that names a table of a tenant. */
export interface DataTableKey {
  dataset: string;
  table: string;
  kind: MaterializationKind;
}

/** A partition with the latest write that touched it. */
export interface DataPartitionRecord {
  partition: string;
  lastWrite: MaterializationRecord;
}

/** Lineage of a tenant's runs. Every method is scoped by tenant (from the verified identity). */
export interface LineageStore {
  /**
   * Records `items` for the run under its live lease (LEASE_LOST otherwise, NOT_FOUND for no such
   * run of the tenant), with the run's current attempt and the database time, once per
   * (run, batchId): a repeated batch records nothing. Returns the records written (empty for a
   * repeated batch).
   */
  record(tenant: string, flowRunId: string, leaseToken: string, batchId: string, items: MaterializationWrite[]): Promise<MaterializationRecord[]>;
  /** The run's writes, oldest first. */
  listForRun(tenant: string, flowRunId: string): Promise<MaterializationRecord[]>;
  /** The tenant's tables by (dataset, table, kind), each with its latest write. */
  listTables(tenant: string, filter: DataTableFilter, page: PageRequest): Promise<Page<DataTableRecord>>;
  /** One table, or null when the tenant's runs never wrote it. */
  getTable(tenant: string, key: DataTableKey): Promise<DataTableRecord | null>;
  /** The table's partitions in descending order, at most `first`, each with the latest write that touched it. */
  partitions(tenant: string, key: DataTableKey, first: number): Promise<DataPartitionRecord[]>;
  /** The table's writes, newest first, at most `first`. */
  history(tenant: string, key: DataTableKey, first: number): Promise<MaterializationRecord[]>;
}

/** A materializations row as both dialects return it (SQLite's partitions are JSON text). */
export interface MaterializationRow {
  id: string;
  tenant: string;
  flow_run_id: string;
  attempt: number;
  task_run_key: string | null;
  kind: string;
  dataset: string;
  table_name: string;
  partitions: string | string[];
  rows: number | null;
  bytes: number | null;
  uri: string;
  mode: string | null;
  recorded_at: number | string;
}

export function toMaterialization(r: MaterializationRow): MaterializationRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    flowRunId: r.flow_run_id,
    attempt: r.attempt,
    taskRunKey: r.task_run_key,
    kind: r.kind as MaterializationKind,
    dataset: r.dataset,
    table: r.table_name,
    partitions: typeof r.partitions === 'string' ? (JSON.parse(r.partitions) as string[]) : r.partitions,
    rows: r.rows === null ? null : Number(r.rows),
    bytes: r.bytes === null ? null : Number(r.bytes),
    uri: r.uri,
    mode: r.mode,
    recordedAt: Number(r.recorded_at),
  };
}

export const tableOf = (m: MaterializationRecord): DataTableRecord => ({ tenant: m.tenant, dataset: m.dataset, table: m.table, kind: m.kind, lastWrite: m });

/** The cursor of a tables page: the last table's key. */
export function encodeTableCursor(t: DataTableKey): string {
  return encodeCursor([t.dataset, JSON.stringify([t.table, t.kind])]);
}

/** The key after which a tables page starts; BAD_USER_INPUT for a cursor this API did not return. */
export function decodeTableCursor(after: string | null | undefined): DataTableKey | null {
  const key = decodeCursor(after);
  if (key === null) return null;
  try {
    const rest = JSON.parse(key[1]) as unknown;
    if (typeof key[0] === 'string' && Array.isArray(rest) && rest.length === 2 && typeof rest[0] === 'string' && typeof rest[1] === 'string') {
      return { dataset: key[0], table: rest[0], kind: rest[1] as MaterializationKind };
    }
  } catch {
    // fall through
  }
  throw new FluxoError('BAD_USER_INPUT', `"after" is not a cursor this API returned: ${String(after).slice(0, 40)}`);
}
