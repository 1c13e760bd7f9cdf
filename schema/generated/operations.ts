/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** Filters for `auditEvents`; all optional, combined with AND. */
export type AuditEventFilter = {
  /** Only this action. */
  action?: string | null | undefined;
  /** Only events at or after this instant. */
  after?: string | null | undefined;
  /** Only events before this instant. */
  before?: string | null | undefined;
  /** Only this outcome. */
  outcome?: AuditOutcome | null | undefined;
  /** Only this subject. */
  subject?: string | null | undefined;
  /** Only this tenant (admins only; a tenant-admin always sees its own tenant). */
  tenant?: string | null | undefined;
};

/** How an audited decision ended. */
export type AuditOutcome =
  /** Allowed and done. */
  | 'ALLOWED'
  /** Refused by the proxy or the server (authentication or authorization). */
  | 'DENIED'
  /** Allowed, but failed (validation, conflicts, not found, server errors). */
  | 'FAILED';

/** What `backfillFlowRuns` needs. */
export type BackfillInput = {
  /** Only this clock (its `index`); default every clock of the latest version. */
  clock?: number | null | undefined;
  /** Flow name. */
  flowName: string;
  /** Times from this instant (inclusive)... */
  from: string;
  /** At most this many runs handled by this call (1-1000, default 500); continue from `nextFrom`. */
  limit?: number | null | undefined;
  /** Parameters merged over each clock's own (validated against the schema). */
  parameters?: unknown;
  /** Project; default `production`. */
  project?: string | null | undefined;
  /** ... to this instant (exclusive); at most 100,000 clock times in all. */
  to: string;
};

/** Long-poll for due runs. */
export type ClaimFlowRunsInput = {
  /** The agent's id from `registerAgent`. */
  agentId: string | number;
  /** How many runs at most (free slots). */
  max: number;
  /** A fresh id per claim (at most 100 characters), sent again unchanged when the claim is retried after a transport error. A retry whose first answer was lost gets the runs that request claimed (same lease tokens, leases renewed) instead of leaving them stranded until their lease expires. Optional for older agents. */
  requestId?: string | null | undefined;
  /** Milliseconds to wait for work when none is due (0-30000). */
  waitMs?: number | null | undefined;
};

/** One clock as registered: either `cron` (with an optional `timezone`) or `everySeconds` (with an optional `anchor`). */
export type ClockInput = {
  /** The instant interval times count from; default the Unix epoch (so `every: 1h` runs on the hour). */
  anchor?: string | null | undefined;
  /** Cron expression, 5 fields (minute hour day month weekday) or 6 with seconds first; croner syntax. */
  cron?: string | null | undefined;
  /** Seconds between runs (60 to 366 days). */
  everySeconds?: number | null | undefined;
  /** Labels every run of this clock gets; default: the version's default labels. */
  labels?: Array<string> | null | undefined;
  /** Parameters every run of this clock gets; validated against the parameter schema. */
  parameters?: unknown;
  /** IANA time zone for `cron` (`America/Sao_Paulo`); default: the server's `--timezone`. */
  timezone?: string | null | undefined;
};

/** What a due run does while its flow's concurrency limit is full. */
export type ConcurrencyFullPolicy =
  /** Wait for a free slot (default). */
  | 'QUEUE'
  /** End the new run CANCELLED with reason `concurrency-skip` (skip if running). */
  | 'SKIP';

/** What `createFlowRun` needs. */
export type CreateFlowRunInput = {
  /** The flow by id... */
  flowId?: string | number | null | undefined;
  /** Flow name, with `project`. */
  flowName?: string | null | undefined;
  /** A specific version id; default: the latest. */
  flowVersionId?: string | number | null | undefined;
  /** Creating twice with the same key returns the first run. */
  idempotencyKey?: string | null | undefined;
  /** Labels; default: the version's default labels. */
  labels?: Array<string> | null | undefined;
  /** Parameters; validated (and coerced: `"3"` becomes `3` for an integer) against the version's schema. */
  parameters?: unknown;
  /** Claim priority; default 0. */
  priority?: number | null | undefined;
  /** ... or by project and name (`project` defaults to `production`). */
  project?: string | null | undefined;
  /** When it is due; default now. */
  scheduledAt?: string | null | undefined;
};

/** What `createNotificationRule` needs. */
export type CreateNotificationRuleInput = {
  /** The message format. */
  channel: NotificationChannel;
  /** The flow to watch; omit for every flow of the tenant. */
  flowName?: string | null | undefined;
  /** The events to send (at least one). */
  on: Array<NotificationEvent>;
  /** Project of `flowName`; default `production`. */
  project?: string | null | undefined;
  /** WEBHOOK only: the name of a tenant secret (`fluxo secrets set`) whose value signs each delivery. */
  signingSecret?: string | null | undefined;
  /** The receiver: an https:// URL (http:// only to a loopback address when the server allows it). */
  url: string;
};

/** What `createServiceToken` needs. */
export type CreateServiceTokenInput = {
  /** Informational labels. */
  labels?: Array<string> | null | undefined;
  /** A name unique within the tenant (letters, digits, `-`, `_`, `.`; at most 100). */
  name: string;
  /** The role to grant. ADMIN cannot be granted by a service token. */
  role: Role;
  /** Lifetime in seconds (60 s to 365 days); null for a token that lives until revoked. */
  ttlSeconds?: number | null | undefined;
};

