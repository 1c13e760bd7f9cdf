// Restart and rerun of flow runs, free of transports. A restart is a new attempt of the same run:
// its task runs stay, and the agent that claims it gets their stored results (where its agent put
// them, never the data) so tasks that succeeded return those instead of running again. A rerun
// is a new run of the same flow version with the same or edited parameters.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { FlowRunRecord } from '../store/records.js';
import type { StoredTaskResultRecord } from '../store/store.js';
import { actorOf, authorize } from './authorize.js';
import { validateParameters } from './parameters.js';
import type { FluxoService } from './service.js';

/** Largest stored result the server records (and the agent stores): 64 MiB. */
export const MAX_RESULT_BYTES = 64 * 1024 * 1024;

/**
 * Restarts a FAILED, CRASHED, TIMED_OUT or CANCELLED run of the caller's tenant: SCHEDULED now,
 * attempt + 1 (restart-states.ts). NOT_FOUND for another tenant's run, ILLEGAL_TRANSITION from any
 * other state, FORBIDDEN for a role that may not create runs.
 */
export async function restartFlowRun(service: FluxoService, identity: Identity, id: string): Promise<FlowRunRecord> {
  authorize(identity, 'createFlowRun');
  const run = await service.store.restartFlowRun(identity.tenant, id, actorOf(identity));
  service.events.runsChanged([run]);
  return run;
}

/**
 * Creates a new run of `id`'s flow version with its parameters, `parameters` (an object) merged
 * over them and validated against the version's schema, the same labels and priority, and
 * `rerunOf` = id. Any state of the original is accepted (a rerun does not touch it).
 */
export async function rerunFlowRun(service: FluxoService, identity: Identity, id: string, parameters: unknown): Promise<FlowRunRecord> {
  authorize(identity, 'createFlowRun');
  const original = await service.store.getFlowRun(identity.tenant, id);
  if (!original) throw new FluxoError('NOT_FOUND', `flow run ${id} not found`);
  if (parameters != null && (typeof parameters !== 'object' || Array.isArray(parameters))) {
    throw new FluxoError('BAD_USER_INPUT', 'parameters must be an object (its keys replace those of the run being re-run)');
  }
  const version = await service.store.getFlowVersion(identity.tenant, original.flowVersionId);
  if (!version) throw new FluxoError('NOT_FOUND', `flow version ${original.flowVersionId} not found`);
  const base = typeof original.parameters === 'object' && original.parameters !== null ? (original.parameters as Record<string, unknown>) : {};
  const merged = await validateParameters(identity.tenant, version.parameterSchema, { ...base, ...((parameters ?? {}) as Record<string, unknown>) });
  const { run } = await service.store.createFlowRun(identity.tenant, {
    flowId: original.flowId,
    flowVersionId: original.flowVersionId,
    parameters: merged,
    labels: original.labels,
    priority: original.priority,
    scheduledAt: null,
    idempotencyKey: null,
    actor: actorOf(identity),
    rerunOf: original.id,
  });
  service.events.runsChanged([run]);
  return run;
}

/**
 * The stored results a just-claimed run's child may return (ClaimedFlowRun.storedResults): only
 * for an attempt that a restart scheduled (the latest move to SCHEDULED has reason 'restart'), so
 * flow-level retries keep running every task as before. Empty for a first attempt without a read.
 */
export async function storedResultsFor(service: FluxoService, run: FlowRunRecord): Promise<StoredTaskResultRecord[]> {
  if (run.attempt < 2) return [];
  const history = await service.store.listStateTransitions(run.tenant, run.id, null);
  const scheduled = history.filter((t) => t.toState === 'SCHEDULED').at(-1);
  if (scheduled?.reason !== 'restart') return [];
  return service.store.listStoredResults(run.tenant, run.id);
}
