// Writes to flow runs in SQLite: create, claim, compare-and-set, cancel, leases, task states and
// logs. Each function runs inside one write transaction (better-sqlite3 transactions are
// synchronous, and this process is the database's only writer), so a check and its write can
// never interleave with another request's: one live claim per run, no lost updates.
import type { Database } from 'better-sqlite3';
import { FluxoError } from '../../../common/errors.js';
import { newId, newToken } from '../../../common/ids.js';
import { agentNotFound } from '../../core/agent-names.js';
import { cancelTarget, decideStateWrite, endsAttempt, leasedStates, shouldRetry } from '../../core/transitions.js';
import { CLAIM_SCAN_LIMIT, ClaimGate, hasOperatorLimits, skipMessage } from '../claim-gate.js';
import type { ConcurrencyFullPolicy, FlowRunRecord, FlowRunStateType, LogRecord } from '../records.js';
import type { Claim, HeartbeatResult, LogLineWrite, NewFlowRun, StateWrite, TaskStateWrite } from '../store.js';
import { isFinalTaskRunState, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, toFlowRun, type FlowRunRow } from './rows.js';
import { countHoldingSlots, readOperatorLimits } from './limits.js';
import { statement } from './statements.js';

export const nowMs = (db: Database): number => (statement(db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;

function getRun(db: Database, tenant: string, id: string): FlowRunRow | undefined {
  return statement(db, 'SELECT * FROM flow_runs WHERE tenant = ? AND id = ?').get(tenant, id) as FlowRunRow | undefined;
}

export function mustGetRun(db: Database, tenant: string, id: string): FlowRunRow {
  const row = getRun(db, tenant, id);
  if (!row) throw new FluxoError('NOT_FOUND', `flow run ${id} not found`);
  return row;
}

interface Transition {
  tenant: string;
  flowRunId: string;
  taskRunId?: string | null;
  from: string | null;
  to: FlowRunStateType;
  reason?: string | null;
  message?: string | null;
  actor: string;
  attempt: number;
  at: number;
  /** The claimant, on a claim's SUBMITTED transition (who may deliver the attempt's late entries). */
  agentId?: string;
}

function recordTransition(db: Database, t: Transition): void {
  statement(db, 
    `INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at, agent_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(t.tenant, t.flowRunId, t.taskRunId ?? null, t.from, t.to, t.reason ?? null, t.message ?? null, t.actor, t.attempt, t.at, t.agentId ?? null);
}

export function createFlowRun(db: Database, tenant: string, input: NewFlowRun): { run: FlowRunRecord; created: boolean } {
  return db.transaction(() => {
    if (input.idempotencyKey !== null) {
      const existing = statement(db, 'SELECT * FROM flow_runs WHERE tenant = ? AND idempotency_key = ?')
        .get(tenant, input.idempotencyKey) as FlowRunRow | undefined;
      if (existing) {
        if (existing.flow_id !== input.flowId) {
          throw new FluxoError('IDEMPOTENCY_CONFLICT', `idempotency key "${input.idempotencyKey}" was already used for another flow`);
        }
        return { run: toFlowRun(existing), created: false };
      }
    }
    const now = nowMs(db);
    const id = newId();
    statement(db, 
      `INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority,
         idempotency_key, scheduled_at, created_at, rerun_of)
       VALUES (?, ?, ?, ?, 'SCHEDULED', 1, 1, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, tenant, input.flowId, input.flowVersionId, JSON.stringify(input.parameters), JSON.stringify(input.labels),
      input.priority, input.idempotencyKey, input.scheduledAt ?? now, now, input.rerunOf ?? null);
    // The label filter's index (migration 003), in step with the run.
    if (input.labels.length > 0) {
      statement(db, 'INSERT OR IGNORE INTO flow_run_labels (tenant, label, created_at, flow_run_id) SELECT ?, value, ?, ? FROM json_each(?)')
        .run(tenant, now, id, JSON.stringify(input.labels));
    }
    recordTransition(db, { tenant, flowRunId: id, from: null, to: 'SCHEDULED', actor: input.actor, attempt: 1, at: now });
    return { run: toFlowRun(mustGetRun(db, tenant, id)), created: true };
  }).immediate();
}

