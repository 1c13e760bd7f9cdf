// Schedules in SQLite: the operator's switch (flow_schedules), the scheduler's fill marks
// (schedule_clocks) and the runs it materialises (flow_runs with a clock_key), migration 006.
// Every write is one write transaction; this process is the database's only writer, so a pause,
// a registration and a fill never interleave.
import type { Database } from 'better-sqlite3';
import { newId } from '../../../common/ids.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import type { FlowRunRecord, FlowScheduleRecord, FlowVersionRecord, ScheduleState } from '../records.js';
import type { DueSchedule, FlowScheduleFilter, NewFlowVersion, NewScheduledRun, Page, PageRequest, Store } from '../store.js';
import { NOW_MS, toFlowRun, toFlowSchedule, toFlowVersion, type FlowRunRow, type FlowScheduleRow, type FlowVersionRow } from './rows.js';
import { statement } from './statements.js';

/** The scheduler's actor in state histories. */
const SCHEDULER = 'server:scheduler';

const nowMs = (db: Database): number => (statement(db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;

const LATEST_VERSION = 'SELECT * FROM flow_versions WHERE flow_id = ? ORDER BY number DESC LIMIT 1';

/**
 * The flow's refill time: the earliest over its current clocks, 0 for a clock never filled (due at
 * once), null without clocks. Kept on flow_schedules so listDueSchedules is one index range scan.
 */
function updateRefillAt(db: Database, flowId: string): void {
  statement(db, `
    UPDATE flow_schedules SET refill_at = (
      SELECT MIN(COALESCE(c.refill_at, 0)) FROM json_each(flow_schedules.clock_keys) AS k
      LEFT JOIN schedule_clocks c ON c.flow_id = flow_schedules.flow_id AND c.clock_key = k.value)
    WHERE flow_id = ?`).run(flowId);
}

/**
 * Deletes the flow's runs the scheduler created that no agent has touched: SCHEDULED, unclaimed,
 * first attempt, with a clock key (`where` narrows further), with their state history and label
 * rows. Runs that started, finished, retried, or came from a user or a backfill are never touched.
 * The conditions repeat flow_runs_scheduler_queue's WHERE, so SQLite walks that partial index.
 */
function deleteSchedulerRuns(db: Database, flowId: string, where: string, ...args: unknown[]): number {
  const ids = (statement(db, `
    SELECT id FROM flow_runs WHERE flow_id = ? AND state = 'SCHEDULED' AND clock_key IS NOT NULL
      AND agent_id IS NULL AND attempt = 1 AND ${where}`).all(flowId, ...args) as { id: string }[]).map((r) => r.id);
  if (ids.length === 0) return 0;
  const list = JSON.stringify(ids);
  statement(db, 'DELETE FROM state_transitions WHERE flow_run_id IN (SELECT value FROM json_each(?))').run(list);
  // By the label table's key, from the runs' own labels: the table has no index on flow_run_id.
  statement(db, `DELETE FROM flow_run_labels WHERE (tenant, label, created_at, flow_run_id) IN (
    SELECT r.tenant, l.value, r.created_at, r.id FROM flow_runs r, json_each(r.labels) AS l WHERE r.id IN (SELECT value FROM json_each(?)))`).run(list);
  return statement(db, 'DELETE FROM flow_runs WHERE id IN (SELECT value FROM json_each(?))').run(list).changes;
}

/**
 * Registration's part in schedules, inside registerFlowVersion's transaction after a new version
 * (`versionId`) was inserted: creates the switch the first time the flow declares clocks, records
 * the new clock keys, and when they differ from the previous version's removes the scheduler's
 * untouched runs and fill marks of the clocks that are gone. The untouched runs of the clocks
 * that stay move to the new version (see {@link moveSchedulerRuns}).
 */
export function applyVersionClocks(
  db: Database, tenant: string, flow: { id: string; project: string; name: string }, input: NewFlowVersion, versionId: string,
  previous: FlowVersionRecord | null,
): void {
  const keys = [...new Set(input.clocks.map((c) => c.key))];
  const exists = statement(db, 'SELECT 1 FROM flow_schedules WHERE flow_id = ?').get(flow.id) !== undefined;
  if (!exists && keys.length > 0) {
    statement(db, `INSERT INTO flow_schedules (flow_id, tenant, project_name, flow_name, state, clock_keys) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(flow.id, tenant, flow.project, flow.name, input.scheduleState, JSON.stringify(keys));
  } else if (exists) {
    statement(db, 'UPDATE flow_schedules SET clock_keys = ? WHERE flow_id = ?').run(JSON.stringify(keys), flow.id);
  }
  const before = new Set(previous?.clocks.map((c) => c.key) ?? []);
  const changed = before.size !== keys.length || keys.some((k) => !before.has(k));
  if (changed && before.size > 0) {
    const list = JSON.stringify(keys);
    deleteSchedulerRuns(db, flow.id, 'clock_key NOT IN (SELECT value FROM json_each(?))', list);
    statement(db, 'DELETE FROM schedule_clocks WHERE flow_id = ? AND clock_key NOT IN (SELECT value FROM json_each(?))').run(flow.id, list);
  }
  moveSchedulerRuns(db, flow.id, input, versionId);
  if (exists || keys.length > 0) updateRefillAt(db, flow.id);
}

/**
 * Points the untouched scheduler runs of the clocks a new version keeps at that version, with the
 * labels it gives them (the clock's, else the version's defaults): a fix registered at 02:50 runs
 * at 03:00, rather than the code the run was materialised with an hour earlier. Moving keeps each
 * run's id, time and idempotency key, so nothing is missed or created twice; deleting and refilling
 * could lose a run due between the registration and the next fill under SKIP. Runs a user or a
 * backfill created keep the version they were created with.
 */
function moveSchedulerRuns(db: Database, flowId: string, input: NewFlowVersion, versionId: string): void {
  const runs = `SELECT id FROM flow_runs WHERE flow_id = ? AND state = 'SCHEDULED' AND clock_key IS NOT NULL AND clock_key = ? AND agent_id IS NULL AND attempt = 1`;
  for (const clock of new Map(input.clocks.map((c) => [c.key, c])).values()) {
    const labels = JSON.stringify(clock.labels ?? input.defaultLabels);
    // The label filter's rows follow the labels (migration 003): out with the old, in with the new.
    statement(db, `DELETE FROM flow_run_labels WHERE (tenant, label, created_at, flow_run_id) IN (
      SELECT r.tenant, l.value, r.created_at, r.id FROM flow_runs r, json_each(r.labels) AS l WHERE r.id IN (${runs}) AND r.labels <> ?)`)
      .run(flowId, clock.key, labels);
    statement(db, `UPDATE flow_runs SET flow_version_id = ?, labels = ? WHERE id IN (${runs})`).run(versionId, labels, flowId, clock.key);
    statement(db, `INSERT OR IGNORE INTO flow_run_labels (tenant, label, created_at, flow_run_id)
      SELECT r.tenant, l.value, r.created_at, r.id FROM flow_runs r, json_each(r.labels) AS l WHERE r.id IN (${runs})`).run(flowId, clock.key);
  }
}

export function findKnownBundles(db: Database, tenant: string, sha256s: string[]): { sha256: string; storageUri: string }[] {
  if (sha256s.length === 0) return [];
  // The newest version's location per digest (SQLite takes the bare column from the MAX row).
  const rows = statement(db, `
    SELECT sha256, storage_uri, MAX(created_at) AS at FROM flow_versions
    WHERE tenant = ? AND sha256 IN (SELECT value FROM json_each(?)) GROUP BY sha256 ORDER BY sha256`)
    .all(tenant, JSON.stringify([...new Set(sha256s)])) as { sha256: string; storage_uri: string }[];
  return rows.map((r) => ({ sha256: r.sha256, storageUri: r.storage_uri }));
}

/** Epoch ms of the flow's earliest SCHEDULED scheduler run due after `now` (flow_runs_scheduler_queue). */
function nextRunAt(db: Database, flowId: string, now: number): number | null {
  return (statement(db, `SELECT MIN(scheduled_at) AS at FROM flow_runs WHERE flow_id = ? AND state = 'SCHEDULED' AND clock_key IS NOT NULL AND scheduled_at > ?`)
    .get(flowId, now) as { at: number | null }).at;
}

/** The record of a schedule row, or null when the flow's latest version declares no clocks. */
function scheduleOf(db: Database, row: FlowScheduleRow, now: number): FlowScheduleRecord | null {
  if (row.clock_keys === '[]') return null;
  const version = statement(db, LATEST_VERSION).get(row.flow_id) as FlowVersionRow | undefined;
  if (!version) return null;
  return toFlowSchedule(row, toFlowVersion(version), nextRunAt(db, row.flow_id, now));
}

export function getFlowSchedule(db: Database, tenant: string, flowId: string): FlowScheduleRecord | null {
  const row = statement(db, 'SELECT * FROM flow_schedules WHERE tenant = ? AND flow_id = ?').get(tenant, flowId) as FlowScheduleRow | undefined;
  return row ? scheduleOf(db, row, nowMs(db)) : null;
}

export function listFlowSchedules(db: Database, tenant: string, filter: FlowScheduleFilter, page: PageRequest): Page<FlowScheduleRecord> {
  const first = pageSize(page.first);
  const after = decodeCursor(page.after);
  const where = ['tenant = ?', `clock_keys <> '[]'`];
  const args: unknown[] = [tenant];
  if (filter.project) (where.push('project_name = ?'), args.push(filter.project));
  if (filter.state) (where.push('state = ?'), args.push(filter.state));
  if (after) (where.push('(project_name, flow_name) > (?, ?)'), args.push(String(after[0]), after[1]));
  // Walks flow_schedules_by_name in page order.
  const rows = statement(db, `SELECT * FROM flow_schedules WHERE ${where.join(' AND ')} ORDER BY project_name, flow_name LIMIT ?`)
    .all(...args, first + 1) as FlowScheduleRow[];
  const now = nowMs(db);
  const keyed = rows.flatMap((row) => {
    const record = scheduleOf(db, row, now);
    return record ? [{ row, record }] : [];
  });
  const paged = pageOf(keyed, first, ({ row }) => [row.project_name, row.flow_name]);
  return { ...paged, nodes: paged.nodes.map((n) => n.record) };
}

export function setScheduleState(db: Database, tenant: string, flowId: string, state: ScheduleState, actor: string): FlowScheduleRecord | null {
  return db.transaction(() => {
    const row = statement(db, 'SELECT * FROM flow_schedules WHERE tenant = ? AND flow_id = ?').get(tenant, flowId) as FlowScheduleRow | undefined;
    if (!row || row.clock_keys === '[]') return null;
    const now = nowMs(db);
    if (row.state === state) return scheduleOf(db, row, now);
    if (state === 'PAUSED') {
      // Future runs go; runs already due stay (they wait for an agent). The marks come down to
      // now so that a resume under CATCH_UP sees the paused stretch as missed.
      deleteSchedulerRuns(db, flowId, 'scheduled_at > ?', now);
      statement(db, 'UPDATE schedule_clocks SET filled_through = MIN(filled_through, ?) WHERE flow_id = ?').run(now, flowId);
    } else {
      const version = statement(db, LATEST_VERSION).get(flowId) as FlowVersionRow;
      // SKIP: the paused stretch is not owed, so no burst of missed runs. Either way look again now.
      if (version.missed_runs === 'SKIP') statement(db, 'UPDATE schedule_clocks SET filled_through = MAX(filled_through, ?) WHERE flow_id = ?').run(now, flowId);
      statement(db, 'UPDATE schedule_clocks SET refill_at = MIN(refill_at, ?) WHERE flow_id = ?').run(now, flowId);
      updateRefillAt(db, flowId);
    }
    statement(db, 'UPDATE flow_schedules SET state = ?, state_changed_at = ?, state_changed_by = ? WHERE flow_id = ?').run(state, now, actor, flowId);
    return scheduleOf(db, statement(db, 'SELECT * FROM flow_schedules WHERE flow_id = ?').get(flowId) as FlowScheduleRow, now);
  }).immediate();
}

export function listDueSchedules(db: Database, now: number, limit: number): DueSchedule[] {
  // A range scan of flow_schedules_due (its WHERE repeated word for word), most overdue first.
  const rows = statement(db, `SELECT * FROM flow_schedules WHERE state = 'ACTIVE' AND refill_at <= ? ORDER BY refill_at, flow_id LIMIT ?`)
    .all(now, limit) as FlowScheduleRow[];
  if (rows.length === 0) return [];
  const marks = statement(db, 'SELECT flow_id, clock_key, filled_through FROM schedule_clocks WHERE flow_id IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(rows.map((r) => r.flow_id))) as { flow_id: string; clock_key: string; filled_through: number }[];
  const byFlow = new Map<string, Map<string, number>>();
  for (const m of marks) {
    let map = byFlow.get(m.flow_id);
    if (!map) byFlow.set(m.flow_id, (map = new Map()));
    map.set(m.clock_key, m.filled_through);
  }
  const latest = statement(db, LATEST_VERSION);
  return rows.flatMap((row) => {
    const version = latest.get(row.flow_id) as FlowVersionRow | undefined;
    if (!version) return [];
    return [{ tenant: row.tenant, flowId: row.flow_id, version: toFlowVersion(version), filledThrough: byFlow.get(row.flow_id) ?? new Map<string, number>() }];
  });
}

type Filled = Parameters<Store['createScheduledRuns']>[1][number];

export function createScheduledRuns(db: Database, runs: NewScheduledRun[], filled: Filled[]): FlowRunRecord[] {
  return db.transaction(() => {
    const now = nowMs(db);
    // Which clocks of which flows still take runs: the schedule is ACTIVE and the latest version
    // has the clock. A pause or a registration that committed first wins; its runs and marks are dropped.
    const open = new Map<string, Set<string> | null>();
    const clocksOf = (tenant: string, flowId: string): Set<string> | null => {
      const id = `${tenant}\u0000${flowId}`;
      if (!open.has(id)) {
        const row = statement(db, 'SELECT state, clock_keys FROM flow_schedules WHERE tenant = ? AND flow_id = ?').get(tenant, flowId) as
          { state: string; clock_keys: string } | undefined;
        open.set(id, row?.state === 'ACTIVE' ? new Set(JSON.parse(row.clock_keys) as string[]) : null);
      }
      return open.get(id) ?? null;
    };
    const insert = statement(db, `
      INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority,
        idempotency_key, clock_key, scheduled_at, created_at)
      VALUES (?, ?, ?, ?, 'SCHEDULED', 1, 1, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (tenant, idempotency_key) DO NOTHING
      RETURNING *`);
    const label = statement(db, 'INSERT OR IGNORE INTO flow_run_labels (tenant, label, created_at, flow_run_id) SELECT ?, value, ?, ? FROM json_each(?)');
    const transition = statement(db, `
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, actor, attempt, at)
      VALUES (?, ?, NULL, NULL, 'SCHEDULED', '${SCHEDULER}', 1, ?)`);
    const created: FlowRunRecord[] = [];
    for (const run of runs) {
      if (!clocksOf(run.tenant, run.flowId)?.has(run.clockKey)) continue;
      const id = newId();
      const labels = JSON.stringify(run.labels);
      const row = insert.get(id, run.tenant, run.flowId, run.flowVersionId, JSON.stringify(run.parameters ?? null), labels, run.priority,
        run.idempotencyKey, run.clockKey, run.scheduledAt, now) as FlowRunRow | undefined;
      // No row: the key exists (an earlier fill, or a restart of this one).
      if (!row) continue;
      if (run.labels.length > 0) label.run(run.tenant, now, id, labels);
      transition.run(run.tenant, id, now);
      created.push(toFlowRun(row));
    }
    const mark = statement(db, `
      INSERT INTO schedule_clocks (flow_id, clock_key, tenant, filled_through, refill_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (flow_id, clock_key) DO UPDATE SET filled_through = excluded.filled_through, refill_at = excluded.refill_at`);
    const touched = new Set<string>();
    for (const f of filled) {
      if (!clocksOf(f.tenant, f.flowId)?.has(f.clockKey)) continue;
      mark.run(f.flowId, f.clockKey, f.tenant, f.filledThrough, f.refillAt);
      touched.add(f.flowId);
    }
    for (const flowId of touched) updateRefillAt(db, flowId);
    return created;
  }).immediate();
}
