// Claiming due runs in PostgreSQL: one statement. `FOR UPDATE SKIP LOCKED` lets many replicas and
// agents claim at once without waiting on each other; a row another claimer holds is skipped, and
// one that claimer already moved out of SCHEDULED fails the re-check, so a run is claimed once.
// The lock on the agent's row orders a claim against a move of the agent's name (agents.ts). It is
// the lock `seen` needs anyway (FOR NO KEY UPDATE): a share lock upgraded by `seen` deadlocked two
// claims of one agent, each holding the share lock the other's update waited for.
import { newToken } from '../../../common/ids.js';
import { agentNotFound } from '../../core/agent-names.js';
import type { Claim } from '../store.js';
import type { PgDatabase } from './database.js';
import { columnsOf, toFlowRun, type FlowRunRow } from './rows.js';
import { NOW_MS, prepared, sql } from './sql.js';

export async function claimFlowRuns(db: PgDatabase, tenant: string, agent: { id: string; subject: string }, labels: string[], max: number, leaseMs: number): Promise<Claim[]> {
  const agentId = agent.id;
  // Lease tokens come from this process's CSPRNG, as in SQLite; the n-th claimed run (in claim order) gets the n-th.
  const tokens = Array.from({ length: max }, () => newToken());
  // Labels are routing only: a run goes to an agent whose labels are a superset of the run's
  // (`<@`), and a run without labels only to an agent without labels.
  const rows = await db.rows<FlowRunRow & { n: number }>(prepared('claim-flow-runs', sql`
    WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    holder AS (SELECT id FROM agents WHERE tenant = ${tenant}::text AND id = ${agentId}::text AND subject = ${agent.subject}::text FOR NO KEY UPDATE),
    due AS (
      SELECT id, priority, scheduled_at FROM flow_runs
      WHERE tenant = ${tenant} AND state = 'SCHEDULED' AND scheduled_at <= (SELECT now FROM clock) AND EXISTS (SELECT 1 FROM holder)
        AND labels <@ ${labels}::text[] AND (cardinality(labels) > 0 OR cardinality(${labels}::text[]) = 0)
      ORDER BY priority DESC, scheduled_at, id
      LIMIT ${max}::integer
      FOR UPDATE SKIP LOCKED
    ),
    numbered AS (SELECT id, row_number() OVER (ORDER BY priority DESC, scheduled_at, id) AS n FROM due),
    claimed AS (
      UPDATE flow_runs r SET state = 'SUBMITTED', version = r.version + 1, agent_id = ${agentId}::text,
        lease_token = (${tokens}::text[])[numbered.n], lease_expires_at = clock.now + ${leaseMs}::bigint,
        state_reason = NULL, state_message = NULL
      FROM numbered, clock
      WHERE r.id = numbered.id
      RETURNING r.*, numbered.n
    ),
    recorded AS (
      INSERT INTO state_transitions (tenant, flow_run_id, from_state, to_state, actor, attempt, at)
      SELECT tenant, id, 'SCHEDULED', 'SUBMITTED', ${`agent:${agent.subject}`}::text,
        attempt, (SELECT now FROM clock)
      FROM claimed ORDER BY n
    ),
    seen AS (UPDATE agents SET last_seen_at = (SELECT now FROM clock) WHERE id = ${agentId}::text)
    SELECT ${columnsOf('flow_runs')}, n FROM claimed ORDER BY n`));
  if (rows.length === 0) {
    // Nothing claimed: say so, or that the agent is not the caller's (any more). Outside the claim's
    // lock, which only matters when runs were claimed.
    const held = await db.row<{ id: string }>(prepared('agent-held', sql`SELECT id FROM agents WHERE tenant = ${tenant} AND id = ${agentId} AND subject = ${agent.subject}`));
    if (!held) throw agentNotFound(agentId);
  }
  return rows.map(({ n: _n, ...row }) => ({ run: toFlowRun(row), leaseToken: row.lease_token!, leaseExpiresAt: row.lease_expires_at! }));
}
