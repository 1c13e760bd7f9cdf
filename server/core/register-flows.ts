// Bulk registration for CI (`fluxo register` of a whole repository): many `registerFlow` calls in
// one request, each succeeding or failing alone, and the question "which of these bundles do you
// already record?" that lets the CLI upload only new bundles. Both are plain functions over the
// service, so the GraphQL adapter stays thin.
import { FluxoError, type ErrorCode } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { FlowVersionRecord } from '../store/records.js';
import { authorize } from './authorize.js';
import type { FluxoService, RegisterFlowArgs } from './service.js';

/** Most items one `registerFlows` request may hold. */
export const MAX_REGISTER_FLOWS = 100;
/** Most digests one `knownBundles` request may ask about. */
export const MAX_KNOWN_BUNDLES = 1000;

/** The outcome of one item: its version, or the coded error that stopped it. */
export interface RegisterFlowsItem {
  project: string;
  name: string;
  flowVersion: FlowVersionRecord | null;
  created: boolean;
  error: { code: ErrorCode; message: string } | null;
}

/**
 * Registers each input in order through {@link FluxoService.registerFlow}. A FluxoError (bad input,
 * an unknown storage place) becomes that item's `error` and the next item goes on; any other error
 * (the database is gone) ends the request, since the rest would fail the same way. Registration is
 * idempotent on the content hash, so a client may send a whole batch again after a lost answer.
 *
 * @example
 * const items = await registerFlows(service, identity, [input1, input2]);
 */
export async function registerFlows(service: FluxoService, identity: Identity, inputs: readonly RegisterFlowArgs[]): Promise<RegisterFlowsItem[]> {
  authorize(identity, 'registerFlow');
  if (inputs.length > MAX_REGISTER_FLOWS) {
    throw new FluxoError('BAD_USER_INPUT', `registerFlows takes at most ${MAX_REGISTER_FLOWS} inputs; got ${inputs.length} (send several batches)`);
  }
  const items: RegisterFlowsItem[] = [];
  for (const input of inputs) {
    // In order, one at a time: two items of one flow must become versions in the order sent.
    try {
      const { version, created } = await service.registerFlow(identity, input);
      items.push({ project: input.project, name: input.name, flowVersion: version, created, error: null });
    } catch (error) {
      if (!(error instanceof FluxoError)) throw error;
      items.push({ project: input.project, name: input.name, flowVersion: null, created: false, error: { code: error.code, message: error.message } });
    }
  }
  return items;
}

/**
 * Which of `sha256s` some flow version of the caller's tenant records, with where: one entry per
 * known digest, in no particular order. Another tenant's bundles are never known (the store call
 * is scoped by the identity's tenant), so the answer tells nothing about other tenants.
 *
 * @example
 * const known = await knownBundles(service, identity, ['9f86d0…']);
 */
export async function knownBundles(service: FluxoService, identity: Identity, sha256s: readonly string[]): Promise<{ sha256: string; storageUri: string }[]> {
  authorize(identity, 'registerFlow');
  if (sha256s.length > MAX_KNOWN_BUNDLES) {
    throw new FluxoError('BAD_USER_INPUT', `knownBundles takes at most ${MAX_KNOWN_BUNDLES} digests; got ${sha256s.length}`);
  }
  for (const sha256 of sha256s) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new FluxoError('BAD_USER_INPUT', `"${sha256.slice(0, 80)}" is not a sha256 (64 lowercase hex characters)`);
  }
  if (sha256s.length === 0) return [];
  return service.store.findKnownBundles(identity.tenant, [...new Set(sha256s)]);
}
