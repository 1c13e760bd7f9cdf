import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { FlowRecord, FlowVersionRecord, FlowRunRecord, TaskRunRecord, AgentRecord, ProjectRecord, LogRecord, StateTransitionRecord, ClockRecord, FlowScheduleRecord, ConcurrencyLimitRecord, NotificationRuleRecord, NotificationDeliveryRecord, MaterializationRecord, DataTableRecord } from '../../store/records.js';
import type { DataPartitionRecord } from '../../store/lineage-store.js';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An instant, as an ISO-8601 string in UTC with milliseconds (`2026-11-26T09:05:52.123Z`). As input, an RFC 3339 date-time with a zone (`Z` or `-03:00`) naming a real day and time; anything else is BAD_USER_INPUT. */
  DateTime: { input: string; output: number | string; }
  /** Any JSON value (parameters, JSON Schemas). */
  JSON: { input: unknown; output: unknown; }
};

/** A daemon that claims and runs flow runs for a tenant. */
export type Agent = {
  __typename?: 'Agent';
  /** How many runs it runs at once. */
  concurrency: Scalars['Int']['output'];
  /** When it first registered. */
  createdAt: Scalars['DateTime']['output'];
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** Labels it claims by. */
  labels: Array<Scalars['String']['output']>;
  /** Last time it called the server (database time). */
  lastSeenAt: Scalars['DateTime']['output'];
  /** Name, unique within the tenant. */
  name: Scalars['String']['output'];
  /** Whether it was seen within the online window (3 lease periods). */
  online: Scalars['Boolean']['output'];
};

