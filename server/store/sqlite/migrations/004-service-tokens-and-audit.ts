import type { Migration } from './index.js';

// Service tokens fluxo issues (only the sha256 of each secret is kept) and the append-only audit
// log. Audit pages are newest first, per tenant (tenant-admins) and across tenants (admins): one
// index for each order. Events without a tenant (a caller the proxy could not identify) sort into
// the global index only.
export const serviceTokensAndAudit: Migration = {
  version: 4,
  name: 'service-tokens-and-audit',
  sql: /* sql */ `
CREATE TABLE service_tokens (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  subject TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '[]',
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  revoked_by TEXT,
  UNIQUE (tenant, name)
);
CREATE INDEX service_tokens_by_created ON service_tokens (tenant, created_at DESC, id DESC);

CREATE TABLE audit_events (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  tenant TEXT,
  subject TEXT,
  role TEXT,
  action TEXT NOT NULL,
  request_id TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('ALLOWED', 'DENIED', 'FAILED')),
  code TEXT,
  detail TEXT
);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant, at DESC, id DESC);
CREATE INDEX audit_events_by_at ON audit_events (at DESC, id DESC);
`,
};
