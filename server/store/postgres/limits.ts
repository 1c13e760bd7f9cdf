// Operators' concurrency limits in PostgreSQL (table concurrency_limits, migration 007), and the
// slot counts the claim and the listing share.
import { limitFromRow, type LimitRow, type LimitsStore, type SlotCounts } from '../limits-store.js';
import type { ConcurrencyLimitRecord } from '../records.js';
import { operatorLimitsOf, type OperatorLimits } from '../claim-gate.js';
import type { Executor, PgDatabase } from './database.js';
import { leasedStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, raw, sql } from './sql.js';

/** The states that hold a concurrency slot: the leased ones (contract/states.ts). */
const HOLDING = raw(`state IN ${sqlStateList(leasedStates)}`);

const LISTED = raw('tenant, scope, "limit", updated_at, updated_by');

/**
 * Runs of the tenant holding a slot, by flow and by label (index flow_runs_holding_slot). Labels
 * are counted only when `withLabels` (reading every holding run's labels is the costly part).
 */
export async function countHoldingSlots(db: Executor, tenant: string, withLabels = true): Promise<SlotCounts> {
  if (!withLabels) {
    const byFlow = await db.rows<{ flow_id: string; n: number }>(sql`
      SELECT flow_id, count(*) AS n FROM flow_runs WHERE tenant = ${tenant} AND ${HOLDING} GROUP BY flow_id`);
    return { tenant: byFlow.reduce((sum, row) => sum + row.n, 0), byFlow: new Map(byFlow.map((row) => [row.flow_id, row.n])), byLabel: new Map() };
  }
  const rows = await db.rows<{ flow_id: string; labels: string[] }>(sql`
    SELECT flow_id, labels FROM flow_runs WHERE tenant = ${tenant} AND ${HOLDING}`);
  const counts: SlotCounts = { tenant: rows.length, byFlow: new Map(), byLabel: new Map() };
  for (const row of rows) {
    counts.byFlow.set(row.flow_id, (counts.byFlow.get(row.flow_id) ?? 0) + 1);
    for (const label of new Set(row.labels)) counts.byLabel.set(label, (counts.byLabel.get(label) ?? 0) + 1);
  }
  return counts;
}

/** The tenant's operator limits, as the claim reads them. */
export async function readOperatorLimits(db: Executor, tenant: string): Promise<OperatorLimits> {
  return operatorLimitsOf(await db.rows<{ scope: string; limit: number }>(sql`SELECT scope, "limit" FROM concurrency_limits WHERE tenant = ${tenant}`));
}

/** Operators' concurrency limits on one connection (pool). */
export class PostgresLimitsStore implements LimitsStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async set(tenant: string, scope: string, limit: number, updatedBy: string): Promise<ConcurrencyLimitRecord> {
    const row = await this.#db.row<LimitRow>(sql`
      INSERT INTO concurrency_limits (tenant, scope, "limit", updated_at, updated_by)
      VALUES (${tenant}::text, ${scope}::text, ${limit}::integer, ${NOW_MS}, ${updatedBy}::text)
      ON CONFLICT (tenant, scope) DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
      RETURNING ${LISTED}`);
    return limitFromRow(row!, await countHoldingSlots(this.#db, tenant));
  }

  async delete(tenant: string, scope: string): Promise<boolean> {
    const gone = await this.#db.rows<{ scope: string }>(sql`DELETE FROM concurrency_limits WHERE tenant = ${tenant} AND scope = ${scope} RETURNING scope`);
    return gone.length > 0;
  }

  async list(tenant: string): Promise<ConcurrencyLimitRecord[]> {
    const rows = await this.#db.rows<LimitRow>(sql`SELECT ${LISTED} FROM concurrency_limits WHERE tenant = ${tenant} ORDER BY scope`);
    if (rows.length === 0) return [];
    const counts = await countHoldingSlots(this.#db, tenant);
    return rows.map((row) => limitFromRow(row, counts));
  }

  async countHoldingSlots(tenant: string): Promise<SlotCounts> {
    return countHoldingSlots(this.#db, tenant);
  }
}
