// The audit log in PostgreSQL: a batch is one INSERT over unnest()ed arrays (one round trip,
// however many events), pages are newest-first keyset reads.
import { auditEventFromRow, type AuditEventRecord, type AuditEventRow, type AuditFilter, type AuditStore } from '../audit-store.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import type { Page, PageRequest } from '../store.js';
import type { PgDatabase } from './database.js';
import { pgText } from './rows.js';
import { join, sql, type Sql } from './sql.js';

/** {@link AuditStore} on the PostgreSQL store's pool. */
export class PostgresAudit implements AuditStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async append(events: readonly AuditEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    const column = <T>(pick: (e: AuditEventRecord) => T): T[] => events.map(pick);
    await this.#db.rows(sql`
      INSERT INTO audit_events (id, at, tenant, subject, role, action, request_id, outcome, code, detail)
      SELECT * FROM unnest(${column((e) => e.id)}::text[], ${column((e) => e.at)}::bigint[], ${column((e) => e.tenant)}::text[],
        ${column((e) => e.subject)}::text[], ${column((e) => e.role)}::text[], ${column((e) => e.action)}::text[],
        ${column((e) => e.requestId)}::text[], ${column((e) => e.outcome)}::text[], ${column((e) => e.code)}::text[],
        ${column((e) => pgText(e.detail))}::text[])`);
  }

  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const where: Sql[] = [];
    if (filter.tenant !== undefined) where.push(sql`tenant = ${filter.tenant}`);
    if (filter.subject !== undefined) where.push(sql`subject = ${filter.subject}`);
    if (filter.action !== undefined) where.push(sql`action = ${filter.action}`);
    if (filter.outcome !== undefined) where.push(sql`outcome = ${filter.outcome}`);
    if (filter.atOrAfter !== undefined) where.push(sql`at >= ${filter.atOrAfter}::bigint`);
    if (filter.before !== undefined) where.push(sql`at < ${filter.before}::bigint`);
    if (after) where.push(sql`(at, id) < (${Number(after[0])}::bigint, ${after[1]}::text)`);
    const rows = await this.#db.rows<AuditEventRow>(sql`
      SELECT * FROM audit_events ${where.length ? sql`WHERE ${join(where, ' AND ')}` : sql``}
      ORDER BY at DESC, id DESC LIMIT ${first + 1}`);
    return pageOf(rows.map(auditEventFromRow), first, (e) => [e.at, e.id]);
  }

  async prune(tenant: string | null, before: number, limit: number): Promise<number> {
    const row = await this.#db.row<{ n: number }>(sql`
      WITH gone AS (
        DELETE FROM audit_events WHERE id IN (
          SELECT id FROM audit_events WHERE ${tenant === null ? sql`tenant IS NULL` : sql`tenant = ${tenant}`} AND at < ${before}::bigint
          ORDER BY at LIMIT ${limit}::integer)
        RETURNING 1)
      SELECT COUNT(*) AS n FROM gone`);
    return row?.n ?? 0;
  }

  async listTenants(): Promise<string[]> {
    // Every run belongs to a flow of its tenant, so flows stand for runs (and are far fewer).
    const rows = await this.#db.rows<{ tenant: string }>(sql`
      SELECT tenant FROM flows UNION SELECT tenant FROM agents UNION SELECT tenant FROM service_tokens ORDER BY tenant`);
    return rows.map((r) => r.tenant);
  }
}
