// Schedules in PostgreSQL: the operator's switch (flow_schedules), the scheduler's fill marks
// (schedule_clocks) and the runs it materialises (flow_runs with a clock_key), migration 006.
//
// Locks, so a pause, a registration and a fill never interleave and never deadlock: a writer that
// changes what a flow's schedule may create locks its flow_schedules row for the transaction. A
// registration holds the flow's row FOR UPDATE first (flow-registration.ts); a fill therefore
// takes its flows' rows FOR KEY SHARE (the lock its run inserts' foreign key would take anyway)
// before their schedule rows, both in flow id order, so the two always lock in the same order.
import { newId } from '../../../common/ids.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import type { FlowRunRecord, FlowScheduleRecord, FlowVersionRecord, ScheduleState } from '../records.js';
import type { DueSchedule, FlowScheduleFilter, NewFlowVersion, NewScheduledRun, Page, PageRequest, Store } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { columnsOf, pgText, toFlowRun, toFlowSchedule, toFlowVersion, type FlowRunRow, type FlowScheduleRow, type FlowVersionRow } from './rows.js';
import { join, NOW_MS, prepared, sql, type Sql } from './sql.js';

/** The scheduler's actor in state histories. */
const SCHEDULER = 'server:scheduler';

type Filled = Parameters<Store['createScheduledRuns']>[1][number];

/**
 * The flows' refill time: the earliest over their current clocks, 0 for a clock never filled (due
 * at once), null without clocks. Kept on flow_schedules so listDueSchedules is one index range scan.
 */
async function updateRefillAt(tx: Executor, flowIds: string[]): Promise<void> {
  await tx.rows(sql`
    UPDATE flow_schedules s SET refill_at = (
      SELECT MIN(COALESCE(c.refill_at, 0)) FROM unnest(s.clock_keys) AS k(key)
      LEFT JOIN schedule_clocks c ON c.flow_id = s.flow_id AND c.clock_key = k.key)
    WHERE s.flow_id = ANY(${flowIds}::text[])`);
}

/**
 * Deletes the flow's runs the scheduler created that no agent has touched: SCHEDULED, unclaimed,
 * first attempt, with a clock key (`where` narrows further), with their state history and label
 * rows, through flow_runs_scheduler_queue. A run an agent is claiming right now is locked by the
 * claim; the delete waits, re-reads it as SUBMITTED and leaves it.
 */
async function deleteSchedulerRuns(tx: Executor, flowId: string, where: Sql): Promise<number> {
  const row = await tx.row<{ n: number }>(sql`
    WITH gone AS (
      DELETE FROM flow_runs WHERE flow_id = ${flowId} AND state = 'SCHEDULED' AND clock_key IS NOT NULL
        AND agent_id IS NULL AND attempt = 1 AND ${where}
      RETURNING id, tenant, labels, created_at
    ),
    history AS (DELETE FROM state_transitions WHERE flow_run_id IN (SELECT id FROM gone)),
    labelled AS (
      DELETE FROM flow_run_labels l USING gone, unnest(gone.labels) AS x(label)
      WHERE l.tenant = gone.tenant AND l.label = x.label AND l.created_at = gone.created_at AND l.flow_run_id = gone.id
    )
    SELECT COUNT(*) AS n FROM gone`);
  return row?.n ?? 0;
}

/**
 * Registration's part in schedules, inside registerFlowVersion's transaction (the flow's row
 * locked) after a new version (`versionId`) was inserted: creates the switch the first time the
 * flow declares clocks, records the new clock keys, and when they differ from the previous
 * version's removes the scheduler's untouched runs and fill marks of the clocks that are gone. The
 * untouched runs of the clocks that stay move to the new version (see {@link moveSchedulerRuns}).
 */
