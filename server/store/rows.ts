// Rows as the stores read them, with JSON columns already decoded, and their mapping to store
// records: one mapping for every dialect. PostgreSQL's driver decodes json and text[] itself;
// SQLite keeps JSON as text and decodes it first (sqlite/rows.ts).
import type {
  AgentRecord,
  ClockRecord,
  ConcurrencyFullPolicy,
  FlowRecord,
  FlowRunRecord,
  FlowRunStateType,
  FlowScheduleRecord,
  FlowVersionRecord,
  MissedRunPolicy,
  LogLevel,
  LogRecord,
  ProjectRecord,
  ScheduleState,
  StateTransitionRecord,
  TaskRunRecord,
} from './records.js';

export interface ProjectRow { id: string; tenant: string; name: string; created_at: number }
export const toProject = (r: ProjectRow): ProjectRecord => ({ id: r.id, tenant: r.tenant, name: r.name, createdAt: r.created_at });

export interface FlowRow { id: string; tenant: string; project_id: string; name: string; created_at: number }
export const toFlow = (r: FlowRow): FlowRecord => ({ id: r.id, tenant: r.tenant, projectId: r.project_id, name: r.name, createdAt: r.created_at });

export interface FlowVersionRow {
  id: string; tenant: string; flow_id: string; number: number; content_hash: string; storage_uri: string; sha256: string;
  size: number; entrypoint: string; parameter_schema: Record<string, unknown>; default_labels: string[]; secrets: string[]; retries: number;
  retry_delay_seconds: number; timeout_seconds: number | null; description: string | null; clocks: ClockRecord[]; missed_runs: string;
  catch_up_limit: number; concurrency_limit: number | null; when_concurrency_full: string; created_at: number;
}
export const toFlowVersion = (r: FlowVersionRow): FlowVersionRecord => ({
  id: r.id,
  tenant: r.tenant,
  flowId: r.flow_id,
  number: r.number,
  contentHash: r.content_hash,
  storageUri: r.storage_uri,
  sha256: r.sha256,
  size: r.size,
  entrypoint: r.entrypoint,
  parameterSchema: r.parameter_schema,
  defaultLabels: r.default_labels,
  secrets: r.secrets,
  retries: r.retries,
  retryDelaySeconds: r.retry_delay_seconds,
  timeoutSeconds: r.timeout_seconds,
  description: r.description,
  clocks: r.clocks,
  missedRuns: r.missed_runs as MissedRunPolicy,
  catchUpLimit: r.catch_up_limit,
  concurrencyLimit: r.concurrency_limit ?? null,
  whenConcurrencyFull: (r.when_concurrency_full ?? 'QUEUE') as ConcurrencyFullPolicy,
  createdAt: r.created_at,
});

export interface FlowRunRow {
  id: string; tenant: string; flow_id: string; flow_version_id: string; state: string; state_reason: string | null;
  state_message: string | null; version: number; attempt: number; parameters: unknown; labels: string[]; priority: number;
  idempotency_key: string | null; clock_key: string | null; rerun_of: string | null; scheduled_at: number; created_at: number; started_at: number | null; ended_at: number | null;
  exit_code: number | null; signal: string | null; agent_id: string | null; lease_token: string | null; lease_expires_at: number | null;
}
export const toFlowRun = (r: FlowRunRow): FlowRunRecord => ({
  id: r.id,
  tenant: r.tenant,
  flowId: r.flow_id,
  flowVersionId: r.flow_version_id,
  state: r.state as FlowRunStateType,
  stateReason: r.state_reason,
  stateMessage: r.state_message,
  version: r.version,
  attempt: r.attempt,
  parameters: r.parameters,
  labels: r.labels,
  priority: r.priority,
  idempotencyKey: r.idempotency_key,
  clockKey: r.clock_key,
  rerunOf: r.rerun_of ?? null,
  scheduledAt: r.scheduled_at,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  exitCode: r.exit_code,
  signal: r.signal,
  agentId: r.agent_id,
  leaseToken: r.lease_token,
  leaseExpiresAt: r.lease_expires_at,
});

export interface TaskRunRow {
  id: string; tenant: string; flow_run_id: string; key: string; task_name: string; map_index: number | null; state: string;
  state_message: string | null; attempts: number; started_at: number | null; ended_at: number | null;
  result_uri: string | null; result_sha256: string | null; result_size: number | null; inputs_hash: string | null;
}
export const toTaskRun = (r: TaskRunRow): TaskRunRecord => ({
  id: r.id,
  tenant: r.tenant,
  flowRunId: r.flow_run_id,
  key: r.key,
  taskName: r.task_name,
  mapIndex: r.map_index,
  state: r.state as FlowRunStateType,
  stateMessage: r.state_message,
  attempts: r.attempts,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  result: r.result_uri !== null && r.result_sha256 !== null && r.result_size !== null
    ? { uri: r.result_uri, sha256: r.result_sha256, size: Number(r.result_size) }
    : null,
  inputsHash: r.inputs_hash,
});

export interface StateTransitionRow {
  flow_run_id: string; task_run_id: string | null; from_state: string | null; to_state: string; reason: string | null;
  message: string | null; actor: string; attempt: number; at: number;
  /** Migration 013: 0/1 in SQLite, a boolean in PostgreSQL. */
  late?: number | boolean;
}
export const toStateTransition = (r: StateTransitionRow): StateTransitionRecord => ({
  flowRunId: r.flow_run_id,
  taskRunId: r.task_run_id,
  fromState: r.from_state as FlowRunStateType | null,
  toState: r.to_state as FlowRunStateType,
  reason: r.reason,
  message: r.message,
  actor: r.actor,
  attempt: r.attempt,
  at: r.at,
  late: Boolean(r.late),
});

export interface LogRow {
  id: number; tenant: string; flow_run_id: string; task_run_key: string | null; level: string; stream: string; message: string; timestamp: number;
  /** Migration 013: 0/1 in SQLite, a boolean in PostgreSQL. */
  late?: number | boolean;
}
export const toLog = (r: LogRow): LogRecord => ({
  id: r.id,
  tenant: r.tenant,
  flowRunId: r.flow_run_id,
  taskRunKey: r.task_run_key,
  level: r.level as LogLevel,
  stream: r.stream,
  message: r.message,
  timestamp: r.timestamp,
  late: Boolean(r.late),
});

export interface AgentRow {
  id: string; tenant: string; name: string; subject: string; labels: string[]; concurrency: number; last_seen_at: number; created_at: number;
}
export const toAgent = (r: AgentRow): AgentRecord => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  subject: r.subject,
  labels: r.labels,
  concurrency: r.concurrency,
  lastSeenAt: r.last_seen_at,
  createdAt: r.created_at,
});

/** A flow_schedules row (the switch and the scheduler's bookkeeping; clock_keys decoded). */
export interface FlowScheduleRow {
  flow_id: string; tenant: string; project_name: string; flow_name: string; state: string; state_changed_at: number | null;
  state_changed_by: string | null; clock_keys: string[]; refill_at: number | null;
}
/** A schedule record from its row, the flow's latest version and the earliest future scheduler run. */
export const toFlowSchedule = (r: FlowScheduleRow, version: FlowVersionRecord, nextRunAt: number | null): FlowScheduleRecord => ({
  tenant: r.tenant,
  flowId: r.flow_id,
  state: r.state as ScheduleState,
  stateChangedAt: r.state_changed_at,
  stateChangedBy: r.state_changed_by,
  version,
  nextRunAt,
});
