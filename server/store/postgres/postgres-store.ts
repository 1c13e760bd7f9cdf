// The production store: PostgreSQL through a `pg` pool, for one or many server replicas on one
// database. Reads live here; writes are in one module per group of operations (run-writes,
// claim-flow-runs, leases, task-runs, logs, flow-registration, retention), each a transaction or a
// single statement that is safe against every other replica. Writes other replicas must hear of
// are announced with NOTIFY once committed (change-feed.ts) and heard with LISTEN
// (change-listener.ts); replicas elect a leader with an advisory lock (leader-election.ts).
import { FluxoError } from '../../../common/errors.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { newId, newToken } from '../../../common/ids.js';
import { decodeCursor, MAX_TASK_RUN_PAGE, pageOf, pageSize } from '../cursor.js';
import type {
  AgentRecord, FlowRecord, FlowRunRecord, FlowScheduleRecord, FlowVersionRecord, LogRecord, ProjectRecord, ScheduleState, StateTransitionRecord,
  TaskRunRecord,
} from '../records.js';
import type {
  ChangeWatch, DueSchedule, FlowRunFilter, FlowScheduleFilter, LeaderElection, LeaderElectionOptions, NewFlowVersion, Page, PageRequest, PruneCounts, RemoteChange, Store,
  TenantRetention,
} from '../store.js';
import { advisoryLocks } from './advisory-locks.js';
import * as agents from './agents.js';
import { PostgresAudit } from './audit.js';
import { ChangePublisher } from './change-feed.js';
import { ChangeListener } from './change-listener.js';
import { claimFlowRuns } from './claim-flow-runs.js';
import { parsePostgresUrl } from './connection-settings.js';
import { PgDatabase, type PgDatabaseOptions } from './database.js';
import { registerFlowVersion } from './flow-registration.js';
import { AdvisoryLockElection } from './leader-election.js';
import { heartbeat, reapExpiredLeases } from './leases.js';
import { writeLogs } from './logs.js';
import { deliverLateEntries } from './late-entries.js';
import { migrate } from './migrate.js';
import {
  columnsOf, toAgent, toFlow, toFlowRun, toFlowVersion, toLog, toProject, toStateTransition, toTaskRun,
  type AgentRow, type FlowRow, type FlowRunRow, type FlowVersionRow, type LogRow, type ProjectRow, type StateTransitionRow, type TaskRunRow,
} from './rows.js';
import * as restart from './restart.js';
import * as retention from './retention.js';
import * as runWrites from './run-writes.js';
import * as schedules from './schedules.js';
import { PostgresServiceTokens } from './service-tokens.js';
import { PostgresSecretsStore } from './secrets.js';
import { PostgresLimitsStore } from './limits.js';
import { PostgresLineageStore } from './lineage.js';
import { PostgresNotificationsStore } from './notifications.js';
import { join, NOW_MS, prepared, raw, sql, type Sql } from './sql.js';
import { setTaskRunStates } from './task-runs.js';
import { setFlowRunStateWithBatch } from './state-with-batch.js';

/** A cursor whose sort key must be a number (a time or a version number); BAD_USER_INPUT otherwise. */
function numericCursor(after: string | null | undefined): [number, string] | null {
  const key = decodeCursor(after);
  if (key === null) return null;
  if (typeof key[0] !== 'number' || !Number.isSafeInteger(key[0])) {
    throw new FluxoError('BAD_USER_INPUT', `"after" is not a cursor this API returned: ${String(after).slice(0, 40)}`);
  }
  return [key[0], key[1]];
}

export interface PostgresStoreOptions extends Omit<PgDatabaseOptions, 'connectionString' | 'max'> {
  /** Overrides the URL's `?pool=`. */
  poolSize?: number;
  /** Told when a NOTIFY to the other replicas could not be sent (the write itself committed). */
  onNotifyError?: (error: Error) => void;
}

/**
 * Opens a PostgreSQL store for a `postgres://` URL; `?pool=N` sets the connection pool size
 * (default 10). Connects lazily: the first statement (usually `migrate()`) opens the first connection.
 *
 * @example const store = openPostgresStore('postgres://fluxo:secret@db:5432/fluxo?pool=20')
 */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): PostgresStore {
  const settings = parsePostgresUrl(url);
  const { poolSize, onNotifyError, ...rest } = options;
  return new PostgresStore(new PgDatabase({ ...rest, connectionString: settings.connectionString, max: poolSize ?? settings.poolSize }), { onNotifyError });
}