export async function applyVersionClocks(
  tx: Executor, tenant: string, flow: { id: string; project: string; name: string }, input: NewFlowVersion, versionId: string,
  previous: FlowVersionRecord | null,
): Promise<void> {
  const keys = [...new Set(input.clocks.map((c) => c.key))];
  // The schedule row's lock comes before the deletes: a fill holding it commits first, and its runs are then deleted too.
  const schedule = keys.length > 0
    ? await tx.row(sql`
        INSERT INTO flow_schedules (flow_id, tenant, project_name, flow_name, state, clock_keys)
        VALUES (${flow.id}, ${tenant}, ${flow.project}, ${flow.name}, ${input.scheduleState}, ${keys}::text[])
        ON CONFLICT (flow_id) DO UPDATE SET clock_keys = EXCLUDED.clock_keys
        RETURNING flow_id`)
    : await tx.row(sql`UPDATE flow_schedules SET clock_keys = '{}' WHERE flow_id = ${flow.id} RETURNING flow_id`);
  const before = new Set(previous?.clocks.map((c) => c.key) ?? []);
  const changed = before.size !== keys.length || keys.some((k) => !before.has(k));
  if (changed && before.size > 0) {
    await deleteSchedulerRuns(tx, flow.id, sql`NOT (clock_key = ANY(${keys}::text[]))`);
    await tx.rows(sql`DELETE FROM schedule_clocks WHERE flow_id = ${flow.id} AND NOT (clock_key = ANY(${keys}::text[]))`);
  }
  if (keys.length > 0) await moveSchedulerRuns(tx, flow.id, input, versionId);
  if (schedule) await updateRefillAt(tx, [flow.id]);
}

/**
 * Points the untouched scheduler runs of the clocks a new version keeps at that version, with the
 * labels it gives them (the clock's, else the version's defaults): a fix registered at 02:50 runs
 * at 03:00, rather than the code the run was materialised with an hour earlier. Moving keeps each
 * run's id, time and idempotency key, so nothing is missed or created twice; deleting and refilling
 * could lose a run due between the registration and the next fill under SKIP. Runs a user or a
 * backfill created keep their version. The conditions are on the updated row itself, so a run a
 * claim takes meanwhile is re-checked after the claim's lock and left alone.
 */
async function moveSchedulerRuns(tx: Executor, flowId: string, input: NewFlowVersion, versionId: string): Promise<void> {
  const clocks = [...new Map(input.clocks.map((c) => [c.key, c])).values()];
  await tx.rows(sql`
    WITH target AS (
      SELECT * FROM unnest(${clocks.map((c) => c.key)}::text[], ${clocks.map((c) => JSON.stringify(c.labels ?? input.defaultLabels))}::text[])
        AS t(clock_key, labels)
    ),
    moved AS (
      UPDATE flow_runs r SET flow_version_id = ${versionId}, labels = ARRAY(SELECT json_array_elements_text(target.labels::json))
      FROM flow_runs previous, target
      WHERE r.flow_id = ${flowId} AND r.state = 'SCHEDULED' AND r.clock_key IS NOT NULL AND r.clock_key = target.clock_key
        AND r.agent_id IS NULL AND r.attempt = 1 AND previous.id = r.id
      RETURNING r.id, r.tenant, r.created_at, r.labels, previous.labels AS old_labels
    ),
    unlabelled AS (
      DELETE FROM flow_run_labels l USING moved, unnest(moved.old_labels) AS x(label)
      WHERE x.label <> ALL(moved.labels) AND l.tenant = moved.tenant AND l.label = x.label AND l.created_at = moved.created_at AND l.flow_run_id = moved.id
    )
    INSERT INTO flow_run_labels (tenant, label, created_at, flow_run_id)
    SELECT DISTINCT moved.tenant, x.label, moved.created_at, moved.id FROM moved, unnest(moved.labels) AS x(label)
    WHERE x.label <> ALL(moved.old_labels)
    ON CONFLICT DO NOTHING`);
}

export async function findKnownBundles(db: PgDatabase, tenant: string, sha256s: string[]): Promise<{ sha256: string; storageUri: string }[]> {
  if (sha256s.length === 0) return [];
  // The newest version's location per digest.
  const rows = await db.rows<{ sha256: string; storage_uri: string }>(sql`
    SELECT DISTINCT ON (sha256) sha256, storage_uri FROM flow_versions
    WHERE tenant = ${tenant} AND sha256 = ANY(${[...new Set(sha256s)]}::text[])
    ORDER BY sha256, created_at DESC`);
  return rows.map((r) => ({ sha256: r.sha256, storageUri: r.storage_uri }));
}

