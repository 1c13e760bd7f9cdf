// The GraphQL operations an agent sends (agent/PROTOCOL.md), typed from the schema: inputs from
// schema/generated/graphql.ts, each document's result from schema/generated/operations.ts (codegen
// reads the documents below). One method per operation; no retry policy here: callers decide what to retry.
import { TransportError, type GraphQLClient } from '../client/graphql-client.js';
import { FluxoError } from '../common/errors.js';
import type { Materialization } from '../data/contract.js';
import type {
  HeartbeatInput,
  LateRunEntriesInput,
  MaterializationInput,
  MaterializationKind,
  RecordMaterializationsInput,
  RegisterAgentInput,
  SetFlowRunStateInput,
  SetTaskRunStatesInput,
  WriteLogsInput,
} from '../schema/generated/graphql.js';
import type {
  ClaimFlowRunsMutation,
  ClaimFlowRunsMutationVariables,
  DeliverLateRunEntriesMutation,
  FlowRunVersionQuery,
  FlowRunVersionQueryVariables,
  HeartbeatMutation,
  LeaseSignalsSubscription,
  LeaseSignalsSubscriptionVariables,
  RecordMaterializationsMutation,
  RegisterAgentMutation,
  SetFlowRunStateMutation,
  SetTaskRunStatesMutation,
  ViewerQuery,
  WriteLogsMutation,
} from '../schema/generated/operations.js';

/**
 * A run as the claim answer carries it: what the agent needs to fetch, verify and run the code
 * (the CLAIM document's result; `secrets` values are held in memory only, never written anywhere).
 */
export type ClaimedRun = ClaimFlowRunsMutation['claimFlowRuns'][number];

/** The part of a run the agent reads back after a state write or a conflict. */
export type RunVersion = SetFlowRunStateMutation['setFlowRunState'];

/** A signal the server pushes about a run the agent holds (`Subscription.leaseSignals`). */
export type LeaseSignal = LeaseSignalsSubscription['leaseSignals'];

export type HeartbeatAnswer = HeartbeatMutation['heartbeat'];

const REGISTER = /* GraphQL */ `
  mutation RegisterAgent($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }
`;
const VIEWER = /* GraphQL */ `
  query Viewer { viewer { tenant } }
`;
const CLAIM = /* GraphQL */ `
  mutation ClaimFlowRuns($input: ClaimFlowRunsInput!) {
    claimFlowRuns(input: $input) {
      leaseToken
      leaseExpiresAt
      leaseSeconds
      secrets { name value }
      storedResults { taskKey inputsHash uri sha256 size }
      outputKey
      flowRun {
        id version attempt parameters
        flowVersion { storageUri sha256 size entrypoint timeoutSeconds secrets }
      }
    }
  }
`;
const SET_STATE = /* GraphQL */ `
  mutation SetFlowRunState($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { id version state } }
`;
const SET_TASK_STATES = /* GraphQL */ `
  mutation SetTaskRunStates($input: SetTaskRunStatesInput!) { setTaskRunStates(input: $input) }
`;
const WRITE_LOGS = /* GraphQL */ `
  mutation WriteLogs($input: WriteLogsInput!) { writeLogs(input: $input) }
`;

const DELIVER_LATE = /* GraphQL */ `
  mutation DeliverLateRunEntries($input: LateRunEntriesInput!) { deliverLateRunEntries(input: $input) }
`;
const RECORD_MATERIALIZATIONS = /* GraphQL */ `
  mutation RecordMaterializations($input: RecordMaterializationsInput!) { recordMaterializations(input: $input) }
`;
const HEARTBEAT = /* GraphQL */ `
  mutation Heartbeat($input: HeartbeatInput!) { heartbeat(input: $input) { renewed lost cancelling leaseExpiresAt leaseSeconds } }
`;
const LEASE_SIGNALS = /* GraphQL */ `
  subscription LeaseSignals($agentId: ID!) { leaseSignals(agentId: $agentId) { flowRunId kind } }
`;
const FLOW_RUN = /* GraphQL */ `
  query FlowRunVersion($id: ID!) { flowRun(id: $id) { id version state } }
`;

/** A write as fluxo/data reports it (data/contract.ts), in the shape `recordMaterializations` takes. */
export function toMaterializationInput(write: Materialization, taskRunKey: string | null): MaterializationInput {
  return {
    kind: write.kind.toUpperCase() as MaterializationKind,
    taskRunKey,
    dataset: write.dataset,
    table: write.table,
    partitions: write.partitions,
    rows: write.rows,
    bytes: write.bytes,
    uri: write.uri,
    mode: write.mode,
  };
}

/** Slack on top of the server-side wait, so the HTTP timeout never fires before the long-poll answers. */
const CLAIM_TIMEOUT_SLACK_MS = 15_000;

/** How one call to the server went (for metrics and health: no retry logic hangs on it). */
export interface ApiCall {
  operation: string;
  /** `ok`; `refused`: the server (or proxy) answered with an error code; `transport`: no answer. */
  outcome: 'ok' | 'refused' | 'transport';
  /** The error code of a refusal. */
  code: string | null;
  durationMs: number;
}

/** The agent's side of the protocol over a GraphQL client. */
export class AgentApi {
  readonly #client: GraphQLClient;
  readonly #onCall: ((call: ApiCall) => void) | undefined;

