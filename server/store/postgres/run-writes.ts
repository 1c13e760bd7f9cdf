// Writes to one flow run in PostgreSQL: create, compare-and-set, cancel, and the helpers every
// run write shares. A write either checks and writes in one UPDATE (the common state writes: the
// row lock of the UPDATE itself orders it against every other replica's write), or locks the run's
// row (`SELECT ... FOR UPDATE`) inside a transaction, checks version, lease and transition against
// the locked row, then updates it. Either way no other write can land between the check and the
// write, which is what SQLite's single writer gives.
import { FluxoError } from '../../../common/errors.js';
import { newId } from '../../../common/ids.js';
import { agentSourceStates, cancelTarget, decideStateWrite, endsAttempt, leasedStates, retryableStates, shouldRetry } from '../../core/transitions.js';
import type { FlowRunRecord, FlowRunStateType } from '../records.js';
import type { NewFlowRun, StateWrite } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { columnsOf, pgText, toFlowRun, type FlowRunRow } from './rows.js';
import { NOW_MS, prepared, raw, sql, type Sql } from './sql.js';

/** A run's row locked for this transaction, with the database time read after the lock and its version's retry policy. */
export interface LockedRun extends FlowRunRow {
  now: number;
  policy_retries: number;
  policy_retry_delay_seconds: number;
}

/**
 * Locks a run of `tenant` until the transaction ends; NOT_FOUND when there is none. The time is
 * read after the lock is granted (outside the locking CTE), so a write that waited behind another
 * one still checks its lease against the time it actually runs.
 */
export async function lockRun(tx: Executor, tenant: string, id: string): Promise<LockedRun> {
  const row = await tx.row<LockedRun>(sql`
    WITH locked AS (
      SELECT r.*, v.retries AS policy_retries, v.retry_delay_seconds AS policy_retry_delay_seconds
      FROM flow_runs r JOIN flow_versions v ON v.id = r.flow_version_id
      WHERE r.tenant = ${tenant} AND r.id = ${id}
      FOR UPDATE OF r
    )
    SELECT locked.*, ${NOW_MS} AS now FROM locked`);
  if (!row) throw new FluxoError('NOT_FOUND', `flow run ${id} not found`);
  return row;
}

/** Throws LEASE_LOST unless `leaseToken` is the live lease of a run an agent holds; returns the locked run. */
export async function assertLease(tx: Executor, tenant: string, flowRunId: string, leaseToken: string): Promise<LockedRun> {
  const row = await lockRun(tx, tenant, flowRunId);
  const live = row.lease_token === leaseToken && row.lease_expires_at !== null && row.lease_expires_at > row.now;
  if (!live || !leasedStates.includes(row.state as FlowRunStateType)) {
    throw new FluxoError('LEASE_LOST', `no live lease on flow run ${flowRunId} for this token; stop its process`);
  }
  return row;
}

export interface TransitionOf {
  from: string | null;
  reason?: string | null;
  message?: string | null;
  actor: string;
  at: number;
}

/**
 * Updates a run (`set` is the SET list) and records the transition to its new state in the same
 * statement; returns the updated row. The transition's attempt is the run's attempt after the update.
 */
export async function updateRun(tx: Executor, id: string, set: Sql, t: TransitionOf): Promise<FlowRunRow> {
  const row = await tx.row<FlowRunRow>(sql`
    WITH updated AS (UPDATE flow_runs SET ${set} WHERE id = ${id} RETURNING *),
    recorded AS (
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
      SELECT tenant, id, NULL, ${t.from}::text, state, ${pgText(t.reason ?? null)}::text, ${pgText(t.message ?? null)}::text,
        ${t.actor}::text, attempt, ${t.at}::bigint
      FROM updated
    )
    SELECT * FROM updated`);
  if (!row) throw new Error(`flow run ${id} vanished while locked`);
  return row;
}

/** After an attempt ends in a retryable state with retries left, schedules the next attempt (same transaction). */
export async function applyRetries(tx: Executor, row: FlowRunRow, policy: { retries: number; retryDelaySeconds: number }, now: number): Promise<FlowRunRow> {
  const state = row.state as FlowRunStateType;
  if (!shouldRetry(state, row.attempt, policy.retries)) return row;
  const next = row.attempt + 1;
  return updateRun(
    tx,
    row.id,
    sql`state = 'SCHEDULED', version = version + 1, attempt = ${next}, scheduled_at = ${now + policy.retryDelaySeconds * 1000},
        agent_id = NULL, lease_token = NULL, lease_expires_at = NULL, started_at = NULL, ended_at = NULL`,
    {
      from: state,
      reason: 'retry',
      message: `attempt ${next} of ${policy.retries + 1}, due in ${policy.retryDelaySeconds} s`,
      actor: 'server:retries',
      at: now,
    },
  );
}