type ScheduleRowWithNext = FlowScheduleRow & { next_run_at: number | null };

/** Schedule rows with the earliest SCHEDULED scheduler run due after now (flow_runs_scheduler_queue). */
const scheduleRows = (where: Sql, tail: Sql): Sql => sql`
  SELECT ${columnsOf('flow_schedules', 's')}, (
    SELECT MIN(r.scheduled_at) FROM flow_runs r
    WHERE r.flow_id = s.flow_id AND r.state = 'SCHEDULED' AND r.clock_key IS NOT NULL AND r.scheduled_at > (SELECT ${NOW_MS})) AS next_run_at
  FROM flow_schedules s WHERE ${where} ${tail}`;

/** The flows' latest versions, by flow id. */
async function latestVersions(db: Executor, flowIds: string[]): Promise<Map<string, FlowVersionRecord>> {
  if (flowIds.length === 0) return new Map();
  const rows = await db.rows<FlowVersionRow>(sql`
    SELECT v.* FROM unnest(${flowIds}::text[]) AS f(id)
    CROSS JOIN LATERAL (SELECT ${columnsOf('flow_versions')} FROM flow_versions WHERE flow_id = f.id ORDER BY number DESC LIMIT 1) v`);
  return new Map(rows.map((r) => [r.flow_id, toFlowVersion(r)]));
}

/** Records of schedule rows; rows whose latest version declares no clocks are left out. */
async function recordsOf(db: Executor, rows: ScheduleRowWithNext[]): Promise<{ row: ScheduleRowWithNext; record: FlowScheduleRecord }[]> {
  const withClocks = rows.filter((r) => r.clock_keys.length > 0);
  const versions = await latestVersions(db, withClocks.map((r) => r.flow_id));
  return withClocks.flatMap((row) => {
    const version = versions.get(row.flow_id);
    return version ? [{ row, record: toFlowSchedule(row, version, row.next_run_at) }] : [];
  });
}

export async function getFlowSchedule(db: Executor, tenant: string, flowId: string): Promise<FlowScheduleRecord | null> {
  const rows = await db.rows<ScheduleRowWithNext>(scheduleRows(sql`s.tenant = ${tenant} AND s.flow_id = ${flowId}`, sql``));
  return (await recordsOf(db, rows))[0]?.record ?? null;
}

export async function listFlowSchedules(db: PgDatabase, tenant: string, filter: FlowScheduleFilter, page: PageRequest): Promise<Page<FlowScheduleRecord>> {
  const first = pageSize(page.first);
  const after = decodeCursor(page.after);
  const where: Sql[] = [sql`s.tenant = ${tenant}`, sql`cardinality(s.clock_keys) > 0`];
  if (filter.project) where.push(sql`s.project_name = ${filter.project}`);
  if (filter.state) where.push(sql`s.state = ${filter.state}`);
  if (after) where.push(sql`(s.project_name, s.flow_name) > (${String(after[0])}::text, ${after[1]}::text)`);
  // Walks flow_schedules_by_name in page order.
  const rows = await db.rows<ScheduleRowWithNext>(scheduleRows(join(where, ' AND '), sql`ORDER BY s.project_name, s.flow_name LIMIT ${first + 1}`));
  const paged = pageOf(await recordsOf(db, rows), first, ({ row }) => [row.project_name, row.flow_name]);
  return { ...paged, nodes: paged.nodes.map((n) => n.record) };
}

