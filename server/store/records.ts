// Rows as the store returns them, dialect-free. Times are epoch milliseconds (database time);
// the GraphQL layer turns them into DateTime strings.
import { finalStates as finalStateList } from '../../contract/states.js';
import type { FlowRunStateType, LogLevel, MaterializationKind } from '../../schema/generated/graphql.js';

export type { FlowRunStateType, LogLevel, MaterializationKind };

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
  /** The clocks the version declares, server-normalised (empty: no schedule). */
  clocks: ClockRecord[];
  missedRuns: MissedRunPolicy;
  /** With CATCH_UP: the most missed times per clock that get a run. */
  catchUpLimit: number;
  /** Runs of the flow that may hold an agent at once; null: no limit. */
  concurrencyLimit: number | null;
  whenConcurrencyFull: ConcurrencyFullPolicy;
  createdAt: number;
}

/** What a due run does while its flow's concurrency limit is full. */
export type ConcurrencyFullPolicy = 'QUEUE' | 'SKIP';

/** An operator's concurrency limit: `tenant` or `label:<label>`. */
export interface ConcurrencyLimitRecord {
  tenant: string;
  scope: string;
  limit: number;
  /** Runs holding a slot now (SUBMITTED, RUNNING, CANCELLING). */
  running: number;
  updatedAt: number;
  updatedBy: string;
}

/** Where an agent stored a task's result. */
export interface TaskResultRecord {
  uri: string;
  sha256: string;
  size: number;
}

export type NotificationEvent = 'FAILED' | 'CRASHED' | 'TIMED_OUT' | 'CANCELLED' | 'SUCCESS' | 'LATE';
export type NotificationChannel = 'WEBHOOK' | 'SLACK' | 'DISCORD';
export type DeliveryState = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface NotificationRuleRecord {
  id: string;
  tenant: string;
  /** Null: every flow of the tenant. */
  flowId: string | null;
  on: NotificationEvent[];
  channel: NotificationChannel;
  /** The whole URL: a credential, never shown in full. */
  url: string;
  /** WEBHOOK: the tenant secret whose value signs deliveries. */
  signingSecret: string | null;
  createdAt: number;
  createdBy: string;
}

export interface NotificationDeliveryRecord {
  id: string;
  tenant: string;
  /** Null once the rule was deleted. */
  ruleId: string | null;
  event: NotificationEvent;
  flowRunId: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  nextAttemptAt: number | null;
}

/** What the scheduler does with clock times that passed while it could not create runs. */
export type MissedRunPolicy = 'SKIP' | 'CATCH_UP';

/** The operator's switch of a flow's schedule. */
export type ScheduleState = 'ACTIVE' | 'PAUSED';

/**
 * One clock of a flow version as stored: a cron clock (`cron`, `timezone`) or an interval clock
 * (`everySeconds`, `anchor`). The server fills defaults (the zone, the anchor) at registration, so
 * a stored clock never depends on later server settings.
 */
export interface ClockRecord {
  /** sha256 (hex, first 16 chars) of the normalised definition: the same clock keeps its key across versions. */
  key: string;
  /** Position in the version's clocks. */
  index: number;
  cron: string | null;
  timezone: string | null;
  everySeconds: number | null;
  /** Epoch ms. */
  anchor: number | null;
  /** Parameters each run of the clock gets, validated at registration. */
  parameters: Record<string, unknown>;
  /** Labels each run gets; null: the version's default labels. */
  labels: string[] | null;
}

/** A flow's schedule: its latest version (with the clocks) and the operator's switch. */
export interface FlowScheduleRecord {
  tenant: string;
  flowId: string;
  state: ScheduleState;
  stateChangedAt: number | null;
  stateChangedBy: string | null;
  /** The flow's latest version; its `clocks` are the schedule's clocks. */
  version: FlowVersionRecord;
  /** Epoch ms of the earliest future SCHEDULED run the scheduler created for the flow, or null. */
  nextRunAt: number | null;
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
  /** The clock key when the scheduler created the run (not a backfill, not a user): pausing and new clocks remove such runs while still SCHEDULED and unclaimed. */
  clockKey: string | null;
  /** The run this one re-runs (`rerunFlowRun`), or null. */
  rerunOf: string | null;
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
  /** Where the agent stored the task's result (SUCCESS only), or null. */
  result: TaskResultRecord | null;
  /** sha256 of the task's canonical JSON inputs, or null when they are not JSON. */
  inputsHash: string | null;
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
  /** Delivered late from a restarted agent's spool (deliverLateRunEntries). @default false */
  late?: boolean;
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
  /** Delivered late from a restarted agent's spool (deliverLateRunEntries). @default false */
  late?: boolean;
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

/** One write a run made to the lake or the warehouse, as its agent recorded it (lineage). */
export interface MaterializationRecord {
  id: string;
  tenant: string;
  flowRunId: string;
  /** The run's attempt when the server recorded it. */
  attempt: number;
  taskRunKey: string | null;
  kind: MaterializationKind;
  dataset: string;
  /** Empty for PUBLISH. */
  table: string;
  partitions: string[];
  rows: number | null;
  bytes: number | null;
  uri: string;
  mode: string | null;
  /** Database time. */
  recordedAt: number;
}

/** A table (or lake folder, or published dataset) of a tenant: one per (dataset, table, kind), with its latest write. */
export interface DataTableRecord {
  tenant: string;
  dataset: string;
  table: string;
  kind: MaterializationKind;
  lastWrite: MaterializationRecord;
}

/** Final states: nothing leaves them (flow-level retries create a new attempt from Failed/Crashed/TimedOut). */
export const finalStates: ReadonlySet<FlowRunStateType> = new Set(finalStateList);