export const policyOf = (row: LockedRun) => ({ retries: row.policy_retries, retryDelaySeconds: row.policy_retry_delay_seconds });

export async function createFlowRun(db: PgDatabase, tenant: string, input: NewFlowRun): Promise<{ run: FlowRunRecord; created: boolean }> {
  // One statement: the insert, its first transition, its rows in the label filter's index
  // (migration 003), and the idempotency check (the unique key makes a concurrent twin wait, then do nothing).
  const inserted = await db.row<FlowRunRow>(prepared('create-flow-run', sql`
    WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    inserted AS (
      INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority,
        idempotency_key, scheduled_at, created_at, rerun_of)
      SELECT ${newId()}::text, ${tenant}::text, ${input.flowId}::text, ${input.flowVersionId}::text, 'SCHEDULED', 1, 1,
        ${JSON.stringify(input.parameters ?? null)}::json, ${input.labels}::text[], ${input.priority}::integer,
        ${pgText(input.idempotencyKey)}::text, COALESCE(${input.scheduledAt}::bigint, clock.now), clock.now, ${input.rerunOf ?? null}::text
      FROM clock
      ON CONFLICT (tenant, idempotency_key) DO NOTHING
      RETURNING *
    ),
    recorded AS (
      INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, actor, attempt, at)
      SELECT tenant, id, NULL, 'SCHEDULED', ${input.actor}::text, 1, created_at FROM inserted
    ),
    labelled AS (
      INSERT INTO flow_run_labels (tenant, label, created_at, flow_run_id)
      SELECT DISTINCT inserted.tenant, l.label, inserted.created_at, inserted.id FROM inserted, unnest(inserted.labels) AS l(label)
    )
    SELECT ${columnsOf('flow_runs')} FROM inserted`));
  if (inserted) return { run: toFlowRun(inserted), created: true };
  const existing = await db.row<FlowRunRow>(sql`SELECT * FROM flow_runs WHERE tenant = ${tenant} AND idempotency_key = ${pgText(input.idempotencyKey)}`);
  if (!existing) throw new Error(`flow run with idempotency key "${input.idempotencyKey}" conflicted but cannot be read`);
  if (existing.flow_id !== input.flowId) {
    throw new FluxoError('IDEMPOTENCY_CONFLICT', `idempotency key "${input.idempotencyKey}" was already used for another flow`);
  }
  return { run: toFlowRun(existing), created: false };
}

/**
 * A state write that cannot schedule a retry (RUNNING, SUCCESS, CANCELLED: the agent's common
 * case) in one statement and one round trip instead of BEGIN, lock, update, COMMIT: the UPDATE's
 * WHERE is decideStateWrite's 'apply' case (lease token, live lease, version, allowed transition),
 * and PostgreSQL re-checks it on the newest row version when the row was locked by another writer,
 * with the clock read at that moment. `previous` is the row as the statement found it; requiring
 * its version to be the one being updated makes its state the state the write moves from. Returns
 * null when the row did not match (the caller finds out why).
 */
async function compareAndSetState(db: PgDatabase, tenant: string, write: StateWrite): Promise<FlowRunRow | null> {
  const running = write.state === 'RUNNING';
  const ends = endsAttempt(write.state);
  const reason = pgText(write.reason);
  const message = pgText(write.message);
  return (await db.row<FlowRunRow>(prepared('compare-and-set-flow-run-state', sql`
    WITH updated AS (
      UPDATE flow_runs r SET state = ${write.state}::text, state_reason = ${reason}::text, state_message = ${message}::text, version = r.version + 1,
        started_at = CASE WHEN ${running}::boolean THEN ${NOW_MS} ELSE r.started_at END,
        ended_at = CASE WHEN ${ends}::boolean THEN ${NOW_MS} ELSE r.ended_at END,
        lease_expires_at = CASE WHEN ${ends}::boolean THEN NULL ELSE r.lease_expires_at END,
        exit_code = COALESCE(${write.exitCode}::integer, r.exit_code), signal = COALESCE(${pgText(write.signal)}::text, r.signal)
      FROM flow_runs previous
      WHERE previous.tenant = ${tenant}::text AND previous.id = ${write.flowRunId}::text AND r.id = previous.id AND r.version = previous.version
        AND r.version = ${write.expectedVersion}::integer AND r.lease_token = ${write.leaseToken}::text AND r.lease_expires_at > ${NOW_MS}
        AND r.state = ANY(${agentSourceStates(write.state)}::text[])
      RETURNING r.*, previous.state AS previous_state
    ),
    recorded AS (
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
      SELECT tenant, id, NULL, previous_state, state, ${reason}::text, ${message}::text, ${write.actor}::text, attempt,
        CASE WHEN ${running}::boolean THEN started_at ELSE ended_at END
      FROM updated
    )
    SELECT ${columnsOf('flow_runs')} FROM updated`))) ?? null;
}