export class PostgresStore implements Store {
  readonly db: PgDatabase;
  readonly serviceTokens: PostgresServiceTokens;
  readonly audit: PostgresAudit;
  readonly secrets: PostgresSecretsStore;
  readonly limits: PostgresLimitsStore;
  readonly lineage: PostgresLineageStore;
  readonly notifications: PostgresNotificationsStore;
  /**
   * This store's name in the notifications it sends: one per process (per store), so its own
   * listener skips what the local event bus already delivered.
   */
  readonly origin: string;
  readonly #publisher: ChangePublisher;
  /** Where a failed NOTIFY is reported: the option, else the error handler of the first watch. */
  #onNotifyError: ((error: Error) => void) | undefined;

  constructor(db: PgDatabase, options: { onNotifyError?: ((error: Error) => void) | undefined } = {}) {
    this.db = db;
    this.origin = newToken();
    this.serviceTokens = new PostgresServiceTokens(db);
    this.audit = new PostgresAudit(db);
    this.secrets = new PostgresSecretsStore(db);
    this.limits = new PostgresLimitsStore(db);
    this.lineage = new PostgresLineageStore(db);
    this.notifications = new PostgresNotificationsStore(db);
    this.#onNotifyError = options.onNotifyError;
    this.#publisher = new ChangePublisher(db, this.origin, (error) =>
      this.#onNotifyError?.(new Error(`could not notify the other replicas of a change: ${error.message}`, { cause: error })),
    );
  }

  async migrate(): Promise<{ applied: number[]; current: number }> {
    return migrate(this.db);
  }

  async now(): Promise<number> {
    return (await this.db.row<{ now: number }>(sql`SELECT ${NOW_MS} AS now`))!.now;
  }

  async close(): Promise<void> {
    await this.#publisher.flush();
    await this.db.close();
  }

  async listProjects(tenant: string): Promise<ProjectRecord[]> {
    return (await this.db.rows<ProjectRow>(sql`SELECT * FROM projects WHERE tenant = ${tenant} ORDER BY name`)).map(toProject);
  }

  async getProject(tenant: string, id: string): Promise<ProjectRecord | null> {
    const row = await this.db.row<ProjectRow>(sql`SELECT * FROM projects WHERE tenant = ${tenant} AND id = ${id}`);
    return row ? toProject(row) : null;
  }

  async registerFlowVersion(tenant: string, input: NewFlowVersion): Promise<{ version: FlowVersionRecord; created: boolean }> {
    return registerFlowVersion(this.db, tenant, input);
  }

  async getFlow(tenant: string, id: string): Promise<FlowRecord | null> {
    const row = await this.db.row<FlowRow>(sql`SELECT * FROM flows WHERE tenant = ${tenant} AND id = ${id}`);
    return row ? toFlow(row) : null;
  }

  async findFlow(tenant: string, project: string, name: string): Promise<FlowRecord | null> {
    const row = await this.db.row<FlowRow>(prepared('find-flow', sql`
      SELECT ${columnsOf('flows', 'f')} FROM flows f JOIN projects p ON p.id = f.project_id WHERE f.tenant = ${tenant} AND p.name = ${project} AND f.name = ${name}`));
    return row ? toFlow(row) : null;
  }

  async listFlows(tenant: string, project: string | null, page: PageRequest): Promise<Page<FlowRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const where: Sql[] = [sql`f.tenant = ${tenant}`];
    if (project !== null) where.push(sql`p.name = ${project}`);
    if (after) where.push(sql`(f.name, f.id) > (${String(after[0])}::text, ${after[1]}::text)`);
    const rows = await this.db.rows<FlowRow>(sql`
      SELECT f.* FROM flows f JOIN projects p ON p.id = f.project_id
      WHERE ${join(where, ' AND ')}
      ORDER BY f.name, f.id LIMIT ${first + 1}`);
    return pageOf(rows.map(toFlow), first, (f) => [f.name, f.id]);
  }

  async getFlowVersion(tenant: string, id: string): Promise<FlowVersionRecord | null> {
    const row = await this.db.row<FlowVersionRow>(prepared('get-flow-version', sql`SELECT ${columnsOf('flow_versions')} FROM flow_versions WHERE tenant = ${tenant} AND id = ${id}`));
    return row ? toFlowVersion(row) : null;
  }

  async getLatestFlowVersion(tenant: string, flowId: string): Promise<FlowVersionRecord | null> {
    const row = await this.db.row<FlowVersionRow>(prepared('get-latest-flow-version', sql`
      SELECT ${columnsOf('flow_versions')} FROM flow_versions WHERE tenant = ${tenant} AND flow_id = ${flowId} ORDER BY number DESC LIMIT 1`));
    return row ? toFlowVersion(row) : null;
  }

  async listFlowVersions(tenant: string, flowId: string, page: PageRequest): Promise<Page<FlowVersionRecord>> {
    const first = pageSize(page.first);
    const after = numericCursor(page.after);
    const rows = await this.db.rows<FlowVersionRow>(sql`
      SELECT * FROM flow_versions WHERE tenant = ${tenant} AND flow_id = ${flowId} ${after ? sql`AND number < ${after[0]}` : sql``}
      ORDER BY number DESC LIMIT ${first + 1}`);
    return pageOf(rows.map(toFlowVersion), first, (v) => [v.number, v.id]);
  }

  async findKnownBundles(tenant: string, sha256s: string[]): Promise<{ sha256: string; storageUri: string }[]> {
    return schedules.findKnownBundles(this.db, tenant, sha256s);
  }

  async getFlowSchedule(tenant: string, flowId: string): Promise<FlowScheduleRecord | null> {
    return schedules.getFlowSchedule(this.db, tenant, flowId);
  }

  async listFlowSchedules(tenant: string, filter: FlowScheduleFilter, page: PageRequest): Promise<Page<FlowScheduleRecord>> {
    return schedules.listFlowSchedules(this.db, tenant, filter, page);
  }

  async setScheduleState(tenant: string, flowId: string, state: ScheduleState, actor: string): Promise<FlowScheduleRecord | null> {
    return schedules.setScheduleState(this.db, tenant, flowId, state, actor);
  }

  async listDueSchedules(now: number, limit: number): Promise<DueSchedule[]> {
    return schedules.listDueSchedules(this.db, now, limit);
  }

  // Writers that other replicas must hear of hand their committed result to the publisher.

  async createScheduledRuns(...args: Parameters<Store['createScheduledRuns']>): Promise<FlowRunRecord[]> {
    const runs = await schedules.createScheduledRuns(this.db, ...args);
    this.#publisher.runs(runs);
    return runs;
  }

  async createFlowRun(tenant: string, input: Parameters<Store['createFlowRun']>[1]) {
    const result = await runWrites.createFlowRun(this.db, tenant, input);
    if (result.created) this.#publisher.runs([result.run]);
    return result;
  }

  async getFlowRun(tenant: string, id: string): Promise<FlowRunRecord | null> {
    const row = await this.db.row<FlowRunRow>(prepared('get-flow-run', sql`SELECT ${columnsOf('flow_runs')} FROM flow_runs WHERE tenant = ${tenant} AND id = ${id}`));
    return row ? toFlowRun(row) : null;
  }

  async getFlowRuns(tenant: string, ids: string[]): Promise<FlowRunRecord[]> {
    if (ids.length === 0) return [];
    return (await this.db.rows<FlowRunRow>(sql`SELECT * FROM flow_runs WHERE tenant = ${tenant} AND id = ANY(${ids}::text[])`)).map(toFlowRun);
  }

  async listFlowRuns(tenant: string, filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>> {
    const first = pageSize(page.first);
    const after = numericCursor(page.after);
    // A label filter walks flow_run_labels (migration 003), kept in the same keyset order, and reads
    // only the runs it points at; `label = ANY(labels)` read the whole history for a rare label.
    const byLabel = Boolean(filter.label);
    const [created, id] = byLabel ? [raw('l.created_at'), raw('l.flow_run_id')] : [raw('r.created_at'), raw('r.id')];
    const where: Sql[] = [byLabel ? sql`l.tenant = ${tenant}` : sql`r.tenant = ${tenant}`];
    if (byLabel) where.push(sql`l.label = ${filter.label}`);
    if (filter.flowId) where.push(sql`r.flow_id = ${filter.flowId}`);
    if (filter.states?.length) where.push(sql`r.state = ANY(${filter.states}::text[])`);
    if (filter.createdAfter != null) where.push(sql`${created} >= ${filter.createdAfter}::bigint`);
    if (filter.createdBefore != null) where.push(sql`${created} < ${filter.createdBefore}::bigint`);
    if (after) where.push(sql`(${created}, ${id}) < (${after[0]}::bigint, ${after[1]}::text)`);
    const from = byLabel ? raw('flow_run_labels l JOIN flow_runs r ON r.id = l.flow_run_id') : raw('flow_runs r');
    const rows = await this.db.rows<FlowRunRow>(sql`
      SELECT r.* FROM ${from} WHERE ${join(where, ' AND ')} ORDER BY ${created} DESC, ${id} DESC LIMIT ${first + 1}`);
    return pageOf(rows.map(toFlowRun), first, (r) => [r.createdAt, r.id]);
  }

  async nextScheduledAt(tenant: string): Promise<number | null> {
    const row = await this.db.row<{ at: number | null }>(sql`SELECT MIN(scheduled_at) AS at FROM flow_runs WHERE tenant = ${tenant} AND state = 'SCHEDULED'`);
    return row?.at ?? null;
  }

  async claimFlowRuns(
    tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number, onSkipped?: (runs: FlowRunRecord[]) => void,
    requestId?: string | null,
  ) {
    const skipped: FlowRunRecord[] = [];
    const claims = await claimFlowRuns(this.db, tenant, agent, labels, max, leaseMs, skipped, requestId ?? null);
    this.#publisher.runs([...claims.map((c) => c.run), ...skipped]);
    if (skipped.length > 0) onSkipped?.(skipped);
    return claims;
  }

  async setFlowRunState(tenant: string, write: Parameters<Store['setFlowRunState']>[1]) {
    const run = await runWrites.setFlowRunState(this.db, tenant, write);
    this.#publisher.runs([run]);
    return run;
  }

  async setFlowRunStateWithBatch(...args: Parameters<Store['setFlowRunStateWithBatch']>) {
    const result = await setFlowRunStateWithBatch(this.db, ...args);
    this.#publisher.runs([result.run]);
    if (result.lines.length > 0) this.#publisher.logs(args[0], args[1].flowRunId, result.lines);
    return result;
  }

  async cancelFlowRun(tenant: string, id: string, actor: string) {
    const run = await runWrites.cancelFlowRun(this.db, tenant, id, actor);
    this.#publisher.runs([run]);
    return run;
  }

  async setTaskRunStates(...args: Parameters<Store['setTaskRunStates']>) {
    return setTaskRunStates(this.db, ...args);
  }

  async restartFlowRun(tenant: string, id: string, actor: string) {
    const run = await restart.restartFlowRun(this.db, tenant, id, actor);
    this.#publisher.runs([run]);
    return run;
  }

  async listStoredResults(tenant: string, flowRunId: string) {
    return restart.listStoredResults(this.db, tenant, flowRunId);
  }

  async writeLogs(...args: Parameters<Store['writeLogs']>) {
    const lines = await writeLogs(this.db, ...args);
    this.#publisher.logs(args[0], args[1], lines);
    return lines;
  }

  async deliverLateEntries(...args: Parameters<Store['deliverLateEntries']>) {
    const result = await deliverLateEntries(this.db, ...args);
    this.#publisher.logs(args[0], args[1].flowRunId, result.lines);
    return result;
  }

  async heartbeat(...args: Parameters<Store['heartbeat']>) {
    return heartbeat(this.db, ...args);
  }

  async reapExpiredLeases(actor: string) {
    const runs = await reapExpiredLeases(this.db, actor);
    this.#publisher.runs(runs);
    return runs;
  }

  async listTaskRuns(tenant: string, flowRunId: string, page?: PageRequest): Promise<TaskRunRecord[]> {
    // NULLS FIRST: SQLite's order for the (never null today) start time.
    const order = sql`ORDER BY started_at NULLS FIRST, id`;
    if (page === undefined) {
      return (await this.db.rows<TaskRunRow>(sql`SELECT * FROM task_runs WHERE tenant = ${tenant} AND flow_run_id = ${flowRunId} ${order}`)).map(toTaskRun);
    }
    const first = pageSize(page.first, MAX_TASK_RUN_PAGE);
    if (!page.after) {
      return (await this.db.rows<TaskRunRow>(sql`SELECT * FROM task_runs WHERE tenant = ${tenant} AND flow_run_id = ${flowRunId} ${order} LIMIT ${first}`)).map(toTaskRun);
    }
    const [cursor] = await this.db.rows<{ started_at: string | number | null; id: string }>(
      sql`SELECT started_at, id FROM task_runs WHERE id = ${page.after} AND tenant = ${tenant} AND flow_run_id = ${flowRunId}`,
    );
    if (cursor === undefined) throw new FluxoError('BAD_USER_INPUT', `"after" must be the id of one of this run's task runs, got ${JSON.stringify(page.after)}`);
    // Keyset on task_runs_by_start (migration 12): a deep page of a mapped run costs what the first does.
    const rows = await this.db.rows<TaskRunRow>(sql`
      SELECT * FROM task_runs WHERE tenant = ${tenant} AND flow_run_id = ${flowRunId} AND (started_at, id) > (${cursor.started_at}::bigint, ${cursor.id})
      ${order} LIMIT ${first}`);
    return rows.map(toTaskRun);
  }

  async listStateTransitions(tenant: string, flowRunId: string, taskRunId: string | null): Promise<StateTransitionRecord[]> {
    const rows = await this.db.rows<StateTransitionRow>(sql`
      SELECT * FROM state_transitions WHERE tenant = ${tenant} AND flow_run_id = ${flowRunId}
        AND ${taskRunId === null ? sql`task_run_id IS NULL` : sql`task_run_id = ${taskRunId}`}
      ORDER BY id`);
    return rows.map(toStateTransition);
  }

  async listLogs(tenant: string, flowRunId: string, page: PageRequest): Promise<Page<LogRecord>> {
    const first = pageSize(page.first, 5000);
    const after = page.after ? Number(page.after) : 0;
    if (!Number.isSafeInteger(after) || after < 0) throw new FluxoError('BAD_USER_INPUT', `"after" must be a log id, got ${page.after}`);
    const rows = await this.db.rows<LogRow>(sql`
      SELECT * FROM logs WHERE flow_run_id = ${flowRunId} AND tenant = ${tenant} AND id > ${after} ORDER BY id LIMIT ${first + 1}`);
    const hasNextPage = rows.length > first;
    const nodes = (hasNextPage ? rows.slice(0, first) : rows).map(toLog);
    return { nodes, hasNextPage, endCursor: nodes.length ? String(nodes.at(-1)!.id) : page.after ?? null };
  }

  async upsertAgent(tenant: string, input: { name: string; subject: string; labels: string[]; concurrency: number }): Promise<AgentRecord | null> {
    return agents.upsertAgent(this.db, tenant, input);
  }

  async moveAgent(tenant: string, name: string, toSubject: string): Promise<AgentRecord | null> {
    return agents.moveAgent(this.db, tenant, name, toSubject);
  }

  async getAgent(tenant: string, id: string): Promise<AgentRecord | null> {
    const row = await this.db.row<AgentRow>(prepared('get-agent', sql`SELECT ${columnsOf('agents')} FROM agents WHERE tenant = ${tenant} AND id = ${id}`));
    return row ? toAgent(row) : null;
  }

  async listAgents(tenant: string, page: PageRequest): Promise<Page<AgentRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await this.db.rows<AgentRow>(sql`
      SELECT * FROM agents WHERE tenant = ${tenant} ${after ? sql`AND (name, id) > (${String(after[0])}::text, ${after[1]}::text)` : sql``}
      ORDER BY name, id LIMIT ${first + 1}`);
    return pageOf(rows.map(toAgent), first, (a) => [a.name, a.id]);
  }

  async countLeasedRuns(tenant: string): Promise<Map<string, number>> {
    const rows = await this.db.rows<{ agent_id: string; n: number }>(sql`
      SELECT agent_id, COUNT(*) AS n FROM flow_runs WHERE tenant = ${tenant} AND lease_expires_at IS NOT NULL
        AND state IN ${raw(sqlStateList(leasedStates))} GROUP BY agent_id`);
    return new Map(rows.map((r) => [r.agent_id, r.n]));
  }

  async listTenantRetention(): Promise<TenantRetention[]> {
    return retention.listTenantRetention(this.db);
  }

  async setTenantRetention(tenant: string, retentionDays: number | null): Promise<void> {
    return retention.setTenantRetention(this.db, tenant, retentionDays);
  }

  async countPrunableRuns(tenant: string, endedBefore: number): Promise<PruneCounts> {
    return retention.countPrunableRuns(this.db, tenant, endedBefore);
  }

  async pruneFinishedRuns(tenant: string, endedBefore: number, limit: number): Promise<PruneCounts> {
    return retention.pruneFinishedRuns(this.db, tenant, endedBefore, limit);
  }

  watchChanges(onChange: (change: RemoteChange) => void, onError?: (error: Error) => void): ChangeWatch {
    this.#onNotifyError ??= onError;
    return new ChangeListener(this.db, { origin: this.origin, onChange, ...(onError ? { onError } : {}) });
  }

  electLeader(options: LeaderElectionOptions): LeaderElection {
    return new AdvisoryLockElection(this.db, advisoryLocks.leader, options);
  }
}