/** Where a delivery stands. */
export type DeliveryState =
  /** The receiver answered 2xx. */
  | 'DELIVERED'
  /** Given up after the last attempt. */
  | 'FAILED'
  /** Not delivered yet; retried with backoff. */
  | 'PENDING';

/**
 * Stable error codes, found in `errors[].extensions.code`. Clients switch on these; the
 * message is for people and may change.
 */
export type ErrorCode =
  /** The agent name is registered by another token subject of the tenant. Use another name, or have a tenant-admin move it to the caller's subject (`moveAgent`, `fluxo agents move`). */
  | 'AGENT_NAME_TAKEN'
  /** An argument is malformed or out of range; the message names it. */
  | 'BAD_USER_INPUT'
  /** The caller's role may not perform this operation. */
  | 'FORBIDDEN'
  /** The request is not valid GraphQL syntax. */
  | 'GRAPHQL_PARSE_FAILED'
  /** The request does not validate against this schema. */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** The idempotency key was already used with different arguments. */
  | 'IDEMPOTENCY_CONFLICT'
  /** The request reached the server without a valid proxy-signed identity (sent around the proxy, or forged). */
  | 'IDENTITY_MISSING'
  /** The identity provider's key set could not be fetched and the cached copy is older than its max age; the proxy fails closed. Retry later. */
  | 'IDENTITY_PROVIDER_UNAVAILABLE'
  /** The requested state transition is not allowed from the run's current state. */
  | 'ILLEGAL_TRANSITION'
  /** An unexpected failure in the server. The message carries a request id to find it in the server log. */
  | 'INTERNAL_SERVER_ERROR'
  /** Flow-run parameters do not match the flow version's parameter schema; `extensions.details` lists the violations. */
  | 'INVALID_PARAMETERS'
  /** The caller's lease on the run is gone (expired, or the run was reclaimed). An agent must stop the run's child. */
  | 'LEASE_LOST'
  /** No such object in the caller's tenant. Objects of other tenants answer exactly like this. */
  | 'NOT_FOUND'
  /** The request body exceeds the size limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** The GraphQL document exceeds a limit (tokens, depth, aliases or estimated cost); the message names the limit. */
  | 'QUERY_TOO_COMPLEX'
  /** Too many requests for this token or this tenant; retry after the number of seconds in the `Retry-After` header. */
  | 'RATE_LIMITED'
  /** The server has no secrets key configured, so tenant secrets cannot be stored or read (see docs/security.md). */
  | 'SECRETS_UNAVAILABLE'
  /** The server or its database is temporarily unavailable; retry with backoff. */
  | 'SERVICE_UNAVAILABLE'
  /** The bearer token's `alg` is not in the allow-list (EdDSA, ES256, RS256 and what an OIDC issuer is configured for); HS256 is never accepted. */
  | 'TOKEN_ALGORITHM_NOT_ALLOWED'
  /** The bearer token's `aud` does not name this API. */
  | 'TOKEN_AUDIENCE_MISMATCH'
  /** The bearer token lacks a required claim (exp, iss, aud, sub, or the tenant and role its issuer maps). */
  | 'TOKEN_CLAIM_MISSING'
  /** The bearer token's `exp` is in the past (beyond the allowed clock skew). */
  | 'TOKEN_EXPIRED'
  /** The bearer token's header asks to fetch or embed a key (`jku`, `x5u`, `jwk`, `x5c`) or carries `crit`; such tokens are never accepted. */
  | 'TOKEN_HEADER_FORBIDDEN'
  /** The bearer token is malformed, or a fluxo claim (tenant, role, labels, sub) has an unacceptable value. */
  | 'TOKEN_INVALID'
  /** The bearer token's `iss` is not a trusted issuer. */
  | 'TOKEN_ISSUER_MISMATCH'
  /** The bearer token's `kid` names no key its issuer publishes (checked again after refreshing the issuer's key set). */
  | 'TOKEN_KEY_UNKNOWN'
  /** The token's kind does not match the operation: agent tokens may call only agent operations (`@agentOperation`), and other tokens may not call them. */
  | 'TOKEN_KIND_MISMATCH'
  /** No bearer token was sent to the proxy. */
  | 'TOKEN_MISSING'
  /** The bearer token's `nbf` is in the future (beyond the allowed clock skew). */
  | 'TOKEN_NOT_YET_VALID'
  /** The service token was revoked (`fluxo token revoke`). */
  | 'TOKEN_REVOKED'
  /** The bearer token's signature does not verify. */
  | 'TOKEN_SIGNATURE_INVALID'
  /** The bearer token's `typ` header is missing or names another kind of token (an ID token, the proxy's identity header, ...). */
  | 'TOKEN_TYPE_INVALID'
  /** The bearer token is unsigned (`alg: none`). */
  | 'TOKEN_UNSIGNED'
  /** The run changed since the caller read it (`expectedVersion` is stale). Read it again. */
  | 'VERSION_CONFLICT';

/** Filters for `flowRuns`; all given filters must hold. */
export type FlowRunFilter = {
  /** Only runs created at or after this instant. */
  createdAfter?: string | null | undefined;
  /** Only runs created before this instant. */
  createdBefore?: string | null | undefined;
  /** Only runs of this flow id. */
  flowId?: string | number | null | undefined;
  /** Only runs that carry this label. */
  label?: string | null | undefined;
  /** Only runs in one of these states. */
  states?: Array<FlowRunStateType> | null | undefined;
};

