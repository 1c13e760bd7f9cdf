// Where tenant secrets rest: sealed values only (server/core/secret-cipher.ts seals and opens them;
// no store ever sees a plaintext). Listing answers names and times, never ciphertexts, so the
// path that serves users cannot hand out even a sealed value.

/** A stored secret as users may see it: no value, sealed or not. */
export interface TenantSecretRecord {
  tenant: string;
  name: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the last change of its value. */
  updatedAt: number;
  /** The subject that last set it. */
  updatedBy: string;
}

/** A stored secret with its sealed value, for the claim path and re-encryption only. */
export interface SealedSecretRecord extends TenantSecretRecord {
  ciphertext: Uint8Array;
  keyVersion: number;
}

/** What {@link SecretsStore.put} writes. */
export interface SecretWrite {
  name: string;
  ciphertext: Uint8Array;
  keyVersion: number;
  updatedBy: string;
}

/** Tenant secrets in the server's database (table `tenant_secrets`, migration 005). */
export interface SecretsStore {
  /** Stores or replaces a secret; `createdAt` is kept on replacement. */
  put(tenant: string, write: SecretWrite): Promise<TenantSecretRecord>;
  /** Deletes a secret; false when there was none. */
  delete(tenant: string, name: string): Promise<boolean>;
  /** The tenant's secrets by name, without values. */
  list(tenant: string): Promise<TenantSecretRecord[]>;
  /** The sealed values of those of `names` the tenant has stored (others are left out), by name. */
  sealed(tenant: string, names: readonly string[]): Promise<SealedSecretRecord[]>;
  /** Up to `limit` sealed values of any tenant whose key version is not `keyVersion`, for re-encryption. */
  sealedWithOtherKey(keyVersion: number, limit: number): Promise<SealedSecretRecord[]>;
  /**
   * Replaces a sealed value only if it is still `expected` (a concurrent `put` wins), leaving
   * `updatedAt` and `updatedBy` alone: re-encryption does not change the value. True when replaced.
   */
  reseal(tenant: string, name: string, expected: Uint8Array, replacement: { ciphertext: Uint8Array; keyVersion: number }): Promise<boolean>;
}

/** A tenant_secrets row as both dialects return it (metadata). */
export interface SecretRow {
  tenant: string;
  name: string;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

/** A tenant_secrets row with its sealed value. */
export interface SealedSecretRow extends SecretRow {
  ciphertext: Buffer;
  key_version: number;
}

/** Maps a tenant_secrets row (either dialect) to its metadata. */
export const secretFromRow = (r: SecretRow): TenantSecretRecord => ({ tenant: r.tenant, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at, updatedBy: r.updated_by });
/** Maps a tenant_secrets row (either dialect) with its sealed value. */
export const sealedSecretFromRow = (r: SealedSecretRow): SealedSecretRecord => ({ ...secretFromRow(r), ciphertext: new Uint8Array(r.ciphertext), keyVersion: r.key_version });
