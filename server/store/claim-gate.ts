// The concurrency check of a claim, dialect-free: both stores read the due runs in claim order and
// ask the gate, run by run, whether each may take a slot. Counts start from the runs holding a
// slot when the claim's transaction began and grow with every run the same claim takes, so one
// claim of many runs never overfills a limit either. wait-reason.ts asks the same gate why a run waits.
import type { ConcurrencyFullPolicy } from './records.js';
import type { SlotCounts } from './limits-store.js';

/** What the gate needs of a due run. */
export interface GateCandidate {
  flowId: string;
  labels: readonly string[];
  /** Its version's flow limit; null: none. */
  concurrencyLimit: number | null;
  whenConcurrencyFull: ConcurrencyFullPolicy;
}

/** A full limit: which, how many hold a slot, and the limit. */
export interface FullLimit {
  /** `flow`, `label:<label>` or `tenant`. */
  scope: string;
  running: number;
  limit: number;
}

/** The gate's answer: take a slot, end the run CANCELLED (SKIP), or wait. */
export type GateDecision = { kind: 'claim' } | { kind: 'skip'; full: FullLimit } | { kind: 'wait'; full: FullLimit };

/** The operators' limits of a tenant, as the claim reads them. */
export interface OperatorLimits {
  tenant: number | null;
  labels: Map<string, number>;
}

/** Parses concurrency_limits rows (scope, limit) into the gate's shape. */
export function operatorLimitsOf(rows: readonly { scope: string; limit: number }[]): OperatorLimits {
  const limits: OperatorLimits = { tenant: null, labels: new Map() };
  for (const row of rows) {
    if (row.scope === 'tenant') limits.tenant = row.limit;
    else if (row.scope.startsWith('label:')) limits.labels.set(row.scope.slice('label:'.length), row.limit);
  }
  return limits;
}

/** True when the tenant has any operator limit. */
export const hasOperatorLimits = (limits: OperatorLimits): boolean => limits.tenant !== null || limits.labels.size > 0;

/** Counts slots as one claim takes them. */
export class ClaimGate {
  readonly #limits: OperatorLimits;
  readonly #counts: SlotCounts;

  constructor(limits: OperatorLimits, counts: SlotCounts) {
    this.#limits = limits;
    // A copy: taking slots must not change the caller's counts.
    this.#counts = { tenant: counts.tenant, byFlow: new Map(counts.byFlow), byLabel: new Map(counts.byLabel) };
  }

  /**
   * The flow's limit first (a full one with SKIP ends the run whatever else is full: the office's
   * "skip if running"), then each label's, then the tenant's.
   */
  decide(run: GateCandidate): GateDecision {
    const flowRunning = this.#counts.byFlow.get(run.flowId) ?? 0;
    if (run.concurrencyLimit !== null && flowRunning >= run.concurrencyLimit) {
      const full = { scope: 'flow', running: flowRunning, limit: run.concurrencyLimit };
      return run.whenConcurrencyFull === 'SKIP' ? { kind: 'skip', full } : { kind: 'wait', full };
    }
    for (const label of run.labels) {
      const limit = this.#limits.labels.get(label);
      const running = this.#counts.byLabel.get(label) ?? 0;
      if (limit !== undefined && running >= limit) return { kind: 'wait', full: { scope: `label:${label}`, running, limit } };
    }
    if (this.#limits.tenant !== null && this.#counts.tenant >= this.#limits.tenant) {
      return { kind: 'wait', full: { scope: 'tenant', running: this.#counts.tenant, limit: this.#limits.tenant } };
    }
    return { kind: 'claim' };
  }

  /** Counts a claimed run against its flow, its labels and the tenant. */
  take(run: GateCandidate): void {
    this.#counts.tenant += 1;
    this.#counts.byFlow.set(run.flowId, (this.#counts.byFlow.get(run.flowId) ?? 0) + 1);
    for (const label of new Set(run.labels)) this.#counts.byLabel.set(label, (this.#counts.byLabel.get(label) ?? 0) + 1);
  }
}

/** Most due runs one limited claim reads past blocked ones, so a claim stays cheap behind a long blocked queue. */
export const CLAIM_SCAN_LIMIT = 1000;

/** The message of a run a SKIP flow limit ended. */
export const skipMessage = (full: FullLimit): string =>
  `skipped: the flow's concurrency limit is full (${full.running} of ${full.limit} running) and the flow says whenFull: skip`;