/** The ten states of a flow run. See docs/states.md for the transition table. */
export type FlowRunStateType =
  /** Final: cancelled by a user. */
  | 'CANCELLED'
  /** A cancellation was requested; the agent is stopping the child. */
  | 'CANCELLING'
  /** Final unless flow-level retries remain: the agent or the child disappeared (lease expired), or the code could not be loaded. */
  | 'CRASHED'
  /** Final unless flow-level retries remain: the flow threw or its process exited non-zero. */
  | 'FAILED'
  /** A task failed and waits for its next attempt (task runs only). */
  | 'RETRYING'
  /** The child process runs the flow. */
  | 'RUNNING'
  /** Waiting for its scheduled time, a matching agent, or a free concurrency slot. */
  | 'SCHEDULED'
  /** Claimed by an agent, which holds a lease; the child process is being prepared. */
  | 'SUBMITTED'
  /** Final: the flow returned. */
  | 'SUCCESS'
  /** Final unless flow-level retries remain: the flow or a task exceeded its timeout. */
  | 'TIMED_OUT';

/** Heartbeat: renew leases, learn about cancellations. */
export type HeartbeatInput = {
  /** The agent. */
  agentId: string | number;
  /** Every lease it holds. */
  leases: Array<LeaseInput>;
};

/**
 * Task states and log lines an agent had spooled on disk for a run attempt it held when it stopped
 * (`deliverLateRunEntries`).
 */
export type LateRunEntriesInput = {
  /** The agent that held the attempt (its id from registerAgent). */
  agentId: string | number;
  /** The attempt the entries belong to (FlowRun.attempt when they were written). */
  attempt: number;
  /** Batch id (at most 100 characters); a batch already delivered is recorded once and answers 0. */
  batchId: string;
  /** The run. */
  flowRunId: string | number;
  /** Log lines (at most 5,000). */
  logLines?: Array<LogLineInput> | null | undefined;
  /** Task state changes, in the order they happened (at most 1,000). */
  taskRunStates?: Array<TaskRunStateInput> | null | undefined;
};

/** A lease the agent holds. */
export type LeaseInput = {
  /** The run. */
  flowRunId: string | number;
  /** Its lease token. */
  leaseToken: string;
};

/** What a lease signal asks of the agent holding the run. */
export type LeaseSignalKind =
  /** A user asked to cancel the run: stop its child at once, then report CANCELLED (as for HeartbeatPayload.cancelling). */
  | 'CANCEL';

/** Log severity. */
export type LogLevel =
  /** Debug. */
  | 'DEBUG'
  /** Error. */
  | 'ERROR'
  /** Info. */
  | 'INFO'
  /** Warning. */
  | 'WARNING';

/** One log line as an agent sends it. */
export type LogLineInput = {
  /** Severity. */
  level: LogLevel;
  /** Text (at most 32 KiB; longer lines are cut). */
  message: string;
  /** `logger`, `stdout` or `stderr`. */
  stream: string;
  /** Task run key, or null. */
  taskRunKey?: string | null | undefined;
  /** When it was written. */
  timestamp: string;
};

/** One write, as the agent reports it. */
export type MaterializationInput = {
  /** Bytes written, when known (>= 0). */
  bytes?: number | null | undefined;
  /** Dataset id (letters, digits, `_`; at most 128). */
  dataset: string;
  /** What was written. */
  kind: MaterializationKind;
  /** The write mode, when there is one (at most 32 characters). */
  mode?: string | null | undefined;
  /** Partitions touched (at most 10,000, each at most 512 characters). */
  partitions: Array<string>;
  /** Rows written, when known (>= 0). */
  rows?: number | null | undefined;
  /** Table id (same rule; empty only for PUBLISH). */
  table: string;
  /** The task that wrote, or null. */
  taskRunKey?: string | null | undefined;
  /** Where it is (at most 2,048 characters). */
  uri: string;
};

/** What a write of fluxo/data touched. */
export type MaterializationKind =
  /** Files landed in the lake under `staging/<dataset>/<table>/`. */
  | 'LAKE'
  /** The dataset `<dataset>` published for public read (table is empty). */
  | 'PUBLISH'
  /** The staging table `<dataset>_staging.<table>` over the lake, (re)created. */
  | 'STAGING'
  /** The production table `<dataset>.<table>`, written from SQL. */
  | 'TABLE';

/** What the scheduler does with clock times that passed while it could not create runs (the server was down, or the schedule was paused and resumed). */
export type MissedRunPolicy =
  /** Create runs for the most recent missed times, at most `catchUpLimit` per clock, oldest first. */
  | 'CATCH_UP'
  /** Default: create nothing for missed times; the next run is the next time after now. */
  | 'SKIP';

/** Which agent goes to which token subject. */
export type MoveAgentInput = {
  /** The agent's name. */
  name: string;
  /** The subject of the token that will hold it: `service:<token name>` for a service token, the `sub` claim of a signed token. */
  toSubject: string;
};

/** Where a rule sends its messages. */
export type NotificationChannel =
  /** A Discord webhook. */
  | 'DISCORD'
  /** A Slack incoming webhook. */
  | 'SLACK'
  /** A generic JSON POST signed with HMAC-SHA256 (`X-Fluxo-Signature`), with an idempotency id (`X-Fluxo-Delivery`). */
  | 'WEBHOOK';

