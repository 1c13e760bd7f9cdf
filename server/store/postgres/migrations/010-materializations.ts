import type { Migration } from './index.js';

// SQLite's 010-materializations in PostgreSQL types (see there for the reasons). Names and
// partitions are COLLATE "C": the tables' keyset pages and the partitions' order compare bytes,
// as SQLite does. Rows and bytes are double precision, as GraphQL's Float that carries them.
export const materializations: Migration = {
  version: 10,
  name: 'materializations',
  sql: /* sql */ `
CREATE TABLE materializations (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL,
  attempt integer NOT NULL,
  task_run_key text,
  kind text COLLATE "C" NOT NULL,
  dataset text COLLATE "C" NOT NULL,
  table_name text COLLATE "C" NOT NULL,
  partitions json NOT NULL,
  rows double precision,
  bytes double precision,
  uri text NOT NULL,
  mode text,
  recorded_at bigint NOT NULL,
  batch_id text COLLATE "C" NOT NULL
);
CREATE INDEX materializations_by_table ON materializations (tenant, dataset, table_name, kind, recorded_at, id);
CREATE INDEX materializations_by_run ON materializations (flow_run_id, recorded_at, id);

CREATE TABLE materialization_partitions (
  materialization_id text COLLATE "C" NOT NULL,
  tenant text COLLATE "C" NOT NULL,
  dataset text COLLATE "C" NOT NULL,
  table_name text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  partition text COLLATE "C" NOT NULL,
  recorded_at bigint NOT NULL,
  PRIMARY KEY (tenant, dataset, table_name, kind, partition, recorded_at, materialization_id)
);

CREATE TABLE materialization_batches (
  flow_run_id text COLLATE "C" NOT NULL,
  batch_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
);
`,
};
