// Reading agents, free of transports (`service.agents`): the tenant's agents and whether each is
// online. Online is judged by the database's clock, the clock that wrote `lastSeenAt` (rule 3), so
// a server whose own clock drifts still tells online agents apart.
import type { Identity } from '../../common/identity.js';
import type { AgentRecord } from '../store/records.js';
import type { Page, Store } from '../store/store.js';
import { authorize } from './authorize.js';
import { pageOf, type PageArgs } from './flow-reads.js';
import { isOnline } from './wait-reason.js';

/** Agents as readers see them. */
export class AgentReads {
  readonly #store: Store;
  readonly #leaseMs: number;

  constructor(store: Store, leaseMs: number) {
    this.#store = store;
    this.#leaseMs = leaseMs;
  }

  /** The tenant's agents. */
  async list(identity: Identity, page: PageArgs): Promise<Page<AgentRecord>> {
    authorize(identity, 'read');
    return this.#store.listAgents(identity.tenant, pageOf(page));
  }

  /**
   * The database's now, for {@link online}. A transport reads it once per request and passes it
   * to every agent it lists, so a page of agents costs one clock reading.
   */
  databaseNow(_identity: Identity): Promise<number> {
    return this.#store.now();
  }

  /** Field read: whether an agent was seen within the last few lease periods of `now` (database time). */
  online(_identity: Identity, agent: AgentRecord, now: number): boolean {
    return isOnline(agent, now, this.#leaseMs);
  }
}