/** The run events a notification rule can be sent for. */
export type NotificationEvent =
  /** The run ended CANCELLED. */
  | 'CANCELLED'
  /** The run ended CRASHED (no retries left). */
  | 'CRASHED'
  /** The run ended FAILED (no retries left). */
  | 'FAILED'
  /** A SCHEDULED run had not started this many minutes after its time (the server's `--late-after-minutes`). */
  | 'LATE'
  /** The run ended SUCCESS. */
  | 'SUCCESS'
  /** The run ended TIMED_OUT (no retries left). */
  | 'TIMED_OUT';

/** Writes of a run to record (`recordMaterializations`). */
export type RecordMaterializationsInput = {
  /** Batch id; a retried batch with the same id is recorded once. */
  batchId: string;
  /** The run. */
  flowRunId: string | number;
  /** The writes (at most 100 per batch). */
  items: Array<MaterializationInput>;
  /** The lease token. */
  leaseToken: string;
};

/** What an agent declares when it starts. */
export type RegisterAgentInput = {
  /** Runs at once. Default 1. */
  concurrency?: number | null | undefined;
  /** Routing labels. */
  labels: Array<string>;
  /** Name, unique within the tenant; registering again (with the same token subject) updates labels and concurrency. */
  name: string;
};

/** What `registerFlow` records. The bundle must already be uploaded to `storageUri`. */
export type RegisterFlowInput = {
  /** With CATCH_UP, the most missed times per clock that get a run (1-1000). Default 10. */
  catchUpLimit?: number | null | undefined;
  /** Runs of the flow that may hold an agent at once (1-1000); null: no limit. Part of the content hash. */
  concurrencyLimit?: number | null | undefined;
  /** Default routing labels. */
  defaultLabels?: Array<string> | null | undefined;
  /** Description. */
  description?: string | null | undefined;
  /** Export that holds the flow. */
  entrypoint: string;
  /** What the scheduler does with missed clock times. Default SKIP. Part of the content hash. */
  missedRuns?: MissedRunPolicy | null | undefined;
  /** Flow name (letters, digits, `-`, `_`, `.`; at most 100). */
  name: string;
  /** JSON Schema of the parameters; defaults to an object with no required properties. */
  parameterSchema?: unknown;
  /** Project name; created on first use. */
  project: string;
  /** Flow-level retries. Default 0. */
  retries?: number | null | undefined;
  /** Seconds between attempts. Default 10. */
  retryDelaySeconds?: number | null | undefined;
  /** How the flow's schedule starts when this is the first registration that declares clocks (default ACTIVE; a staging registration wants PAUSED). Afterwards the operator's switch is kept. Not part of the content hash. */
  scheduleState?: ScheduleState | null | undefined;
  /** Clocks: when the scheduler creates runs (at most 50). Part of the content hash. */
  schedules?: Array<ClockInput> | null | undefined;
  /** Names of the secrets the flow needs (environment-variable style: `DB_PASSWORD`). */
  secrets?: Array<string> | null | undefined;
  /** Hex sha256 of the bundle. */
  sha256: string;
  /** Bundle size in bytes. */
  size: number;
  /** Where the bundle lives: `file:///...` or `gs://bucket/object`. */
  storageUri: string;
  /** Run timeout in seconds; null for none. */
  timeoutSeconds?: number | null | undefined;
  /** QUEUE (default): a due run waits for a free slot; SKIP: it ends CANCELLED with reason `concurrency-skip`. Part of the content hash when a limit is set. */
  whenConcurrencyFull?: ConcurrencyFullPolicy | null | undefined;
};

/** Roles the proxy can put in an identity. See docs/security.md for the full table. */
export type Role =
  /** Everything, in every tenant: the proxy lets an admin act in another tenant with the `x-fluxo-tenant` header. */
  | 'ADMIN'
  /** Register as an agent, claim runs matching its labels, report states, logs and heartbeats for runs it holds leases on. Nothing else. */
  | 'AGENT'
  /** Register flows (CI pipelines). Nothing else. */
  | 'CI'
  /** Register flows, create and cancel runs, read everything in its tenant. */
  | 'DEVELOPER'
  /** Everything in its own tenant: flows, runs, service tokens, secrets, the audit log. */
  | 'TENANT_ADMIN'
  /** Read everything in its tenant. */
  | 'VIEWER';

/** The entries of a run that ride with a state change (`SetFlowRunStateInput.batch`). */
export type RunBatchInput = {
  /** Batch id (at most 100 characters), the same on every retry of the request. */
  batchId: string;
  /** Log lines (at most 5,000). */
  logLines?: Array<LogLineInput> | null | undefined;
  /** Writes to the lake and the warehouse (at most 100). */
  materializations?: Array<MaterializationInput> | null | undefined;
  /** Task state changes, in the order they happened (at most 1,000). */
  taskRunStates?: Array<TaskRunStateInput> | null | undefined;
};

/** The operator's switch of a flow's schedule. */
export type ScheduleState =
  /** The scheduler creates runs for the clocks. */
  | 'ACTIVE'
  /** The scheduler creates nothing; its future scheduled runs were removed. */
  | 'PAUSED';

