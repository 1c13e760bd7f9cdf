// The GraphQL operations an agent sends (agent/PROTOCOL.md), typed from the schema's generated
// input types. One method per operation; no retry policy here: callers decide what to retry.
import type { GraphQLClient } from '../client/graphql-client.js';
import type {
  FlowRunStateType,
  HeartbeatInput,
  RegisterAgentInput,
  SetFlowRunStateInput,
  SetTaskRunStatesInput,
  WriteLogsInput,
} from '../schema/generated/graphql.js';

/** A run as the claim answer carries it: what the agent needs to fetch, verify and run the code. */
export interface ClaimedRun {
  leaseToken: string;
  leaseExpiresAt: string;
  leaseSeconds: number;
  flowRun: {
    id: string;
    version: number;
    attempt: number;
    parameters: unknown;
    flowVersion: { storageUri: string; sha256: string; size: number; entrypoint: string; timeoutSeconds: number | null };
  };
}

/** The part of a run the agent reads back after a state write or a conflict. */
export interface RunVersion {
  id: string;
  version: number;
  state: FlowRunStateType;
}

export interface HeartbeatAnswer {
  renewed: string[];
  lost: string[];
  cancelling: string[];
  leaseExpiresAt: string;
  leaseSeconds: number;
}

const REGISTER = /* GraphQL */ `
  mutation RegisterAgent($input: RegisterAgentInput!) { registerAgent(input: $input) { id } }
`;
const CLAIM = /* GraphQL */ `
  mutation ClaimFlowRuns($input: ClaimFlowRunsInput!) {
    claimFlowRuns(input: $input) {
      leaseToken
      leaseExpiresAt
      leaseSeconds
      flowRun {
        id version attempt parameters
        flowVersion { storageUri sha256 size entrypoint timeoutSeconds }
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
const HEARTBEAT = /* GraphQL */ `
  mutation Heartbeat($input: HeartbeatInput!) { heartbeat(input: $input) { renewed lost cancelling leaseExpiresAt leaseSeconds } }
`;
const FLOW_RUN = /* GraphQL */ `
  query FlowRunVersion($id: ID!) { flowRun(id: $id) { id version state } }
`;

/** Slack on top of the server-side wait, so the HTTP timeout never fires before the long-poll answers. */
const CLAIM_TIMEOUT_SLACK_MS = 15_000;

/** The agent's side of the protocol over a GraphQL client. */
export class AgentApi {
  readonly #client: GraphQLClient;

  constructor(client: GraphQLClient) {
    this.#client = client;
  }

  /** Registers (or updates) this agent; idempotent on (tenant, name). */
  async registerAgent(input: RegisterAgentInput): Promise<{ id: string }> {
    const data = await this.#client.request<{ registerAgent: { id: string } }>(REGISTER, { input });
    return data.registerAgent;
  }

  /** Long-polls for up to `max` due runs; `signal` abandons the wait (graceful stop). */
  async claimFlowRuns(input: { agentId: string; max: number; waitMs: number }, signal?: AbortSignal): Promise<ClaimedRun[]> {
    const data = await this.#client.request<{ claimFlowRuns: ClaimedRun[] }>(
      CLAIM,
      { input },
      { timeoutMs: input.waitMs + CLAIM_TIMEOUT_SLACK_MS, ...(signal ? { signal } : {}) },
    );
    return data.claimFlowRuns;
  }

  /** Compare-and-set of a run's state; answers the run's new version. */
  async setFlowRunState(input: SetFlowRunStateInput): Promise<RunVersion> {
    const data = await this.#client.request<{ setFlowRunState: RunVersion }>(SET_STATE, { input });
    return data.setFlowRunState;
  }

  async setTaskRunStates(input: SetTaskRunStatesInput): Promise<number> {
    const data = await this.#client.request<{ setTaskRunStates: number }>(SET_TASK_STATES, { input });
    return data.setTaskRunStates;
  }

  async writeLogs(input: WriteLogsInput): Promise<number> {
    const data = await this.#client.request<{ writeLogs: number }>(WRITE_LOGS, { input });
    return data.writeLogs;
  }

  async heartbeat(input: HeartbeatInput): Promise<HeartbeatAnswer> {
    const data = await this.#client.request<{ heartbeat: HeartbeatAnswer }>(HEARTBEAT, { input });
    return data.heartbeat;
  }

  /** Reads a run's current version and state (after VERSION_CONFLICT); null when it is gone. */
  async flowRun(id: string): Promise<RunVersion | null> {
    const data = await this.#client.request<{ flowRun: RunVersion | null }>(FLOW_RUN, { id });
    return data.flowRun;
  }
}