interface CandidateRow {
  id: string;
  flow_id: string;
  labels: string;
  concurrency_limit: number | null;
  when_concurrency_full: string;
}

export function claimFlowRuns(
  db: Database, tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number,
  onSkipped?: (runs: FlowRunRecord[]) => void, requestId: string | null = null,
): Claim[] {
  const agentId = agent.id;
  const skipped: FlowRunRecord[] = [];
  const claims = db.transaction(() => {
    const now = nowMs(db);
    // Who holds the agent now: its name may have moved since the caller checked (agent-names.ts).
    const holder = statement(db, 'SELECT subject FROM agents WHERE tenant = ? AND id = ?').get(tenant, agentId) as { subject: string } | undefined;
    if (holder?.subject !== agent.subject) throw agentNotFound(agentId);
    if (requestId !== null) {
      const replayed = replayClaim(db, tenant, agentId, requestId, now + leaseMs, now);
      if (replayed.length > 0) return replayed;
    }
    // Labels are routing only: a run goes to an agent whose labels are a superset of the run's,
    // and a run without labels only to an agent without labels. The version's flow limit comes
    // along (a primary-key lookup per run), so a claim without limits reads no counts.
    // `holding` ({ flowId: runs holding a slot }) leaves out runs of flows whose limit was full when
    // the claim began and that queue: a long blocked queue is passed over inside SQLite.
    const due = (limit: number, offset = 0, holding = '{}'): CandidateRow[] => statement(db,
        `SELECT r.id, r.flow_id, r.labels, v.concurrency_limit, v.when_concurrency_full
         FROM flow_runs r JOIN flow_versions v ON v.id = r.flow_version_id
         WHERE r.tenant = ? AND r.state = 'SCHEDULED' AND r.scheduled_at <= ?
           AND NOT EXISTS (SELECT 1 FROM json_each(r.labels) AS l WHERE l.value NOT IN (SELECT value FROM json_each(?)))
           AND (r.labels <> '[]' OR ? = 0)
           AND (v.concurrency_limit IS NULL OR v.when_concurrency_full = 'SKIP'
             OR v.concurrency_limit > coalesce((SELECT value FROM json_each(?) WHERE key = r.flow_id), 0))
         ORDER BY r.priority DESC, r.scheduled_at, r.id
         LIMIT ? OFFSET ?`,
      )
      .all(tenant, now, JSON.stringify(labels), labels.length, holding, limit, offset) as CandidateRow[];
    const operatorLimits = readOperatorLimits(db, tenant);
    const first = due(max);
    let gate: ClaimGate | null = null;
    let holding = '{}';
    if (hasOperatorLimits(operatorLimits) || first.some((c) => c.concurrency_limit !== null)) {
      const counts = countHoldingSlots(db, tenant, operatorLimits.labels.size > 0);
      gate = new ClaimGate(operatorLimits, counts);
      holding = JSON.stringify(Object.fromEntries(counts.byFlow));
    }
    const claimed: Claim[] = [];
    const actor = `agent:${agent.subject}`;
    const update = statement(db, 
      `UPDATE flow_runs SET state = 'SUBMITTED', version = version + 1, agent_id = ?, lease_token = ?, lease_expires_at = ?,
         state_reason = NULL, state_message = NULL, claim_request_id = ?
       WHERE id = ? AND state = 'SCHEDULED'`,
    );
    // Limits apply: read past blocked runs, in growing pages up to CLAIM_SCAN_LIMIT, so they do not
    // stop later ones; without limits the first page is the claim.
    // Claimed and skipped runs leave the due set, so the next page starts after the runs read that stayed.
    let removed = 0;
    const candidates = function* (): Generator<CandidateRow> {
      if (gate === null) {
        yield* first;
        return;
      }
      for (let read = 0, size = Math.max(max, 32); read < CLAIM_SCAN_LIMIT; size *= 2) {
        const page = due(Math.min(size, CLAIM_SCAN_LIMIT - read), read - removed, holding);
        yield* page;
        read += page.length;
        if (page.length < size) return;
      }
    };
    for (const row of candidates()) {
      if (claimed.length >= max) break;
      const { id } = row;
      const candidate = { flowId: row.flow_id, labels: JSON.parse(row.labels) as string[], concurrencyLimit: row.concurrency_limit, whenConcurrencyFull: row.when_concurrency_full as ConcurrencyFullPolicy };
      const decision = gate?.decide(candidate) ?? { kind: 'claim' as const };
      if (decision.kind === 'wait') continue;
      if (decision.kind === 'skip') {
        skipped.push(skipRun(db, tenant, id, skipMessage(decision.full), now));
        removed++;
        continue;
      }
      const leaseToken = newToken();
      const leaseExpiresAt = now + leaseMs;
      removed++;
      if (update.run(agentId, leaseToken, leaseExpiresAt, requestId, id).changes !== 1) continue;
      gate?.take(candidate);
      const current = mustGetRun(db, tenant, id);
      recordTransition(db, { tenant, flowRunId: id, from: 'SCHEDULED', to: 'SUBMITTED', actor, attempt: current.attempt, at: now, agentId });
      claimed.push({ run: toFlowRun(current), leaseToken, leaseExpiresAt });
    }
    statement(db, 'UPDATE agents SET last_seen_at = ? WHERE id = ?').run(now, agentId);
    return claimed;
  }).immediate();
  if (skipped.length > 0) onSkipped?.(skipped);
  return claims;
}

