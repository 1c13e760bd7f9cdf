// Operators' concurrency limits as a sub-service of the core (`service.limits`): the operations
// of limits.ts, bound to the store, each checking the role and scoping by the identity's tenant.
import type { Identity } from '../../common/identity.js';
import type { ConcurrencyLimitRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { deleteConcurrencyLimit, listConcurrencyLimits, setConcurrencyLimit } from './limits.js';

/** Tenant and label limits (the flow's own limit is declared in code, at registration). */
export class ConcurrencyLimits {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The tenant's limits with the runs holding a slot of each now (`read`). */
  list(identity: Identity): Promise<ConcurrencyLimitRecord[]> {
    return listConcurrencyLimits(this.#store, identity);
  }

  /** Sets the tenant's (`tenant`) or a label's (`label:<label>`) limit, 1-10,000 (`manageLimits`). */
  set(identity: Identity, scope: string, limit: number): Promise<ConcurrencyLimitRecord> {
    return setConcurrencyLimit(this.#store, identity, scope, limit);
  }

  /** Deletes a limit; false when there was none (`manageLimits`). */
  delete(identity: Identity, scope: string): Promise<boolean> {
    return deleteConcurrencyLimit(this.#store, identity, scope);
  }
}
