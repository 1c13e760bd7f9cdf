import type { Migration } from './index.js';

// Tenant secrets, sealed (server/core/secret-cipher.ts): the value column holds only AES-256-GCM
// envelopes. `key_version` repeats the envelope's first byte so re-encryption after a key
// rotation finds the values still sealed with an older key through the index.
export const tenantSecrets: Migration = {
  version: 5,
  name: 'tenant-secrets',
  sql: /* sql */ `
CREATE TABLE tenant_secrets (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  ciphertext BLOB NOT NULL,
  key_version INTEGER NOT NULL CHECK (key_version BETWEEN 1 AND 255),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

CREATE INDEX tenant_secrets_by_key_version ON tenant_secrets (key_version);
`,
};
