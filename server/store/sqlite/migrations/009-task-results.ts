import type { Migration } from './index.js';

// Persisted task results and reruns. The server records only where an agent stored a task's result
// (its uri, digest and size: the data stays in the agency's result storage) and the hash of the
// task's inputs, so a restarted run can return a stored result for the same key and inputs. A run
// created by rerunFlowRun names the run it re-runs.
export const taskResults: Migration = {
  version: 9,
  name: 'task-results',
  sql: /* sql */ `
ALTER TABLE task_runs ADD COLUMN result_uri TEXT;
ALTER TABLE task_runs ADD COLUMN result_sha256 TEXT;
ALTER TABLE task_runs ADD COLUMN result_size INTEGER;
ALTER TABLE task_runs ADD COLUMN inputs_hash TEXT;
ALTER TABLE flow_runs ADD COLUMN rerun_of TEXT;
`,
};
