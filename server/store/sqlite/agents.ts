// Agent names in SQLite: registration that never takes a name from another subject, and the
// tenant-admin's move that ends the agent's leases in the same transaction (server/core/agent-names.ts).
import type { Database } from 'better-sqlite3';
import { newId } from '../../../common/ids.js';
import type { AgentRecord } from '../records.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, toAgent, type AgentRow } from './rows.js';
import { statement } from './statements.js';

/** Inserts the agent, or updates it when `subject` holds the name; null when another subject does. */
export function upsertAgent(db: Database, tenant: string, input: { name: string; subject: string; labels: string[]; concurrency: number }): AgentRecord | null {
  const row = statement(db,
    `INSERT INTO agents (id, tenant, name, subject, labels, concurrency, last_seen_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ${NOW_MS}, ${NOW_MS})
     ON CONFLICT (tenant, name) DO UPDATE SET labels = excluded.labels, concurrency = excluded.concurrency, last_seen_at = excluded.last_seen_at
       WHERE agents.subject = excluded.subject
     RETURNING *`,
  ).get(newId(), tenant, input.name, input.subject, JSON.stringify(input.labels), input.concurrency) as AgentRow | undefined;
  return row ? toAgent(row) : null;
}

/** Moves the agent to `toSubject` and ends its live leases, in one transaction; null when there is no such agent. */
export function moveAgent(db: Database, tenant: string, name: string, toSubject: string): AgentRecord | null {
  return db.transaction(() => {
    const row = statement(db, 'SELECT * FROM agents WHERE tenant = ? AND name = ?').get(tenant, name) as AgentRow | undefined;
    if (!row) return null;
    if (row.subject === toSubject) return toAgent(row);
    statement(db, 'UPDATE agents SET subject = ? WHERE id = ?').run(toSubject, row.id);
    // No token matches a NULL lease token, and the reaper ends attempts whose lease expired.
    statement(db,
      `UPDATE flow_runs SET lease_token = NULL, lease_expires_at = ${NOW_MS}
       WHERE tenant = ? AND agent_id = ? AND lease_expires_at IS NOT NULL AND state IN ${sqlStateList(leasedStates)}`,
    ).run(tenant, row.id);
    return toAgent({ ...row, subject: toSubject });
  }).immediate();
}
