// Reading flow runs, free of transports (`service.runs`): the list with its filters, a run's task
// runs, state history, log lines and why it waits, and the feeds a reader follows
// (run-subscriptions.ts). Root reads check the `read` role (`service.readFlowRun` answers agents
// too); every read is scoped by the identity's tenant. Field reads take a run a root read already
// returned and check no role again (flow-reads.ts says why).
import type { Identity } from '../../common/identity.js';
import type { AgentRecord, FlowRunRecord, FlowRunStateType, LogRecord, StateTransitionRecord, TaskRunRecord } from '../store/records.js';
import type { Page } from '../store/store.js';
import { authorize } from './authorize.js';
import { must, pageOf, type PageArgs } from './flow-reads.js';
import { flowRunLogLines, flowRunStates, type RunFeedDeps } from './run-subscriptions.js';
import { parseDateTime } from './validate-input.js';
import { explainWait, type WaitCauseRecord } from './wait-reason.js';

/** `Query.flowRuns`'s filter as transports take it: times are ISO-8601 strings. */
export interface FlowRunListFilter {
  flowId?: string | null | undefined;
  states?: FlowRunStateType[] | null | undefined;
  createdAfter?: string | null | undefined;
  createdBefore?: string | null | undefined;
  label?: string | null | undefined;
}

/** Runs, their task runs, history and logs, as readers see them. */
export class RunReads {
  readonly #deps: RunFeedDeps;
  readonly #leaseMs: number;

  constructor(deps: RunFeedDeps, leaseMs: number) {
    this.#deps = deps;
    this.#leaseMs = leaseMs;
  }

  /** The tenant's runs, newest first, filtered. */
  async list(identity: Identity, filter: FlowRunListFilter, page: PageArgs): Promise<Page<FlowRunRecord>> {
    authorize(identity, 'read');
    return this.#deps.store.listFlowRuns(
      identity.tenant,
      {
        flowId: filter.flowId,
        states: filter.states,
        createdAfter: parseDateTime('createdAfter', filter.createdAfter),
        createdBefore: parseDateTime('createdBefore', filter.createdBefore),
        label: filter.label,
      },
      pageOf(page),
    );
  }

  /** Field read: a run another record names (`Materialization.flowRun`); NOT_FOUND if gone. */
  byId(identity: Identity, flowRunId: string): Promise<FlowRunRecord> {
    // Retention deletes a run's writes with the run, so the run is there while its writes are.
    return must(this.#deps.store.getFlowRun(identity.tenant, flowRunId), `flow run ${flowRunId}`);
  }

  /** Field read: a run another record names, or null when retention pruned it (`NotificationDelivery.flowRun`). */
  maybeById(identity: Identity, flowRunId: string): Promise<FlowRunRecord | null> {
    return this.#deps.store.getFlowRun(identity.tenant, flowRunId);
  }

  /** Field read: the agent holding (or that last held) a run; null when none did. */
  agentOf(identity: Identity, run: FlowRunRecord): Promise<AgentRecord | null> {
    return run.agentId ? this.#deps.store.getAgent(identity.tenant, run.agentId) : Promise.resolve(null);
  }

  /** Field read: a run's task runs in the order they started, `first` (1-5000) at a time. */
  taskRunsOf(identity: Identity, run: FlowRunRecord, page: { first?: number | null | undefined; after?: string | null | undefined }): Promise<TaskRunRecord[]> {
    return this.#deps.store.listTaskRuns(identity.tenant, run.id, { first: page.first ?? 1000, after: page.after });
  }

  /** Field read: every transition of a run (`taskRunId` null) or of one of its task runs, oldest first. */
  stateHistoryOf(identity: Identity, of: { flowRunId: string; taskRunId: string | null }): Promise<StateTransitionRecord[]> {
    return this.#deps.store.listStateTransitions(identity.tenant, of.flowRunId, of.taskRunId);
  }

  /**
   * Field read: a run's log lines, oldest first. `after` takes a cursor or a line's id as the API
   * shows them, and the page's `endCursor` is shown the same way: the store's cursor is its global
   * id, which counts every tenant's lines (log-ids.ts).
   */
  async logsOf(identity: Identity, run: FlowRunRecord, page: PageArgs): Promise<Page<LogRecord>> {
    const { logIds, store } = this.#deps;
    const found = await store.listLogs(identity.tenant, run.id, { first: page.first, after: logIds.after(page.after) });
    return { ...found, endCursor: found.endCursor === null ? null : logIds.encode(Number(found.endCursor)) };
  }

  /** Field read: why a scheduled run waits (agents, limits, a paused schedule); null when it does not. */
  waitOf(_identity: Identity, run: FlowRunRecord): Promise<WaitCauseRecord | null> {
    return explainWait(this.#deps.store, run, this.#leaseMs);
  }

  /** The run now, then each change until its final state (run-subscriptions.ts). */
  states(identity: Identity, id: string, signal?: AbortSignal): AsyncGenerator<FlowRunRecord> {
    return flowRunStates(this.#deps, identity, id, signal);
  }

  /** The run's log lines after `after`, then each new one until its final state (run-subscriptions.ts). */
  logLines(identity: Identity, id: string, after: string | null | undefined, signal?: AbortSignal): AsyncGenerator<LogRecord> {
    return flowRunLogLines(this.#deps, identity, id, after, signal);
  }
}