/** A state an agent reports for a run. */
export type SetFlowRunStateInput = {
  /**
   * Task states, log lines and lineage writes that travel with this state change, so a run's first
   * and last batches cost no request of their own. With RUNNING they are recorded after the
   * transition; with any other state before it, while the lease still holds. Each part is recorded
   * once per `batch.batchId`: a retry after a lost answer records no transition, line or write twice
   * (the repeated state write answers the run as it is, or VERSION_CONFLICT or LEASE_LOST when the run
   * has moved on since; either way the run shows the state it reached).
   * Limits as for setTaskRunStates, writeLogs and recordMaterializations.
   */
  batch?: RunBatchInput | null | undefined;
  /** The child's exit code. */
  exitCode?: number | null | undefined;
  /** The run's `version` as the caller last saw it. */
  expectedVersion: number;
  /** The run. */
  flowRunId: string | number;
  /** The lease token from the claim. */
  leaseToken: string;
  /** Message. */
  message?: string | null | undefined;
  /** Reason code (see FlowRun.stateReason). */
  reason?: string | null | undefined;
  /** The signal that ended the child. */
  signal?: string | null | undefined;
  /** The new state. */
  state: FlowRunStateType;
};

/** What `setSecret` needs. */
export type SetSecretInput = {
  /** Name: upper-case letters, digits and `_`, starting with a letter; at most 100. */
  name: string;
  /** The value (at most 64 KiB). Stored encrypted; never returned. */
  value: string;
};

/** A batch of task run states. */
export type SetTaskRunStatesInput = {
  /** Batch id (at most 100 characters); a retried batch with the same id is recorded once, and answers 0. Optional so older agents keep working: without it every call is recorded. */
  batchId?: string | null | undefined;
  /** The run. */
  flowRunId: string | number;
  /** The lease token. */
  leaseToken: string;
  /** Changes, in the order they happened. */
  states: Array<TaskRunStateInput>;
};

/** Where an agent stored a task's result. */
export type TaskResultInput = {
  /** Hex sha256 of the stored bytes. */
  sha256: string;
  /** Size in bytes (at most 64 MiB). */
  size: number;
  /** `file:///...` or `gs://...` in the agent's result storage. */
  uri: string;
};

/** A task run state change reported by an agent. */
export type TaskRunStateInput = {
  /** Attempt number (1-based). */
  attempt: number;
  /** sha256 (hex) of the task's canonical JSON inputs, when they are JSON. */
  inputsHash?: string | null | undefined;
  /** Key unique within the flow run. */
  key: string;
  /** Index in a mapped call. */
  mapIndex?: number | null | undefined;
  /** Message (the error, for a failure). */
  message?: string | null | undefined;
  /** With SUCCESS: where the agent stored the task's result. */
  result?: TaskResultInput | null | undefined;
  /** New state. */
  state: FlowRunStateType;
  /** Task name. */
  taskName: string;
  /** When it happened (agent clock; informational). */
  timestamp?: string | null | undefined;
};

/** What kind of token a caller presented. Kinds are never interchangeable. */
export type TokenKind =
  /** An agent (fluxo agent tokens and agent service tokens). */
  | 'AGENT'
  /** A person or a machine acting as one (OIDC access tokens, fluxo user tokens, CI and user service tokens). */
  | 'USER';

/** Why a SCHEDULED run is not running yet. */
export type WaitCauseKind =
  /** Every online matching agent runs as many runs as its own `--concurrency`. */
  | 'AGENTS_BUSY'
  /** Agents with matching labels exist, but none was seen within the online window. */
  | 'AGENTS_OFFLINE'
  /** Nothing stops it: an agent will claim it at its next request. */
  | 'CLAIMABLE'
  /** The flow's concurrency limit is full. */
  | 'FLOW_CONCURRENCY'
  /** A label's concurrency limit is full (`limitScope` names it). */
  | 'LABEL_CONCURRENCY'
  /** No agent of the tenant has labels matching the run's. */
  | 'NO_MATCHING_AGENT'
  /** Its time has not come. */
  | 'SCHEDULED_LATER'
  /** Its flow's schedule is paused (a run the scheduler created before the pause, or a retry). */
  | 'SCHEDULE_PAUSED'
  /** The tenant's concurrency limit is full. */
  | 'TENANT_CONCURRENCY';

/** A batch of log lines for one run. */
export type WriteLogsInput = {
  /** Batch id; a retried batch with the same id is stored once. */
  batchId: string;
  /** The run. */
  flowRunId: string | number;
  /** The lease token. */
  leaseToken: string;
  /** Lines (at most 5,000 per batch). */
  lines: Array<LogLineInput>;
};

export type RegisterAgentMutationVariables = Exact<{
  input: RegisterAgentInput;
}>;


export type RegisterAgentMutation = { registerAgent: { id: string } };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { tenant: string } };

export type ClaimFlowRunsMutationVariables = Exact<{
  input: ClaimFlowRunsInput;
}>;


export type ClaimFlowRunsMutation = { claimFlowRuns: Array<{ leaseToken: string, leaseExpiresAt: string, leaseSeconds: number, outputKey: string, secrets: Array<{ name: string, value: string }>, storedResults: Array<{ taskKey: string, inputsHash: string, uri: string, sha256: string, size: number }>, flowRun: { id: string, version: number, attempt: number, parameters: unknown, flowVersion: { storageUri: string, sha256: string, size: number, entrypoint: string, timeoutSeconds: number | null, secrets: Array<string> } } }> };

export type SetFlowRunStateMutationVariables = Exact<{
  input: SetFlowRunStateInput;
}>;


export type SetFlowRunStateMutation = { setFlowRunState: { id: string, version: number, state: FlowRunStateType } };

export type SetTaskRunStatesMutationVariables = Exact<{
  input: SetTaskRunStatesInput;
}>;


export type SetTaskRunStatesMutation = { setTaskRunStates: number };

export type WriteLogsMutationVariables = Exact<{
  input: WriteLogsInput;
}>;


export type WriteLogsMutation = { writeLogs: number };

