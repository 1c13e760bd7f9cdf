import type { Migration } from './index.js';

// SQLite's 004-service-tokens-and-audit: issued service tokens (only the sha256 of each secret is
// kept) and the append-only audit log, with newest-first indexes per tenant and across tenants.
export const serviceTokensAndAudit: Migration = {
  version: 4,
  name: 'service-tokens-and-audit',
  sql: /* sql */ `
CREATE TABLE service_tokens (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  role text NOT NULL,
  subject text COLLATE "C" NOT NULL,
  labels text[] NOT NULL DEFAULT '{}',
  secret_hash text NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL,
  expires_at bigint,
  revoked_at bigint,
  revoked_by text,
  UNIQUE (tenant, name)
);
CREATE INDEX service_tokens_by_created ON service_tokens (tenant, created_at DESC, id DESC);

CREATE TABLE audit_events (
  id text COLLATE "C" PRIMARY KEY,
  at bigint NOT NULL,
  tenant text COLLATE "C",
  subject text COLLATE "C",
  role text,
  action text COLLATE "C" NOT NULL,
  request_id text,
  outcome text NOT NULL CHECK (outcome IN ('ALLOWED', 'DENIED', 'FAILED')),
  code text,
  detail text
);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant, at DESC, id DESC);
CREATE INDEX audit_events_by_at ON audit_events (at DESC, id DESC);
`,
};