/**
 * The runs an earlier claim with `requestId` handed to the agent that it never started (its answer
 * was lost): still SUBMITTED under a live lease. Their leases are renewed to `leaseExpiresAt`, as
 * the agent fences itself from the moment it sent this request. Same lease tokens; no transition.
 */
function replayClaim(db: Database, tenant: string, agentId: string, requestId: string, leaseExpiresAt: number, now: number): Claim[] {
  const rows = statement(db,
    `UPDATE flow_runs SET lease_expires_at = ?
     WHERE agent_id = ? AND claim_request_id = ? AND state = 'SUBMITTED' AND tenant = ? AND lease_expires_at > ?
     RETURNING *`,
  ).all(leaseExpiresAt, agentId, requestId, tenant, now) as FlowRunRow[];
  return rows
    .sort((a, b) => b.priority - a.priority || a.scheduled_at - b.scheduled_at || (a.id < b.id ? -1 : 1))
    .map((row) => ({ run: toFlowRun(row), leaseToken: row.lease_token!, leaseExpiresAt }));
}

/** Ends a due run whose flow limit is full and says SKIP: CANCELLED with reason `concurrency-skip`. */
function skipRun(db: Database, tenant: string, id: string, message: string, now: number): FlowRunRecord {
  const row = mustGetRun(db, tenant, id);
  statement(db,
    `UPDATE flow_runs SET state = 'CANCELLED', state_reason = 'concurrency-skip', state_message = ?, version = version + 1, ended_at = ?
     WHERE id = ? AND state = 'SCHEDULED'`,
  ).run(message, now, id);
  recordTransition(db, { tenant, flowRunId: id, from: 'SCHEDULED', to: 'CANCELLED', reason: 'concurrency-skip', message, actor: 'server:concurrency', attempt: row.attempt, at: now });
  return toFlowRun(mustGetRun(db, tenant, id));
}

