// Concurrency limits: a flow's (declared in code, registered with each version) and the operators'
// (per label and per tenant, set at run time). The server enforces them inside the claim
// (store/claim-gate.ts); this module validates what comes in and serves operators.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { ConcurrencyFullPolicy, ConcurrencyLimitRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { actorOf, authorize } from './authorize.js';
import { checkLabels } from './validate-input.js';

/** Largest flow limit a version may declare. */
export const MAX_FLOW_LIMIT = 1000;
/** Largest label or tenant limit an operator may set. */
export const MAX_OPERATOR_LIMIT = 10_000;

/** The concurrency arguments of `registerFlow`. */
export interface ConcurrencyArgs {
  concurrencyLimit?: number | null | undefined;
  whenConcurrencyFull?: ConcurrencyFullPolicy | null | undefined;
}

/** A version's validated flow limit: null when none; the policy defaults to QUEUE. */
export function concurrencySettings(args: ConcurrencyArgs): { concurrencyLimit: number | null; whenConcurrencyFull: ConcurrencyFullPolicy } {
  const limit = args.concurrencyLimit ?? null;
  if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > MAX_FLOW_LIMIT)) {
    throw new FluxoError('BAD_USER_INPUT', `concurrencyLimit must be an integer from 1 to ${MAX_FLOW_LIMIT}, got ${limit}`);
  }
  const policy = args.whenConcurrencyFull ?? 'QUEUE';
  if (policy !== 'QUEUE' && policy !== 'SKIP') throw new FluxoError('BAD_USER_INPUT', `whenConcurrencyFull must be QUEUE or SKIP, got ${String(policy).slice(0, 40)}`);
  // Without a limit the policy means nothing: store the default, so it never splits versions.
  return { concurrencyLimit: limit, whenConcurrencyFull: limit === null ? 'QUEUE' : policy };
}

/** Throws BAD_USER_INPUT unless `scope` is `tenant` or `label:<label>` with a valid label. */
export function checkLimitScope(scope: string): string {
  if (scope === 'tenant') return scope;
  if (scope.startsWith('label:')) {
    checkLabels('scope', [scope.slice('label:'.length)]);
    return scope;
  }
  throw new FluxoError('BAD_USER_INPUT', `scope "${scope.slice(0, 80)}" must be "tenant" or "label:<label>" (e.g. label:rj-smtr); flow limits are declared in the flow's code`);
}

/** Sets the tenant's (`tenant`) or a label's (`label:<label>`) limit: 1-10,000 runs holding a slot at once. */
export async function setConcurrencyLimit(store: Store, identity: Identity, scope: string, limit: number): Promise<ConcurrencyLimitRecord> {
  authorize(identity, 'manageLimits');
  checkLimitScope(scope);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_OPERATOR_LIMIT) {
    throw new FluxoError('BAD_USER_INPUT', `limit must be an integer from 1 to ${MAX_OPERATOR_LIMIT}, got ${limit}`);
  }
  return store.limits.set(identity.tenant, scope, limit, actorOf(identity));
}

/** Deletes a limit; false when there was none. */
export async function deleteConcurrencyLimit(store: Store, identity: Identity, scope: string): Promise<boolean> {
  authorize(identity, 'manageLimits');
  checkLimitScope(scope);
  return store.limits.delete(identity.tenant, scope);
}

/** The tenant's limits with the runs holding a slot of each now. */
export async function listConcurrencyLimits(store: Store, identity: Identity): Promise<ConcurrencyLimitRecord[]> {
  authorize(identity, 'read');
  return store.limits.list(identity.tenant);
}
