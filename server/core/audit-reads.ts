// Reading the audit log and the tenant list as a sub-service of the core (`service.audit`): the
// reads of audit-log.ts bound to the store. Writing the log is AuditLog's (audit-log.ts), which
// the transport's audit plugin holds.
import type { Identity } from '../../common/identity.js';
import type { AuditEventRecord, AuditOutcome } from '../store/audit-store.js';
import type { Page, Store } from '../store/store.js';
import { listTenants, readAuditEvents, type AuditQuery } from './audit-log.js';

export type { AuditEventRecord, AuditOutcome };

/** Who did what, as admins and tenant-admins read it. */
export class AuditReads {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The log newest first: an admin's of any tenant, a tenant-admin's of its own (readAuditEvents). */
  events(identity: Identity, query: AuditQuery, page: { first: number; after?: string | null | undefined }): Promise<Page<AuditEventRecord>> {
    return readAuditEvents(this.#store, identity, query, page);
  }

  /** Every tenant with a flow, a run, an agent or a service token (admin). */
  tenants(identity: Identity): Promise<string[]> {
    return listTenants(this.#store, identity);
  }
}
