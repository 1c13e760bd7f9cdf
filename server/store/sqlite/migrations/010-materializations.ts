import type { Migration } from './index.js';

// Lineage (issue 11): what each run wrote to the lake and the warehouse, as its agent reported it
// (recordMaterializations). The data stays with the agency; the server keeps where it went, which
// partitions, how many rows. Partitions are also kept one per row (materialization_partitions,
// with the table's key repeated) so "each partition's latest write" is an index walk instead of
// decoding every write's JSON array. That table is its key alone (one b-tree, no second index: a
// write of 10,000 partitions pays once); retention finds its rows from the writes' own partitions,
// as it does flow_run_labels'. A batch retried after a lost answer is recorded once
// (materialization_batches, as log_batches for logs).
export const materializations: Migration = {
  version: 10,
  name: 'materializations',
  sql: /* sql */ `
CREATE TABLE materializations (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  flow_run_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  task_run_key TEXT,
  kind TEXT NOT NULL,
  dataset TEXT NOT NULL,
  table_name TEXT NOT NULL,
  partitions TEXT NOT NULL,
  rows REAL,
  bytes REAL,
  uri TEXT NOT NULL,
  mode TEXT,
  recorded_at INTEGER NOT NULL,
  batch_id TEXT NOT NULL
);
-- Tables of a tenant (one skip per table) and a table's writes newest first.
CREATE INDEX materializations_by_table ON materializations (tenant, dataset, table_name, kind, recorded_at, id);
CREATE INDEX materializations_by_run ON materializations (flow_run_id, recorded_at, id);

CREATE TABLE materialization_partitions (
  materialization_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  dataset TEXT NOT NULL,
  table_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  partition TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, dataset, table_name, kind, partition, recorded_at, materialization_id)
) WITHOUT ROWID;

CREATE TABLE materialization_batches (
  flow_run_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
) WITHOUT ROWID;
`,
};
