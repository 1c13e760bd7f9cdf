// Leader election for a store that serves one process (SQLite): that process leads from the start.
import type { LeaderElection, LeaderElectionOptions } from './store.js';

/** Becomes the leader on the next microtask (so the caller holds the handle first) and stays it until closed. */
export function soleLeader(options: LeaderElectionOptions): LeaderElection {
  let leader = false;
  let closed = false;
  queueMicrotask(() => {
    if (closed) return;
    leader = true;
    options.onChange(true);
  });
  return {
    get isLeader() {
      return leader;
    },
    async close() {
      closed = true;
      if (!leader) return;
      leader = false;
      options.onChange(false);
    },
  };
}
