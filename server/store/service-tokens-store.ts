// Storage of the service tokens fluxo issues. Only the sha256 of a token's secret is stored: the
// bearer value is shown once, when created, and cannot be recovered from the database.
import type { Role } from '../../common/identity.js';
import type { Page, PageRequest } from './store.js';

/** A service token as stored (times are epoch ms of the database clock). */
export interface ServiceTokenRecord {
  id: string;
  tenant: string;
  name: string;
  role: Role;
  /** `service:<name>`. */
  subject: string;
  labels: string[];
  createdAt: number;
  createdBy: string;
  /** Null: lives until revoked. */
  expiresAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

/** What verifying a bearer value needs: the record, the stored hash and the database time. */
export interface ServiceTokenSecret {
  record: ServiceTokenRecord;
  /** Hex sha256 of the secret part of the bearer value. */
  secretHash: string;
  /** The database clock when it was read, so expiry is judged by database time. */
  now: number;
}

/** A token to store: everything but the times the database sets. */
export interface NewServiceToken {
  id: string;
  name: string;
  role: Role;
  subject: string;
  labels: string[];
  secretHash: string;
  createdBy: string;
  /** Seconds from now (database time); null for a token without expiry. */
  ttlSeconds: number | null;
}

/** Service tokens, each scoped by tenant except the lookup that verification needs. */
export interface ServiceTokensStore {
  /** Stores a new token; null when the tenant already has a token with this name (revoked ones included). */
  create(tenant: string, token: NewServiceToken): Promise<ServiceTokenRecord | null>;
  get(tenant: string, id: string): Promise<ServiceTokenRecord | null>;
  /** Newest first; revoked tokens only with `includeRevoked`. */
  list(tenant: string, options: { includeRevoked: boolean }, page: PageRequest): Promise<Page<ServiceTokenRecord>>;
  /** Marks the token revoked unless it already is (the first revocation's time and author stay); null when not found. */
  revoke(tenant: string, id: string, revokedBy: string): Promise<ServiceTokenRecord | null>;
  /** The token with this id in any tenant, with its secret hash: the bearer value names the id, not the tenant. */
  findForVerification(id: string): Promise<ServiceTokenSecret | null>;
}

/** A service_tokens row; `labels` is JSON text in SQLite and text[] in PostgreSQL. */
export interface ServiceTokenRow<Labels = string[]> {
  id: string; tenant: string; name: string; role: string; subject: string; labels: Labels; secret_hash: string;
  created_at: number; created_by: string; expires_at: number | null; revoked_at: number | null; revoked_by: string | null;
}

/** Maps a service_tokens row of either dialect, given its decoded labels. */
export const serviceTokenFromRow = (r: ServiceTokenRow<unknown>, labels: string[]): ServiceTokenRecord => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  role: r.role as Role,
  subject: r.subject,
  labels,
  createdAt: r.created_at,
  createdBy: r.created_by,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
});