export type DeliverLateRunEntriesMutationVariables = Exact<{
  input: LateRunEntriesInput;
}>;


export type DeliverLateRunEntriesMutation = { deliverLateRunEntries: number };

export type RecordMaterializationsMutationVariables = Exact<{
  input: RecordMaterializationsInput;
}>;


export type RecordMaterializationsMutation = { recordMaterializations: number };

export type HeartbeatMutationVariables = Exact<{
  input: HeartbeatInput;
}>;


export type HeartbeatMutation = { heartbeat: { renewed: Array<string>, lost: Array<string>, cancelling: Array<string>, leaseExpiresAt: string, leaseSeconds: number } };

export type LeaseSignalsSubscriptionVariables = Exact<{
  agentId: string | number;
}>;


export type LeaseSignalsSubscription = { leaseSignals: { flowRunId: string, kind: LeaseSignalKind } };

export type FlowRunVersionQueryVariables = Exact<{
  id: string | number;
}>;


export type FlowRunVersionQuery = { flowRun: { id: string, version: number, state: FlowRunStateType } | null };

export type MoveAgentMutationVariables = Exact<{
  input: MoveAgentInput;
}>;


export type MoveAgentMutation = { moveAgent: { id: string, name: string, labels: Array<string>, concurrency: number, lastSeenAt: string } };

