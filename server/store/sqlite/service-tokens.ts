// Service tokens in SQLite. Labels are JSON text, as everywhere in this store.
import type { Database } from 'better-sqlite3';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import { serviceTokenFromRow, type NewServiceToken, type ServiceTokenRecord, type ServiceTokenRow, type ServiceTokenSecret, type ServiceTokensStore } from '../service-tokens-store.js';
import type { Page, PageRequest } from '../store.js';
import { NOW_MS } from './rows.js';
import { statement } from './statements.js';

const fromRow = (r: ServiceTokenRow<string>): ServiceTokenRecord => serviceTokenFromRow(r, JSON.parse(r.labels) as string[]);

/** {@link ServiceTokensStore} on the SQLite store's connection. */
export class SqliteServiceTokens implements ServiceTokensStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async create(tenant: string, token: NewServiceToken): Promise<ServiceTokenRecord | null> {
    const row = statement(this.#db, `
      INSERT INTO service_tokens (id, tenant, name, role, subject, labels, secret_hash, created_at, created_by, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ?, CASE WHEN ? IS NULL THEN NULL ELSE ${NOW_MS} + ? * 1000 END)
      ON CONFLICT (tenant, name) DO NOTHING
      RETURNING *`)
      .get(token.id, tenant, token.name, token.role, token.subject, JSON.stringify(token.labels), token.secretHash, token.createdBy,
        token.ttlSeconds, token.ttlSeconds) as ServiceTokenRow<string> | undefined;
    return row ? fromRow(row) : null;
  }

  async get(tenant: string, id: string): Promise<ServiceTokenRecord | null> {
    const row = statement(this.#db, 'SELECT * FROM service_tokens WHERE tenant = ? AND id = ?').get(tenant, id) as ServiceTokenRow<string> | undefined;
    return row ? fromRow(row) : null;
  }

  async list(tenant: string, options: { includeRevoked: boolean }, page: PageRequest): Promise<Page<ServiceTokenRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = statement(this.#db, `
      SELECT * FROM service_tokens
      WHERE tenant = ? AND (? OR revoked_at IS NULL) AND (? IS NULL OR (created_at, id) < (?, ?))
      ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(tenant, options.includeRevoked ? 1 : 0, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, first + 1) as ServiceTokenRow<string>[];
    return pageOf(rows.map(fromRow), first, (t) => [t.createdAt, t.id]);
  }

  async revoke(tenant: string, id: string, revokedBy: string): Promise<ServiceTokenRecord | null> {
    const db = this.#db;
    return db.transaction(() => {
      statement(db, `UPDATE service_tokens SET revoked_at = ${NOW_MS}, revoked_by = ? WHERE tenant = ? AND id = ? AND revoked_at IS NULL`)
        .run(revokedBy, tenant, id);
      const row = statement(db, 'SELECT * FROM service_tokens WHERE tenant = ? AND id = ?').get(tenant, id) as ServiceTokenRow<string> | undefined;
      return row ? fromRow(row) : null;
    }).immediate();
  }

  async findForVerification(id: string): Promise<ServiceTokenSecret | null> {
    const row = statement(this.#db, `SELECT *, ${NOW_MS} AS now FROM service_tokens WHERE id = ?`)
      .get(id) as (ServiceTokenRow<string> & { now: number }) | undefined;
    return row ? { record: fromRow(row), secretHash: row.secret_hash, now: row.now } : null;
  }
}
