import type { Migration } from './index.js';

// Retention: a per-tenant override of the server's `--retention-days`, and an index that finds a
// tenant's finished runs oldest first without reading the live ones. The partial index's WHERE is
// repeated word for word by the queries that use it (SQLite only uses a partial index whose
// condition appears in the query).
export const retention: Migration = {
  version: 2,
  name: 'retention',
  sql: /* sql */ `
CREATE TABLE tenant_settings (
  tenant TEXT PRIMARY KEY,
  retention_days INTEGER CHECK (retention_days IS NULL OR retention_days >= 0)
) WITHOUT ROWID;

CREATE INDEX flow_runs_finished ON flow_runs (tenant, ended_at)
  WHERE state IN ('SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED');
`,
};
