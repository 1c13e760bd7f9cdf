// Operators' concurrency limits in SQLite (table concurrency_limits, migration 007), and the slot
// counts the claim and the listing share.
import type { Database } from 'better-sqlite3';
import { limitFromRow, type LimitRow, type LimitsStore, type SlotCounts } from '../limits-store.js';
import type { ConcurrencyLimitRecord } from '../records.js';
import { operatorLimitsOf, type OperatorLimits } from '../claim-gate.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS } from './rows.js';
import { statement } from './statements.js';

const HOLDING = `state IN ${sqlStateList(leasedStates)}`;

/**
 * Runs of the tenant holding a slot, by flow and by label (index flow_runs_holding_slot). Labels
 * are counted only when `withLabels` (decoding every holding run's labels is the costly part).
 */
export function countHoldingSlots(db: Database, tenant: string, withLabels = true): SlotCounts {
  const byFlow = new Map<string, number>();
  let total = 0;
  for (const row of statement(db, `SELECT flow_id, count(*) AS n FROM flow_runs WHERE tenant = ? AND ${HOLDING} GROUP BY flow_id`).all(tenant) as { flow_id: string; n: number }[]) {
    byFlow.set(row.flow_id, row.n);
    total += row.n;
  }
  const byLabel = new Map<string, number>();
  if (!withLabels) return { tenant: total, byFlow, byLabel };
  const labelled = statement(db,
    `SELECT l.value AS label, count(*) AS n FROM flow_runs r, json_each(r.labels) AS l WHERE r.tenant = ? AND r.${HOLDING} GROUP BY l.value`,
  ).all(tenant) as { label: string; n: number }[];
  for (const row of labelled) byLabel.set(row.label, row.n);
  return { tenant: total, byFlow, byLabel };
}

/** The tenant's operator limits, as the claim reads them. */
export function readOperatorLimits(db: Database, tenant: string): OperatorLimits {
  return operatorLimitsOf(statement(db, 'SELECT scope, "limit" FROM concurrency_limits WHERE tenant = ?').all(tenant) as { scope: string; limit: number }[]);
}

/** Operators' concurrency limits on one connection. */
export class SqliteLimitsStore implements LimitsStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async set(tenant: string, scope: string, limit: number, updatedBy: string): Promise<ConcurrencyLimitRecord> {
    const row = statement(this.#db,
      `INSERT INTO concurrency_limits (tenant, scope, "limit", updated_at, updated_by) VALUES (?, ?, ?, ${NOW_MS}, ?)
       ON CONFLICT (tenant, scope) DO UPDATE SET "limit" = excluded."limit", updated_at = excluded.updated_at, updated_by = excluded.updated_by
       RETURNING tenant, scope, "limit", updated_at, updated_by`,
    ).get(tenant, scope, limit, updatedBy) as LimitRow;
    return limitFromRow(row, countHoldingSlots(this.#db, tenant));
  }

  async delete(tenant: string, scope: string): Promise<boolean> {
    return statement(this.#db, 'DELETE FROM concurrency_limits WHERE tenant = ? AND scope = ?').run(tenant, scope).changes > 0;
  }

  async list(tenant: string): Promise<ConcurrencyLimitRecord[]> {
    const rows = statement(this.#db, 'SELECT tenant, scope, "limit", updated_at, updated_by FROM concurrency_limits WHERE tenant = ? ORDER BY scope').all(tenant) as LimitRow[];
    if (rows.length === 0) return [];
    const counts = countHoldingSlots(this.#db, tenant);
    return rows.map((row) => limitFromRow(row, counts));
  }

  async countHoldingSlots(tenant: string): Promise<SlotCounts> {
    return countHoldingSlots(this.#db, tenant);
  }
}