/** A page of agents. */
export type AgentConnection = {
  __typename?: 'AgentConnection';
  /** Agents on this page. */
  nodes: Array<Agent>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

/** One entry of the append-only audit log. */
export type AuditEvent = {
  __typename?: 'AuditEvent';
  /** What was attempted: a GraphQL operation field (`mutation.createFlowRun`, `query.flowRuns`, `subscription.flowRunLogs`) or a proxy step (`proxy.authenticate`). */
  action: Scalars['String']['output'];
  /** When it happened. */
  at: Scalars['DateTime']['output'];
  /** The error code when it did not end ALLOWED. */
  code: Maybe<ErrorCode>;
  /** A short description (the error message, or the ids acted on). */
  detail: Maybe<Scalars['String']['output']>;
  /** Its id (time-ordered). */
  id: Scalars['ID']['output'];
  /** How it ended. */
  outcome: AuditOutcome;
  /** The request id the proxy assigned (also in both processes' logs). */
  requestId: Maybe<Scalars['String']['output']>;
  /** The caller's role. */
  role: Maybe<Role>;
  /** The caller's subject; null when the caller could not be identified. */
  subject: Maybe<Scalars['String']['output']>;
  /** The tenant acted in; null when the caller could not be identified. */
  tenant: Maybe<Scalars['String']['output']>;
};

/** A page of audit events. */
export type AuditEventConnection = {
  __typename?: 'AuditEventConnection';
  /** Events, newest first. */
  nodes: Array<AuditEvent>;
  /** Where the page ends. */
  pageInfo: PageInfo;
};

/** Filters for `auditEvents`; all optional, combined with AND. */
export type AuditEventFilter = {
  /** Only this action. */
  action?: InputMaybe<Scalars['String']['input']>;
  /** Only events at or after this instant. */
  after?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only events before this instant. */
  before?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only this outcome. */
  outcome?: InputMaybe<AuditOutcome>;
  /** Only this subject. */
  subject?: InputMaybe<Scalars['String']['input']>;
  /** Only this tenant (admins only; a tenant-admin always sees its own tenant). */
  tenant?: InputMaybe<Scalars['String']['input']>;
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
  clock?: InputMaybe<Scalars['Int']['input']>;
  /** Flow name. */
  flowName: Scalars['String']['input'];
  /** Times from this instant (inclusive)... */
  from: Scalars['DateTime']['input'];
  /** At most this many runs handled by this call (1-1000, default 500); continue from `nextFrom`. */
  limit?: InputMaybe<Scalars['Int']['input']>;
  /** Parameters merged over each clock's own (validated against the schema). */
  parameters?: InputMaybe<Scalars['JSON']['input']>;
  /** Project; default `production`. */
  project?: InputMaybe<Scalars['String']['input']>;
  /** ... to this instant (exclusive); at most 100,000 clock times in all. */
  to: Scalars['DateTime']['input'];
};

/** The outcome of one `backfillFlowRuns` call. */
export type BackfillPayload = {
  __typename?: 'BackfillPayload';
  /** Runs this call created. */
  created: Scalars['Int']['output'];
  /** Runs this call found already created by an earlier backfill of the same times (nothing new). */
  existing: Scalars['Int']['output'];
  /** The runs of this call (created or existing), oldest time first. */
  flowRuns: Array<FlowRun>;
  /** Where to continue (pass as `from` with the same `to`); null when the range is done. */
  nextFrom: Maybe<Scalars['DateTime']['output']>;
  /** Clock times in the whole range [from, to) for the chosen clocks. */
  total: Scalars['Int']['output'];
};

/** Long-poll for due runs. */
export type ClaimFlowRunsInput = {
  /** The agent's id from `registerAgent`. */
  agentId: Scalars['ID']['input'];
  /** How many runs at most (free slots). */
  max: Scalars['Int']['input'];
  /** A fresh id per claim (at most 100 characters), sent again unchanged when the claim is retried after a transport error. A retry whose first answer was lost gets the runs that request claimed (same lease tokens, leases renewed) instead of leaving them stranded until their lease expires. Optional for older agents. */
  requestId?: InputMaybe<Scalars['String']['input']>;
  /** Milliseconds to wait for work when none is due (0-30000). */
  waitMs?: InputMaybe<Scalars['Int']['input']>;
};

/** A run handed to an agent, with what it needs to fetch, verify and run the code. */
export type ClaimedFlowRun = {
  __typename?: 'ClaimedFlowRun';
  /** The run. */
  flowRun: FlowRun;
  /** When the lease expires unless renewed (database time). */
  leaseExpiresAt: Scalars['DateTime']['output'];
  /** The lease's length. The agent fences itself by its own monotonic clock: if it could not renew the lease within this long of sending the request that granted it, it kills the run's child, since the run may already be another agent's. */
  leaseSeconds: Scalars['Int']['output'];
  /** Opaque lease token; required on every write for this run. */
  leaseToken: Scalars['String']['output'];
  /** The id that names the run's output in the lake and the warehouse: the run's own id, or for a rerun the id of the run it reruns (followed to the first). A rerun thus replaces that run's output instead of adding to it. */
  outputKey: Scalars['ID']['output'];
  /** Values of the tenant secrets the run's flow version declares (`RegisterFlowInput.secrets`) that the tenant has stored. Only in this answer, only to the agent that claimed the run; names the tenant has not stored are absent (the agent may supply them from its own secrets file). */
  secrets: Array<SecretValue>;
  /** For a restarted run (`restartFlowRun`): the stored results of tasks that succeeded in earlier attempts. The child returns such a result, read back and verified by the agent, instead of running the task again (same key and inputs). */
  storedResults: Array<StoredTaskResult>;
};

/**
 * One clock of a flow version: when the scheduler creates runs. A cron clock (`cron` and
 * `timezone`) or an interval clock (`everySeconds` and `anchor`). See docs/schedules.md.
 */
export type Clock = {
  __typename?: 'Clock';
  /** The instant an interval clock counts from: its times are anchor + k × everySeconds. Null for a cron clock. */
  anchor: Maybe<Scalars['DateTime']['output']>;
  /** Cron expression (5 fields, or 6 with seconds; croner syntax), or null for an interval clock. */
  cron: Maybe<Scalars['String']['output']>;
  /** Seconds between runs of an interval clock (at least 60), or null for a cron clock. */
  everySeconds: Maybe<Scalars['Int']['output']>;
  /** Position in the version's clocks (0-based); `backfillFlowRuns(clock:)` and `fluxo runs backfill --clock N` take it. */
  index: Scalars['Int']['output'];
  /** Stable identity of the clock: a hash of its definition. The same clock in a later version keeps its key; scheduled runs are idempotent per (flow, key, time). */
  key: Scalars['String']['output'];
  /** Labels every run of this clock gets; null means the version's default labels. */
  labels: Maybe<Array<Scalars['String']['output']>>;
  /** The clock's next times after now (database time), at most `count` (1-100). */
  nextTimes: Array<Scalars['DateTime']['output']>;
  /** Parameters every run of this clock gets (validated against the version's parameter schema at registration). */
  parameters: Scalars['JSON']['output'];
  /** IANA time zone the cron expression is read in (the server's `--timezone` when the flow named none); null for an interval clock. */
  timezone: Maybe<Scalars['String']['output']>;
};


/**
 * One clock of a flow version: when the scheduler creates runs. A cron clock (`cron` and
 * `timezone`) or an interval clock (`everySeconds` and `anchor`). See docs/schedules.md.
 */
export type ClockNextTimesArgs = {
  count?: InputMaybe<Scalars['Int']['input']>;
};

/** One clock as registered: either `cron` (with an optional `timezone`) or `everySeconds` (with an optional `anchor`). */
export type ClockInput = {
  /** The instant interval times count from; default the Unix epoch (so `every: 1h` runs on the hour). */
  anchor?: InputMaybe<Scalars['DateTime']['input']>;
  /** Cron expression, 5 fields (minute hour day month weekday) or 6 with seconds first; croner syntax. */
  cron?: InputMaybe<Scalars['String']['input']>;
  /** Seconds between runs (60 to 366 days). */
  everySeconds?: InputMaybe<Scalars['Int']['input']>;
  /** Labels every run of this clock gets; default: the version's default labels. */
  labels?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Parameters every run of this clock gets; validated against the parameter schema. */
  parameters?: InputMaybe<Scalars['JSON']['input']>;
  /** IANA time zone for `cron` (`America/Sao_Paulo`); default: the server's `--timezone`. */
  timezone?: InputMaybe<Scalars['String']['input']>;
};

/** What a due run does while its flow's concurrency limit is full. */
export type ConcurrencyFullPolicy =
  /** Wait for a free slot (default). */
  | 'QUEUE'
  /** End the new run CANCELLED with reason `concurrency-skip` (skip if running). */
  | 'SKIP';

/** An operator's limit on how many runs hold an agent at once. */
export type ConcurrencyLimit = {
  __typename?: 'ConcurrencyLimit';
  /** At most this many runs in SUBMITTED, RUNNING or CANCELLING. */
  limit: Scalars['Int']['output'];
  /** Runs holding a slot now. */
  running: Scalars['Int']['output'];
  /** `tenant`, or `label:<label>` (every run carrying the label counts). */
  scope: Scalars['String']['output'];
  /** When it was last set. */
  updatedAt: Scalars['DateTime']['output'];
  /** Who last set it. */
  updatedBy: Scalars['String']['output'];
};

/** What `createFlowRun` needs. */
export type CreateFlowRunInput = {
  /** The flow by id... */
  flowId?: InputMaybe<Scalars['ID']['input']>;
  /** Flow name, with `project`. */
  flowName?: InputMaybe<Scalars['String']['input']>;
  /** A specific version id; default: the latest. */
  flowVersionId?: InputMaybe<Scalars['ID']['input']>;
  /** Creating twice with the same key returns the first run. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Labels; default: the version's default labels. */
  labels?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Parameters; validated (and coerced: `"3"` becomes `3` for an integer) against the version's schema. */
  parameters?: InputMaybe<Scalars['JSON']['input']>;
  /** Claim priority; default 0. */
  priority?: InputMaybe<Scalars['Int']['input']>;
  /** ... or by project and name (`project` defaults to `production`). */
  project?: InputMaybe<Scalars['String']['input']>;
  /** When it is due; default now. */
  scheduledAt?: InputMaybe<Scalars['DateTime']['input']>;
};

/** What `createNotificationRule` needs. */
export type CreateNotificationRuleInput = {
  /** The message format. */
  channel: NotificationChannel;
  /** The flow to watch; omit for every flow of the tenant. */
  flowName?: InputMaybe<Scalars['String']['input']>;
  /** The events to send (at least one). */
  on: Array<NotificationEvent>;
  /** Project of `flowName`; default `production`. */
  project?: InputMaybe<Scalars['String']['input']>;
  /** WEBHOOK only: the name of a tenant secret (`fluxo secrets set`) whose value signs each delivery. */
  signingSecret?: InputMaybe<Scalars['String']['input']>;
  /** The receiver: an https:// URL (http:// only to a loopback address when the server allows it). */
  url: Scalars['String']['input'];
};

/** What `createServiceToken` needs. */
export type CreateServiceTokenInput = {
  /** Informational labels. */
  labels?: InputMaybe<Array<Scalars['String']['input']>>;
  /** A name unique within the tenant (letters, digits, `-`, `_`, `.`; at most 100). */
  name: Scalars['String']['input'];
  /** The role to grant. ADMIN cannot be granted by a service token. */
  role: Role;
  /** Lifetime in seconds (60 s to 365 days); null for a token that lives until revoked. */
  ttlSeconds?: InputMaybe<Scalars['Int']['input']>;
};

/** The outcome of `createServiceToken`. */
export type CreateServiceTokenPayload = {
  __typename?: 'CreateServiceTokenPayload';
  /** The token's record. */
  serviceToken: ServiceToken;
  /** The bearer value (`fxs_...`). Shown only here: store it now. */
  token: Scalars['String']['output'];
};

/** A partition and the latest write that touched it. */
export type DataPartition = {
  __typename?: 'DataPartition';
  /** The latest write that touched it. */
  lastWrite: Materialization;
  /** The partition (Hive path or partition date). */
  partition: Scalars['String']['output'];
};

/** A table (or lake folder) the tenant's flows wrote, with the writes that made it. */
export type DataTable = {
  __typename?: 'DataTable';
  /** Dataset id as the flow named it. */
  dataset: Scalars['String']['output'];
  /** Writes, newest first. */
  history: Array<Materialization>;
  /** Which layer. */
  kind: MaterializationKind;
  /** The latest write. */
  lastWrite: Materialization;
  /** Each partition with the latest write that touched it, partitions in descending order; empty when unpartitioned. */
  partitions: Array<DataPartition>;
  /** Table id (empty for a published dataset). */
  table: Scalars['String']['output'];
};


/** A table (or lake folder) the tenant's flows wrote, with the writes that made it. */
export type DataTableHistoryArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** A table (or lake folder) the tenant's flows wrote, with the writes that made it. */
export type DataTablePartitionsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A page of data tables. */
export type DataTableConnection = {
  __typename?: 'DataTableConnection';
  /** The tables on this page. */
  nodes: Array<DataTable>;
  /** How to get the next page. */
  pageInfo: PageInfo;
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

/** A named pipeline. Its code lives in versions. */
export type Flow = {
  __typename?: 'Flow';
  /** When the flow was first registered. */
  createdAt: Scalars['DateTime']['output'];
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** The newest version. */
  latestVersion: FlowVersion;
  /** Name, unique within its project. */
  name: Scalars['String']['output'];
  /** The project the flow belongs to. */
  project: Project;
  /** The flow's schedule: the latest version's clocks and the operator's switch; null when the latest version declares no clocks. */
  schedule: Maybe<FlowSchedule>;
  /** All versions, newest first. */
  versions: FlowVersionConnection;
};


/** A named pipeline. Its code lives in versions. */
export type FlowVersionsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A page of flows. */
export type FlowConnection = {
  __typename?: 'FlowConnection';
  /** The flows on this page. */
  nodes: Array<Flow>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

/** One execution of a flow version. */
export type FlowRun = {
  __typename?: 'FlowRun';
  /** The agent holding (or last holding) the run. */
  agent: Maybe<Agent>;
  /** Attempt number, starting at 1; flow-level retries increment it. */
  attempt: Scalars['Int']['output'];
  /** When it was created. */
  createdAt: Scalars['DateTime']['output'];
  /** When it reached a final state. */
  endedAt: Maybe<Scalars['DateTime']['output']>;
  /** The child's exit code, when it exited. */
  exitCode: Maybe<Scalars['Int']['output']>;
  /** The flow. */
  flow: Flow;
  /** The version that runs. */
  flowVersion: FlowVersion;
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** The key the run was created with, if any. */
  idempotencyKey: Maybe<Scalars['String']['output']>;
  /** Routing labels. An agent takes the run only if its labels are a superset; a run without labels only goes to an agent without labels. */
  labels: Array<Scalars['String']['output']>;
  /** Log lines, oldest first; `after` takes `pageInfo.endCursor` or any line's `id`. */
  logs: LogConnection;
  /** What the run wrote to the lake and the warehouse (fluxo/data), oldest first, as its agent recorded it. */
  materializations: Array<Materialization>;
  /** Validated parameters, with defaults applied. */
  parameters: Scalars['JSON']['output'];
  /** Higher runs are claimed first among due runs. */
  priority: Scalars['Int']['output'];
  /** The run this one re-runs (`rerunFlowRun`), or null. */
  rerunOf: Maybe<Scalars['ID']['output']>;
  /** When the run is due. */
  scheduledAt: Scalars['DateTime']['output'];
  /** The signal that ended the child, when one did. */
  signal: Maybe<Scalars['String']['output']>;
  /** When the child started running the flow (latest attempt). */
  startedAt: Maybe<Scalars['DateTime']['output']>;
  /** Current state. */
  state: FlowRunStateType;
  /** Every transition of the run, oldest first. */
  stateHistory: Array<StateTransition>;
  /** Human-readable message of the latest transition. */
  stateMessage: Maybe<Scalars['String']['output']>;
  /** Why the run is in its state, or null: `exception` (the flow threw), `invalid-parameters`, `integrity` (bundle digest or size mismatch), `missing-secret` (a declared secret has no value: neither stored for the tenant nor on the agent's host, or the server could not decrypt it), `memory` (the heap limit), `load-error` (the code could not load), `timeout`, `exit-code` or `signal` (the child ended abnormally), `lease-expired`, `cancelled`, `agent-stopped`, `agent-error`, `retry` (a new attempt was scheduled). */
  stateReason: Maybe<Scalars['String']['output']>;
  /**
   * Task runs, in the order they started (ties by id), `first` at a time (1-5000). The cursor is a
   * task run's `id`: pass the last one you got as `after` for the next page; fewer than `first`
   * means there are no more. A mapped run can hold tens of thousands.
   */
  taskRuns: Array<TaskRun>;
  /** Increments on every write; pass it as `expectedVersion` for compare-and-set. */
  version: Scalars['Int']['output'];
  /** Why a SCHEDULED run still waits, as data (the same cause as `waitReason`); null when it does not wait. */
  wait: Maybe<WaitCause>;
  /** For a Scheduled run whose time has passed: why it still waits. */
  waitReason: Maybe<Scalars['String']['output']>;
};


/** One execution of a flow version. */
export type FlowRunLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** One execution of a flow version. */
export type FlowRunTaskRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A page of flow runs. */
export type FlowRunConnection = {
  __typename?: 'FlowRunConnection';
  /** The runs on this page. */
  nodes: Array<FlowRun>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

/** Filters for `flowRuns`; all given filters must hold. */
export type FlowRunFilter = {
  /** Only runs created at or after this instant. */
  createdAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only runs created before this instant. */
  createdBefore?: InputMaybe<Scalars['DateTime']['input']>;
  /** Only runs of this flow id. */
  flowId?: InputMaybe<Scalars['ID']['input']>;
  /** Only runs that carry this label. */
  label?: InputMaybe<Scalars['String']['input']>;
  /** Only runs in one of these states. */
  states?: InputMaybe<Array<FlowRunStateType>>;
};

/** A flow run's state changed. */
export type FlowRunStateEvent = {
  __typename?: 'FlowRunStateEvent';
  /** The run after the change. */
  flowRun: FlowRun;
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

/** A flow's schedule: the latest version's clocks and whether they run. */
export type FlowSchedule = {
  __typename?: 'FlowSchedule';
  /** With CATCH_UP: at most this many missed times per clock get a run. */
  catchUpLimit: Scalars['Int']['output'];
  /** The latest version's clocks. */
  clocks: Array<Clock>;
  /** The flow. */
  flow: Flow;
  /** What happens to times missed while no runs could be created. */
  missedRuns: MissedRunPolicy;
  /** The earliest time a future scheduled run of this flow is due, or null. */
  nextRunAt: Maybe<Scalars['DateTime']['output']>;
  /** Active or paused; survives re-registration (only the first registration that declares clocks sets it, from `RegisterFlowInput.scheduleState`). */
  state: ScheduleState;
  /** When the operator last paused or resumed it (null: never). */
  stateChangedAt: Maybe<Scalars['DateTime']['output']>;
  /** Who last paused or resumed it. */
  stateChangedBy: Maybe<Scalars['String']['output']>;
};

/** A page of flow schedules. */
export type FlowScheduleConnection = {
  __typename?: 'FlowScheduleConnection';
  /** Schedules on this page, by project and flow name. */
  nodes: Array<FlowSchedule>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

/** One registration of a flow's code: where the bundle lives and what it declares. */
export type FlowVersion = {
  __typename?: 'FlowVersion';
  /** With CATCH_UP: the most missed times per clock that get a run. */
  catchUpLimit: Scalars['Int']['output'];
  /** The clocks the version declares (empty: runs only when asked). */
  clocks: Array<Clock>;
  /** At most this many runs of the flow hold an agent at once (SUBMITTED, RUNNING, CANCELLING); null: no limit. */
  concurrencyLimit: Maybe<Scalars['Int']['output']>;
  /** Hash over the bundle digest and the declared settings; registering the same hash again creates nothing. */
  contentHash: Scalars['String']['output'];
  /** When the version was registered. */
  createdAt: Scalars['DateTime']['output'];
  /** Labels every run of this version gets unless the run sets its own. */
  defaultLabels: Array<Scalars['String']['output']>;
  /** The flow's description. */
  description: Maybe<Scalars['String']['output']>;
  /** The module export that holds this flow. */
  entrypoint: Scalars['String']['output'];
  /** The flow this version belongs to. */
  flow: Flow;
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** What the scheduler does with missed clock times. */
  missedRuns: MissedRunPolicy;
  /** 1 for the first registration, then 2, 3, ... */
  number: Scalars['Int']['output'];
  /** JSON Schema (draft 2020-12) of the flow's parameters. */
  parameterSchema: Scalars['JSON']['output'];
  /** Flow-level retries after a Failed, Crashed or TimedOut attempt. */
  retries: Scalars['Int']['output'];
  /** Seconds between a failed attempt and the next. */
  retryDelaySeconds: Scalars['Int']['output'];
  /** Names of the secrets the flow declares. The agent hands exactly these to the flow's process (the tenant's stored secrets from the claim answer first, then the agent host's own secrets file or environment) and redacts their values from logs. */
  secrets: Array<Scalars['String']['output']>;
  /** Hex sha256 of the bundle's bytes; agents verify it before running. */
  sha256: Scalars['String']['output'];
  /** The bundle's size in bytes; agents verify it before running. */
  size: Scalars['Int']['output'];
  /** Where the bundle lives: `file:///...` or `gs://bucket/object`. The server never reads it. */
  storageUri: Scalars['String']['output'];
  /** Seconds the whole run may take; null means no limit. */
  timeoutSeconds: Maybe<Scalars['Int']['output']>;
  /** What a due run does while the flow's limit is full. */
  whenConcurrencyFull: ConcurrencyFullPolicy;
};

/** A page of flow versions. */
export type FlowVersionConnection = {
  __typename?: 'FlowVersionConnection';
  /** The versions on this page. */
  nodes: Array<FlowVersion>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

/** Heartbeat: renew leases, learn about cancellations. */
export type HeartbeatInput = {
  /** The agent. */
  agentId: Scalars['ID']['input'];
  /** Every lease it holds. */
  leases: Array<LeaseInput>;
};

/** What the server says to a heartbeat. */
export type HeartbeatPayload = {
  __typename?: 'HeartbeatPayload';
  /** Runs a user asked to cancel: stop their children, then report CANCELLED. */
  cancelling: Array<Scalars['ID']['output']>;
  /** New expiry of the renewed leases. */
  leaseExpiresAt: Scalars['DateTime']['output'];
  /** The lease's length, counted from when the heartbeat was sent (see ClaimedFlowRun.leaseSeconds). */
  leaseSeconds: Scalars['Int']['output'];
  /** Runs whose leases are gone: stop their children now. */
  lost: Array<Scalars['ID']['output']>;
  /** Runs whose leases were renewed. */
  renewed: Array<Scalars['ID']['output']>;
};

/** Who is calling, as the proxy verified it. */
export type Identity = {
  __typename?: 'Identity';
  /** The kind of token the caller presented. */
  kind: TokenKind;
  /** The caller's role. */
  role: Role;
  /** The token's subject (a person, a CI job or an agent). */
  subject: Scalars['String']['output'];
  /** The tenant (agency) every read and write of this caller is confined to. */
  tenant: Scalars['String']['output'];
};

/** A failure of one item of a batch. */
export type ItemError = {
  __typename?: 'ItemError';
  /** Stable code, as in `extensions.code`. */
  code: ErrorCode;
  /** What went wrong, for people. */
  message: Scalars['String']['output'];
};

/** Where a bundle digest is already recorded. */
export type KnownBundle = {
  __typename?: 'KnownBundle';
  /** Hex sha256 of the bundle. */
  sha256: Scalars['String']['output'];
  /** Where a version records it. */
  storageUri: Scalars['String']['output'];
};

/**
 * Task states and log lines an agent had spooled on disk for a run attempt it held when it stopped
 * (`deliverLateRunEntries`).
 */
export type LateRunEntriesInput = {
  /** The agent that held the attempt (its id from registerAgent). */
  agentId: Scalars['ID']['input'];
  /** The attempt the entries belong to (FlowRun.attempt when they were written). */
  attempt: Scalars['Int']['input'];
  /** Batch id (at most 100 characters); a batch already delivered is recorded once and answers 0. */
  batchId: Scalars['String']['input'];
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** Log lines (at most 5,000). */
  logLines?: InputMaybe<Array<LogLineInput>>;
  /** Task state changes, in the order they happened (at most 1,000). */
  taskRunStates?: InputMaybe<Array<TaskRunStateInput>>;
};

/** A lease the agent holds. */
export type LeaseInput = {
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** Its lease token. */
  leaseToken: Scalars['String']['input'];
};

/** One signal about a run the subscribing agent holds. */
export type LeaseSignal = {
  __typename?: 'LeaseSignal';
  flowRunId: Scalars['ID']['output'];
  kind: LeaseSignalKind;
};

/** What a lease signal asks of the agent holding the run. */
export type LeaseSignalKind =
  /** A user asked to cancel the run: stop its child at once, then report CANCELLED (as for HeartbeatPayload.cancelling). */
  | 'CANCEL';

/** A page of log lines. */
export type LogConnection = {
  __typename?: 'LogConnection';
  /** Lines on this page. */
  nodes: Array<LogLine>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

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

/** One log line of a flow run. */
export type LogLine = {
  __typename?: 'LogLine';
  /** The run. */
  flowRunId: Scalars['ID']['output'];
  /** Opaque id, unique; use it as a cursor (`after`). It does not count or order lines across runs or tenants. */
  id: Scalars['ID']['output'];
  /** Delivered after its run attempt ended, from a restarted agent's spool (deliverLateRunEntries). */
  late: Scalars['Boolean']['output'];
  /** Severity. */
  level: LogLevel;
  /** The text. */
  message: Scalars['String']['output'];
  /** `logger`, `stdout` or `stderr`. */
  stream: Scalars['String']['output'];
  /** Key of the task run that wrote it, or null for flow-level lines. */
  taskRunKey: Maybe<Scalars['String']['output']>;
  /** When the child wrote it (agent clock). */
  timestamp: Scalars['DateTime']['output'];
};

/** One log line as an agent sends it. */
export type LogLineInput = {
  /** Severity. */
  level: LogLevel;
  /** Text (at most 32 KiB; longer lines are cut). */
  message: Scalars['String']['input'];
  /** `logger`, `stdout` or `stderr`. */
  stream: Scalars['String']['input'];
  /** Task run key, or null. */
  taskRunKey?: InputMaybe<Scalars['String']['input']>;
  /** When it was written. */
  timestamp: Scalars['DateTime']['input'];
};

/** One write a flow run made to the lake or the warehouse, as its agent recorded it. */
export type Materialization = {
  __typename?: 'Materialization';
  /** The attempt of the run that wrote. */
  attempt: Scalars['Int']['output'];
  /** Bytes written, when known. */
  bytes: Maybe<Scalars['Float']['output']>;
  /** The dataset id as the flow named it (without `_staging`). */
  dataset: Scalars['String']['output'];
  /** The run that wrote. */
  flowRun: FlowRun;
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** What was written. */
  kind: MaterializationKind;
  /** The write mode (`append`, `overwrite`, `overwrite-partitions`, `replace`, `replace-partitions`), when there is one. */
  mode: Maybe<Scalars['String']['output']>;
  /** Partitions touched: Hive paths (`ano_particao=2010/mes_particao=1/data_particao=2010-01-01`) for the lake and staging, partition dates for tables; empty when unpartitioned. */
  partitions: Array<Scalars['String']['output']>;
  /** When the server recorded it. */
  recordedAt: Scalars['DateTime']['output'];
  /** Rows written, when known. */
  rows: Maybe<Scalars['Float']['output']>;
  /** The table id (empty for PUBLISH). */
  table: Scalars['String']['output'];
  /** The task that wrote (`land#1`), or null at flow level. */
  taskRunKey: Maybe<Scalars['String']['output']>;
  /** Where it is: `file://…`, `gs://…`, `duckdb:///file.duckdb#dataset.table`, `bigquery://project/dataset.table`. */
  uri: Scalars['String']['output'];
};

/** One write, as the agent reports it. */
export type MaterializationInput = {
  /** Bytes written, when known (>= 0). */
  bytes?: InputMaybe<Scalars['Float']['input']>;
  /** Dataset id (letters, digits, `_`; at most 128). */
  dataset: Scalars['String']['input'];
  /** What was written. */
  kind: MaterializationKind;
  /** The write mode, when there is one (at most 32 characters). */
  mode?: InputMaybe<Scalars['String']['input']>;
  /** Partitions touched (at most 10,000, each at most 512 characters). */
  partitions: Array<Scalars['String']['input']>;
  /** Rows written, when known (>= 0). */
  rows?: InputMaybe<Scalars['Float']['input']>;
  /** Table id (same rule; empty only for PUBLISH). */
  table: Scalars['String']['input'];
  /** The task that wrote, or null. */
  taskRunKey?: InputMaybe<Scalars['String']['input']>;
  /** Where it is (at most 2,048 characters). */
  uri: Scalars['String']['input'];
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
  name: Scalars['String']['input'];
  /** The subject of the token that will hold it: `service:<token name>` for a service token, the `sub` claim of a signed token. */
  toSubject: Scalars['String']['input'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Create one run per clock time in [from, to) of a flow's latest version (developer, tenant-admin, admin), in batches; each run has an idempotency key, so the same backfill twice creates nothing new. */
  backfillFlowRuns: BackfillPayload;
  /** Cancel a run (developer, tenant-admin, admin): Scheduled becomes Cancelled; Submitted or Running becomes Cancelling. */
  cancelFlowRun: FlowRun;
  /** Claim due runs matching the agent's labels, waiting up to `waitMs` (agent). */
  claimFlowRuns: Array<ClaimedFlowRun>;
  /** Create a flow run (developer, tenant-admin, admin). */
  createFlowRun: FlowRun;
  /** Create a notification rule (tenant-admin, admin, developer). */
  createNotificationRule: NotificationRule;
  /** Issue a revocable service token in the caller's tenant (tenant-admin, admin). */
  createServiceToken: CreateServiceTokenPayload;
  /** Delete a concurrency limit (tenant-admin, admin). False when there was none. */
  deleteConcurrencyLimit: Scalars['Boolean']['output'];
  /** Delete a notification rule (tenant-admin, admin, developer). False when there was none. */
  deleteNotificationRule: Scalars['Boolean']['output'];
  /** Delete a tenant secret (tenant-admin, admin). False when there was none. */
  deleteSecret: Scalars['Boolean']['output'];
  /**
   * Deliver task states and log lines a restarted agent found in its on-disk spool for a run attempt
   * it held when it stopped (agent). No lease is needed, as it is gone: the server accepts them only
   * from the agent (same id, same token subject) that held that attempt, stores them marked `late`
   * (LogLine.late, StateTransition.late) under that attempt, and records each batch id once. A late
   * task state never changes a run's current attempt, nor a task run a later attempt has reached.
   * Returns how many entries were recorded (0 for a batch already delivered). NOT_FOUND for a run or
   * attempt this agent did not hold.
   */
  deliverLateRunEntries: Scalars['Int']['output'];
  /** Renew leases and learn about cancellations (agent). */
  heartbeat: HeartbeatPayload;
  /**
   * Move an agent name to another token subject (tenant-admin, admin), e.g. to the new service token
   * of a rotated one. The leases the agent holds end at once (its runs are crashed by the lease reaper,
   * and flow-level retries apply); the old subject's calls as the agent answer NOT_FOUND and its lease
   * writes LEASE_LOST. Moving to the subject that holds it changes nothing.
   */
  moveAgent: Agent;
  /** Pause a flow's schedule (developer, tenant-admin, admin): the scheduler creates nothing more and its future SCHEDULED runs are removed. Pausing a paused schedule changes nothing. */
  pauseSchedule: FlowSchedule;
  /** Record what a run wrote to the lake and the warehouse, under its lease (agent). Returns how many were recorded (0 for a batch already recorded). */
  recordMaterializations: Scalars['Int']['output'];
  /** Register or update the calling agent (agent). A name another token subject registered answers AGENT_NAME_TAKEN. */
  registerAgent: Agent;
  /** Record a flow version (developer, ci, tenant-admin, admin). Idempotent on the content hash. */
  registerFlow: RegisterFlowPayload;
  /** Record many flow versions (at most 100) in one request (developer, ci, tenant-admin, admin); each item succeeds or fails alone, in order. */
  registerFlows: Array<RegisterFlowsItem>;
  /** Create a new run of the same flow version with the run's parameters, `parameters` merged over them (developer, tenant-admin, admin). */
  rerunFlowRun: FlowRun;
  /** Restart a run that ended FAILED, CRASHED, TIMED_OUT or CANCELLED (developer, tenant-admin, admin): a new attempt of the same run, SCHEDULED now; tasks that succeeded before return their stored results instead of running again. */
  restartFlowRun: FlowRun;
  /** Resume a flow's schedule (developer, tenant-admin, admin). Under SKIP the next run is the next time after now; under CATCH_UP the missed times get runs, up to the limit. */
  resumeSchedule: FlowSchedule;
  /** Revoke a service token (tenant-admin, admin). Revoking twice returns the same record. */
  revokeServiceToken: ServiceToken;
  /** Set the tenant's (`tenant`) or a label's (`label:<label>`) concurrency limit (tenant-admin, admin); 1-10000. */
  setConcurrencyLimit: ConcurrencyLimit;
  /** Compare-and-set a run's state under a lease (agent). */
  setFlowRunState: FlowRun;
  /** Store or replace a tenant secret, encrypted (tenant-admin, admin). */
  setSecret: TenantSecret;
  /** Record task run states under a lease (agent). Returns how many were recorded. */
  setTaskRunStates: Scalars['Int']['output'];
  /** Append log lines under a lease (agent). Returns how many were stored. */
  writeLogs: Scalars['Int']['output'];
};


export type MutationBackfillFlowRunsArgs = {
  input: BackfillInput;
};


export type MutationCancelFlowRunArgs = {
  id: Scalars['ID']['input'];
};


export type MutationClaimFlowRunsArgs = {
  input: ClaimFlowRunsInput;
};


export type MutationCreateFlowRunArgs = {
  input: CreateFlowRunInput;
};


export type MutationCreateNotificationRuleArgs = {
  input: CreateNotificationRuleInput;
};


export type MutationCreateServiceTokenArgs = {
  input: CreateServiceTokenInput;
};


export type MutationDeleteConcurrencyLimitArgs = {
  scope: Scalars['String']['input'];
};


export type MutationDeleteNotificationRuleArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteSecretArgs = {
  name: Scalars['String']['input'];
};


export type MutationDeliverLateRunEntriesArgs = {
  input: LateRunEntriesInput;
};


export type MutationHeartbeatArgs = {
  input: HeartbeatInput;
};


export type MutationMoveAgentArgs = {
  input: MoveAgentInput;
};


export type MutationPauseScheduleArgs = {
  flowName: Scalars['String']['input'];
  project?: InputMaybe<Scalars['String']['input']>;
};


export type MutationRecordMaterializationsArgs = {
  input: RecordMaterializationsInput;
};


export type MutationRegisterAgentArgs = {
  input: RegisterAgentInput;
};


export type MutationRegisterFlowArgs = {
  input: RegisterFlowInput;
};


export type MutationRegisterFlowsArgs = {
  inputs: Array<RegisterFlowInput>;
};


export type MutationRerunFlowRunArgs = {
  id: Scalars['ID']['input'];
  parameters?: InputMaybe<Scalars['JSON']['input']>;
};


export type MutationRestartFlowRunArgs = {
  id: Scalars['ID']['input'];
};


export type MutationResumeScheduleArgs = {
  flowName: Scalars['String']['input'];
  project?: InputMaybe<Scalars['String']['input']>;
};


export type MutationRevokeServiceTokenArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetConcurrencyLimitArgs = {
  limit: Scalars['Int']['input'];
  scope: Scalars['String']['input'];
};


export type MutationSetFlowRunStateArgs = {
  input: SetFlowRunStateInput;
};


export type MutationSetSecretArgs = {
  input: SetSecretInput;
};


export type MutationSetTaskRunStatesArgs = {
  input: SetTaskRunStatesInput;
};


export type MutationWriteLogsArgs = {
  input: WriteLogsInput;
};

/** Where a rule sends its messages. */
export type NotificationChannel =
  /** A Discord webhook. */
  | 'DISCORD'
  /** A Slack incoming webhook. */
  | 'SLACK'
  /** A generic JSON POST signed with HMAC-SHA256 (`X-Fluxo-Signature`), with an idempotency id (`X-Fluxo-Delivery`). */
  | 'WEBHOOK';

/** One message for one event of one run, and its attempts. */
export type NotificationDelivery = {
  __typename?: 'NotificationDelivery';
  /** Attempts so far. */
  attempts: Scalars['Int']['output'];
  /** When it was created (in the transaction that recorded the event). */
  createdAt: Scalars['DateTime']['output'];
  /** When the receiver accepted it. */
  deliveredAt: Maybe<Scalars['DateTime']['output']>;
  /** The event. */
  event: NotificationEvent;
  /** The run. */
  flowRun: Maybe<FlowRun>;
  /** Opaque identifier, also the idempotency id sent with it (`X-Fluxo-Delivery`). */
  id: Scalars['ID']['output'];
  /** The last failed attempt's HTTP status or error. */
  lastError: Maybe<Scalars['String']['output']>;
  /** When the next attempt is due (PENDING only). */
  nextAttemptAt: Maybe<Scalars['DateTime']['output']>;
  /** The rule; null when it was deleted since. */
  rule: Maybe<NotificationRule>;
  /** Where it stands. */
  state: DeliveryState;
};

/** A page of deliveries. */
export type NotificationDeliveryConnection = {
  __typename?: 'NotificationDeliveryConnection';
  /** Deliveries, newest first. */
  nodes: Array<NotificationDelivery>;
  /** How to get the next page. */
  pageInfo: PageInfo;
};

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

/** A notification rule of the tenant. */
export type NotificationRule = {
  __typename?: 'NotificationRule';
  /** The message format. */
  channel: NotificationChannel;
  /** When it was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Who created it. */
  createdBy: Scalars['String']['output'];
  /** The flow it watches; null for every flow of the tenant. */
  flow: Maybe<Flow>;
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** The events it sends. */
  on: Array<NotificationEvent>;
  /** WEBHOOK: the name of the tenant secret whose value signs deliveries. */
  signingSecret: Maybe<Scalars['String']['output']>;
  /** The URL with its path hidden (`https://hooks.slack.com/…`): the whole URL is a credential. */
  target: Scalars['String']['output'];
};

/** Cursor-based page information. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Pass as `after` to get the next page; null on an empty page. */
  endCursor: Maybe<Scalars['String']['output']>;
  /** Whether another page follows. */
  hasNextPage: Scalars['Boolean']['output'];
};

/** A folder of flows inside a tenant (`production`, `staging`). */
export type Project = {
  __typename?: 'Project';
  /** When the project was first used. */
  createdAt: Scalars['DateTime']['output'];
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** Unique name within the tenant. */
  name: Scalars['String']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** Agents of the caller's tenant, by name. */
  agents: AgentConnection;
  /** The audit log, newest first: the caller's tenant for a tenant-admin; every tenant (or `filter.tenant`) for an admin. */
  auditEvents: AuditEventConnection;
  /** The tenant's concurrency limits (operators set them with `setConcurrencyLimit`). */
  concurrencyLimits: Array<ConcurrencyLimit>;
  /** One table the tenant's flows wrote, or null. */
  dataTable: Maybe<DataTable>;
  /** Tables and lake folders the caller's tenant's flows wrote (fluxo/data), by dataset, table and kind; `dataset` and `kind` filter. */
  dataTables: DataTableConnection;
  /** One flow by id, or by project and name. */
  flow: Maybe<Flow>;
  /** One flow run. An agent may read only runs it holds a lease on. */
  flowRun: Maybe<FlowRun>;
  /** Flow runs, newest first. */
  flowRuns: FlowRunConnection;
  /** One flow version. */
  flowVersion: Maybe<FlowVersion>;
  /** Flows of the caller's tenant, by name. */
  flows: FlowConnection;
  /** Which of these bundle digests (at most 1,000) a flow version of the caller's tenant already records, with where it lives (developer, ci, tenant-admin, admin). `fluxo register` uploads only the others. */
  knownBundles: Array<KnownBundle>;
  /** Notification deliveries, newest first; `failed: true` for the failed ones only. */
  notificationDeliveries: NotificationDeliveryConnection;
  /** The tenant's notification rules. */
  notificationRules: Array<NotificationRule>;
  /** Projects of the caller's tenant. */
  projects: Array<Project>;
  /** Flows whose latest version declares clocks, by project and name; `project` and `state` filter. */
  schedules: FlowScheduleConnection;
  /** Names of the caller's tenant's secrets, never their values (tenant-admin, admin, developer). */
  secrets: Array<TenantSecret>;
  /** Service tokens of the caller's tenant (tenant-admin, admin). */
  serviceTokens: ServiceTokenConnection;
  /** Every tenant that has any object (admin). */
  tenants: Array<Scalars['String']['output']>;
  /** Who the server thinks the caller is. */
  viewer: Identity;
};


export type QueryAgentsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryAuditEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<AuditEventFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryDataTableArgs = {
  dataset: Scalars['String']['input'];
  kind: MaterializationKind;
  table: Scalars['String']['input'];
};


export type QueryDataTablesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  dataset?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  kind?: InputMaybe<MaterializationKind>;
};


export type QueryFlowArgs = {
  id?: InputMaybe<Scalars['ID']['input']>;
  name?: InputMaybe<Scalars['String']['input']>;
  project?: InputMaybe<Scalars['String']['input']>;
};


export type QueryFlowRunArgs = {
  id: Scalars['ID']['input'];
};


export type QueryFlowRunsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<FlowRunFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryFlowVersionArgs = {
  id: Scalars['ID']['input'];
};


export type QueryFlowsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  project?: InputMaybe<Scalars['String']['input']>;
};


export type QueryKnownBundlesArgs = {
  sha256: Array<Scalars['String']['input']>;
};


export type QueryNotificationDeliveriesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  failed?: InputMaybe<Scalars['Boolean']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QuerySchedulesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  project?: InputMaybe<Scalars['String']['input']>;
  state?: InputMaybe<ScheduleState>;
};


export type QueryServiceTokensArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  includeRevoked?: InputMaybe<Scalars['Boolean']['input']>;
};

/** Writes of a run to record (`recordMaterializations`). */
export type RecordMaterializationsInput = {
  /** Batch id; a retried batch with the same id is recorded once. */
  batchId: Scalars['String']['input'];
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** The writes (at most 100 per batch). */
  items: Array<MaterializationInput>;
  /** The lease token. */
  leaseToken: Scalars['String']['input'];
};

/** What an agent declares when it starts. */
export type RegisterAgentInput = {
  /** Runs at once. Default 1. */
  concurrency?: InputMaybe<Scalars['Int']['input']>;
  /** Routing labels. */
  labels: Array<Scalars['String']['input']>;
  /** Name, unique within the tenant; registering again (with the same token subject) updates labels and concurrency. */
  name: Scalars['String']['input'];
};

/** What `registerFlow` records. The bundle must already be uploaded to `storageUri`. */
export type RegisterFlowInput = {
  /** With CATCH_UP, the most missed times per clock that get a run (1-1000). Default 10. */
  catchUpLimit?: InputMaybe<Scalars['Int']['input']>;
  /** Runs of the flow that may hold an agent at once (1-1000); null: no limit. Part of the content hash. */
  concurrencyLimit?: InputMaybe<Scalars['Int']['input']>;
  /** Default routing labels. */
  defaultLabels?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Description. */
  description?: InputMaybe<Scalars['String']['input']>;
  /** Export that holds the flow. */
  entrypoint: Scalars['String']['input'];
  /** What the scheduler does with missed clock times. Default SKIP. Part of the content hash. */
  missedRuns?: InputMaybe<MissedRunPolicy>;
  /** Flow name (letters, digits, `-`, `_`, `.`; at most 100). */
  name: Scalars['String']['input'];
  /** JSON Schema of the parameters; defaults to an object with no required properties. */
  parameterSchema?: InputMaybe<Scalars['JSON']['input']>;
  /** Project name; created on first use. */
  project: Scalars['String']['input'];
  /** Flow-level retries. Default 0. */
  retries?: InputMaybe<Scalars['Int']['input']>;
  /** Seconds between attempts. Default 10. */
  retryDelaySeconds?: InputMaybe<Scalars['Int']['input']>;
  /** How the flow's schedule starts when this is the first registration that declares clocks (default ACTIVE; a staging registration wants PAUSED). Afterwards the operator's switch is kept. Not part of the content hash. */
  scheduleState?: InputMaybe<ScheduleState>;
  /** Clocks: when the scheduler creates runs (at most 50). Part of the content hash. */
  schedules?: InputMaybe<Array<ClockInput>>;
  /** Names of the secrets the flow needs (environment-variable style: `DB_PASSWORD`). */
  secrets?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Hex sha256 of the bundle. */
  sha256: Scalars['String']['input'];
  /** Bundle size in bytes. */
  size: Scalars['Int']['input'];
  /** Where the bundle lives: `file:///...` or `gs://bucket/object`. */
  storageUri: Scalars['String']['input'];
  /** Run timeout in seconds; null for none. */
  timeoutSeconds?: InputMaybe<Scalars['Int']['input']>;
  /** QUEUE (default): a due run waits for a free slot; SKIP: it ends CANCELLED with reason `concurrency-skip`. Part of the content hash when a limit is set. */
  whenConcurrencyFull?: InputMaybe<ConcurrencyFullPolicy>;
};

export type RegisterFlowPayload = {
  __typename?: 'RegisterFlowPayload';
  /** False when nothing changed and the existing version was returned. */
  created: Scalars['Boolean']['output'];
  /** The new version, or the existing one with the same content hash. */
  flowVersion: FlowVersion;
};

/** The outcome of one item of `registerFlows`: a version, or an error. */
export type RegisterFlowsItem = {
  __typename?: 'RegisterFlowsItem';
  /** True when a new version was recorded; false when it existed or the item failed. */
  created: Scalars['Boolean']['output'];
  /** Why the item failed; null when it did not. The other items are not affected. */
  error: Maybe<ItemError>;
  /** The new or existing version; null when the item failed. */
  flowVersion: Maybe<FlowVersion>;
  /** The item's flow name, as sent. */
  name: Scalars['String']['output'];
  /** The item's project, as sent. */
  project: Scalars['String']['output'];
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
  batchId: Scalars['String']['input'];
  /** Log lines (at most 5,000). */
  logLines?: InputMaybe<Array<LogLineInput>>;
  /** Writes to the lake and the warehouse (at most 100). */
  materializations?: InputMaybe<Array<MaterializationInput>>;
  /** Task state changes, in the order they happened (at most 1,000). */
  taskRunStates?: InputMaybe<Array<TaskRunStateInput>>;
};

/** The operator's switch of a flow's schedule. */
export type ScheduleState =
  /** The scheduler creates runs for the clocks. */
  | 'ACTIVE'
  /** The scheduler creates nothing; its future scheduled runs were removed. */
  | 'PAUSED';

/** A secret's value, handed to the agent that claimed a run which declares it. */
export type SecretValue = {
  __typename?: 'SecretValue';
  /** Environment-variable style name (`DB_PASSWORD`). */
  name: Scalars['String']['output'];
  /** The decrypted value. Never logged, never returned to users. */
  value: Scalars['String']['output'];
};

/**
 * A revocable token fluxo issued (`fluxo token create`) for an agent, a CI job or a person. The
 * secret itself is shown once, when created; fluxo keeps only its hash.
 */
export type ServiceToken = {
  __typename?: 'ServiceToken';
  /** When it was created. */
  createdAt: Scalars['DateTime']['output'];
  /** Who created it. */
  createdBy: Scalars['String']['output'];
  /** When it stops being accepted; null for never. */
  expiresAt: Maybe<Scalars['DateTime']['output']>;
  /** Its id (also the non-secret prefix of the token: `fxs_<id>_<secret>`). */
  id: Scalars['ID']['output'];
  /** Its kind, from the role: AGENT for agent tokens, USER otherwise. */
  kind: TokenKind;
  /** Informational labels (what an agent token is meant for); routing never trusts them. */
  labels: Array<Scalars['String']['output']>;
  /** A name unique within the tenant (`agent-rj-smtr-01`, `github-ci`). */
  name: Scalars['String']['output'];
  /** When it was revoked; null while active. The proxy refuses a revoked token within its cache lifetime (30 s by default). */
  revokedAt: Maybe<Scalars['DateTime']['output']>;
  /** Who revoked it. */
  revokedBy: Maybe<Scalars['String']['output']>;
  /** The role the token grants, in the tenant that issued it. */
  role: Role;
  /** The subject the token acts as (`service:<name>`). */
  subject: Scalars['String']['output'];
};

/** A page of service tokens. */
export type ServiceTokenConnection = {
  __typename?: 'ServiceTokenConnection';
  /** Tokens, newest first. */
  nodes: Array<ServiceToken>;
  /** Where the page ends. */
  pageInfo: PageInfo;
};

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
  batch?: InputMaybe<RunBatchInput>;
  /** The child's exit code. */
  exitCode?: InputMaybe<Scalars['Int']['input']>;
  /** The run's `version` as the caller last saw it. */
  expectedVersion: Scalars['Int']['input'];
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** The lease token from the claim. */
  leaseToken: Scalars['String']['input'];
  /** Message. */
  message?: InputMaybe<Scalars['String']['input']>;
  /** Reason code (see FlowRun.stateReason). */
  reason?: InputMaybe<Scalars['String']['input']>;
  /** The signal that ended the child. */
  signal?: InputMaybe<Scalars['String']['input']>;
  /** The new state. */
  state: FlowRunStateType;
};

/** What `setSecret` needs. */
export type SetSecretInput = {
  /** Name: upper-case letters, digits and `_`, starting with a letter; at most 100. */
  name: Scalars['String']['input'];
  /** The value (at most 64 KiB). Stored encrypted; never returned. */
  value: Scalars['String']['input'];
};

/** A batch of task run states. */
export type SetTaskRunStatesInput = {
  /** Batch id (at most 100 characters); a retried batch with the same id is recorded once, and answers 0. Optional so older agents keep working: without it every call is recorded. */
  batchId?: InputMaybe<Scalars['String']['input']>;
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** The lease token. */
  leaseToken: Scalars['String']['input'];
  /** Changes, in the order they happened. */
  states: Array<TaskRunStateInput>;
};

/** A recorded transition. */
export type StateTransition = {
  __typename?: 'StateTransition';
  /** Who made it: `user:<token subject>`, `agent:<token subject>`, `server:<service>`. */
  actor: Scalars['String']['output'];
  /** Database time of the transition (for a late one, when it was delivered). */
  at: Scalars['DateTime']['output'];
  /** Attempt number the transition belongs to. */
  attempt: Scalars['Int']['output'];
  /** State before; null for the first. */
  fromState: Maybe<FlowRunStateType>;
  /** Delivered after its run attempt ended, from a restarted agent's spool (deliverLateRunEntries). */
  late: Scalars['Boolean']['output'];
  /** Message. */
  message: Maybe<Scalars['String']['output']>;
  /** Reason code, if any. */
  reason: Maybe<Scalars['String']['output']>;
  /** State after. */
  toState: FlowRunStateType;
};

/** A task result an earlier attempt stored. */
export type StoredTaskResult = {
  __typename?: 'StoredTaskResult';
  /** sha256 of the task's inputs then. */
  inputsHash: Scalars['String']['output'];
  /** Hex sha256 of the stored bytes. */
  sha256: Scalars['String']['output'];
  /** Size in bytes. */
  size: Scalars['Int']['output'];
  /** The task run key (`extract#1`). */
  taskKey: Scalars['String']['output'];
  /** Where the result lives. */
  uri: Scalars['String']['output'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /** Log lines of one run as they arrive, starting after `after` (a log id), or from the beginning. */
  flowRunLogs: LogLine;
  /** Every state change of one run; the first event is its current state. */
  flowRunStateChanged: FlowRunStateEvent;
  /**
   * What the server tells the agent `agentId` about the runs it holds, the moment it happens (a user
   * asked to cancel one: `CANCEL`). The first events name every run of this agent already CANCELLING,
   * so a reconnect misses nothing. Only the agent's own token may subscribe (NOT_FOUND otherwise, as
   * for heartbeat); the heartbeat's `cancelling` list stays the fallback.
   */
  leaseSignals: LeaseSignal;
};


export type SubscriptionFlowRunLogsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  id: Scalars['ID']['input'];
};


export type SubscriptionFlowRunStateChangedArgs = {
  id: Scalars['ID']['input'];
};


export type SubscriptionLeaseSignalsArgs = {
  agentId: Scalars['ID']['input'];
};

/** Where a task's result lives: in the agency's result storage, written by its agent. The server never reads it. */
export type TaskResult = {
  __typename?: 'TaskResult';
  /** Hex sha256 of the stored bytes; the agent verifies it before returning the result to a restarted run. */
  sha256: Scalars['String']['output'];
  /** Size in bytes. */
  size: Scalars['Int']['output'];
  /** `file:///...` or `gs://...`. */
  uri: Scalars['String']['output'];
};

/** Where an agent stored a task's result. */
export type TaskResultInput = {
  /** Hex sha256 of the stored bytes. */
  sha256: Scalars['String']['input'];
  /** Size in bytes (at most 64 MiB). */
  size: Scalars['Int']['input'];
  /** `file:///...` or `gs://...` in the agent's result storage. */
  uri: Scalars['String']['input'];
};

/** One execution of a task inside a flow run, across its attempts. */
export type TaskRun = {
  __typename?: 'TaskRun';
  /** Attempts so far (1 for the first). */
  attempts: Scalars['Int']['output'];
  /** When it reached a final state. */
  endedAt: Maybe<Scalars['DateTime']['output']>;
  /** Opaque identifier. */
  id: Scalars['ID']['output'];
  /** sha256 (hex) of the task's canonical JSON inputs; null when they are not JSON. A restart reuses a stored result only for the same key and inputs. */
  inputsHash: Maybe<Scalars['String']['output']>;
  /** Unique within the flow run: the task's name and its call count (`extract#1`). */
  key: Scalars['String']['output'];
  /** Index in a mapped call, or null. */
  mapIndex: Maybe<Scalars['Int']['output']>;
  /** Where the agent stored the task's result (never the data itself); null when it stored none. */
  result: Maybe<TaskResult>;
  /** When the first attempt started. */
  startedAt: Maybe<Scalars['DateTime']['output']>;
  /** Current state. */
  state: FlowRunStateType;
  /** Every transition of this task run, oldest first. */
  stateHistory: Array<StateTransition>;
  /** Message of the latest transition (the error, for a failure). */
  stateMessage: Maybe<Scalars['String']['output']>;
  /** The task's name. */
  taskName: Scalars['String']['output'];
};

/** A task run state change reported by an agent. */
export type TaskRunStateInput = {
  /** Attempt number (1-based). */
  attempt: Scalars['Int']['input'];
  /** sha256 (hex) of the task's canonical JSON inputs, when they are JSON. */
  inputsHash?: InputMaybe<Scalars['String']['input']>;
  /** Key unique within the flow run. */
  key: Scalars['String']['input'];
  /** Index in a mapped call. */
  mapIndex?: InputMaybe<Scalars['Int']['input']>;
  /** Message (the error, for a failure). */
  message?: InputMaybe<Scalars['String']['input']>;
  /** With SUCCESS: where the agent stored the task's result. */
  result?: InputMaybe<TaskResultInput>;
  /** New state. */
  state: FlowRunStateType;
  /** Task name. */
  taskName: Scalars['String']['input'];
  /** When it happened (agent clock; informational). */
  timestamp?: InputMaybe<Scalars['DateTime']['input']>;
};

/** A tenant secret's metadata. Its value is never returned to users. */
export type TenantSecret = {
  __typename?: 'TenantSecret';
  /** When it was first stored. */
  createdAt: Scalars['DateTime']['output'];
  /** Environment-variable style name (`DB_PASSWORD`). */
  name: Scalars['String']['output'];
  /** When its value last changed. */
  updatedAt: Scalars['DateTime']['output'];
  /** Who last changed it. */
  updatedBy: Scalars['String']['output'];
};

/** What kind of token a caller presented. Kinds are never interchangeable. */
export type TokenKind =
  /** An agent (fluxo agent tokens and agent service tokens). */
  | 'AGENT'
  /** A person or a machine acting as one (OIDC access tokens, fluxo user tokens, CI and user service tokens). */
  | 'USER';

/** Why a run waits, as data. */
export type WaitCause = {
  __typename?: 'WaitCause';
  /** The agents whose labels match the run's, with when each was last seen. */
  agents: Array<Agent>;
  /** The cause. */
  kind: WaitCauseKind;
  /** For a concurrency cause: the limit. */
  limit: Maybe<Scalars['Int']['output']>;
  /** For a concurrency cause: the limit's scope (`flow`, `label:rj-smtr`, `tenant`). */
  limitScope: Maybe<Scalars['String']['output']>;
  /** The same cause as a sentence (`FlowRun.waitReason`). */
  message: Scalars['String']['output'];
  /** For a concurrency cause: runs holding a slot of that limit now. */
  running: Maybe<Scalars['Int']['output']>;
};

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
  batchId: Scalars['String']['input'];
  /** The run. */
  flowRunId: Scalars['ID']['input'];
  /** The lease token. */
  leaseToken: Scalars['String']['input'];
  /** Lines (at most 5,000 per batch). */
  lines: Array<LogLineInput>;
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Agent: ResolverTypeWrapper<AgentRecord>;
  AgentConnection: ResolverTypeWrapper<Omit<AgentConnection, 'nodes'> & { nodes: Array<ResolversTypes['Agent']> }>;
  AuditEvent: ResolverTypeWrapper<AuditEvent>;
  AuditEventConnection: ResolverTypeWrapper<AuditEventConnection>;
  AuditEventFilter: AuditEventFilter;
  AuditOutcome: AuditOutcome;
  BackfillInput: BackfillInput;
  BackfillPayload: ResolverTypeWrapper<Omit<BackfillPayload, 'flowRuns'> & { flowRuns: Array<ResolversTypes['FlowRun']> }>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  ClaimFlowRunsInput: ClaimFlowRunsInput;
  ClaimedFlowRun: ResolverTypeWrapper<Omit<ClaimedFlowRun, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  Clock: ResolverTypeWrapper<ClockRecord>;
  ClockInput: ClockInput;
  ConcurrencyFullPolicy: ConcurrencyFullPolicy;
  ConcurrencyLimit: ResolverTypeWrapper<ConcurrencyLimitRecord>;
  CreateFlowRunInput: CreateFlowRunInput;
  CreateNotificationRuleInput: CreateNotificationRuleInput;
  CreateServiceTokenInput: CreateServiceTokenInput;
  CreateServiceTokenPayload: ResolverTypeWrapper<CreateServiceTokenPayload>;
  DataPartition: ResolverTypeWrapper<DataPartitionRecord>;
  DataTable: ResolverTypeWrapper<DataTableRecord>;
  DataTableConnection: ResolverTypeWrapper<Omit<DataTableConnection, 'nodes'> & { nodes: Array<ResolversTypes['DataTable']> }>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DeliveryState: DeliveryState;
  ErrorCode: ErrorCode;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  Flow: ResolverTypeWrapper<FlowRecord>;
  FlowConnection: ResolverTypeWrapper<Omit<FlowConnection, 'nodes'> & { nodes: Array<ResolversTypes['Flow']> }>;
  FlowRun: ResolverTypeWrapper<FlowRunRecord>;
  FlowRunConnection: ResolverTypeWrapper<Omit<FlowRunConnection, 'nodes'> & { nodes: Array<ResolversTypes['FlowRun']> }>;
  FlowRunFilter: FlowRunFilter;
  FlowRunStateEvent: ResolverTypeWrapper<Omit<FlowRunStateEvent, 'flowRun'> & { flowRun: ResolversTypes['FlowRun'] }>;
  FlowRunStateType: FlowRunStateType;
  FlowSchedule: ResolverTypeWrapper<FlowScheduleRecord>;
  FlowScheduleConnection: ResolverTypeWrapper<Omit<FlowScheduleConnection, 'nodes'> & { nodes: Array<ResolversTypes['FlowSchedule']> }>;
  FlowVersion: ResolverTypeWrapper<FlowVersionRecord>;
  FlowVersionConnection: ResolverTypeWrapper<Omit<FlowVersionConnection, 'nodes'> & { nodes: Array<ResolversTypes['FlowVersion']> }>;
  HeartbeatInput: HeartbeatInput;
  HeartbeatPayload: ResolverTypeWrapper<HeartbeatPayload>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Identity: ResolverTypeWrapper<Identity>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  ItemError: ResolverTypeWrapper<ItemError>;
  JSON: ResolverTypeWrapper<Scalars['JSON']['output']>;
  KnownBundle: ResolverTypeWrapper<KnownBundle>;
  LateRunEntriesInput: LateRunEntriesInput;
  LeaseInput: LeaseInput;
  LeaseSignal: ResolverTypeWrapper<LeaseSignal>;
  LeaseSignalKind: LeaseSignalKind;
  LogConnection: ResolverTypeWrapper<Omit<LogConnection, 'nodes'> & { nodes: Array<ResolversTypes['LogLine']> }>;
  LogLevel: LogLevel;
  LogLine: ResolverTypeWrapper<LogRecord>;
  LogLineInput: LogLineInput;
  Materialization: ResolverTypeWrapper<MaterializationRecord>;
  MaterializationInput: MaterializationInput;
  MaterializationKind: MaterializationKind;
  MissedRunPolicy: MissedRunPolicy;
  MoveAgentInput: MoveAgentInput;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  NotificationChannel: NotificationChannel;
  NotificationDelivery: ResolverTypeWrapper<NotificationDeliveryRecord>;
  NotificationDeliveryConnection: ResolverTypeWrapper<Omit<NotificationDeliveryConnection, 'nodes'> & { nodes: Array<ResolversTypes['NotificationDelivery']> }>;
  NotificationEvent: NotificationEvent;
  NotificationRule: ResolverTypeWrapper<NotificationRuleRecord>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Project: ResolverTypeWrapper<ProjectRecord>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  RecordMaterializationsInput: RecordMaterializationsInput;
  RegisterAgentInput: RegisterAgentInput;
  RegisterFlowInput: RegisterFlowInput;
  RegisterFlowPayload: ResolverTypeWrapper<Omit<RegisterFlowPayload, 'flowVersion'> & { flowVersion: ResolversTypes['FlowVersion'] }>;
  RegisterFlowsItem: ResolverTypeWrapper<Omit<RegisterFlowsItem, 'flowVersion'> & { flowVersion?: Maybe<ResolversTypes['FlowVersion']> }>;
  Role: Role;
  RunBatchInput: RunBatchInput;
  ScheduleState: ScheduleState;
  SecretValue: ResolverTypeWrapper<SecretValue>;
  ServiceToken: ResolverTypeWrapper<ServiceToken>;
  ServiceTokenConnection: ResolverTypeWrapper<ServiceTokenConnection>;
  SetFlowRunStateInput: SetFlowRunStateInput;
  SetSecretInput: SetSecretInput;
  SetTaskRunStatesInput: SetTaskRunStatesInput;
  StateTransition: ResolverTypeWrapper<StateTransitionRecord>;
  StoredTaskResult: ResolverTypeWrapper<StoredTaskResult>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  TaskResult: ResolverTypeWrapper<TaskResult>;
  TaskResultInput: TaskResultInput;
  TaskRun: ResolverTypeWrapper<TaskRunRecord>;
  TaskRunStateInput: TaskRunStateInput;
  TenantSecret: ResolverTypeWrapper<TenantSecret>;
  TokenKind: TokenKind;
  WaitCause: ResolverTypeWrapper<Omit<WaitCause, 'agents'> & { agents: Array<ResolversTypes['Agent']> }>;
  WaitCauseKind: WaitCauseKind;
  WriteLogsInput: WriteLogsInput;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Agent: AgentRecord;
  AgentConnection: Omit<AgentConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['Agent']> };
  AuditEvent: AuditEvent;
  AuditEventConnection: AuditEventConnection;
  AuditEventFilter: AuditEventFilter;
  BackfillInput: BackfillInput;
  BackfillPayload: Omit<BackfillPayload, 'flowRuns'> & { flowRuns: Array<ResolversParentTypes['FlowRun']> };
  Boolean: Scalars['Boolean']['output'];
  ClaimFlowRunsInput: ClaimFlowRunsInput;
  ClaimedFlowRun: Omit<ClaimedFlowRun, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  Clock: ClockRecord;
  ClockInput: ClockInput;
  ConcurrencyLimit: ConcurrencyLimitRecord;
  CreateFlowRunInput: CreateFlowRunInput;
  CreateNotificationRuleInput: CreateNotificationRuleInput;
  CreateServiceTokenInput: CreateServiceTokenInput;
  CreateServiceTokenPayload: CreateServiceTokenPayload;
  DataPartition: DataPartitionRecord;
  DataTable: DataTableRecord;
  DataTableConnection: Omit<DataTableConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['DataTable']> };
  DateTime: Scalars['DateTime']['output'];
  Float: Scalars['Float']['output'];
  Flow: FlowRecord;
  FlowConnection: Omit<FlowConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['Flow']> };
  FlowRun: FlowRunRecord;
  FlowRunConnection: Omit<FlowRunConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['FlowRun']> };
  FlowRunFilter: FlowRunFilter;
  FlowRunStateEvent: Omit<FlowRunStateEvent, 'flowRun'> & { flowRun: ResolversParentTypes['FlowRun'] };
  FlowSchedule: FlowScheduleRecord;
  FlowScheduleConnection: Omit<FlowScheduleConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['FlowSchedule']> };
  FlowVersion: FlowVersionRecord;
  FlowVersionConnection: Omit<FlowVersionConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['FlowVersion']> };
  HeartbeatInput: HeartbeatInput;
  HeartbeatPayload: HeartbeatPayload;
  ID: Scalars['ID']['output'];
  Identity: Identity;
  Int: Scalars['Int']['output'];
  ItemError: ItemError;
  JSON: Scalars['JSON']['output'];
  KnownBundle: KnownBundle;
  LateRunEntriesInput: LateRunEntriesInput;
  LeaseInput: LeaseInput;
  LeaseSignal: LeaseSignal;
  LogConnection: Omit<LogConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['LogLine']> };
  LogLine: LogRecord;
  LogLineInput: LogLineInput;
  Materialization: MaterializationRecord;
  MaterializationInput: MaterializationInput;
  MoveAgentInput: MoveAgentInput;
  Mutation: Record<PropertyKey, never>;
  NotificationDelivery: NotificationDeliveryRecord;
  NotificationDeliveryConnection: Omit<NotificationDeliveryConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['NotificationDelivery']> };
  NotificationRule: NotificationRuleRecord;
  PageInfo: PageInfo;
  Project: ProjectRecord;
  Query: Record<PropertyKey, never>;
  RecordMaterializationsInput: RecordMaterializationsInput;
  RegisterAgentInput: RegisterAgentInput;
  RegisterFlowInput: RegisterFlowInput;
  RegisterFlowPayload: Omit<RegisterFlowPayload, 'flowVersion'> & { flowVersion: ResolversParentTypes['FlowVersion'] };
  RegisterFlowsItem: Omit<RegisterFlowsItem, 'flowVersion'> & { flowVersion?: Maybe<ResolversParentTypes['FlowVersion']> };
  RunBatchInput: RunBatchInput;
  SecretValue: SecretValue;
  ServiceToken: ServiceToken;
  ServiceTokenConnection: ServiceTokenConnection;
  SetFlowRunStateInput: SetFlowRunStateInput;
  SetSecretInput: SetSecretInput;
  SetTaskRunStatesInput: SetTaskRunStatesInput;
  StateTransition: StateTransitionRecord;
  StoredTaskResult: StoredTaskResult;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  TaskResult: TaskResult;
  TaskResultInput: TaskResultInput;
  TaskRun: TaskRunRecord;
  TaskRunStateInput: TaskRunStateInput;
  TenantSecret: TenantSecret;
  WaitCause: Omit<WaitCause, 'agents'> & { agents: Array<ResolversParentTypes['Agent']> };
  WriteLogsInput: WriteLogsInput;
};

