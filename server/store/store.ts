// The store interface: everything the server persists, dialect-free. SQLite (embedded default)
// and PostgreSQL implement it. Every method is scoped by tenant,
// which callers take from the verified identity only. Times are epoch ms of the database clock.
import type { AuditStore } from './audit-store.js';
import type { LateEntriesResult, LateEntriesWrite } from './late-entries-store.js';
import type { LimitsStore } from './limits-store.js';
import type { LineageStore, MaterializationWrite } from './lineage-store.js';
import type { SecretsStore } from './secrets-store.js';
import type { NotificationsStore } from './notifications-store.js';
import type { ServiceTokensStore } from './service-tokens-store.js';
import type {
  AgentRecord,
  FlowRecord,
  FlowRunRecord,
  FlowRunStateType,
  ClockRecord,
  ConcurrencyFullPolicy,
  FlowScheduleRecord,
  FlowVersionRecord,
  LogLevel,
  MissedRunPolicy,
  ScheduleState,
  LogRecord,
  ProjectRecord,
  StateTransitionRecord,
  TaskResultRecord,
  TaskRunRecord,
} from './records.js';

/** Keyset page request: `after` is an opaque cursor from a previous page. */
export interface PageRequest {
  first: number;
  after?: string | null | undefined;
}

export interface Page<T> {
  nodes: T[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface NewFlowVersion {
  project: string;
  name: string;
  contentHash: string;
  storageUri: string;
  sha256: string;
  size: number;
  entrypoint: string;
  parameterSchema: Record<string, unknown>;
  defaultLabels: string[];
  secrets: string[];
  retries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number | null;
  description: string | null;
  /** Part of the content hash, like every setting above but `storageUri`. */
  clocks: ClockRecord[];
  missedRuns: MissedRunPolicy;
  catchUpLimit: number;
  /** Runs of the flow that may hold a slot at once (absent or null: no limit) and what a due run does when full (default QUEUE); hashed when a limit is set. */
  concurrencyLimit?: number | null;
  whenConcurrencyFull?: ConcurrencyFullPolicy;
  /**
   * How the flow's schedule starts when it has no switch yet and `clocks` is not empty (the first
   * registration that declares clocks). Never changes an existing switch. Not hashed.
   */
  scheduleState: ScheduleState;
}

export interface NewFlowRun {
  flowId: string;
  flowVersionId: string;
  parameters: unknown;
  labels: string[];
  priority: number;
  /** Epoch ms; null means now (database time). */
  scheduledAt: number | null;
  idempotencyKey: string | null;
  actor: string;
  /** The run this one re-runs (`rerunFlowRun`). @default null */
  rerunOf?: string | null;
}

/** A run the scheduler materialises: idempotent on `idempotencyKey` (one per flow, clock and time). */
export interface NewScheduledRun extends NewFlowRun {
  tenant: string;
  clockKey: string;
  idempotencyKey: string;
  scheduledAt: number;
}

/** An active schedule whose horizon needs filling, as the scheduler reads it. */
export interface DueSchedule {
  tenant: string;
  flowId: string;
  /** The latest version (clocks, missed-run policy, default labels). */
  version: FlowVersionRecord;
  /** Per clock key: the instant (epoch ms) up to which runs were created, exclusive; absent when never filled. */
  filledThrough: Map<string, number>;
}

/** Filters of {@link Store.listFlowSchedules}. */
export interface FlowScheduleFilter {
  project?: string | null | undefined;
  state?: ScheduleState | null | undefined;
}

export interface FlowRunFilter {
  flowId?: string | null | undefined;
  states?: FlowRunStateType[] | null | undefined;
  createdAfter?: number | null | undefined;
  createdBefore?: number | null | undefined;
  label?: string | null | undefined;
}

/** A run handed to an agent. */
export interface Claim {
  run: FlowRunRecord;
  leaseToken: string;
  leaseExpiresAt: number;
}

export interface StateWrite {
  flowRunId: string;
  leaseToken: string;
  expectedVersion: number;
  state: FlowRunStateType;
  reason: string | null;
  message: string | null;
  exitCode: number | null;
  signal: string | null;
  actor: string;
}

export interface TaskStateWrite {
  key: string;
  taskName: string;
  mapIndex: number | null;
  attempt: number;
  state: FlowRunStateType;
  message: string | null;
  /** With SUCCESS: where the agent stored the task's result. Every write sets it (null clears it). @default null */
  result?: TaskResultRecord | null;
  /** sha256 of the task's canonical JSON inputs. @default null */
  inputsHash?: string | null;
}

/** A task result a restarted run may return instead of running the task (ClaimedFlowRun.storedResults). */
export interface StoredTaskResultRecord extends TaskResultRecord {
  taskKey: string;
  inputsHash: string;
}

export interface LogLineWrite {
  taskRunKey: string | null;
  level: LogLevel;
  stream: string;
  message: string;
  timestamp: number;
}

/**
 * Entries that ride with a state write (SetFlowRunStateInput.batch), checked by the service. Each
 * part is recorded once per (run, batchId) in its own ledger (task_state_batches, log_batches,
 * materialization_batches), as the separate writes are.
 */
export interface RunBatchWrite {
  batchId: string;
  states: TaskStateWrite[];
  lines: LogLineWrite[];
  materializations: MaterializationWrite[];
}

/** What a state write with a batch stored: the run, and the lines recorded (none for a repeat). */
export interface StateWithBatchResult {
  run: FlowRunRecord;
  lines: LogRecord[];
}

export interface HeartbeatResult {
  renewed: string[];
  lost: string[];
  cancelling: string[];
  leaseExpiresAt: number;
}

/**
 * A change another server replica committed, as the database tells it (PostgreSQL LISTEN/NOTIFY).
 * Deliberately small: ids only, the receiver reads the records it needs.
 */
export type RemoteChange =
  /** Runs changed state; `workAvailable` when one of them became SCHEDULED (claimable now or later) or ended (freeing a concurrency slot). */
  | { kind: 'runs'; tenant: string; runIds: string[]; workAvailable: boolean }
  /** Log lines with ids from `fromId` to `toId` were stored for a run. */
  | { kind: 'logs'; tenant: string; flowRunId: string; fromId: number; toId: number }
  /** Changes may have been missed (the listening connection was down): re-read what you watch. */
  | { kind: 'gap' };

/** A running watch of other replicas' changes. */
export interface ChangeWatch {
  close(): Promise<void>;
}

/** Settings of {@link Store.electLeader}. */
export interface LeaderElectionOptions {
  /** How often a follower tries to take the lead, and a leader checks it still holds it. */
  retryMs: number;
  /** Told when this replica becomes the leader (true) and when it stops being it (false). */
  onChange: (leader: boolean) => void;
  /** Told when the database could not be reached for the election (it keeps retrying). */
  onError?: (error: Error) => void;
}

/** This replica's place in the leader election of the replicas sharing one database. */
export interface LeaderElection {
  readonly isLeader: boolean;
  /** Stops campaigning; a leader steps down (calling `onChange(false)`) and frees the lead at once. */
  close(): Promise<void>;
}

/** What pruning deletes (or, in a dry run, would delete). */
export interface PruneCounts {
  runs: number;
  taskRuns: number;
  stateTransitions: number;
  logLines: number;
  logBatches: number;
  /** Writes the runs recorded (lineage), with their partitions. */
  materializations: number;
}

/** A tenant known to the store and its retention override (null: the server's default). */
export interface TenantRetention {
  tenant: string;
  retentionDays: number | null;
}

export interface Store {
  /** Issued service tokens (service-tokens-store.ts). */
  readonly serviceTokens: ServiceTokensStore;
  /** The append-only audit log (audit-store.ts). */
  readonly audit: AuditStore;
  /** Sealed tenant secrets (secrets-store.ts). */
  readonly secrets: SecretsStore;
  /** Notification rules, deliveries and the notifier's outbox step (notifications-store.ts). */
  readonly notifications: NotificationsStore;
  /** Operators' concurrency limits (limits-store.ts). */
  readonly limits: LimitsStore;
  /** What runs wrote to the lake and the warehouse (lineage-store.ts). */
  readonly lineage: LineageStore;
  /** Applies pending migrations; refuses a database migrated by a newer fluxo. */
  migrate(): Promise<{ applied: number[]; current: number }>;
  /** The database clock, epoch ms. */
  now(): Promise<number>;
  close(): Promise<void>;

  listProjects(tenant: string): Promise<ProjectRecord[]>;
  getProject(tenant: string, id: string): Promise<ProjectRecord | null>;

  /**
   * Records a version unless the flow's latest version has the same content hash (then returns it,
   * created false). A new version whose clocks differ from the latest one's deletes, in the same
   * transaction, the SCHEDULED unclaimed runs the scheduler created for clock keys the new version
   * no longer has (never runs that started, finished, or were created by a user or a backfill).
   * Such runs of the clocks it keeps move to the new version (its code, its labels), keeping id and time.
   */
  registerFlowVersion(tenant: string, input: NewFlowVersion): Promise<{ version: FlowVersionRecord; created: boolean }>;
  getFlow(tenant: string, id: string): Promise<FlowRecord | null>;
  findFlow(tenant: string, project: string, name: string): Promise<FlowRecord | null>;
  listFlows(tenant: string, project: string | null, page: PageRequest): Promise<Page<FlowRecord>>;
  getFlowVersion(tenant: string, id: string): Promise<FlowVersionRecord | null>;
  getLatestFlowVersion(tenant: string, flowId: string): Promise<FlowVersionRecord | null>;
  listFlowVersions(tenant: string, flowId: string, page: PageRequest): Promise<Page<FlowVersionRecord>>;

  /** `{ sha256, storageUri }` of the given digests that some flow version of the tenant records (one per digest). */
  findKnownBundles(tenant: string, sha256s: string[]): Promise<{ sha256: string; storageUri: string }[]>;

  /** The schedule of a flow whose latest version declares clocks; null otherwise. */
  getFlowSchedule(tenant: string, flowId: string): Promise<FlowScheduleRecord | null>;
  /** Schedules of the tenant (flows whose latest version declares clocks), by project name then flow name. */
  listFlowSchedules(tenant: string, filter: FlowScheduleFilter, page: PageRequest): Promise<Page<FlowScheduleRecord>>;
  /**
   * Sets the operator's switch, in one transaction. Pausing deletes the flow's runs the scheduler
   * created that are still SCHEDULED, unclaimed, on their first attempt and due after now (with
   * their state history), and lowers each clock's fill mark to now; runs already due stay (they
   * wait for an agent; cancel them if unwanted). Resuming under SKIP moves every clock's fill mark
   * up to now (no burst of missed runs); under CATCH_UP it leaves the marks where the pause left
   * them. The same state again changes nothing. Null when the flow has no schedule.
   */
  setScheduleState(tenant: string, flowId: string, state: ScheduleState, actor: string): Promise<FlowScheduleRecord | null>;
  /**
   * Active schedules (all tenants) whose refill time has come (`refillAt <= now`, see
   * createScheduledRuns) or that have a clock never filled, most overdue first, at most `limit`.
   */
  listDueSchedules(now: number, limit: number): Promise<DueSchedule[]>;
  /**
   * Inserts the scheduler's runs, skipping any whose idempotency key exists (a restart, another
   * replica or an earlier fill made it), and records each touched clock's new fill mark
   * (`filledThrough`: runs exist for every clock time before it) and refill time (`refillAt`: when
   * the scheduler must look at the clock again) — all in one transaction, with a `— → SCHEDULED`
   * transition by `server:scheduler` per created run, published like createFlowRun's changes.
   * Runs and marks for a flow whose schedule is no longer ACTIVE, or whose latest version no
   * longer has the clock, are dropped (a pause or a registration won the race). Returns the runs created.
   */
  createScheduledRuns(runs: NewScheduledRun[], filled: { tenant: string; flowId: string; clockKey: string; filledThrough: number; refillAt: number }[]): Promise<FlowRunRecord[]>;

  /** Creates a run, or returns the run created earlier with the same idempotency key (created false). */
  createFlowRun(tenant: string, input: NewFlowRun): Promise<{ run: FlowRunRecord; created: boolean }>;
  getFlowRun(tenant: string, id: string): Promise<FlowRunRecord | null>;
  /** The runs of `tenant` among `ids` (missing ones are left out), in no particular order. */
  getFlowRuns(tenant: string, ids: string[]): Promise<FlowRunRecord[]>;
  listFlowRuns(tenant: string, filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>>;
  /** Epoch ms of the earliest future SCHEDULED run of the tenant, or null. */
  nextScheduledAt(tenant: string): Promise<number | null>;

  /**
   * Atomically claims up to `max` due runs whose labels are a subset of `labels` for the agent, in a
   * transaction that also checks `agent.subject` still holds it (NOT_FOUND otherwise: its name moved).
   * Concurrency limits hold inside the claim (limits-store.ts): a run is claimed only while its
   * flow's, each of its labels' and the tenant's limit has a free slot, counting the runs claimed
   * earlier in the same call; a blocked run does not stop later ones. A due run whose flow limit is
   * full and whose version says SKIP ends CANCELLED (`concurrency-skip`) in the same transaction and
   * is handed to `onSkipped`, so the caller can publish it.
   *
   * With a `requestId`, the claimed runs remember it; a later call with the same id (a retry whose
   * answer was lost) first gets back the runs still SUBMITTED to the agent under it, same lease
   * tokens, leases renewed for `leaseMs`, and claims nothing new when there are any.
   */
  claimFlowRuns(
    tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number, onSkipped?: (runs: FlowRunRecord[]) => void,
    requestId?: string | null,
  ): Promise<Claim[]>;
  /** Compare-and-set under a lease; applies flow-level retries. Throws FluxoError on refusal. */
  setFlowRunState(tenant: string, write: StateWrite): Promise<FlowRunRecord>;
  /**
   * setFlowRunState with entries, in one transaction: for RUNNING the batch is recorded after the
   * transition, for any other state before it (under the lease the transition ends). A write that
   * answers the run unchanged (a repeat whose answer was lost) records nothing: its batch committed
   * with it. Refusals as setFlowRunState, and a refused write records no entry.
   */
  setFlowRunStateWithBatch(tenant: string, write: StateWrite, batch: RunBatchWrite): Promise<StateWithBatchResult>;
  /** User cancellation. */
  cancelFlowRun(tenant: string, id: string, actor: string): Promise<FlowRunRecord>;
  /**
   * Records task states under a lease. With a `batchId`, once per (run, batchId): a repeated batch
   * records nothing and answers 0. Returns the number of states recorded.
   */
  setTaskRunStates(tenant: string, flowRunId: string, leaseToken: string, states: TaskStateWrite[], actor: string, batchId?: string | null): Promise<number>;
  /**
   * Restart (restart.ts): a FAILED, CRASHED, TIMED_OUT or CANCELLED run becomes SCHEDULED now with
   * attempt + 1, its agent and lease cleared, version + 1, and a transition with reason 'restart'
   * by `actor`; its task runs stay (they point at the stored results). NOT_FOUND for no such run,
   * ILLEGAL_TRANSITION from any other state.
   */
  restartFlowRun(tenant: string, id: string, actor: string): Promise<FlowRunRecord>;
  /** The run's SUCCESS task runs that have a stored result and an inputs hash, by key. */
  listStoredResults(tenant: string, flowRunId: string): Promise<StoredTaskResultRecord[]>;
  /** Appends lines once per (run, batchId). Returns the stored lines (empty for a repeated batch). */
  writeLogs(tenant: string, flowRunId: string, leaseToken: string, batchId: string, lines: LogLineWrite[]): Promise<LogRecord[]>;
  /**
   * Stores a restarted agent's spooled entries for an attempt it held (late-entries-store.ts), once
   * per (run, batchId), marked late, without a lease; the run's state never changes. NOT_FOUND
   * unless the attempt's claim names `write.agentId` and `agent:<write.subject>`.
   */
  deliverLateEntries(tenant: string, write: LateEntriesWrite): Promise<LateEntriesResult>;
  /** Renews the live leases `agentId` holds among `leases` (run id and token); every other one is reported lost. */
  heartbeat(tenant: string, agentId: string, leases: { flowRunId: string; leaseToken: string }[], leaseMs: number): Promise<HeartbeatResult>;
  /** Crashes (or cancels) runs whose lease expired, across tenants. Returns the changed runs. */
  reapExpiredLeases(actor: string): Promise<FlowRunRecord[]>;

  /**
   * A run's task runs in the order they started (then by id). With `page`, `first` of them after
   * the task run whose id is `page.after` (keyset; BAD_USER_INPUT for an id not of this run);
   * without, all of them (for the server's own use, never for an API list).
   */
  listTaskRuns(tenant: string, flowRunId: string, page?: PageRequest): Promise<TaskRunRecord[]>;
  listStateTransitions(tenant: string, flowRunId: string, taskRunId: string | null): Promise<StateTransitionRecord[]>;
  listLogs(tenant: string, flowRunId: string, page: PageRequest): Promise<Page<LogRecord>>;

  /**
   * Registers the name for `subject`, or updates labels and concurrency when `subject` holds it
   * already. Null, changing nothing, when another subject holds the name.
   */
  upsertAgent(tenant: string, input: { name: string; subject: string; labels: string[]; concurrency: number }): Promise<AgentRecord | null>;
  /**
   * Moves the agent `name` to `toSubject` and, in the same transaction, ends every lease it holds
   * (token cleared, expiry now: the reaper ends those attempts). Null when there is no such agent;
   * moving to the subject that holds it changes nothing.
   */
  moveAgent(tenant: string, name: string, toSubject: string): Promise<AgentRecord | null>;
  getAgent(tenant: string, id: string): Promise<AgentRecord | null>;
  listAgents(tenant: string, page: PageRequest): Promise<Page<AgentRecord>>;
  /** Number of runs each agent holds a live lease on. */
  countLeasedRuns(tenant: string): Promise<Map<string, number>>;

  /** Every tenant that has runs or a retention setting, with its override, by tenant name. */
  listTenantRetention(): Promise<TenantRetention[]>;
  /** Sets a tenant's retention in days (0: keep forever), or null to follow the server's default. */
  setTenantRetention(tenant: string, retentionDays: number | null): Promise<void>;
  /** What {@link pruneFinishedRuns} would delete for runs of `tenant` that ended before `endedBefore`. */
  countPrunableRuns(tenant: string, endedBefore: number): Promise<PruneCounts>;
  /**
   * Deletes up to `limit` finished runs of `tenant` that ended before `endedBefore` (epoch ms),
   * oldest first, with their task runs, state transitions, log lines, log batches and
   * materializations (lineage), in one short transaction. Runs that are not final are never touched.
   */
  pruneFinishedRuns(tenant: string, endedBefore: number, limit: number): Promise<PruneCounts>;

  /**
   * Calls `onChange` for changes other server replicas commit to this database, until closed.
   * SQLite serves one process, so its watch never calls.
   */
  watchChanges(onChange: (change: RemoteChange) => void, onError?: (error: Error) => void): ChangeWatch;
  /**
   * Campaigns for the lead among the replicas sharing this database (the lease reaper and
   * retention run on the leader only). SQLite: this process is the only one, so the leader at once.
   */
  electLeader(options: LeaderElectionOptions): LeaderElection;
}
