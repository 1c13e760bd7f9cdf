import type { Migration } from './index.js';

// SQLite's 002-retention: a per-tenant override of the server's `--retention-days`, and a partial
// index that finds a tenant's finished runs oldest first without touching the live ones.
export const retention: Migration = {
  version: 2,
  name: 'retention',
  sql: /* sql */ `
CREATE TABLE tenant_settings (
  tenant text COLLATE "C" PRIMARY KEY,
  retention_days integer CHECK (retention_days IS NULL OR retention_days >= 0)
);

CREATE INDEX flow_runs_finished ON flow_runs (tenant, ended_at)
  WHERE state IN ('SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED');
`,
};
