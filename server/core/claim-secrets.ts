// The only place a secret value leaves the server: the answer to the claim of a run whose flow
// version declares it, opened for that answer and kept nowhere. The declared names come from the
// run's own version (what was registered), never from the agent's request.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { Claim } from '../store/store.js';
import type { FluxoService } from './service.js';
import type { SecretValue } from './secrets.js';

/** A claim with the secret values its run's flow declares and the tenant stored. */
export interface ClaimWithSecrets extends Claim {
  secrets: SecretValue[];
}

/** The actor recorded when the server fails a run whose secrets it could not open. */
const ACTOR = 'server:secrets';

/**
 * Adds the secret values to claims the agent `identity` was just granted. A run whose stored
 * secrets cannot be opened (no key configured, a key version missing, a damaged value) would fail
 * on the agent anyway: the server fails it at once, under the claim's lease, with reason
 * `missing-secret` and a message that says how to fix it (flow-level retries apply as usual), and
 * leaves it out of the answer. When that leaves nothing to answer, the claim itself is refused with
 * SECRETS_UNAVAILABLE, so the agent's log says why too.
 */
export async function handOutSecrets(service: FluxoService, identity: Identity, claims: readonly Claim[]): Promise<ClaimWithSecrets[]> {
  const { tenant } = identity;
  const { secrets } = service;
  const declared = new Map<string, Promise<string[]>>();
  const namesOf = (versionId: string): Promise<string[]> => {
    let names = declared.get(versionId);
    if (!names) {
      names = service.store.getFlowVersion(tenant, versionId).then((version) => version?.secrets ?? []);
      declared.set(versionId, names);
    }
    return names;
  };
  const answered: ClaimWithSecrets[] = [];
  let refusal: FluxoError | undefined;
  for (const claim of claims) {
    try {
      answered.push({ ...claim, secrets: await secrets.valuesFor(tenant, await namesOf(claim.run.flowVersionId)) });
    } catch (error) {
      if (!(error instanceof FluxoError) || error.code !== 'SECRETS_UNAVAILABLE') throw error;
      refusal ??= error;
      const failed = await service.store.setFlowRunState(tenant, {
        flowRunId: claim.run.id,
        // The claim carries the token bound to the agent (by this service, so it always opens); the
        // store knows the lease by its own.
        leaseToken: service.storeLeaseFor(identity, claim.leaseToken)!,
        expectedVersion: claim.run.version,
        state: 'FAILED',
        reason: 'missing-secret',
        message: `the server could not hand out the flow's secrets: ${error.message}`,
        exitCode: null,
        signal: null,
        actor: ACTOR,
      });
      service.events.runsChanged([failed]);
    }
  }
  if (answered.length === 0 && refusal) throw refusal;
  return answered;
}
