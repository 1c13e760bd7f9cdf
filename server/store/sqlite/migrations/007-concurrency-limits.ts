import type { Migration } from './index.js';

// Concurrency limits. A flow's limit is declared in code and lives on its versions (the claim reads
// the due run's version); label and tenant limits are the operator's, one row per scope
// (`tenant`, `label:<label>`). The claim counts the runs that hold a slot (SUBMITTED, RUNNING,
// CANCELLING) by flow, by label and by tenant: flow_runs_holding_slot keeps those few rows of a
// tenant together (with their flow), so each count reads only the runs holding a slot now, never
// the tenant's history. Label counts decode those same rows' labels.
export const concurrencyLimits: Migration = {
  version: 7,
  name: 'concurrency-limits',
  sql: /* sql */ `
ALTER TABLE flow_versions ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE flow_versions ADD COLUMN when_concurrency_full TEXT NOT NULL DEFAULT 'QUEUE';

CREATE INDEX flow_runs_holding_slot ON flow_runs (tenant, flow_id) WHERE state IN ('SUBMITTED', 'RUNNING', 'CANCELLING');

CREATE TABLE concurrency_limits (
  tenant TEXT NOT NULL,
  scope TEXT NOT NULL,
  "limit" INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (tenant, scope)
) WITHOUT ROWID;
`,
};
