// Tenant secrets in PostgreSQL (table tenant_secrets, migration 005). Sealed values only.
import { sealedSecretFromRow, secretFromRow, type SealedSecretRecord, type SealedSecretRow, type SecretRow, type SecretsStore, type SecretWrite, type TenantSecretRecord } from '../secrets-store.js';
import type { PgDatabase } from './database.js';
import { NOW_MS, raw, sql } from './sql.js';

const LISTED = raw('tenant, name, created_at, updated_at, updated_by');

/** Tenant secrets on one connection (pool). */
export class PostgresSecretsStore implements SecretsStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async put(tenant: string, write: SecretWrite): Promise<TenantSecretRecord> {
    const row = await this.#db.row<SecretRow>(sql`
      INSERT INTO tenant_secrets (tenant, name, ciphertext, key_version, created_at, updated_at, updated_by)
      -- One reading of the clock: clock_timestamp() moves within a statement, and a new secret's
      -- createdAt and updatedAt must be the same instant.
      SELECT ${tenant}::text, ${write.name}::text, ${Buffer.from(write.ciphertext)}::bytea, ${write.keyVersion}::smallint, clock.now, clock.now, ${write.updatedBy}::text
      FROM (SELECT ${NOW_MS} AS now) AS clock
      ON CONFLICT (tenant, name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, key_version = EXCLUDED.key_version,
        updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
      RETURNING ${LISTED}`);
    return secretFromRow(row!);
  }

  async delete(tenant: string, name: string): Promise<boolean> {
    const gone = await this.#db.rows<{ name: string }>(sql`DELETE FROM tenant_secrets WHERE tenant = ${tenant} AND name = ${name} RETURNING name`);
    return gone.length > 0;
  }

  async list(tenant: string): Promise<TenantSecretRecord[]> {
    return (await this.#db.rows<SecretRow>(sql`SELECT ${LISTED} FROM tenant_secrets WHERE tenant = ${tenant} ORDER BY name`)).map(secretFromRow);
  }

  async sealed(tenant: string, names: readonly string[]): Promise<SealedSecretRecord[]> {
    if (names.length === 0) return [];
    const rows = await this.#db.rows<SealedSecretRow>(sql`
      SELECT * FROM tenant_secrets WHERE tenant = ${tenant} AND name = ANY(${[...names]}::text[]) ORDER BY name`);
    return rows.map(sealedSecretFromRow);
  }

  async sealedWithOtherKey(keyVersion: number, limit: number): Promise<SealedSecretRecord[]> {
    const rows = await this.#db.rows<SealedSecretRow>(sql`
      SELECT * FROM tenant_secrets WHERE key_version <> ${keyVersion}::smallint ORDER BY tenant, name LIMIT ${limit}::integer`);
    return rows.map(sealedSecretFromRow);
  }

  async reseal(tenant: string, name: string, expected: Uint8Array, replacement: { ciphertext: Uint8Array; keyVersion: number }): Promise<boolean> {
    const changed = await this.#db.rows<{ name: string }>(sql`
      UPDATE tenant_secrets SET ciphertext = ${Buffer.from(replacement.ciphertext)}, key_version = ${replacement.keyVersion}::smallint
      WHERE tenant = ${tenant} AND name = ${name} AND ciphertext = ${Buffer.from(expected)}
      RETURNING name`);
    return changed.length > 0;
  }
}
