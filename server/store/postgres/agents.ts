// Agent names in PostgreSQL: registration that never takes a name from another subject, and the
// tenant-admin's move that ends the agent's leases in the same transaction (server/core/agent-names.ts).
// The move locks the agent's row first; a claim locks that row (FOR NO KEY UPDATE) before it touches a
// run (claim-flow-runs.ts), so a claim either commits before the move's lease update reads the runs
// (which then ends its leases too) or waits for the move and finds the agent held by another subject.
import { newId } from '../../../common/ids.js';
import type { AgentRecord } from '../records.js';
import type { PgDatabase } from './database.js';
import { toAgent, type AgentRow } from './rows.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, raw, sql } from './sql.js';

/** Inserts the agent, or updates it when `subject` holds the name; null when another subject does. */
export async function upsertAgent(db: PgDatabase, tenant: string, input: { name: string; subject: string; labels: string[]; concurrency: number }): Promise<AgentRecord | null> {
  const row = await db.row<AgentRow>(sql`
    INSERT INTO agents (id, tenant, name, subject, labels, concurrency, last_seen_at, created_at)
    SELECT ${newId()}::text, ${tenant}::text, ${input.name}::text, ${input.subject}::text, ${input.labels}::text[], ${input.concurrency}::integer,
      clock.now, clock.now
    FROM (SELECT ${NOW_MS} AS now) AS clock
    ON CONFLICT (tenant, name) DO UPDATE SET labels = EXCLUDED.labels, concurrency = EXCLUDED.concurrency, last_seen_at = EXCLUDED.last_seen_at
      WHERE agents.subject = EXCLUDED.subject
    RETURNING *`);
  return row ? toAgent(row) : null;
}

/** Moves the agent to `toSubject` and ends its live leases, in one transaction; null when there is no such agent. */
export async function moveAgent(db: PgDatabase, tenant: string, name: string, toSubject: string): Promise<AgentRecord | null> {
  return db.transaction(async (tx) => {
    const row = await tx.row<AgentRow>(sql`SELECT * FROM agents WHERE tenant = ${tenant} AND name = ${name} FOR UPDATE`);
    if (!row) return null;
    if (row.subject === toSubject) return toAgent(row);
    const moved = await tx.row<AgentRow>(sql`UPDATE agents SET subject = ${toSubject} WHERE id = ${row.id} RETURNING *`);
    // A statement of its own (READ COMMITTED: a new snapshot), so it sees runs a claim committed
    // while this transaction waited for the agent's row. No token matches NULL; the reaper ends
    // attempts whose lease expired.
    await tx.rows(sql`
      UPDATE flow_runs SET lease_token = NULL, lease_expires_at = ${NOW_MS}
      WHERE tenant = ${tenant} AND agent_id = ${row.id} AND lease_expires_at IS NOT NULL AND state IN ${raw(sqlStateList(leasedStates))}`);
    return toAgent(moved!);
  });
}
