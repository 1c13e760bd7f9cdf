// The embedded default store: one SQLite file (better-sqlite3, WAL). Reads live here; writes to
// runs are in run-writes.ts.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FluxoError } from '../../../common/errors.js';
import { newId } from '../../../common/ids.js';
import { assertSchemaKnown, decodeCursor, MAX_TASK_RUN_PAGE, pageOf, pageSize } from '../cursor.js';
import type {
  AgentRecord, FlowRecord, FlowRunRecord, FlowScheduleRecord, FlowVersionRecord, LogRecord, ProjectRecord, ScheduleState, StateTransitionRecord,
  TaskRunRecord,
} from '../records.js';
import { soleLeader } from '../sole-leader.js';
import type {
  ChangeWatch, DueSchedule, FlowRunFilter, FlowScheduleFilter, LeaderElection, LeaderElectionOptions, NewFlowVersion, Page, PageRequest, PruneCounts, Store, TenantRetention,
} from '../store.js';
import * as agents from './agents.js';
import { SqliteAudit } from './audit.js';
import { migrations } from './migrations/index.js';
import * as restart from './restart.js';
import { SqliteServiceTokens } from './service-tokens.js';
import { SqliteSecretsStore } from './secrets.js';
import { SqliteLimitsStore } from './limits.js';
import { SqliteLineageStore } from './lineage.js';
import { deliverLateEntries } from './late-entries.js';
import { SqliteNotificationsStore } from './notifications.js';
import * as retention from './retention.js';
import * as schedules from './schedules.js';
import { statement } from './statements.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import * as runWrites from './run-writes.js';
import { setFlowRunStateWithBatch } from './state-with-batch.js';
import {
  NOW_MS, toAgent, toFlow, toFlowRun, toFlowVersion, toLog, toProject, toStateTransition, toTaskRun,
  type AgentRow, type FlowRow, type FlowRunRow, type FlowVersionRow, type LogRow, type ProjectRow, type StateTransitionRow, type TaskRunRow,
} from './rows.js';

/** Opens (creating if needed) a SQLite store at `path` (`:memory:` for a throwaway one). */
export function openSqliteStore(path: string): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits);
  // FULL would fsync every commit. Acknowledged writes are durable against kill -9 either way.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Keep the hot pages (the claim index, recent runs) in memory: 64 MiB of page cache.
  db.pragma('cache_size = -65536');
  db.pragma('foreign_keys = ON');
  return new SqliteStore(db);
}

export class SqliteStore implements Store {
  readonly db: Database;
  readonly serviceTokens: SqliteServiceTokens;
  readonly audit: SqliteAudit;
  readonly secrets: SqliteSecretsStore;
  readonly limits: SqliteLimitsStore;
  readonly lineage: SqliteLineageStore;
  readonly notifications: SqliteNotificationsStore;

  constructor(db: Database) {
    this.db = db;
    this.serviceTokens = new SqliteServiceTokens(db);
    this.audit = new SqliteAudit(db);
    this.secrets = new SqliteSecretsStore(db);
    this.limits = new SqliteLimitsStore(db);
    this.lineage = new SqliteLineageStore(db);
    this.notifications = new SqliteNotificationsStore(db);
  }