/** After an attempt ends in a retryable state with retries left, schedules the next attempt. */
function applyRetries(db: Database, row: FlowRunRow, now: number): void {
  const policy = statement(db, 'SELECT retries, retry_delay_seconds FROM flow_versions WHERE id = ?')
    .get(row.flow_version_id) as { retries: number; retry_delay_seconds: number };
  const state = row.state as FlowRunStateType;
  if (!shouldRetry(state, row.attempt, policy.retries)) return;
  const next = row.attempt + 1;
  statement(db, 
    `UPDATE flow_runs SET state = 'SCHEDULED', version = version + 1, attempt = ?, scheduled_at = ?, agent_id = NULL,
       lease_token = NULL, lease_expires_at = NULL, started_at = NULL, ended_at = NULL
     WHERE id = ?`,
  ).run(next, now + policy.retry_delay_seconds * 1000, row.id);
  recordTransition(db, {
    tenant: row.tenant,
    flowRunId: row.id,
    from: state,
    to: 'SCHEDULED',
    reason: 'retry',
    message: `attempt ${next} of ${policy.retries + 1}, due in ${policy.retry_delay_seconds} s`,
    actor: 'server:retries',
    attempt: next,
    at: now,
  });
}

export function setFlowRunState(db: Database, tenant: string, write: StateWrite): FlowRunRecord {
  return db.transaction(() => {
    const now = nowMs(db);
    const row = mustGetRun(db, tenant, write.flowRunId);
    if (decideStateWrite(currentOf(row), write, now) === 'unchanged') return toFlowRun(row);
    return applyStateWrite(db, tenant, row, write, now);
  }).immediate();
}

/** The run as decideStateWrite reads it. */
export const currentOf = (row: FlowRunRow) => ({
  id: row.id, state: row.state as FlowRunStateType, version: row.version, leaseToken: row.lease_token, leaseExpiresAt: row.lease_expires_at,
});

/** Writes a state decideStateWrite said to apply, with its transition and the retry it may schedule (inside the caller's transaction). */
export function applyStateWrite(db: Database, tenant: string, row: FlowRunRow, write: StateWrite, now: number): FlowRunRecord {
  const ends = endsAttempt(write.state);
  statement(db, 
    `UPDATE flow_runs SET state = ?, state_reason = ?, state_message = ?, version = version + 1,
       started_at = CASE WHEN ? = 'RUNNING' THEN ? ELSE started_at END,
       ended_at = CASE WHEN ? THEN ? ELSE ended_at END,
       exit_code = COALESCE(?, exit_code), signal = COALESCE(?, signal),
       lease_expires_at = CASE WHEN ? THEN NULL ELSE lease_expires_at END
     WHERE id = ?`,
  ).run(write.state, write.reason, write.message, write.state, now, ends ? 1 : 0, now, write.exitCode, write.signal, ends ? 1 : 0, row.id);
  recordTransition(db, {
    tenant, flowRunId: row.id, from: row.state, to: write.state, reason: write.reason, message: write.message,
    actor: write.actor, attempt: row.attempt, at: now,
  });
  if (ends) applyRetries(db, mustGetRun(db, tenant, row.id), now);
  return toFlowRun(mustGetRun(db, tenant, row.id));
}

export function cancelFlowRun(db: Database, tenant: string, id: string, actor: string): FlowRunRecord {
  return db.transaction(() => {
    const now = nowMs(db);
    const row = mustGetRun(db, tenant, id);
    const target = cancelTarget(row.state as FlowRunStateType);
    if (target === null) return toFlowRun(row);
    if (target === 'CANCELLED') {
      statement(db, 
        `UPDATE flow_runs SET state = 'CANCELLED', state_reason = 'cancelled', state_message = ?, version = version + 1, ended_at = ?
         WHERE id = ?`,
      ).run(`cancelled by ${actor}`, now, id);
    } else {
      statement(db, `UPDATE flow_runs SET state = 'CANCELLING', state_message = ?, version = version + 1 WHERE id = ?`).run(`cancel requested by ${actor}`, id);
    }
    recordTransition(db, { tenant, flowRunId: id, from: row.state, to: target, reason: 'cancelled', message: `requested by ${actor}`, actor, attempt: row.attempt, at: now });
    return toFlowRun(mustGetRun(db, tenant, id));
  }).immediate();
}