export async function setScheduleState(db: PgDatabase, tenant: string, flowId: string, state: ScheduleState, actor: string): Promise<FlowScheduleRecord | null> {
  return db.transaction(async (tx) => {
    const locked = await tx.row<FlowScheduleRow & { now: number }>(sql`
      WITH locked AS (SELECT ${columnsOf('flow_schedules')} FROM flow_schedules WHERE tenant = ${tenant} AND flow_id = ${flowId} FOR NO KEY UPDATE)
      SELECT locked.*, ${NOW_MS} AS now FROM locked`);
    if (!locked || locked.clock_keys.length === 0) return null;
    const now = locked.now;
    if (locked.state !== state) {
      if (state === 'PAUSED') {
        // Future runs go; runs already due stay (they wait for an agent). The marks come down to
        // now so that a resume under CATCH_UP sees the paused stretch as missed.
        await deleteSchedulerRuns(tx, flowId, sql`scheduled_at > ${now}::bigint`);
        await tx.rows(sql`UPDATE schedule_clocks SET filled_through = LEAST(filled_through, ${now}::bigint) WHERE flow_id = ${flowId}`);
      } else {
        const version = (await latestVersions(tx, [flowId])).get(flowId);
        // SKIP: the paused stretch is not owed, so no burst of missed runs. Either way look again now.
        const skip = version?.missedRuns !== 'CATCH_UP';
        await tx.rows(sql`
          UPDATE schedule_clocks SET refill_at = LEAST(refill_at, ${now}::bigint),
            filled_through = CASE WHEN ${skip}::boolean THEN GREATEST(filled_through, ${now}::bigint) ELSE filled_through END
          WHERE flow_id = ${flowId}`);
        await updateRefillAt(tx, [flowId]);
      }
      await tx.rows(sql`UPDATE flow_schedules SET state = ${state}, state_changed_at = ${now}::bigint, state_changed_by = ${actor} WHERE flow_id = ${flowId}`);
    }
    return getFlowSchedule(tx, tenant, flowId);
  });
}

export async function listDueSchedules(db: PgDatabase, now: number, limit: number): Promise<DueSchedule[]> {
  // A range scan of flow_schedules_due, most overdue first, with each flow's latest version.
  const rows = await db.rows<FlowVersionRow & { schedule_tenant: string }>(prepared('list-due-schedules', sql`
    SELECT s.tenant AS schedule_tenant, v.* FROM (
      SELECT flow_id, tenant, refill_at FROM flow_schedules WHERE state = 'ACTIVE' AND refill_at <= ${now}::bigint
      ORDER BY refill_at, flow_id LIMIT ${limit}::integer
    ) s
    CROSS JOIN LATERAL (SELECT ${columnsOf('flow_versions')} FROM flow_versions WHERE flow_id = s.flow_id ORDER BY number DESC LIMIT 1) v
    ORDER BY s.refill_at, s.flow_id`));
  if (rows.length === 0) return [];
  const marks = await db.rows<{ flow_id: string; clock_key: string; filled_through: number }>(sql`
    SELECT flow_id, clock_key, filled_through FROM schedule_clocks WHERE flow_id = ANY(${rows.map((r) => r.flow_id)}::text[])`);
  const byFlow = new Map<string, Map<string, number>>();
  for (const m of marks) {
    let map = byFlow.get(m.flow_id);
    if (!map) byFlow.set(m.flow_id, (map = new Map()));
    map.set(m.clock_key, m.filled_through);
  }
  return rows.map((r) => ({ tenant: r.schedule_tenant, flowId: r.flow_id, version: toFlowVersion(r), filledThrough: byFlow.get(r.flow_id) ?? new Map<string, number>() }));
}

