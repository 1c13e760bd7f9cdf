// Tenant secrets in SQLite (table tenant_secrets, migration 005). Sealed values only.
import type { Database } from 'better-sqlite3';
import { sealedSecretFromRow, secretFromRow, type SealedSecretRecord, type SealedSecretRow, type SecretRow, type SecretsStore, type SecretWrite, type TenantSecretRecord } from '../secrets-store.js';
import { NOW_MS } from './rows.js';
import { statement } from './statements.js';

const LISTED = 'tenant, name, created_at, updated_at, updated_by';

/** Tenant secrets on one connection (pool). */
export class SqliteSecretsStore implements SecretsStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async put(tenant: string, write: SecretWrite): Promise<TenantSecretRecord> {
    const row = statement(this.#db,
      `INSERT INTO tenant_secrets (tenant, name, ciphertext, key_version, created_at, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ${NOW_MS}, ${NOW_MS}, ?)
       ON CONFLICT (tenant, name) DO UPDATE SET ciphertext = excluded.ciphertext, key_version = excluded.key_version,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by
       RETURNING ${LISTED}`,
    ).get(tenant, write.name, Buffer.from(write.ciphertext), write.keyVersion, write.updatedBy) as SecretRow;
    return secretFromRow(row);
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    return statement(this.#db, 'DELETE FROM tenant_secrets WHERE tenant = ? AND name = ?').run(tenant, name).changes > 0;
  }

  async list(tenant: string): Promise<TenantSecretRecord[]> {
    return (statement(this.#db, `SELECT ${LISTED} FROM tenant_secrets WHERE tenant = ? ORDER BY name`).all(tenant) as SecretRow[]).map(secretFromRow);
  }

  async sealed(tenant: string, names: readonly string[]): Promise<SealedSecretRecord[]> {
    if (names.length === 0) return [];
    const rows = statement(this.#db, 'SELECT * FROM tenant_secrets WHERE tenant = ? AND name IN (SELECT value FROM json_each(?)) ORDER BY name')
      .all(tenant, JSON.stringify(names)) as SealedSecretRow[];
    return rows.map(sealedSecretFromRow);
  }

  async sealedWithOtherKey(keyVersion: number, limit: number): Promise<SealedSecretRecord[]> {
    const rows = statement(this.#db, 'SELECT * FROM tenant_secrets WHERE key_version <> ? ORDER BY tenant, name LIMIT ?').all(keyVersion, limit) as SealedSecretRow[];
    return rows.map(sealedSecretFromRow);
  }

  async reseal(tenant: string, name: string, expected: Uint8Array, replacement: { ciphertext: Uint8Array; keyVersion: number }): Promise<boolean> {
    const result = statement(this.#db, 'UPDATE tenant_secrets SET ciphertext = ?, key_version = ? WHERE tenant = ? AND name = ? AND ciphertext = ?')
      .run(Buffer.from(replacement.ciphertext), replacement.keyVersion, tenant, name, Buffer.from(expected));
    return result.changes > 0;
  }
}