export type AgentOperationDirectiveArgs = { };

export type AgentOperationDirectiveResolver<Result, Parent, ContextType = GraphQLContext, Args = AgentOperationDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type AnyTokenKindDirectiveArgs = { };

export type AnyTokenKindDirectiveResolver<Result, Parent, ContextType = GraphQLContext, Args = AnyTokenKindDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export type AgentResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Agent'] = ResolversParentTypes['Agent']> = {
  concurrency?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  labels?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  lastSeenAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  online?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type AgentConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AgentConnection'] = ResolversParentTypes['AgentConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['Agent']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type AuditEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuditEvent'] = ResolversParentTypes['AuditEvent']> = {
  action?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  at?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  code?: Resolver<Maybe<ResolversTypes['ErrorCode']>, ParentType, ContextType>;
  detail?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  outcome?: Resolver<ResolversTypes['AuditOutcome'], ParentType, ContextType>;
  requestId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  role?: Resolver<Maybe<ResolversTypes['Role']>, ParentType, ContextType>;
  subject?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  tenant?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type AuditEventConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuditEventConnection'] = ResolversParentTypes['AuditEventConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['AuditEvent']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type BackfillPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['BackfillPayload'] = ResolversParentTypes['BackfillPayload']> = {
  created?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  existing?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  flowRuns?: Resolver<Array<ResolversTypes['FlowRun']>, ParentType, ContextType>;
  nextFrom?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ClaimedFlowRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ClaimedFlowRun'] = ResolversParentTypes['ClaimedFlowRun']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
  leaseExpiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  leaseSeconds?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  leaseToken?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  outputKey?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  secrets?: Resolver<Array<ResolversTypes['SecretValue']>, ParentType, ContextType>;
  storedResults?: Resolver<Array<ResolversTypes['StoredTaskResult']>, ParentType, ContextType>;
};

