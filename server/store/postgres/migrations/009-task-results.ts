import type { Migration } from './index.js';

// SQLite's 009-task-results in PostgreSQL types (see there for the reasons).
export const taskResults: Migration = {
  version: 9,
  name: 'task-results',
  sql: /* sql */ `
ALTER TABLE task_runs ADD COLUMN result_uri text;
ALTER TABLE task_runs ADD COLUMN result_sha256 text;
ALTER TABLE task_runs ADD COLUMN result_size bigint;
ALTER TABLE task_runs ADD COLUMN inputs_hash text;
ALTER TABLE flow_runs ADD COLUMN rerun_of text COLLATE "C";
`,
};
