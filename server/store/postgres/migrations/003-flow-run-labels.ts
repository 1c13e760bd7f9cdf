import type { Migration } from './index.js';

// SQLite's 003-flow-run-labels: one row per (run, label) keyed in listFlowRuns' keyset order, so a
// label filter walks only the runs that carry the label, newest first. Measured at 1M runs against
// a GIN index on flow_runs.labels (`labels @> ARRAY[$1]`, docs/benchmarks.md): GIN cannot hand out
// runs in created_at order, so the planner kept walking flow_runs_by_created and a label no run has
// still read every run (172 ms against 0.4 ms here). Written with the run, deleted with it,
// backfilled here. No foreign key, as in SQLite: it would need an index on flow_run_id for every
// run delete; the writers keep both tables in step.

/** Fills flow_run_labels from every run's labels, in key order (also used by the history seeder). */
export const backfillFlowRunLabels = /* sql */ `
INSERT INTO flow_run_labels (tenant, label, created_at, flow_run_id)
SELECT DISTINCT r.tenant, l.label, r.created_at, r.id FROM flow_runs r, unnest(r.labels) AS l(label)
ORDER BY 1, 2, 3, 4
ON CONFLICT DO NOTHING;
`;

export const flowRunLabels: Migration = {
  version: 3,
  name: 'flow-run-labels',
  sql: /* sql */ `
CREATE TABLE flow_run_labels (
  tenant text COLLATE "C" NOT NULL,
  label text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, label, created_at, flow_run_id)
);

${backfillFlowRunLabels}
`,
};