/** The state write with the run locked for a transaction: for writes that may schedule a retry, and races. */
async function setFlowRunStateLocked(db: PgDatabase, tenant: string, write: StateWrite): Promise<FlowRunRecord> {
  return db.transaction(async (tx) => {
    const row = await lockRun(tx, tenant, write.flowRunId);
    if (decideStateWrite(currentOf(row), write, row.now) === 'unchanged') return toFlowRun(row);
    return applyStateWrite(tx, row, write);
  });
}

/** Writes a state decideStateWrite said to apply to the locked `row`, with its transition and the retry it may schedule. */
export async function applyStateWrite(tx: Executor, row: LockedRun, write: StateWrite): Promise<FlowRunRecord> {
  const now = row.now;
  const ends = endsAttempt(write.state);
  const updated = await updateRun(
    tx,
    row.id,
    sql`state = ${write.state}, state_reason = ${pgText(write.reason)}, state_message = ${pgText(write.message)}, version = version + 1,
        ${write.state === 'RUNNING' ? sql`started_at = ${now},` : raw('')}
        ${ends ? sql`ended_at = ${now}, lease_expires_at = NULL,` : raw('')}
        exit_code = COALESCE(${write.exitCode}::integer, exit_code), signal = COALESCE(${pgText(write.signal)}::text, signal)`,
    { from: row.state, reason: write.reason, message: write.message, actor: write.actor, at: now },
  );
  return toFlowRun(ends ? await applyRetries(tx, updated, policyOf(row), now) : updated);
}

/** The run as decideStateWrite reads it. */
export const currentOf = (row: FlowRunRow) => ({
  id: row.id, state: row.state as FlowRunStateType, version: row.version, leaseToken: row.lease_token, leaseExpiresAt: row.lease_expires_at,
});

export async function setFlowRunState(db: PgDatabase, tenant: string, write: StateWrite): Promise<FlowRunRecord> {
  // A write ending in a retryable state may schedule the next attempt in the same transaction,
  // which needs the version's retry policy and a second update: those keep the locked path.
  const oneStatement = write.state === 'RUNNING' || (endsAttempt(write.state) && !retryableStates.has(write.state));
  if (!oneStatement) return setFlowRunStateLocked(db, tenant, write);
  const updated = await compareAndSetState(db, tenant, write);
  if (updated) return toFlowRun(updated);
  // Refused, or a repeat of a write that already landed: decideStateWrite on the row as it is now
  // says which (and throws the refusal's code). 'apply' means the row changed between the two
  // statements; the locked path then decides and writes under one lock.
  const row = await db.row<FlowRunRow & { now: number }>(prepared('read-flow-run-state', sql`
    SELECT ${columnsOf('flow_runs')}, ${NOW_MS} AS now FROM flow_runs WHERE tenant = ${tenant} AND id = ${write.flowRunId}`));
  if (!row) throw new FluxoError('NOT_FOUND', `flow run ${write.flowRunId} not found`);
  if (decideStateWrite(currentOf(row), write, row.now) === 'unchanged') return toFlowRun(row);
  return setFlowRunStateLocked(db, tenant, write);
}

export async function cancelFlowRun(db: PgDatabase, tenant: string, id: string, actor: string): Promise<FlowRunRecord> {
  return db.transaction(async (tx) => {
    const row = await lockRun(tx, tenant, id);
    const target = cancelTarget(row.state as FlowRunStateType);
    if (target === null) return toFlowRun(row);
    const set = target === 'CANCELLED'
      ? sql`state = 'CANCELLED', state_reason = 'cancelled', state_message = ${`cancelled by ${actor}`}, version = version + 1, ended_at = ${row.now}`
      : sql`state = 'CANCELLING', state_message = ${`cancel requested by ${actor}`}, version = version + 1`;
    const updated = await updateRun(tx, id, set, { from: row.state, reason: 'cancelled', message: `requested by ${actor}`, actor, at: row.now });
    return toFlowRun(updated);
  });
}
