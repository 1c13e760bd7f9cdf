// Keys of the PostgreSQL advisory locks fluxo takes, in one place so two features never share one
// by accident. Leader election for the scheduler, the lease reaper and retention adds its keys here.

/** ASCII "fluxo" in the high bytes, then a small number per lock. */
const BASE = 0x666c75786f00n;

export const advisoryLocks = {
  /** Held while migrations run, so replicas starting together apply each migration once. */
  migrate: BASE + 1n,
} as const;