export async function createScheduledRuns(db: PgDatabase, runs: NewScheduledRun[], filled: Filled[]): Promise<FlowRunRecord[]> {
  const flowIds = [...new Set([...runs.map((r) => r.flowId), ...filled.map((f) => f.flowId)])].sort();
  if (flowIds.length === 0) return [];
  return db.transaction(async (tx) => {
    await tx.rows(sql`SELECT id FROM flows WHERE id = ANY(${flowIds}::text[]) ORDER BY id FOR KEY SHARE`);
    const schedules = await tx.rows<{ flow_id: string; tenant: string; state: string; clock_keys: string[] }>(sql`
      SELECT flow_id, tenant, state, clock_keys FROM flow_schedules WHERE flow_id = ANY(${flowIds}::text[]) ORDER BY flow_id FOR NO KEY UPDATE`);
    // Which clocks of which flows still take runs: the schedule is ACTIVE and the latest version
    // has the clock. A pause or a registration that committed first wins; its runs and marks are dropped.
    const open = new Map(schedules.filter((s) => s.state === 'ACTIVE').map((s) => [`${s.tenant}\u0000${s.flow_id}`, new Set(s.clock_keys)]));
    const takes = (x: { tenant: string; flowId: string; clockKey: string }): boolean => open.get(`${x.tenant}\u0000${x.flowId}`)?.has(x.clockKey) ?? false;
    const accepted = runs.filter(takes);
    let created: FlowRunRow[] = [];
    if (accepted.length > 0) {
      // One statement for the whole batch: the runs, their first transitions and label rows; a key
      // that exists (an earlier fill, a restart, another replica) makes its run do nothing.
      created = await tx.rows<FlowRunRow>(prepared('create-scheduled-runs', sql`
        WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
        input AS (
          SELECT * FROM unnest(${accepted.map(() => newId())}::text[], ${accepted.map((r) => r.tenant)}::text[], ${accepted.map((r) => r.flowId)}::text[],
            ${accepted.map((r) => r.flowVersionId)}::text[], ${accepted.map((r) => JSON.stringify(r.parameters ?? null))}::text[],
            ${accepted.map((r) => JSON.stringify(r.labels))}::text[], ${accepted.map((r) => r.priority)}::integer[],
            ${accepted.map((r) => pgText(r.idempotencyKey))}::text[], ${accepted.map((r) => r.clockKey)}::text[], ${accepted.map((r) => r.scheduledAt)}::bigint[])
            AS i(id, tenant, flow_id, flow_version_id, parameters, labels, priority, idempotency_key, clock_key, scheduled_at)
        ),
        inserted AS (
          INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority,
            idempotency_key, clock_key, scheduled_at, created_at)
          SELECT i.id, i.tenant, i.flow_id, i.flow_version_id, 'SCHEDULED', 1, 1, i.parameters::json,
            ARRAY(SELECT json_array_elements_text(i.labels::json)), i.priority, i.idempotency_key, i.clock_key, i.scheduled_at, clock.now
          FROM input i, clock
          ON CONFLICT (tenant, idempotency_key) DO NOTHING
          RETURNING *
        ),
        recorded AS (
          INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, actor, attempt, at)
          SELECT tenant, id, NULL, 'SCHEDULED', ${SCHEDULER}::text, 1, created_at FROM inserted
        ),
        labelled AS (
          INSERT INTO flow_run_labels (tenant, label, created_at, flow_run_id)
          SELECT DISTINCT inserted.tenant, l.label, inserted.created_at, inserted.id FROM inserted, unnest(inserted.labels) AS l(label)
        )
        SELECT ${columnsOf('flow_runs')} FROM inserted ORDER BY scheduled_at, id`));
    }
    // The last mark given per clock wins (one row per clock in a single upsert).
    const marks = [...new Map(filled.filter(takes).map((m) => [`${m.flowId}\u0000${m.clockKey}`, m])).values()];
    if (marks.length > 0) {
      await tx.rows(prepared('mark-schedule-clocks', sql`
        INSERT INTO schedule_clocks (flow_id, clock_key, tenant, filled_through, refill_at)
        SELECT * FROM unnest(${marks.map((m) => m.flowId)}::text[], ${marks.map((m) => m.clockKey)}::text[],
          ${marks.map((m) => m.tenant)}::text[], ${marks.map((m) => m.filledThrough)}::bigint[], ${marks.map((m) => m.refillAt)}::bigint[])
          AS m(flow_id, clock_key, tenant, filled_through, refill_at)
        ON CONFLICT (flow_id, clock_key) DO UPDATE SET filled_through = EXCLUDED.filled_through, refill_at = EXCLUDED.refill_at`));
      await updateRefillAt(tx, [...new Set(marks.map((m) => m.flowId))]);
    }
    return created.map(toFlowRun);
  });
}
