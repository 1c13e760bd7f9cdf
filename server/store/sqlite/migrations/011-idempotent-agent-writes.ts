import type { Migration } from './index.js';

// Idempotent task states and claims (issue 15). A task-state batch retried after a lost answer is
// recorded once (task_state_batches, as log_batches for logs). A claim carries the agent's request
// id: a retry of a claim whose answer was lost finds the runs that request claimed (still
// SUBMITTED under the same lease) instead of leaving them stranded for a whole lease. The id lives
// on the run's row, not in a table of its own: it is written by the claim that already updates
// the row, needs no pruning (the next claim of the run overwrites it), and every replica sees it.
// The partial index holds only SUBMITTED runs (a run leaves SUBMITTED within seconds).
export const idempotentAgentWrites: Migration = {
  version: 11,
  name: 'idempotent-agent-writes',
  sql: /* sql */ `
CREATE TABLE task_state_batches (
  flow_run_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
) WITHOUT ROWID;

ALTER TABLE flow_runs ADD COLUMN claim_request_id TEXT;
CREATE INDEX flow_runs_by_claim_request ON flow_runs (agent_id, claim_request_id) WHERE state = 'SUBMITTED';
`,
};