  async migrate(): Promise<{ applied: number[]; current: number }> {
    const db = this.db;
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const known = migrations.at(-1)?.version ?? 0;
    const current = (statement(db, 'SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    assertSchemaKnown(current, known);
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.transaction(() => {
        db.exec(migration.sql);
        statement(db, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ${NOW_MS})`).run(migration.version, migration.name);
      }).immediate();
      applied.push(migration.version);
    }
    return { applied, current: Math.max(current, ...applied) };
  }

  async now(): Promise<number> {
    return (statement(this.db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async listProjects(tenant: string): Promise<ProjectRecord[]> {
    return (statement(this.db, 'SELECT * FROM projects WHERE tenant = ? ORDER BY name').all(tenant) as ProjectRow[]).map(toProject);
  }

  async getProject(tenant: string, id: string): Promise<ProjectRecord | null> {
    const row = statement(this.db, 'SELECT * FROM projects WHERE tenant = ? AND id = ?').get(tenant, id) as ProjectRow | undefined;
    return row ? toProject(row) : null;
  }

  async registerFlowVersion(tenant: string, input: NewFlowVersion): Promise<{ version: FlowVersionRecord; created: boolean }> {
    const db = this.db;
    return db.transaction(() => {
      statement(db, `INSERT INTO projects (id, tenant, name, created_at) VALUES (?, ?, ?, ${NOW_MS}) ON CONFLICT (tenant, name) DO NOTHING`)
        .run(newId(), tenant, input.project);
      const project = statement(db, 'SELECT id FROM projects WHERE tenant = ? AND name = ?').get(tenant, input.project) as { id: string };
      statement(db, `INSERT INTO flows (id, tenant, project_id, name, created_at) VALUES (?, ?, ?, ?, ${NOW_MS}) ON CONFLICT (project_id, name) DO NOTHING`)
        .run(newId(), tenant, project.id, input.name);
      const flow = statement(db, 'SELECT id FROM flows WHERE project_id = ? AND name = ?').get(project.id, input.name) as { id: string };
      const latest = statement(db, 'SELECT * FROM flow_versions WHERE flow_id = ? ORDER BY number DESC LIMIT 1')
        .get(flow.id) as FlowVersionRow | undefined;
      if (latest && latest.content_hash === input.contentHash) return { version: toFlowVersion(latest), created: false };
      const id = newId();
      statement(db, 
        `INSERT INTO flow_versions (id, tenant, flow_id, number, content_hash, storage_uri, sha256, size, entrypoint, parameter_schema,
           default_labels, secrets, retries, retry_delay_seconds, timeout_seconds, description, clocks, missed_runs, catch_up_limit,
           concurrency_limit, when_concurrency_full, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS})`,
      ).run(id, tenant, flow.id, (latest?.number ?? 0) + 1, input.contentHash, input.storageUri, input.sha256, input.size, input.entrypoint,
        JSON.stringify(input.parameterSchema), JSON.stringify(input.defaultLabels), JSON.stringify(input.secrets), input.retries, input.retryDelaySeconds,
        input.timeoutSeconds, input.description, JSON.stringify(input.clocks), input.missedRuns, input.catchUpLimit,
        input.concurrencyLimit ?? null, input.whenConcurrencyFull ?? 'QUEUE');
      schedules.applyVersionClocks(db, tenant, { id: flow.id, project: input.project, name: input.name }, input, id, latest ? toFlowVersion(latest) : null);
      return { version: toFlowVersion(statement(db, 'SELECT * FROM flow_versions WHERE id = ?').get(id) as FlowVersionRow), created: true };
    }).immediate();
  }

  async getFlow(tenant: string, id: string): Promise<FlowRecord | null> {
    const row = statement(this.db, 'SELECT * FROM flows WHERE tenant = ? AND id = ?').get(tenant, id) as FlowRow | undefined;
    return row ? toFlow(row) : null;
  }

  async findFlow(tenant: string, project: string, name: string): Promise<FlowRecord | null> {
    const row = statement(this.db, 'SELECT f.* FROM flows f JOIN projects p ON p.id = f.project_id WHERE f.tenant = ? AND p.name = ? AND f.name = ?')
      .get(tenant, project, name) as FlowRow | undefined;
    return row ? toFlow(row) : null;
  }

  async listFlows(tenant: string, project: string | null, page: PageRequest): Promise<Page<FlowRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = statement(this.db, 
        `SELECT f.* FROM flows f JOIN projects p ON p.id = f.project_id
         WHERE f.tenant = ? AND (? IS NULL OR p.name = ?) AND (? IS NULL OR (f.name, f.id) > (?, ?))
         ORDER BY f.name, f.id LIMIT ?`,
      )
      .all(tenant, project, project, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, first + 1) as FlowRow[];
    return pageOf(rows.map(toFlow), first, (f) => [f.name, f.id]);
  }

  async getFlowVersion(tenant: string, id: string): Promise<FlowVersionRecord | null> {
    const row = statement(this.db, 'SELECT * FROM flow_versions WHERE tenant = ? AND id = ?').get(tenant, id) as FlowVersionRow | undefined;
    return row ? toFlowVersion(row) : null;
  }

  async getLatestFlowVersion(tenant: string, flowId: string): Promise<FlowVersionRecord | null> {
    const row = statement(this.db, 'SELECT * FROM flow_versions WHERE tenant = ? AND flow_id = ? ORDER BY number DESC LIMIT 1')
      .get(tenant, flowId) as FlowVersionRow | undefined;
    return row ? toFlowVersion(row) : null;
  }

  async listFlowVersions(tenant: string, flowId: string, page: PageRequest): Promise<Page<FlowVersionRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = statement(this.db, 
        `SELECT * FROM flow_versions WHERE tenant = ? AND flow_id = ? AND (? IS NULL OR number < ?)
         ORDER BY number DESC LIMIT ?`,
      )
      .all(tenant, flowId, after?.[0] ?? null, after?.[0] ?? null, first + 1) as FlowVersionRow[];
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

  async createScheduledRuns(...args: Parameters<Store['createScheduledRuns']>): Promise<FlowRunRecord[]> {
    return schedules.createScheduledRuns(this.db, ...args);
  }

  async createFlowRun(tenant: string, input: Parameters<Store['createFlowRun']>[1]) {
    return runWrites.createFlowRun(this.db, tenant, input);
  }

  async getFlowRun(tenant: string, id: string): Promise<FlowRunRecord | null> {
    const row = statement(this.db, 'SELECT * FROM flow_runs WHERE tenant = ? AND id = ?').get(tenant, id) as FlowRunRow | undefined;
    return row ? toFlowRun(row) : null;
  }

  async getFlowRuns(tenant: string, ids: string[]): Promise<FlowRunRecord[]> {
    if (ids.length === 0) return [];
    const rows = statement(this.db, 'SELECT * FROM flow_runs WHERE tenant = ? AND id IN (SELECT value FROM json_each(?))')
      .all(tenant, JSON.stringify(ids)) as FlowRunRow[];
    return rows.map(toFlowRun);
  }

  async listFlowRuns(tenant: string, filter: FlowRunFilter, page: PageRequest): Promise<Page<FlowRunRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    // A label filter walks flow_run_labels (migration 003), kept in the same keyset order, and reads
    // only the runs it points at; json_each over every run's labels read the whole history instead.
    const byLabel = Boolean(filter.label);
    const [created, id] = byLabel ? ['l.created_at', 'l.flow_run_id'] : ['r.created_at', 'r.id'];
    const where = [byLabel ? 'l.tenant = ?' : 'r.tenant = ?'];
    const args: unknown[] = [tenant];
    if (byLabel) (where.push('l.label = ?'), args.push(filter.label));
    if (filter.flowId) (where.push('r.flow_id = ?'), args.push(filter.flowId));
    if (filter.states?.length) (where.push(`r.state IN (${filter.states.map(() => '?').join(', ')})`), args.push(...filter.states));
    if (filter.createdAfter != null) (where.push(`${created} >= ?`), args.push(filter.createdAfter));
    if (filter.createdBefore != null) (where.push(`${created} < ?`), args.push(filter.createdBefore));
    if (after) (where.push(`(${created}, ${id}) < (?, ?)`), args.push(after[0], after[1]));
    const from = byLabel ? 'flow_run_labels l JOIN flow_runs r ON r.id = l.flow_run_id' : 'flow_runs r';
    const rows = statement(this.db, `SELECT r.* FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${created} DESC, ${id} DESC LIMIT ?`)
      .all(...args, first + 1) as FlowRunRow[];
    return pageOf(rows.map(toFlowRun), first, (r) => [r.createdAt, r.id]);
  }

  async nextScheduledAt(tenant: string): Promise<number | null> {
    const row = statement(this.db, `SELECT MIN(scheduled_at) AS at FROM flow_runs WHERE tenant = ? AND state = 'SCHEDULED'`)
      .get(tenant) as { at: number | null };
    return row.at;
  }

  async claimFlowRuns(
    tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number, onSkipped?: (runs: FlowRunRecord[]) => void,
    requestId?: string | null,
  ) {
    return runWrites.claimFlowRuns(this.db, tenant, agent, labels, max, leaseMs, onSkipped, requestId ?? null);
  }

  async setFlowRunState(tenant: string, write: Parameters<Store['setFlowRunState']>[1]) {
    return runWrites.setFlowRunState(this.db, tenant, write);
  }

  async setFlowRunStateWithBatch(...args: Parameters<Store['setFlowRunStateWithBatch']>) {
    return setFlowRunStateWithBatch(this.db, ...args);
  }

  async cancelFlowRun(tenant: string, id: string, actor: string) {
    return runWrites.cancelFlowRun(this.db, tenant, id, actor);
  }

  async setTaskRunStates(...args: Parameters<Store['setTaskRunStates']>) {
    return runWrites.setTaskRunStates(this.db, ...args);
  }

  async writeLogs(...args: Parameters<Store['writeLogs']>) {
    return runWrites.writeLogs(this.db, ...args);
  }

  async deliverLateEntries(...args: Parameters<Store['deliverLateEntries']>) {
    return deliverLateEntries(this.db, ...args);
  }

  async restartFlowRun(tenant: string, id: string, actor: string) {
    return restart.restartFlowRun(this.db, tenant, id, actor);
  }

  async listStoredResults(tenant: string, flowRunId: string) {
    return restart.listStoredResults(this.db, tenant, flowRunId);
  }

  async heartbeat(...args: Parameters<Store['heartbeat']>) {
    return runWrites.heartbeat(this.db, ...args);
  }

  async reapExpiredLeases(actor: string) {
    return runWrites.reapExpiredLeases(this.db, actor);
  }

  async listTaskRuns(tenant: string, flowRunId: string, page?: PageRequest): Promise<TaskRunRecord[]> {
    if (page === undefined) {
      return (statement(this.db, 'SELECT * FROM task_runs WHERE tenant = ? AND flow_run_id = ? ORDER BY started_at, id').all(tenant, flowRunId) as TaskRunRow[]).map(toTaskRun);
    }
    const first = pageSize(page.first, MAX_TASK_RUN_PAGE);
    if (!page.after) {
      return (statement(this.db, 'SELECT * FROM task_runs WHERE tenant = ? AND flow_run_id = ? ORDER BY started_at, id LIMIT ?').all(tenant, flowRunId, first) as TaskRunRow[]).map(toTaskRun);
    }
    const cursor = statement(this.db, 'SELECT started_at, id FROM task_runs WHERE id = ? AND tenant = ? AND flow_run_id = ?').get(page.after, tenant, flowRunId) as
      | { started_at: number | null; id: string }
      | undefined;
    if (cursor === undefined) throw new FluxoError('BAD_USER_INPUT', `"after" must be the id of one of this run's task runs, got ${JSON.stringify(page.after)}`);
    // Keyset on task_runs_by_start (migration 12): a deep page of a mapped run costs what the first does.
    const rows = statement(this.db, 'SELECT * FROM task_runs WHERE tenant = ? AND flow_run_id = ? AND (started_at, id) > (?, ?) ORDER BY started_at, id LIMIT ?')
      .all(tenant, flowRunId, cursor.started_at, cursor.id, first) as TaskRunRow[];
    return rows.map(toTaskRun);
  }

  async listStateTransitions(tenant: string, flowRunId: string, taskRunId: string | null): Promise<StateTransitionRecord[]> {
    const rows = statement(this.db, 'SELECT * FROM state_transitions WHERE tenant = ? AND flow_run_id = ? AND task_run_id IS ? ORDER BY id')
      .all(tenant, flowRunId, taskRunId) as StateTransitionRow[];
    return rows.map(toStateTransition);
  }

  async listLogs(tenant: string, flowRunId: string, page: PageRequest): Promise<Page<LogRecord>> {
    const first = pageSize(page.first, 5000);
    const after = page.after ? Number(page.after) : 0;
    if (!Number.isSafeInteger(after) || after < 0) throw new FluxoError('BAD_USER_INPUT', `"after" must be a log id, got ${page.after}`);
    const rows = statement(this.db, 'SELECT * FROM logs WHERE flow_run_id = ? AND tenant = ? AND id > ? ORDER BY id LIMIT ?')
      .all(flowRunId, tenant, after, first + 1) as LogRow[];
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
    const row = statement(this.db, 'SELECT * FROM agents WHERE tenant = ? AND id = ?').get(tenant, id) as AgentRow | undefined;
    return row ? toAgent(row) : null;
  }

  async listAgents(tenant: string, page: PageRequest): Promise<Page<AgentRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = statement(this.db, 'SELECT * FROM agents WHERE tenant = ? AND (? IS NULL OR (name, id) > (?, ?)) ORDER BY name, id LIMIT ?')
      .all(tenant, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, first + 1) as AgentRow[];
    return pageOf(rows.map(toAgent), first, (a) => [a.name, a.id]);
  }

  async countLeasedRuns(tenant: string): Promise<Map<string, number>> {
    const rows = statement(this.db, 
        `SELECT agent_id, COUNT(*) AS n FROM flow_runs WHERE tenant = ? AND lease_expires_at IS NOT NULL
           AND state IN ${sqlStateList(leasedStates)} GROUP BY agent_id`,
      )
      .all(tenant) as { agent_id: string; n: number }[];
    return new Map(rows.map((r) => [r.agent_id, r.n]));
  }

  async listTenantRetention(): Promise<TenantRetention[]> {
    return retention.listTenantRetention(this.db);
  }

  async setTenantRetention(tenant: string, retentionDays: number | null): Promise<void> {
    retention.setTenantRetention(this.db, tenant, retentionDays);
  }

  async countPrunableRuns(tenant: string, endedBefore: number): Promise<PruneCounts> {
    return retention.countPrunableRuns(this.db, tenant, endedBefore);
  }

  async pruneFinishedRuns(tenant: string, endedBefore: number, limit: number): Promise<PruneCounts> {
    return retention.pruneFinishedRuns(this.db, tenant, endedBefore, limit);
  }

  /** One process is the database's only server: nothing to hear from others. */
  watchChanges(): ChangeWatch {
    return { close: async () => {} };
  }

  electLeader(options: LeaderElectionOptions): LeaderElection {
    return soleLeader(options);
  }
}
