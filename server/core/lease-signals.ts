// Lease signals: what the server pushes to the agent holding a run, so a cancel reaches the child
// in milliseconds instead of at the agent's next heartbeat. Transport-free: an async iterator over
// the event bus (which other replicas feed through remote-events.ts) and the store; the GraphQL
// subscription `leaseSignals` is a thin adapter over it.
//
// Delivery is at-least-once per connection and idempotent on the agent (cancelling twice is a
// no-op): the first events list every run of the agent already CANCELLING (a reconnect misses
// nothing), then every run that becomes CANCELLING under this agent, here or on another replica.
// After an events gap (the connection hearing other replicas was down) the list is read again.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import type { FlowRunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { agentNotFound } from './agent-names.js';
import { authorize } from './authorize.js';
import type { EventBus } from './events.js';

/** One signal about a run the agent holds. */
export interface LeaseSignal {
  flowRunId: string;
  kind: 'CANCEL';
}

/** Runs read per page when listing the agent's CANCELLING runs. */
const PAGE = 500;

/**
 * Signals for agent `agentId`, until `signal` aborts (or the consumer returns). Refuses, before
 * the first event, a caller without `agentWork` (FORBIDDEN) and an agent id its subject does not
 * hold (NOT_FOUND, the answer heartbeat and claims give, so another agent's id reveals nothing).
 *
 * @example for await (const s of leaseSignals({ store, events }, identity, agentId)) kill(s.flowRunId)
 */
export async function* leaseSignals(
  deps: { store: Store; events: EventBus },
  identity: Identity,
  agentId: string,
  signal?: AbortSignal,
): AsyncGenerator<LeaseSignal> {
  authorize(identity, 'agentWork');
  const { store, events } = deps;
  const tenant = identity.tenant;
  const agent = await store.getAgent(tenant, agentId);
  if (!agent || agent.subject !== identity.subject) throw agentNotFound(agentId);

  const pending: string[] = [];
  /** Runs signalled and still CANCELLING: not signalled again on this connection. */
  const sent = new Set<string>();
  let reread = true;
  let wake: (() => void) | undefined;
  const onRun = (run: FlowRunRecord): void => {
    if (run.tenant !== tenant) return;
    if (run.state === 'CANCELLING' && run.agentId === agentId) {
      pending.push(run.id);
      wake?.();
    } else {
      sent.delete(run.id);
    }
  };
  const onGap = (): void => {
    reread = true;
    wake?.();
  };
  const onAbort = (): void => wake?.();
  // Listen before the first read, so no cancel falls between the two.
  events.on('run:changed', onRun);
  events.on('events:gap', onGap);
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      if (reread) {
        reread = false;
        pending.push(...(await cancellingRunsOf(store, tenant, agentId)));
      }
      while (pending.length > 0) {
        const id = pending.shift()!;
        if (sent.has(id)) continue;
        sent.add(id);
        yield { flowRunId: id, kind: 'CANCEL' };
      }
      if (reread || signal?.aborted) continue;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    events.off('run:changed', onRun);
    events.off('events:gap', onGap);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Ids of the runs `agentId` holds that are CANCELLING (few: a cancel ends within the grace period). */
async function cancellingRunsOf(store: Store, tenant: string, agentId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.listFlowRuns(tenant, { states: ['CANCELLING'] }, { first: PAGE, after });
    for (const run of page.nodes) if (run.agentId === agentId) ids.push(run.id);
    if (!page.hasNextPage || !page.endCursor) return ids;
    after = page.endCursor;
  }
  throw new FluxoError('INTERNAL_SERVER_ERROR', `more than ${1000 * PAGE} CANCELLING runs in tenant ${tenant}; lease signals stopped listing them`);
}