export type AuditEventsQueryVariables = Exact<{
  filter?: AuditEventFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type AuditEventsQuery = { auditEvents: { nodes: Array<{ id: string, at: string, tenant: string | null, subject: string | null, role: Role | null, action: string, requestId: string | null, outcome: AuditOutcome, code: ErrorCode | null, detail: string | null }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type BackfillMutationVariables = Exact<{
  input: BackfillInput;
}>;


export type BackfillMutation = { backfillFlowRuns: { total: number, created: number, existing: number, nextFrom: string | null, flowRuns: Array<{ id: string, scheduledAt: string, state: FlowRunStateType }> } };

export type DevRunLogsQueryVariables = Exact<{
  id: string | number;
}>;


export type DevRunLogsQuery = { flowRun: { logs: { nodes: Array<{ message: string, taskRunKey: string | null }> } } | null };

export type DevCreateFlowRunMutationVariables = Exact<{
  input: CreateFlowRunInput;
}>;


export type DevCreateFlowRunMutation = { createFlowRun: { id: string } };

export type DevRunStateQueryVariables = Exact<{
  id: string | number;
}>;


export type DevRunStateQuery = { flowRun: { state: FlowRunStateType } | null };

export type FlowsQueryVariables = Exact<{
  project?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type FlowsQuery = { flows: { nodes: Array<{ id: string, name: string, createdAt: string, project: { name: string }, latestVersion: { id: string, number: number, createdAt: string, defaultLabels: Array<string>, description: string | null } }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type SetConcurrencyLimitMutationVariables = Exact<{
  scope: string;
  limit: number;
}>;


export type SetConcurrencyLimitMutation = { setConcurrencyLimit: { scope: string, limit: number, running: number, updatedAt: string, updatedBy: string } };

export type ConcurrencyLimitsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConcurrencyLimitsQuery = { concurrencyLimits: Array<{ scope: string, limit: number, running: number, updatedAt: string, updatedBy: string }> };

export type DeleteConcurrencyLimitMutationVariables = Exact<{
  scope: string;
}>;


export type DeleteConcurrencyLimitMutation = { deleteConcurrencyLimit: boolean };

export type LogLineFieldsFragment = { id: string, flowRunId: string, taskRunKey: string | null, level: LogLevel, stream: string, message: string, timestamp: string };

export type RunStatusFieldsFragment = { id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, endedAt: string | null, exitCode: number | null, signal: string | null, flowVersion: { retries: number } };

export type RunLogsQueryVariables = Exact<{
  id: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type RunLogsQuery = { flowRun: { id: string, logs: { nodes: Array<{ id: string, flowRunId: string, taskRunKey: string | null, level: LogLevel, stream: string, message: string, timestamp: string }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } } | null };

export type RunStatusQueryVariables = Exact<{
  id: string | number;
}>;


export type RunStatusQuery = { flowRun: { id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, endedAt: string | null, exitCode: number | null, signal: string | null, flowVersion: { retries: number } } | null };

export type RunStateSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type RunStateSubscription = { flowRunStateChanged: { flowRun: { id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, endedAt: string | null, exitCode: number | null, signal: string | null, flowVersion: { retries: number } } } };

export type RunLogLinesSubscriptionVariables = Exact<{
  id: string | number;
  after?: string | null | undefined;
}>;


export type RunLogLinesSubscription = { flowRunLogs: { id: string, flowRunId: string, taskRunKey: string | null, level: LogLevel, stream: string, message: string, timestamp: string } };

export type NotificationRuleFieldsFragment = { id: string, on: Array<NotificationEvent>, channel: NotificationChannel, target: string, signingSecret: string | null, createdAt: string, createdBy: string, flow: { name: string, project: { name: string } } | null };

export type CreateNotificationRuleMutationVariables = Exact<{
  input: CreateNotificationRuleInput;
}>;


export type CreateNotificationRuleMutation = { createNotificationRule: { id: string, on: Array<NotificationEvent>, channel: NotificationChannel, target: string, signingSecret: string | null, createdAt: string, createdBy: string, flow: { name: string, project: { name: string } } | null } };

export type NotificationRulesQueryVariables = Exact<{ [key: string]: never; }>;


export type NotificationRulesQuery = { notificationRules: Array<{ id: string, on: Array<NotificationEvent>, channel: NotificationChannel, target: string, signingSecret: string | null, createdAt: string, createdBy: string, flow: { name: string, project: { name: string } } | null }> };

export type DeleteNotificationRuleMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteNotificationRuleMutation = { deleteNotificationRule: boolean };

export type NotificationDeliveriesQueryVariables = Exact<{
  failed?: boolean | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type NotificationDeliveriesQuery = { notificationDeliveries: { nodes: Array<{ id: string, event: NotificationEvent, state: DeliveryState, attempts: number, lastError: string | null, createdAt: string, deliveredAt: string | null, nextAttemptAt: string | null, rule: { id: string, channel: NotificationChannel, target: string } | null, flowRun: { id: string, state: FlowRunStateType } | null }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type RestartFlowRunMutationVariables = Exact<{
  id: string | number;
}>;


export type RestartFlowRunMutation = { restartFlowRun: { id: string, state: FlowRunStateType, attempt: number, stateReason: string | null, stateMessage: string | null } };

export type RerunFlowRunMutationVariables = Exact<{
  id: string | number;
  parameters?: unknown;
}>;


export type RerunFlowRunMutation = { rerunFlowRun: { id: string, state: FlowRunStateType, attempt: number, rerunOf: string | null, parameters: unknown } };

export type RunSummaryFieldsFragment = { id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, labels: Array<string>, priority: number, createdAt: string, scheduledAt: string, startedAt: string | null, endedAt: string | null, waitReason: string | null, flow: { id: string, name: string, project: { name: string } }, flowVersion: { id: string, number: number, retries: number } };

export type FlowRunsQueryVariables = Exact<{
  filter?: FlowRunFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type FlowRunsQuery = { flowRuns: { nodes: Array<{ id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, labels: Array<string>, priority: number, createdAt: string, scheduledAt: string, startedAt: string | null, endedAt: string | null, waitReason: string | null, flow: { id: string, name: string, project: { name: string } }, flowVersion: { id: string, number: number, retries: number } }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type FlowRunQueryVariables = Exact<{
  id: string | number;
}>;


export type FlowRunQuery = { flowRun: { version: number, parameters: unknown, idempotencyKey: string | null, exitCode: number | null, signal: string | null, id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, labels: Array<string>, priority: number, createdAt: string, scheduledAt: string, startedAt: string | null, endedAt: string | null, waitReason: string | null, agent: { id: string, name: string } | null, taskRuns: Array<{ id: string, key: string, taskName: string, mapIndex: number | null, state: FlowRunStateType, stateMessage: string | null, attempts: number, startedAt: string | null, endedAt: string | null }>, stateHistory: Array<{ fromState: FlowRunStateType | null, toState: FlowRunStateType, reason: string | null, message: string | null, actor: string, attempt: number, at: string }>, flow: { id: string, name: string, project: { name: string } }, flowVersion: { id: string, number: number, retries: number } } | null };

export type FlowIdQueryVariables = Exact<{
  project?: string | null | undefined;
  name?: string | null | undefined;
}>;


export type FlowIdQuery = { flow: { id: string } | null };

export type CreateFlowRunMutationVariables = Exact<{
  input: CreateFlowRunInput;
}>;


export type CreateFlowRunMutation = { createFlowRun: { parameters: unknown, idempotencyKey: string | null, id: string, state: FlowRunStateType, stateReason: string | null, stateMessage: string | null, attempt: number, labels: Array<string>, priority: number, createdAt: string, scheduledAt: string, startedAt: string | null, endedAt: string | null, waitReason: string | null, flow: { id: string, name: string, project: { name: string } }, flowVersion: { id: string, number: number, retries: number } } };

export type CancelFlowRunMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelFlowRunMutation = { cancelFlowRun: { id: string, state: FlowRunStateType, stateMessage: string | null } };

export type ScheduleFieldsFragment = { state: ScheduleState, missedRuns: MissedRunPolicy, catchUpLimit: number, nextRunAt: string | null, stateChangedAt: string | null, stateChangedBy: string | null, flow: { id: string, name: string, project: { name: string }, latestVersion: { number: number } }, clocks: Array<{ key: string, index: number, cron: string | null, timezone: string | null, everySeconds: number | null, anchor: string | null, parameters: unknown, labels: Array<string> | null, nextTimes: Array<string> }> };

export type SchedulesQueryVariables = Exact<{
  project?: string | null | undefined;
  state?: ScheduleState | null | undefined;
  after?: string | null | undefined;
}>;


export type SchedulesQuery = { schedules: { nodes: Array<{ state: ScheduleState, missedRuns: MissedRunPolicy, catchUpLimit: number, nextRunAt: string | null, stateChangedAt: string | null, stateChangedBy: string | null, flow: { id: string, name: string, project: { name: string }, latestVersion: { number: number } }, clocks: Array<{ key: string, index: number, cron: string | null, timezone: string | null, everySeconds: number | null, anchor: string | null, parameters: unknown, labels: Array<string> | null, nextTimes: Array<string> }> }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type PauseScheduleMutationVariables = Exact<{
  project?: string | null | undefined;
  flowName: string;
}>;


export type PauseScheduleMutation = { pauseSchedule: { state: ScheduleState, missedRuns: MissedRunPolicy, catchUpLimit: number, nextRunAt: string | null, stateChangedAt: string | null, stateChangedBy: string | null, flow: { id: string, name: string, project: { name: string }, latestVersion: { number: number } }, clocks: Array<{ key: string, index: number, cron: string | null, timezone: string | null, everySeconds: number | null, anchor: string | null, parameters: unknown, labels: Array<string> | null, nextTimes: Array<string> }> } };

export type ResumeScheduleMutationVariables = Exact<{
  project?: string | null | undefined;
  flowName: string;
}>;


export type ResumeScheduleMutation = { resumeSchedule: { state: ScheduleState, missedRuns: MissedRunPolicy, catchUpLimit: number, nextRunAt: string | null, stateChangedAt: string | null, stateChangedBy: string | null, flow: { id: string, name: string, project: { name: string }, latestVersion: { number: number } }, clocks: Array<{ key: string, index: number, cron: string | null, timezone: string | null, everySeconds: number | null, anchor: string | null, parameters: unknown, labels: Array<string> | null, nextTimes: Array<string> }> } };

export type SetSecretMutationVariables = Exact<{
  input: SetSecretInput;
}>;


export type SetSecretMutation = { setSecret: { name: string, createdAt: string, updatedAt: string, updatedBy: string } };

export type SecretsQueryVariables = Exact<{ [key: string]: never; }>;


export type SecretsQuery = { secrets: Array<{ name: string, createdAt: string, updatedAt: string, updatedBy: string }> };

export type DeleteSecretMutationVariables = Exact<{
  name: string;
}>;


export type DeleteSecretMutation = { deleteSecret: boolean };

export type WriteFieldsFragment = { id: string, attempt: number, taskRunKey: string | null, kind: MaterializationKind, dataset: string, table: string, partitions: Array<string>, rows: number | null, bytes: number | null, uri: string, mode: string | null, recordedAt: string, flowRun: { id: string } };

export type DataTablesQueryVariables = Exact<{
  dataset?: string | null | undefined;
  kind?: MaterializationKind | null | undefined;
  after?: string | null | undefined;
}>;


export type DataTablesQuery = { dataTables: { nodes: Array<{ dataset: string, table: string, kind: MaterializationKind, lastWrite: { id: string, attempt: number, taskRunKey: string | null, kind: MaterializationKind, dataset: string, table: string, partitions: Array<string>, rows: number | null, bytes: number | null, uri: string, mode: string | null, recordedAt: string, flowRun: { id: string } } }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type DataTableFieldsFragment = { dataset: string, table: string, kind: MaterializationKind, lastWrite: { id: string, attempt: number, taskRunKey: string | null, kind: MaterializationKind, dataset: string, table: string, partitions: Array<string>, rows: number | null, bytes: number | null, uri: string, mode: string | null, recordedAt: string, flowRun: { id: string } }, partitions: Array<{ partition: string, lastWrite: { rows: number | null, recordedAt: string, flowRun: { id: string } } }>, history: Array<{ id: string, attempt: number, taskRunKey: string | null, kind: MaterializationKind, dataset: string, table: string, partitions: Array<string>, rows: number | null, bytes: number | null, uri: string, mode: string | null, recordedAt: string, flowRun: { id: string } }> };

export type ServiceTokenFieldsFragment = { id: string, name: string, role: Role, kind: TokenKind, subject: string, labels: Array<string>, createdAt: string, createdBy: string, expiresAt: string | null, revokedAt: string | null, revokedBy: string | null };

export type CreateServiceTokenMutationVariables = Exact<{
  input: CreateServiceTokenInput;
}>;


export type CreateServiceTokenMutation = { createServiceToken: { token: string, serviceToken: { id: string, name: string, role: Role, kind: TokenKind, subject: string, labels: Array<string>, createdAt: string, createdBy: string, expiresAt: string | null, revokedAt: string | null, revokedBy: string | null } } };

export type ServiceTokensQueryVariables = Exact<{
  includeRevoked?: boolean | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ServiceTokensQuery = { serviceTokens: { nodes: Array<{ id: string, name: string, role: Role, kind: TokenKind, subject: string, labels: Array<string>, createdAt: string, createdBy: string, expiresAt: string | null, revokedAt: string | null, revokedBy: string | null }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type RevokeServiceTokenMutationVariables = Exact<{
  id: string | number;
}>;


export type RevokeServiceTokenMutation = { revokeServiceToken: { id: string, name: string, role: Role, kind: TokenKind, subject: string, labels: Array<string>, createdAt: string, createdBy: string, expiresAt: string | null, revokedAt: string | null, revokedBy: string | null } };

export type WhyQueryVariables = Exact<{
  id: string | number;
}>;


export type WhyQuery = { flowRun: { id: string, state: FlowRunStateType, scheduledAt: string, labels: Array<string>, wait: { kind: WaitCauseKind, message: string, limitScope: string | null, running: number | null, limit: number | null, agents: Array<{ name: string, labels: Array<string>, lastSeenAt: string, online: boolean, concurrency: number }> } | null } | null };

export type KnownBundlesQueryVariables = Exact<{
  sha256: Array<string> | string;
}>;


export type KnownBundlesQuery = { knownBundles: Array<{ sha256: string, storageUri: string }> };

export type RegisterFlowsMutationVariables = Exact<{
  inputs: Array<RegisterFlowInput> | RegisterFlowInput;
}>;


export type RegisterFlowsMutation = { registerFlows: Array<{ created: boolean, flowVersion: { id: string, number: number } | null, error: { code: ErrorCode, message: string } | null }> };
