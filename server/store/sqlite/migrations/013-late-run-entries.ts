import type { Migration } from './index.js';

// A crashed run's last words (issue 15): a restarted agent delivers the task states and log lines
// it had spooled on disk for an attempt it held (deliverLateRunEntries). They are stored like any
// other, marked `late`. The claimant of every attempt is kept on the claim's SUBMITTED transition
// (`agent_id`): flow_runs.agent_id names only the current attempt's agent, and the transition's
// actor only its token subject, so neither alone says which agent held an earlier attempt. Late
// batch ids share log_batches under a `late:` prefix (agents' writeLogs ids are UUIDs), so retention
// deletes them with the run as it deletes log batches. Adding a column with a constant default
// rewrites nothing.
export const lateRunEntries: Migration = {
  version: 13,
  name: 'late-run-entries',
  sql: /* sql */ `
ALTER TABLE logs ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE state_transitions ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE state_transitions ADD COLUMN agent_id TEXT;
`,
};
