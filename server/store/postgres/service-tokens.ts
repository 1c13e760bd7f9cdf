// Service tokens in PostgreSQL. Every statement is a single one, safe against other replicas; a
// revocation keeps the first revoker's time and name (`COALESCE`).
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import { serviceTokenFromRow, type NewServiceToken, type ServiceTokenRecord, type ServiceTokenRow, type ServiceTokenSecret, type ServiceTokensStore } from '../service-tokens-store.js';
import type { Page, PageRequest } from '../store.js';
import type { PgDatabase } from './database.js';
import { NOW_MS, sql } from './sql.js';

/** {@link ServiceTokensStore} on the PostgreSQL store's pool. */
export class PostgresServiceTokens implements ServiceTokensStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async create(tenant: string, token: NewServiceToken): Promise<ServiceTokenRecord | null> {
    const row = await this.#db.row<ServiceTokenRow>(sql`
      INSERT INTO service_tokens (id, tenant, name, role, subject, labels, secret_hash, created_at, created_by, expires_at)
      SELECT ${token.id}::text, ${tenant}::text, ${token.name}::text, ${token.role}::text, ${token.subject}::text, ${token.labels}::text[],
        ${token.secretHash}::text, clock.now, ${token.createdBy}::text,
        clock.now + ${token.ttlSeconds}::bigint * 1000
      FROM (SELECT ${NOW_MS} AS now) AS clock
      ON CONFLICT (tenant, name) DO NOTHING
      RETURNING *`);
    return row ? serviceTokenFromRow(row, row.labels) : null;
  }

  async get(tenant: string, id: string): Promise<ServiceTokenRecord | null> {
    const row = await this.#db.row<ServiceTokenRow>(sql`SELECT * FROM service_tokens WHERE tenant = ${tenant} AND id = ${id}`);
    return row ? serviceTokenFromRow(row, row.labels) : null;
  }

  async list(tenant: string, options: { includeRevoked: boolean }, page: PageRequest): Promise<Page<ServiceTokenRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await this.#db.rows<ServiceTokenRow>(sql`
      SELECT * FROM service_tokens
      WHERE tenant = ${tenant} ${options.includeRevoked ? sql`` : sql`AND revoked_at IS NULL`}
        ${after ? sql`AND (created_at, id) < (${Number(after[0])}::bigint, ${after[1]}::text)` : sql``}
      ORDER BY created_at DESC, id DESC LIMIT ${first + 1}`);
    return pageOf(rows.map((r) => serviceTokenFromRow(r, r.labels)), first, (t) => [t.createdAt, t.id]);
  }

  async revoke(tenant: string, id: string, revokedBy: string): Promise<ServiceTokenRecord | null> {
    const row = await this.#db.row<ServiceTokenRow>(sql`
      UPDATE service_tokens SET revoked_at = COALESCE(revoked_at, ${NOW_MS}), revoked_by = COALESCE(revoked_by, ${revokedBy}::text)
      WHERE tenant = ${tenant} AND id = ${id}
      RETURNING *`);
    return row ? serviceTokenFromRow(row, row.labels) : null;
  }

  async findForVerification(id: string): Promise<ServiceTokenSecret | null> {
    const row = await this.#db.row<ServiceTokenRow & { now: number }>(sql`SELECT *, ${NOW_MS} AS now FROM service_tokens WHERE id = ${id}`);
    return row ? { record: serviceTokenFromRow(row, row.labels), secretHash: row.secret_hash, now: row.now } : null;
  }
}
