// Rows as the store returns them, dialect-free. Times are epoch milliseconds (database time);
// the GraphQL layer turns them into DateTime strings.
import type { FlowRunStateType, LogLevel } from '../../schema/generated/graphql.js';

export type { FlowRunStateType, LogLevel };

export interface ProjectRecord {
  id: string;
  tenant: string;
  name: string;
  createdAt: number;
}

export interface FlowRecord {
  id: string;
  tenant: string;
  projectId: string;
  name: string;
  createdAt: number;
}

export interface FlowVersionRecord {
  id: string;
  tenant: string;
  flowId: string;
  number: number;
  contentHash: string;
  storageUri: string;
  sha256: string;
  size: number;
  entrypoint: string;
  parameterSchema: Record<string, unknown>;
  defaultLabels: string[];
  /** Names of the secrets the flow declares (never values). */
  secrets: string[];
  retries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number | null;
  description: string | null;
  createdAt: number;
}

export interface FlowRunRecord {
  id: string;
  tenant: string;
  flowId: string;
  flowVersionId: string;
  state: FlowRunStateType;
  stateReason: string | null;
  stateMessage: string | null;
  version: number;
  attempt: number;
  parameters: unknown;
  labels: string[];
  priority: number;
  idempotencyKey: string | null;
  scheduledAt: number;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  agentId: string | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
}

export interface TaskRunRecord {
  id: string;
  tenant: string;
  flowRunId: string;
  key: string;
  taskName: string;
  mapIndex: number | null;
  state: FlowRunStateType;
  stateMessage: string | null;
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface StateTransitionRecord {
  flowRunId: string;
  taskRunId: string | null;
  fromState: FlowRunStateType | null;
  toState: FlowRunStateType;
  reason: string | null;
  message: string | null;
  actor: string;
  attempt: number;
  at: number;
}

export interface LogRecord {
  id: number;
  tenant: string;
  flowRunId: string;
  taskRunKey: string | null;
  level: LogLevel;
  stream: string;
  message: string;
  timestamp: number;
}

export interface AgentRecord {
  id: string;
  tenant: string;
  name: string;
  /** The token subject that registered it: only that subject may claim and heartbeat as this agent. */
  subject: string;
  labels: string[];
  concurrency: number;
  lastSeenAt: number;
  createdAt: number;
}

/** Final states: nothing leaves them (flow-level retries create a new attempt from Failed/Crashed/TimedOut). */
export const finalStates: ReadonlySet<FlowRunStateType> = new Set(['SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED']);