/** Throws LEASE_LOST unless `leaseToken` is the live lease of a run an agent holds. */
export function assertLease(db: Database, tenant: string, flowRunId: string, leaseToken: string, now: number): FlowRunRow {
  const row = mustGetRun(db, tenant, flowRunId);
  const live = row.lease_token === leaseToken && row.lease_expires_at !== null && row.lease_expires_at > now;
  if (!live || !leasedStates.includes(row.state as FlowRunStateType)) {
    throw new FluxoError('LEASE_LOST', `no live lease on flow run ${flowRunId} for this token; stop its process`);
  }
  return row;
}

export function setTaskRunStates(
  db: Database, tenant: string, flowRunId: string, leaseToken: string, states: TaskStateWrite[], actor: string, batchId: string | null = null,
): number {
  return db.transaction(() => {
    const now = nowMs(db);
    assertLease(db, tenant, flowRunId, leaseToken, now);
    return recordTaskStates(db, tenant, flowRunId, states, actor, batchId, now);
  }).immediate();
}

/** A task run's first state (live, or late from a restarted agent's spool: late-entries.ts). */
export function insertTaskRun(db: Database, taskRunId: string, tenant: string, flowRunId: string, s: TaskStateWrite, final: boolean, now: number): void {
  statement(db,
    `INSERT INTO task_runs (id, tenant, flow_run_id, key, task_name, map_index, state, state_message, attempts, started_at, ended_at,
       result_uri, result_sha256, result_size, inputs_hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(taskRunId, tenant, flowRunId, s.key, s.taskName, s.mapIndex ?? null, s.state, s.message ?? null, s.attempt, now, final ? now : null,
    s.result?.uri ?? null, s.result?.sha256 ?? null, s.result?.size ?? null, s.inputsHash ?? null);
}

/** A task run's next state. */
export function updateTaskRun(db: Database, taskRunId: string, s: TaskStateWrite, final: boolean, now: number): void {
  statement(db,
    `UPDATE task_runs SET state = ?, state_message = ?, attempts = MAX(attempts, ?), ended_at = CASE WHEN ? THEN ? ELSE NULL END,
       result_uri = ?, result_sha256 = ?, result_size = ?, inputs_hash = ?
     WHERE id = ?`,
  ).run(s.state, s.message ?? null, s.attempt, final ? 1 : 0, now, s.result?.uri ?? null, s.result?.sha256 ?? null, s.result?.size ?? null,
    s.inputsHash ?? null, taskRunId);
}

/**
 * Records task states of a run whose lease the caller checked, inside the caller's transaction.
 * With a `batchId`, once per (run, batchId): a repeat records nothing and answers 0.
 */
export function recordTaskStates(db: Database, tenant: string, flowRunId: string, states: TaskStateWrite[], actor: string, batchId: string | null, now: number): number {
  // A batch retried after its answer was lost: recorded already, in the same transaction as its states.
  if (batchId !== null && statement(db, 'INSERT OR IGNORE INTO task_state_batches (flow_run_id, batch_id) VALUES (?, ?)').run(flowRunId, batchId).changes !== 1) {
    return 0;
  }
  const select = statement(db, 'SELECT id, state, attempts FROM task_runs WHERE flow_run_id = ? AND key = ?');
  for (const s of states) {
    const final = isFinalTaskRunState(s.state);
    const existing = select.get(flowRunId, s.key) as { id: string; state: string; attempts: number } | undefined;
    let taskRunId: string;
    if (!existing) {
      taskRunId = newId();
      insertTaskRun(db, taskRunId, tenant, flowRunId, s, final, now);
    } else {
      taskRunId = existing.id;
      updateTaskRun(db, taskRunId, s, final, now);
    }
    recordTransition(db, {
      tenant, flowRunId, taskRunId, from: existing?.state ?? null, to: s.state, message: s.message, actor, attempt: s.attempt, at: now,
    });
  }
  return states.length;
}

export function writeLogs(db: Database, tenant: string, flowRunId: string, leaseToken: string, batchId: string, lines: LogLineWrite[]): LogRecord[] {
  return db.transaction(() => {
    assertLease(db, tenant, flowRunId, leaseToken, nowMs(db));
    return recordLogLines(db, tenant, flowRunId, batchId, lines);
  }).immediate();
}

/** Appends lines of a run whose lease the caller checked, once per (run, batchId), inside the caller's transaction. */
export function recordLogLines(db: Database, tenant: string, flowRunId: string, batchId: string, lines: LogLineWrite[]): LogRecord[] {
  const fresh = statement(db, 'INSERT OR IGNORE INTO log_batches (flow_run_id, batch_id) VALUES (?, ?)').run(flowRunId, batchId).changes === 1;
  if (!fresh) return [];
  return insertLogLines(db, tenant, flowRunId, lines, false);
}

/** Inserts lines as they are (the caller checked the batch id); `late` for a restarted agent's spool (late-entries.ts). */
export function insertLogLines(db: Database, tenant: string, flowRunId: string, lines: LogLineWrite[], late: boolean): LogRecord[] {
  const insert = statement(db,
    'INSERT INTO logs (tenant, flow_run_id, task_run_key, level, stream, message, timestamp, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return lines.map((line) => {
    const id = Number(insert.run(tenant, flowRunId, line.taskRunKey, line.level, line.stream, line.message, line.timestamp, late ? 1 : 0).lastInsertRowid);
    return { id, tenant, flowRunId, ...line, late };
  });
}

export function heartbeat(db: Database, tenant: string, agentId: string, leases: { flowRunId: string; leaseToken: string }[], leaseMs: number): HeartbeatResult {
  return db.transaction(() => {
    const now = nowMs(db);
    const leaseExpiresAt = now + leaseMs;
    const renew = statement(db, 
      `UPDATE flow_runs SET lease_expires_at = ?
       WHERE tenant = ? AND id = ? AND agent_id = ? AND lease_token = ? AND lease_expires_at > ? AND state IN ${sqlStateList(leasedStates)}
       RETURNING state`,
    );
    const result: HeartbeatResult = { renewed: [], lost: [], cancelling: [], leaseExpiresAt };
    for (const lease of leases) {
      const row = renew.get(leaseExpiresAt, tenant, lease.flowRunId, agentId, lease.leaseToken, now) as { state: string } | undefined;
      if (!row) {
        result.lost.push(lease.flowRunId);
        continue;
      }
      result.renewed.push(lease.flowRunId);
      if (row.state === 'CANCELLING') result.cancelling.push(lease.flowRunId);
    }
    statement(db, 'UPDATE agents SET last_seen_at = ? WHERE tenant = ? AND id = ?').run(now, tenant, agentId);
    return result;
  }).immediate();
}

export function reapExpiredLeases(db: Database, actor: string): FlowRunRecord[] {
  return db.transaction(() => {
    const now = nowMs(db);
    const expired = statement(db, 
        `SELECT * FROM flow_runs WHERE lease_expires_at IS NOT NULL AND lease_expires_at <= ?
           AND state IN ${sqlStateList(leasedStates)} LIMIT 500`,
      )
      .all(now) as FlowRunRow[];
    return expired.map((row) => {
      const to: FlowRunStateType = row.state === 'CANCELLING' ? 'CANCELLED' : 'CRASHED';
      const message = to === 'CANCELLED' ? 'the agent stopped renewing its lease while cancelling' : 'the agent or its child stopped renewing the lease';
      statement(db, 
        `UPDATE flow_runs SET state = ?, state_reason = 'lease-expired', state_message = ?, version = version + 1, ended_at = ?,
           lease_expires_at = NULL WHERE id = ?`,
      ).run(to, message, now, row.id);
      recordTransition(db, { tenant: row.tenant, flowRunId: row.id, from: row.state, to, reason: 'lease-expired', message, actor, attempt: row.attempt, at: now });
      applyRetries(db, mustGetRun(db, row.tenant, row.id), now);
      return toFlowRun(mustGetRun(db, row.tenant, row.id));
    });
  }).immediate();
}
