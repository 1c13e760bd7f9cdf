// Service tokens as a sub-service of the core (`service.serviceTokens`): the operations of
// service-tokens.ts bound to the store, each checking `manageServiceTokens` and scoping by the
// identity's tenant. Verifying a presented token is the internal routes' (verifyServiceToken).
import type { Identity } from '../../common/identity.js';
import type { ServiceTokenRecord } from '../store/service-tokens-store.js';
import type { Page, Store } from '../store/store.js';
import { createServiceToken, listServiceTokens, revokeServiceToken, type CreateServiceTokenArgs } from './service-tokens.js';

export type { ServiceTokenRecord };

/** The tenant's service tokens (CI, agents, dashboards). */
export class ServiceTokens {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Issues a token; the bearer value is returned once and never stored. */
  create(identity: Identity, args: CreateServiceTokenArgs): Promise<{ record: ServiceTokenRecord; token: string }> {
    return createServiceToken(this.#store, identity, args);
  }

  /** The tenant's tokens, newest first. */
  list(identity: Identity, options: { includeRevoked: boolean; first: number; after?: string | null | undefined }): Promise<Page<ServiceTokenRecord>> {
    return listServiceTokens(this.#store, identity, options);
  }

  /** Revokes a token of the tenant; revoking again returns the same record. */
  revoke(identity: Identity, id: string): Promise<ServiceTokenRecord> {
    return revokeServiceToken(this.#store, identity, id);
  }
}
