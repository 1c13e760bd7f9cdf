// Storage of the append-only audit log. Nothing updates or deletes an event except retention,
// which drops events older than their tenant's retention.
import type { Page, PageRequest } from './store.js';

/** How an audited decision ended (the API's `AuditOutcome`). */
export type AuditOutcome = 'ALLOWED' | 'DENIED' | 'FAILED';

/** One audited decision. `role` is a fluxo role (`tenant-admin`), `code` an ErrorCode. */
export interface AuditEventRecord {
  /** UUIDv7 (common/ids.ts), assigned by whoever appends. */
  id: string;
  /** Epoch ms when it happened (the clock of the process that decided). */
  at: number;
  tenant: string | null;
  subject: string | null;
  role: string | null;
  action: string;
  requestId: string | null;
  outcome: AuditOutcome;
  code: string | null;
  detail: string | null;
}

/** Filters of {@link AuditStore.list}, combined with AND. */
export interface AuditFilter {
  /** Only this tenant; undefined: every tenant, and events without one. */
  tenant?: string | undefined;
  subject?: string | undefined;
  action?: string | undefined;
  outcome?: AuditOutcome | undefined;
  /** Epoch ms: only events at or after. */
  atOrAfter?: number | undefined;
  /** Epoch ms: only events before. */
  before?: number | undefined;
}

/** The audit log's storage; one per store (`Store.audit`). */
export interface AuditStore {
  /** Appends events in one transaction (group commit: the caller batches). */
  append(events: readonly AuditEventRecord[]): Promise<void>;
  /** Newest first (by `at`, then id). */
  list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventRecord>>;
  /**
   * Deletes up to `limit` events of `tenant` (null: events without a tenant) older than `before`,
   * oldest first, in one short transaction. Returns how many went.
   */
  prune(tenant: string | null, before: number, limit: number): Promise<number>;
  /** Every tenant that has a flow, a run, an agent or a service token, by name. */
  listTenants(): Promise<string[]>;
}

/** An audit_events row as both dialects return it. */
export interface AuditEventRow {
  id: string; at: number; tenant: string | null; subject: string | null; role: string | null; action: string;
  request_id: string | null; outcome: string; code: string | null; detail: string | null;
}

/** Maps an audit_events row (either dialect). */
export const auditEventFromRow = (r: AuditEventRow): AuditEventRecord => ({
  id: r.id,
  at: r.at,
  tenant: r.tenant,
  subject: r.subject,
  role: r.role,
  action: r.action,
  requestId: r.request_id,
  outcome: r.outcome as AuditOutcome,
  code: r.code,
  detail: r.detail,
});
