// Leases in PostgreSQL: renewal by heartbeat, and the reaper that ends attempts whose lease expired.
// Both compare against the database clock only.
import type { FlowRunRecord, FlowRunStateType } from '../records.js';
import type { HeartbeatResult } from '../store.js';
import type { PgDatabase } from './database.js';
import { applyRetries, policyOf, updateRun, type LockedRun } from './run-writes.js';
import { toFlowRun } from './rows.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, prepared, raw, sql } from './sql.js';

const LEASED = raw(sqlStateList(leasedStates));

/** Runs reaped per pass; the reaper runs again soon, so a backlog drains in bounded transactions. */
const REAP_BATCH = 500;

export async function heartbeat(db: PgDatabase, tenant: string, agentId: string, leases: { flowRunId: string; leaseToken: string }[], leaseMs: number): Promise<HeartbeatResult> {
  // One statement renews every live lease of this agent named (by run id and token) and marks the agent seen.
  const rows = await db.rows<{ now: number; id: string | null; lease_token: string | null; state: string | null }>(prepared('heartbeat', sql`
    WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    renewed AS (
      UPDATE flow_runs r SET lease_expires_at = clock.now + ${leaseMs}::bigint
      FROM clock, unnest(${leases.map((l) => l.flowRunId)}::text[], ${leases.map((l) => l.leaseToken)}::text[]) AS l(id, token)
      WHERE r.tenant = ${tenant} AND r.id = l.id AND r.agent_id = ${agentId} AND r.lease_token = l.token AND r.lease_expires_at > clock.now
        AND r.state IN ${LEASED}
      RETURNING r.id, r.lease_token, r.state
    ),
    seen AS (UPDATE agents SET last_seen_at = (SELECT now FROM clock) WHERE tenant = ${tenant} AND id = ${agentId})
    SELECT clock.now, renewed.id, renewed.lease_token, renewed.state FROM clock LEFT JOIN renewed ON true`));
  const now = rows[0]!.now;
  const live = new Map(rows.filter((r) => r.id !== null).map((r) => [`${r.id}\u0000${r.lease_token}`, r.state]));
  const result: HeartbeatResult = { renewed: [], lost: [], cancelling: [], leaseExpiresAt: now + leaseMs };
  for (const lease of leases) {
    const state = live.get(`${lease.flowRunId}\u0000${lease.leaseToken}`);
    if (state === undefined) {
      result.lost.push(lease.flowRunId);
      continue;
    }
    result.renewed.push(lease.flowRunId);
    if (state === 'CANCELLING') result.cancelling.push(lease.flowRunId);
  }
  return result;
}

export async function reapExpiredLeases(db: PgDatabase, actor: string): Promise<FlowRunRecord[]> {
  return db.transaction(async (tx) => {
    // SKIP LOCKED: a run being written right now (a late heartbeat, the agent's final state) is
    // left for the next pass, and two replicas reaping at once split the work instead of colliding.
    const expired = await tx.rows<LockedRun>(sql`
      WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
      locked AS (
        SELECT r.*, v.retries AS policy_retries, v.retry_delay_seconds AS policy_retry_delay_seconds
        FROM flow_runs r JOIN flow_versions v ON v.id = r.flow_version_id
        WHERE r.lease_expires_at IS NOT NULL AND r.lease_expires_at <= (SELECT now FROM clock)
          AND r.state IN ${LEASED}
        ORDER BY r.lease_expires_at
        LIMIT ${REAP_BATCH}::integer
        FOR UPDATE OF r SKIP LOCKED
      )
      SELECT locked.*, clock.now FROM locked, clock`);
    const reaped: FlowRunRecord[] = [];
    for (const row of expired) {
      const to: FlowRunStateType = row.state === 'CANCELLING' ? 'CANCELLED' : 'CRASHED';
      const message = to === 'CANCELLED' ? 'the agent stopped renewing its lease while cancelling' : 'the agent or its child stopped renewing the lease';
      const ended = await updateRun(
        tx,
        row.id,
        sql`state = ${to}, state_reason = 'lease-expired', state_message = ${message}, version = version + 1, ended_at = ${row.now}, lease_expires_at = NULL`,
        { from: row.state, reason: 'lease-expired', message, actor, at: row.now },
      );
      reaped.push(toFlowRun(await applyRetries(tx, ended, policyOf(row), row.now)));
    }
    return reaped;
  });
}