  /** `onCall` hears how every call went, e.g. to emit `api:call`. */
  constructor(client: GraphQLClient, options: { onCall?: (call: ApiCall) => void } = {}) {
    this.#client = client;
    this.#onCall = options.onCall;
  }

  async #request<T>(operation: string, query: string, variables: Record<string, unknown>, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<T> {
    if (!this.#onCall) return this.#client.request<T>(query, variables, options);
    const startedAt = performance.now();
    const report = (outcome: ApiCall['outcome'], code: string | null): void =>
      this.#onCall?.({ operation, outcome, code, durationMs: performance.now() - startedAt });
    try {
      const data = await this.#client.request<T>(query, variables, options);
      report('ok', null);
      return data;
    } catch (error) {
      // An abandoned long-poll (the agent stopping) is neither a refusal nor an outage.
      if (!options?.signal?.aborted) {
        if (error instanceof FluxoError) report('refused', error.code);
        else report(error instanceof TransportError ? 'transport' : 'refused', null);
      }
      throw error;
    }
  }

  /** Registers (or updates) this agent; idempotent on (tenant, name). */
  async registerAgent(input: RegisterAgentInput): Promise<{ id: string }> {
    const data = await this.#request<RegisterAgentMutation>('registerAgent', REGISTER, { input });
    return data.registerAgent;
  }

  /** The tenant this agent's token acts in (to fill `{tenant}` in its storage roots). */
  async viewer(): Promise<{ tenant: string }> {
    const data = await this.#request<ViewerQuery>('viewer', VIEWER, {});
    return data.viewer;
  }

  /**
   * Long-polls for up to `max` due runs; `signal` abandons the wait (graceful stop). Send the same
   * `requestId` again when retrying after a transport error: the server then answers with the runs
   * the lost answer carried.
   */
  async claimFlowRuns(input: { agentId: string; max: number; waitMs: number; requestId?: string }, signal?: AbortSignal): Promise<ClaimedRun[]> {
    const data = await this.#request<ClaimFlowRunsMutation>(
      'claimFlowRuns',
      CLAIM,
      { input } satisfies ClaimFlowRunsMutationVariables,
      { timeoutMs: input.waitMs + CLAIM_TIMEOUT_SLACK_MS, ...(signal ? { signal } : {}) },
    );
    return data.claimFlowRuns;
  }

  /** Compare-and-set of a run's state; answers the run's new version. */
  async setFlowRunState(input: SetFlowRunStateInput): Promise<RunVersion> {
    const data = await this.#request<SetFlowRunStateMutation>('setFlowRunState', SET_STATE, { input });
    return data.setFlowRunState;
  }

  async setTaskRunStates(input: SetTaskRunStatesInput): Promise<number> {
    const data = await this.#request<SetTaskRunStatesMutation>('setTaskRunStates', SET_TASK_STATES, { input });
    return data.setTaskRunStates;
  }

  async writeLogs(input: WriteLogsInput): Promise<number> {
    const data = await this.#request<WriteLogsMutation>('writeLogs', WRITE_LOGS, { input });
    return data.writeLogs;
  }

  /**
   * Delivers task states and log lines a previous process of this agent spooled on disk for an
   * attempt it held (no lease: agent/late-delivery.ts). Answers how many were recorded: 0 for a
   * batch id already delivered. NOT_FOUND for a run or attempt this agent did not hold.
   */
  async deliverLateRunEntries(input: LateRunEntriesInput): Promise<number> {
    const data = await this.#request<DeliverLateRunEntriesMutation>('deliverLateRunEntries', DELIVER_LATE, { input });
    return data.deliverLateRunEntries;
  }

  /**
   * Records what a run wrote to the lake and the warehouse (lineage), under its lease: at most 100
   * writes per batch. Answers how many were recorded: 0 for a batch id already recorded, so a
   * batch retried after a lost answer is safe. LEASE_LOST once the lease is gone.
   */
  async recordMaterializations(input: RecordMaterializationsInput): Promise<number> {
    const data = await this.#request<RecordMaterializationsMutation>('recordMaterializations', RECORD_MATERIALIZATIONS, { input });
    return data.recordMaterializations;
  }

  async heartbeat(input: HeartbeatInput): Promise<HeartbeatAnswer> {
    const data = await this.#request<HeartbeatMutation>('heartbeat', HEARTBEAT, { input });
    return data.heartbeat;
  }

  /** Reads a run's current version and state (after VERSION_CONFLICT); null when it is gone. */
  async flowRun(id: string): Promise<RunVersion | null> {
    const data = await this.#request<FlowRunVersionQuery>('flowRun', FLOW_RUN, { id } satisfies FlowRunVersionQueryVariables);
    return data.flowRun;
  }

  /**
   * Subscribes to the server's signals about the runs `agentId` holds (graphql-ws); returns the
   * function that ends the subscription. No retry here: agent/lease-signals.ts reconnects.
   */
  leaseSignals(
    agentId: string,
    handlers: { onSignal: (signal: LeaseSignal) => void; onError: (error: Error) => void; onComplete: () => void },
  ): () => void {
    return this.#client.subscribe<LeaseSignalsSubscription>(LEASE_SIGNALS, { agentId } satisfies LeaseSignalsSubscriptionVariables, {
      onData: (data) => handlers.onSignal(data.leaseSignals),
      onError: handlers.onError,
      onComplete: handlers.onComplete,
    });
  }
}
