// Where operators' concurrency limits rest (table concurrency_limits, migration 007): one row per
// tenant and scope, `tenant` or `label:<label>`. The claim reads them in its own transaction
// (sqlite/run-writes.ts, postgres/claim-flow-runs.ts); this interface is the operators' side.
import { finalStates, type ConcurrencyLimitRecord, type FlowRunRecord } from './records.js';

/**
 * True when a changed run may let a waiting claim take work: it became SCHEDULED, or it ended and
 * so freed a slot of the limits a due run may be waiting on. Long-polling claims wake on these.
 */
export const mayFreeWork = (run: FlowRunRecord): boolean => run.state === 'SCHEDULED' || finalStates.has(run.state);

/** Operators' concurrency limits of a tenant. */
export interface LimitsStore {
  /** Sets (creates or replaces) a limit; returns it with its running count. */
  set(tenant: string, scope: string, limit: number, updatedBy: string): Promise<ConcurrencyLimitRecord>;
  /** Deletes a limit; false when there was none. */
  delete(tenant: string, scope: string): Promise<boolean>;
  /** The tenant's limits by scope, each with the runs holding a slot of it now. */
  list(tenant: string): Promise<ConcurrencyLimitRecord[]>;
  /** Runs of the tenant holding a slot now: in all, per flow id and per label. */
  countHoldingSlots(tenant: string): Promise<SlotCounts>;
}

/** Runs holding a slot (SUBMITTED, RUNNING, CANCELLING), counted the ways limits count them. */
export interface SlotCounts {
  tenant: number;
  byFlow: Map<string, number>;
  byLabel: Map<string, number>;
}

/** A concurrency_limits row as both dialects return it, with its running count. */
export interface LimitRow {
  tenant: string;
  scope: string;
  limit: number;
  updated_at: number | string;
  updated_by: string;
}

/** Maps a row and the slot counts to the record. */
export function limitFromRow(r: LimitRow, counts: SlotCounts): ConcurrencyLimitRecord {
  return { tenant: r.tenant, scope: r.scope, limit: r.limit, running: runningOf(r.scope, counts), updatedAt: Number(r.updated_at), updatedBy: r.updated_by };
}

/** Runs holding a slot of the limit with this scope. */
export function runningOf(scope: string, counts: SlotCounts): number {
  if (scope === 'tenant') return counts.tenant;
  if (scope.startsWith('label:')) return counts.byLabel.get(scope.slice('label:'.length)) ?? 0;
  return 0;
}
