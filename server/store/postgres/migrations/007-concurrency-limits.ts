import type { Migration } from './index.js';

// SQLite's 007-concurrency-limits in PostgreSQL types (see there for the reasons of each index).
// flow_versions_limited answers "does any version of this tenant declare a flow limit?" with one
// probe: the claim serializes a tenant's claimers (advisory lock) only when it does, or when the
// tenant has operator limits, so tenants without limits keep the lock-free claim.
export const concurrencyLimits: Migration = {
  version: 7,
  name: 'concurrency-limits',
  sql: /* sql */ `
ALTER TABLE flow_versions ADD COLUMN concurrency_limit integer;
ALTER TABLE flow_versions ADD COLUMN when_concurrency_full text NOT NULL DEFAULT 'QUEUE';
CREATE INDEX flow_versions_limited ON flow_versions (tenant) WHERE concurrency_limit IS NOT NULL;

CREATE INDEX flow_runs_holding_slot ON flow_runs (tenant, flow_id) WHERE state IN ('SUBMITTED', 'RUNNING', 'CANCELLING');

CREATE TABLE concurrency_limits (
  tenant text COLLATE "C" NOT NULL,
  scope text COLLATE "C" NOT NULL,
  "limit" integer NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text NOT NULL,
  PRIMARY KEY (tenant, scope)
);
`,
};
