import type { Migration } from './index.js';

// Filtering runs by label at volume. `labels` is a JSON array, so no index can answer "runs with
// label X, newest first": a rare or absent label read every run of the tenant (p99 813 ms at 1M
// runs). One row per (run, label), keyed in the list's keyset order, lets listFlowRuns walk only the
// runs that carry the label. Written with the run (createFlowRun), deleted with it (retention),
// backfilled here for existing runs. WITHOUT ROWID: the key is the whole row, so the table is its
// only index. No foreign key: checking it on every run delete would need a second index on
// flow_run_id; the writers keep the two tables in step inside their transactions instead.

/** Fills flow_run_labels from every run's labels, in key order (also used by the history seeder). */
export const backfillFlowRunLabels = /* sql */ `
INSERT OR IGNORE INTO flow_run_labels (tenant, label, created_at, flow_run_id)
SELECT r.tenant, l.value, r.created_at, r.id FROM flow_runs r, json_each(r.labels) AS l
ORDER BY r.tenant, l.value, r.created_at, r.id;
`;

export const flowRunLabels: Migration = {
  version: 3,
  name: 'flow-run-labels',
  sql: /* sql */ `
CREATE TABLE flow_run_labels (
  tenant TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  flow_run_id TEXT NOT NULL,
  PRIMARY KEY (tenant, label, created_at, flow_run_id)
) WITHOUT ROWID;

${backfillFlowRunLabels}
`,
};
