// Keys of the PostgreSQL advisory locks fluxo takes, in one place so two features never share one
// by accident.

/** ASCII "fluxo" in the high bytes, then a small number per lock. */
const BASE = 0x666c75786f00n;

export const advisoryLocks = {
  /** Held while migrations run, so replicas starting together apply each migration once. */
  migrate: BASE + 1n,
  /**
   * Held for as long as a replica leads (session-level, on its own connection): the leader runs
   * the lease reaper and retention (leader-election.ts).
   */
  leader: BASE + 2n,
} as const;

/**
 * The class (first key) of the transaction-level lock a claim takes, with `hashtext(tenant)` as the
 * second key, when the tenant has concurrency limits: such claims of one tenant run one at a time,
 * so each counts what the previous ones claimed (claim-flow-runs.ts). Two-key locks live in a
 * space of their own, apart from the one-key locks above.
 */
export const CLAIM_LIMITS_LOCK_CLASS = 0x666c7578;
