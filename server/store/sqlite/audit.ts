// The audit log in SQLite: appends in one transaction per batch, newest-first keyset pages.
import type { Database } from 'better-sqlite3';
import { auditEventFromRow, type AuditEventRecord, type AuditEventRow, type AuditFilter, type AuditStore } from '../audit-store.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import type { Page, PageRequest } from '../store.js';
import { statement } from './statements.js';

/** {@link AuditStore} on the SQLite store's connection. */
export class SqliteAudit implements AuditStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async append(events: readonly AuditEventRecord[]): Promise<void> {
    if (events.length === 0) return;
    const db = this.#db;
    const insert = statement(db, `
      INSERT INTO audit_events (id, at, tenant, subject, role, action, request_id, outcome, code, detail)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    db.transaction(() => {
      for (const e of events) insert.run(e.id, e.at, e.tenant, e.subject, e.role, e.action, e.requestId, e.outcome, e.code, e.detail);
    }).immediate();
  }

  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.tenant !== undefined) (where.push('tenant = ?'), args.push(filter.tenant));
    if (filter.subject !== undefined) (where.push('subject = ?'), args.push(filter.subject));
    if (filter.action !== undefined) (where.push('action = ?'), args.push(filter.action));
    if (filter.outcome !== undefined) (where.push('outcome = ?'), args.push(filter.outcome));
    if (filter.atOrAfter !== undefined) (where.push('at >= ?'), args.push(filter.atOrAfter));
    if (filter.before !== undefined) (where.push('at < ?'), args.push(filter.before));
    if (after) (where.push('(at, id) < (?, ?)'), args.push(after[0], after[1]));
    const rows = statement(this.#db, `
      SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT ?`)
      .all(...args, first + 1) as AuditEventRow[];
    return pageOf(rows.map(auditEventFromRow), first, (e) => [e.at, e.id]);
  }

  async prune(tenant: string | null, before: number, limit: number): Promise<number> {
    return statement(this.#db, `
      DELETE FROM audit_events WHERE id IN (
        SELECT id FROM audit_events WHERE tenant IS ? AND at < ? ORDER BY at LIMIT ?)`)
      .run(tenant, before, limit).changes;
  }

  async listTenants(): Promise<string[]> {
    // Every run belongs to a flow of its tenant, so flows stand for runs (and are far fewer).
    const rows = statement(this.#db, `
      SELECT tenant FROM flows UNION SELECT tenant FROM agents UNION SELECT tenant FROM service_tokens ORDER BY tenant`).all() as { tenant: string }[];
    return rows.map((r) => r.tenant);
  }
}
