// The audit log's write path and its reads. Appends use group commit: while one insert is in
// flight, new events gather and go in the next insert together, so a busy server pays one insert
// per batch rather than per operation. `record` resolves once the insert that holds the events has
// committed: a mutation's response waits for it, so every acknowledged mutation is in the log even
// if the server is killed right after answering.
import { FluxoError } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import type { Identity } from '../../common/identity.js';
import type { AuditEventRecord, AuditOutcome, AuditStore } from '../store/audit-store.js';
import type { Page, Store } from '../store/store.js';
import { authorize } from './authorize.js';

/** An event to append; the log assigns its id. */
export type NewAuditEvent = Omit<AuditEventRecord, 'id'>;

/** Longest `detail` kept; longer ones are cut (details are for people, not for data). */
export const MAX_AUDIT_DETAIL = 500;

interface Batch {
  events: AuditEventRecord[];
  committed: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A read's caller does not wait; its failure is reported by whoever awaits, or dropped here.
  committed.catch(() => undefined);
  return { events: [], committed, resolve, reject };
}

/** Appends audit events with group commit. One per server process. */
export class AuditLog {
  readonly #store: AuditStore;
  #next: Batch | null = null;
  #writing: Promise<void> | null = null;

  constructor(store: AuditStore) {
    this.#store = store;
  }

  /**
   * Queues events for the next insert and resolves when that insert committed (rejects when it
   * failed). Callers that need durability (mutations) await it; reads may not.
   */
  record(events: readonly NewAuditEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const batch = (this.#next ??= newBatch());
    for (const event of events) {
      batch.events.push({ ...event, id: newId(), detail: event.detail === null ? null : event.detail.slice(0, MAX_AUDIT_DETAIL) });
    }
    // Start writing on the next turn of the event loop, so events recorded in this one share the
    // insert even when the store's append completes synchronously (SQLite).
    this.#writing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    return batch.committed;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#next) {
        const batch = this.#next;
        this.#next = null;
        try {
          await this.#store.append(batch.events);
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  /** Resolves once everything recorded so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }
}

/** Filters of {@link readAuditEvents}, as the API takes them. */
export interface AuditQuery {
  tenant?: string | null | undefined;
  subject?: string | null | undefined;
  action?: string | null | undefined;
  outcome?: AuditOutcome | null | undefined;
  /** Epoch ms: only events at or after. */
  after?: number | null | undefined;
  /** Epoch ms: only events before. */
  before?: number | null | undefined;
}

/**
 * The audit log newest first. An admin reads every tenant (and events without one), or
 * `filter.tenant`; a tenant-admin reads its own tenant, and naming another tenant is FORBIDDEN
 * rather than an empty page: the answer depends on the role only, never on whether that tenant
 * exists, so it leaks nothing, and it tells the caller plainly that the filter is not theirs.
 */
export async function readAuditEvents(
  store: Store,
  identity: Identity,
  query: AuditQuery,
  page: { first: number; after?: string | null | undefined },
): Promise<Page<AuditEventRecord>> {
  authorize(identity, 'readAuditLog');
  let tenant: string | undefined = query.tenant ?? undefined;
  if (identity.role !== 'admin') {
    if (tenant !== undefined && tenant !== identity.tenant) {
      throw new FluxoError('FORBIDDEN', `role "${identity.role}" reads the audit log of its own tenant only ("${identity.tenant}"); leave filter.tenant out`);
    }
    tenant = identity.tenant;
  }
  return store.audit.list(
    {
      tenant,
      subject: query.subject ?? undefined,
      action: query.action ?? undefined,
      outcome: query.outcome ?? undefined,
      atOrAfter: query.after ?? undefined,
      before: query.before ?? undefined,
    },
    page,
  );
}

/** Every tenant with a flow, a run, an agent or a service token (admin). */
export async function listTenants(store: Store, identity: Identity): Promise<string[]> {
  authorize(identity, 'listTenants');
  return store.audit.listTenants();
}

/**
 * Deletes the audit events of `tenant` (null: events without a tenant) older than `before`, in
 * batches of `batchSize`, until none is left or `signal` aborts. Returns how many went. Retention
 * (server/services/retention.ts) calls it with each tenant's cutoff.
 */
export async function pruneAuditEvents(store: Store, tenant: string | null, before: number, batchSize: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  while (!signal?.aborted) {
    const batch = await store.audit.prune(tenant, before, batchSize);
    deleted += batch;
    if (batch < batchSize) break;
  }
  return deleted;
}
