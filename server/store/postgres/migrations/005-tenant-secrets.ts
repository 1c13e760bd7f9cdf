import type { Migration } from './index.js';

// SQLite's 005-tenant-secrets: sealed tenant secrets (AES-256-GCM envelopes, never plaintext).
export const tenantSecrets: Migration = {
  version: 5,
  name: 'tenant-secrets',
  sql: /* sql */ `
CREATE TABLE tenant_secrets (
  tenant text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  ciphertext bytea NOT NULL,
  key_version smallint NOT NULL CHECK (key_version BETWEEN 1 AND 255),
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text NOT NULL,
  PRIMARY KEY (tenant, name)
);

CREATE INDEX tenant_secrets_by_key_version ON tenant_secrets (key_version);
`,
};