export type ClockResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Clock'] = ResolversParentTypes['Clock']> = {
  anchor?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  cron?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  everySeconds?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  index?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  labels?: Resolver<Maybe<Array<ResolversTypes['String']>>, ParentType, ContextType>;
  nextTimes?: Resolver<Array<ResolversTypes['DateTime']>, ParentType, ContextType, RequireFields<ClockNextTimesArgs, 'count'>>;
  parameters?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  timezone?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type ConcurrencyLimitResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ConcurrencyLimit'] = ResolversParentTypes['ConcurrencyLimit']> = {
  limit?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  running?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  scope?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  updatedBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type CreateServiceTokenPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['CreateServiceTokenPayload'] = ResolversParentTypes['CreateServiceTokenPayload']> = {
  serviceToken?: Resolver<ResolversTypes['ServiceToken'], ParentType, ContextType>;
  token?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type DataPartitionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DataPartition'] = ResolversParentTypes['DataPartition']> = {
  lastWrite?: Resolver<ResolversTypes['Materialization'], ParentType, ContextType>;
  partition?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type DataTableResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DataTable'] = ResolversParentTypes['DataTable']> = {
  dataset?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  history?: Resolver<Array<ResolversTypes['Materialization']>, ParentType, ContextType, RequireFields<DataTableHistoryArgs, 'first'>>;
  kind?: Resolver<ResolversTypes['MaterializationKind'], ParentType, ContextType>;
  lastWrite?: Resolver<ResolversTypes['Materialization'], ParentType, ContextType>;
  partitions?: Resolver<Array<ResolversTypes['DataPartition']>, ParentType, ContextType, RequireFields<DataTablePartitionsArgs, 'first'>>;
  table?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type DataTableConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['DataTableConnection'] = ResolversParentTypes['DataTableConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['DataTable']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type FlowResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Flow'] = ResolversParentTypes['Flow']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  latestVersion?: Resolver<ResolversTypes['FlowVersion'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  project?: Resolver<ResolversTypes['Project'], ParentType, ContextType>;
  schedule?: Resolver<Maybe<ResolversTypes['FlowSchedule']>, ParentType, ContextType>;
  versions?: Resolver<ResolversTypes['FlowVersionConnection'], ParentType, ContextType, RequireFields<FlowVersionsArgs, 'first'>>;
};

export type FlowConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowConnection'] = ResolversParentTypes['FlowConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['Flow']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type FlowRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRun'] = ResolversParentTypes['FlowRun']> = {
  agent?: Resolver<Maybe<ResolversTypes['Agent']>, ParentType, ContextType>;
  attempt?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  endedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  exitCode?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  flow?: Resolver<ResolversTypes['Flow'], ParentType, ContextType>;
  flowVersion?: Resolver<ResolversTypes['FlowVersion'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  idempotencyKey?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  labels?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  logs?: Resolver<ResolversTypes['LogConnection'], ParentType, ContextType, RequireFields<FlowRunLogsArgs, 'first'>>;
  materializations?: Resolver<Array<ResolversTypes['Materialization']>, ParentType, ContextType>;
  parameters?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  priority?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  rerunOf?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  scheduledAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  signal?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['FlowRunStateType'], ParentType, ContextType>;
  stateHistory?: Resolver<Array<ResolversTypes['StateTransition']>, ParentType, ContextType>;
  stateMessage?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  stateReason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  taskRuns?: Resolver<Array<ResolversTypes['TaskRun']>, ParentType, ContextType, RequireFields<FlowRunTaskRunsArgs, 'first'>>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  wait?: Resolver<Maybe<ResolversTypes['WaitCause']>, ParentType, ContextType>;
  waitReason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type FlowRunConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRunConnection'] = ResolversParentTypes['FlowRunConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['FlowRun']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type FlowRunStateEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowRunStateEvent'] = ResolversParentTypes['FlowRunStateEvent']> = {
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
};

export type FlowScheduleResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowSchedule'] = ResolversParentTypes['FlowSchedule']> = {
  catchUpLimit?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  clocks?: Resolver<Array<ResolversTypes['Clock']>, ParentType, ContextType>;
  flow?: Resolver<ResolversTypes['Flow'], ParentType, ContextType>;
  missedRuns?: Resolver<ResolversTypes['MissedRunPolicy'], ParentType, ContextType>;
  nextRunAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['ScheduleState'], ParentType, ContextType>;
  stateChangedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  stateChangedBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type FlowScheduleConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowScheduleConnection'] = ResolversParentTypes['FlowScheduleConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['FlowSchedule']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type FlowVersionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowVersion'] = ResolversParentTypes['FlowVersion']> = {
  catchUpLimit?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  clocks?: Resolver<Array<ResolversTypes['Clock']>, ParentType, ContextType>;
  concurrencyLimit?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  contentHash?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  defaultLabels?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  description?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  entrypoint?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  flow?: Resolver<ResolversTypes['Flow'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  missedRuns?: Resolver<ResolversTypes['MissedRunPolicy'], ParentType, ContextType>;
  number?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  parameterSchema?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  retries?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  retryDelaySeconds?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  secrets?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  storageUri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  timeoutSeconds?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  whenConcurrencyFull?: Resolver<ResolversTypes['ConcurrencyFullPolicy'], ParentType, ContextType>;
};

export type FlowVersionConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['FlowVersionConnection'] = ResolversParentTypes['FlowVersionConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['FlowVersion']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type HeartbeatPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['HeartbeatPayload'] = ResolversParentTypes['HeartbeatPayload']> = {
  cancelling?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
  leaseExpiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  leaseSeconds?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  lost?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
  renewed?: Resolver<Array<ResolversTypes['ID']>, ParentType, ContextType>;
};

export type IdentityResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Identity'] = ResolversParentTypes['Identity']> = {
  kind?: Resolver<ResolversTypes['TokenKind'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  subject?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tenant?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ItemErrorResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ItemError'] = ResolversParentTypes['ItemError']> = {
  code?: Resolver<ResolversTypes['ErrorCode'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export interface JsonScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['JSON'], any> {
  name: 'JSON';
}

export type KnownBundleResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['KnownBundle'] = ResolversParentTypes['KnownBundle']> = {
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  storageUri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type LeaseSignalResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LeaseSignal'] = ResolversParentTypes['LeaseSignal']> = {
  flowRunId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['LeaseSignalKind'], ParentType, ContextType>;
};

export type LogConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LogConnection'] = ResolversParentTypes['LogConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['LogLine']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type LogLineResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['LogLine'] = ResolversParentTypes['LogLine']> = {
  flowRunId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  late?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  level?: Resolver<ResolversTypes['LogLevel'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  stream?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  taskRunKey?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  timestamp?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
};

export type MaterializationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Materialization'] = ResolversParentTypes['Materialization']> = {
  attempt?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  bytes?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  dataset?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  flowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['MaterializationKind'], ParentType, ContextType>;
  mode?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  partitions?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  recordedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  rows?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  table?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  taskRunKey?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  uri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  backfillFlowRuns?: Resolver<ResolversTypes['BackfillPayload'], ParentType, ContextType, RequireFields<MutationBackfillFlowRunsArgs, 'input'>>;
  cancelFlowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<MutationCancelFlowRunArgs, 'id'>>;
  claimFlowRuns?: Resolver<Array<ResolversTypes['ClaimedFlowRun']>, ParentType, ContextType, RequireFields<MutationClaimFlowRunsArgs, 'input'>>;
  createFlowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<MutationCreateFlowRunArgs, 'input'>>;
  createNotificationRule?: Resolver<ResolversTypes['NotificationRule'], ParentType, ContextType, RequireFields<MutationCreateNotificationRuleArgs, 'input'>>;
  createServiceToken?: Resolver<ResolversTypes['CreateServiceTokenPayload'], ParentType, ContextType, RequireFields<MutationCreateServiceTokenArgs, 'input'>>;
  deleteConcurrencyLimit?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeleteConcurrencyLimitArgs, 'scope'>>;
  deleteNotificationRule?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeleteNotificationRuleArgs, 'id'>>;
  deleteSecret?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationDeleteSecretArgs, 'name'>>;
  deliverLateRunEntries?: Resolver<ResolversTypes['Int'], ParentType, ContextType, RequireFields<MutationDeliverLateRunEntriesArgs, 'input'>>;
  heartbeat?: Resolver<ResolversTypes['HeartbeatPayload'], ParentType, ContextType, RequireFields<MutationHeartbeatArgs, 'input'>>;
  moveAgent?: Resolver<ResolversTypes['Agent'], ParentType, ContextType, RequireFields<MutationMoveAgentArgs, 'input'>>;
  pauseSchedule?: Resolver<ResolversTypes['FlowSchedule'], ParentType, ContextType, RequireFields<MutationPauseScheduleArgs, 'flowName' | 'project'>>;
  recordMaterializations?: Resolver<ResolversTypes['Int'], ParentType, ContextType, RequireFields<MutationRecordMaterializationsArgs, 'input'>>;
  registerAgent?: Resolver<ResolversTypes['Agent'], ParentType, ContextType, RequireFields<MutationRegisterAgentArgs, 'input'>>;
  registerFlow?: Resolver<ResolversTypes['RegisterFlowPayload'], ParentType, ContextType, RequireFields<MutationRegisterFlowArgs, 'input'>>;
  registerFlows?: Resolver<Array<ResolversTypes['RegisterFlowsItem']>, ParentType, ContextType, RequireFields<MutationRegisterFlowsArgs, 'inputs'>>;
  rerunFlowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<MutationRerunFlowRunArgs, 'id'>>;
  restartFlowRun?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<MutationRestartFlowRunArgs, 'id'>>;
  resumeSchedule?: Resolver<ResolversTypes['FlowSchedule'], ParentType, ContextType, RequireFields<MutationResumeScheduleArgs, 'flowName' | 'project'>>;
  revokeServiceToken?: Resolver<ResolversTypes['ServiceToken'], ParentType, ContextType, RequireFields<MutationRevokeServiceTokenArgs, 'id'>>;
  setConcurrencyLimit?: Resolver<ResolversTypes['ConcurrencyLimit'], ParentType, ContextType, RequireFields<MutationSetConcurrencyLimitArgs, 'limit' | 'scope'>>;
  setFlowRunState?: Resolver<ResolversTypes['FlowRun'], ParentType, ContextType, RequireFields<MutationSetFlowRunStateArgs, 'input'>>;
  setSecret?: Resolver<ResolversTypes['TenantSecret'], ParentType, ContextType, RequireFields<MutationSetSecretArgs, 'input'>>;
  setTaskRunStates?: Resolver<ResolversTypes['Int'], ParentType, ContextType, RequireFields<MutationSetTaskRunStatesArgs, 'input'>>;
  writeLogs?: Resolver<ResolversTypes['Int'], ParentType, ContextType, RequireFields<MutationWriteLogsArgs, 'input'>>;
};

export type NotificationDeliveryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['NotificationDelivery'] = ResolversParentTypes['NotificationDelivery']> = {
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  deliveredAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  event?: Resolver<ResolversTypes['NotificationEvent'], ParentType, ContextType>;
  flowRun?: Resolver<Maybe<ResolversTypes['FlowRun']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  lastError?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  nextAttemptAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  rule?: Resolver<Maybe<ResolversTypes['NotificationRule']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['DeliveryState'], ParentType, ContextType>;
};

export type NotificationDeliveryConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['NotificationDeliveryConnection'] = ResolversParentTypes['NotificationDeliveryConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['NotificationDelivery']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type NotificationRuleResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['NotificationRule'] = ResolversParentTypes['NotificationRule']> = {
  channel?: Resolver<ResolversTypes['NotificationChannel'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  flow?: Resolver<Maybe<ResolversTypes['Flow']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  on?: Resolver<Array<ResolversTypes['NotificationEvent']>, ParentType, ContextType>;
  signingSecret?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  target?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type PageInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
};

export type ProjectResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Project'] = ResolversParentTypes['Project']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  agents?: Resolver<ResolversTypes['AgentConnection'], ParentType, ContextType, RequireFields<QueryAgentsArgs, 'first'>>;
  auditEvents?: Resolver<ResolversTypes['AuditEventConnection'], ParentType, ContextType, RequireFields<QueryAuditEventsArgs, 'first'>>;
  concurrencyLimits?: Resolver<Array<ResolversTypes['ConcurrencyLimit']>, ParentType, ContextType>;
  dataTable?: Resolver<Maybe<ResolversTypes['DataTable']>, ParentType, ContextType, RequireFields<QueryDataTableArgs, 'dataset' | 'kind' | 'table'>>;
  dataTables?: Resolver<ResolversTypes['DataTableConnection'], ParentType, ContextType, RequireFields<QueryDataTablesArgs, 'first'>>;
  flow?: Resolver<Maybe<ResolversTypes['Flow']>, ParentType, ContextType, Partial<QueryFlowArgs>>;
  flowRun?: Resolver<Maybe<ResolversTypes['FlowRun']>, ParentType, ContextType, RequireFields<QueryFlowRunArgs, 'id'>>;
  flowRuns?: Resolver<ResolversTypes['FlowRunConnection'], ParentType, ContextType, RequireFields<QueryFlowRunsArgs, 'first'>>;
  flowVersion?: Resolver<Maybe<ResolversTypes['FlowVersion']>, ParentType, ContextType, RequireFields<QueryFlowVersionArgs, 'id'>>;
  flows?: Resolver<ResolversTypes['FlowConnection'], ParentType, ContextType, RequireFields<QueryFlowsArgs, 'first'>>;
  knownBundles?: Resolver<Array<ResolversTypes['KnownBundle']>, ParentType, ContextType, RequireFields<QueryKnownBundlesArgs, 'sha256'>>;
  notificationDeliveries?: Resolver<ResolversTypes['NotificationDeliveryConnection'], ParentType, ContextType, RequireFields<QueryNotificationDeliveriesArgs, 'first'>>;
  notificationRules?: Resolver<Array<ResolversTypes['NotificationRule']>, ParentType, ContextType>;
  projects?: Resolver<Array<ResolversTypes['Project']>, ParentType, ContextType>;
  schedules?: Resolver<ResolversTypes['FlowScheduleConnection'], ParentType, ContextType, RequireFields<QuerySchedulesArgs, 'first'>>;
  secrets?: Resolver<Array<ResolversTypes['TenantSecret']>, ParentType, ContextType>;
  serviceTokens?: Resolver<ResolversTypes['ServiceTokenConnection'], ParentType, ContextType, RequireFields<QueryServiceTokensArgs, 'first' | 'includeRevoked'>>;
  tenants?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  viewer?: Resolver<ResolversTypes['Identity'], ParentType, ContextType>;
};

export type RegisterFlowPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RegisterFlowPayload'] = ResolversParentTypes['RegisterFlowPayload']> = {
  created?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  flowVersion?: Resolver<ResolversTypes['FlowVersion'], ParentType, ContextType>;
};

export type RegisterFlowsItemResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['RegisterFlowsItem'] = ResolversParentTypes['RegisterFlowsItem']> = {
  created?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['ItemError']>, ParentType, ContextType>;
  flowVersion?: Resolver<Maybe<ResolversTypes['FlowVersion']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  project?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SecretValueResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['SecretValue'] = ResolversParentTypes['SecretValue']> = {
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ServiceTokenResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ServiceToken'] = ResolversParentTypes['ServiceToken']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  expiresAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['TokenKind'], ParentType, ContextType>;
  labels?: Resolver<Array<ResolversTypes['String']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  revokedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  revokedBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
  subject?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type ServiceTokenConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ServiceTokenConnection'] = ResolversParentTypes['ServiceTokenConnection']> = {
  nodes?: Resolver<Array<ResolversTypes['ServiceToken']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type StateTransitionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StateTransition'] = ResolversParentTypes['StateTransition']> = {
  actor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  at?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  attempt?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  fromState?: Resolver<Maybe<ResolversTypes['FlowRunStateType']>, ParentType, ContextType>;
  late?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  message?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  reason?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  toState?: Resolver<ResolversTypes['FlowRunStateType'], ParentType, ContextType>;
};

export type StoredTaskResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['StoredTaskResult'] = ResolversParentTypes['StoredTaskResult']> = {
  inputsHash?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  taskKey?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  uri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  flowRunLogs?: SubscriptionResolver<ResolversTypes['LogLine'], "flowRunLogs", ParentType, ContextType, RequireFields<SubscriptionFlowRunLogsArgs, 'id'>>;
  flowRunStateChanged?: SubscriptionResolver<ResolversTypes['FlowRunStateEvent'], "flowRunStateChanged", ParentType, ContextType, RequireFields<SubscriptionFlowRunStateChangedArgs, 'id'>>;
  leaseSignals?: SubscriptionResolver<ResolversTypes['LeaseSignal'], "leaseSignals", ParentType, ContextType, RequireFields<SubscriptionLeaseSignalsArgs, 'agentId'>>;
};

export type TaskResultResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TaskResult'] = ResolversParentTypes['TaskResult']> = {
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  uri?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type TaskRunResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TaskRun'] = ResolversParentTypes['TaskRun']> = {
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  endedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  inputsHash?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  key?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  mapIndex?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  result?: Resolver<Maybe<ResolversTypes['TaskResult']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['FlowRunStateType'], ParentType, ContextType>;
  stateHistory?: Resolver<Array<ResolversTypes['StateTransition']>, ParentType, ContextType>;
  stateMessage?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  taskName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type TenantSecretResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TenantSecret'] = ResolversParentTypes['TenantSecret']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  updatedBy?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type WaitCauseResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WaitCause'] = ResolversParentTypes['WaitCause']> = {
  agents?: Resolver<Array<ResolversTypes['Agent']>, ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['WaitCauseKind'], ParentType, ContextType>;
  limit?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  limitScope?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  message?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  running?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  Agent?: AgentResolvers<ContextType>;
  AgentConnection?: AgentConnectionResolvers<ContextType>;
  AuditEvent?: AuditEventResolvers<ContextType>;
  AuditEventConnection?: AuditEventConnectionResolvers<ContextType>;
  BackfillPayload?: BackfillPayloadResolvers<ContextType>;
  ClaimedFlowRun?: ClaimedFlowRunResolvers<ContextType>;
  Clock?: ClockResolvers<ContextType>;
  ConcurrencyLimit?: ConcurrencyLimitResolvers<ContextType>;
  CreateServiceTokenPayload?: CreateServiceTokenPayloadResolvers<ContextType>;
  DataPartition?: DataPartitionResolvers<ContextType>;
  DataTable?: DataTableResolvers<ContextType>;
  DataTableConnection?: DataTableConnectionResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  Flow?: FlowResolvers<ContextType>;
  FlowConnection?: FlowConnectionResolvers<ContextType>;
  FlowRun?: FlowRunResolvers<ContextType>;
  FlowRunConnection?: FlowRunConnectionResolvers<ContextType>;
  FlowRunStateEvent?: FlowRunStateEventResolvers<ContextType>;
  FlowSchedule?: FlowScheduleResolvers<ContextType>;
  FlowScheduleConnection?: FlowScheduleConnectionResolvers<ContextType>;
  FlowVersion?: FlowVersionResolvers<ContextType>;
  FlowVersionConnection?: FlowVersionConnectionResolvers<ContextType>;
  HeartbeatPayload?: HeartbeatPayloadResolvers<ContextType>;
  Identity?: IdentityResolvers<ContextType>;
  ItemError?: ItemErrorResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  KnownBundle?: KnownBundleResolvers<ContextType>;
  LeaseSignal?: LeaseSignalResolvers<ContextType>;
  LogConnection?: LogConnectionResolvers<ContextType>;
  LogLine?: LogLineResolvers<ContextType>;
  Materialization?: MaterializationResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  NotificationDelivery?: NotificationDeliveryResolvers<ContextType>;
  NotificationDeliveryConnection?: NotificationDeliveryConnectionResolvers<ContextType>;
  NotificationRule?: NotificationRuleResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Project?: ProjectResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  RegisterFlowPayload?: RegisterFlowPayloadResolvers<ContextType>;
  RegisterFlowsItem?: RegisterFlowsItemResolvers<ContextType>;
  SecretValue?: SecretValueResolvers<ContextType>;
  ServiceToken?: ServiceTokenResolvers<ContextType>;
  ServiceTokenConnection?: ServiceTokenConnectionResolvers<ContextType>;
  StateTransition?: StateTransitionResolvers<ContextType>;
  StoredTaskResult?: StoredTaskResultResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  TaskResult?: TaskResultResolvers<ContextType>;
  TaskRun?: TaskRunResolvers<ContextType>;
  TenantSecret?: TenantSecretResolvers<ContextType>;
  WaitCause?: WaitCauseResolvers<ContextType>;
};

export type DirectiveResolvers<ContextType = GraphQLContext> = {
  agentOperation?: AgentOperationDirectiveResolver<any, any, ContextType>;
  anyTokenKind?: AnyTokenKindDirectiveResolver<any, any, ContextType>;
};
