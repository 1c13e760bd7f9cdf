// A claim as an agent receives it (`service.claimWork`): the runs claimed for it, each with what
// its child needs to start — the flow's secrets (claim-secrets.ts), the task results a restart
// reuses (restart.ts) and the key its outputs are written under (lineage.ts) — and the lease length.
import type { Identity } from '../../common/identity.js';
import type { FlowRunRecord } from '../store/records.js';
import type { StoredTaskResultRecord } from '../store/store.js';
import { handOutSecrets } from './claim-secrets.js';
import { outputKeyOf } from './lineage.js';
import { storedResultsFor } from './restart.js';
import type { SecretValue } from './secrets.js';
import type { FluxoService } from './service.js';

/** One claimed run with everything its child needs (GraphQL ClaimedFlowRun). */
export interface ClaimedWork {
  flowRun: FlowRunRecord;
  leaseToken: string;
  leaseExpiresAt: number;
  /** The lease length in whole seconds: the agent heartbeats well within it. */
  leaseSeconds: number;
  secrets: SecretValue[];
  storedResults: StoredTaskResultRecord[];
  outputKey: string;
}

/** Claims runs for the caller's agent (FluxoService.claimFlowRuns) and completes each for its child. */
export async function claimWork(
  service: FluxoService,
  identity: Identity,
  args: Parameters<FluxoService['claimFlowRuns']>[1],
  signal?: AbortSignal,
): Promise<ClaimedWork[]> {
  const claims = await handOutSecrets(service, identity, await service.claimFlowRuns(identity, args, signal));
  const leaseSeconds = Math.floor(service.leaseMs / 1000);
  return Promise.all(claims.map(async (c) => ({
    flowRun: c.run, leaseToken: c.leaseToken, leaseExpiresAt: c.leaseExpiresAt, leaseSeconds, secrets: c.secrets,
    storedResults: await storedResultsFor(service, c.run),
    outputKey: await outputKeyOf(service.store, c.run),
  })));
}
