import type { Migration } from './index.js';

// SQLite's 011-idempotent-agent-writes in PostgreSQL types (see there for the reasons). Adding a
// nullable column without a default changes only the catalog: no table rewrite.
export const idempotentAgentWrites: Migration = {
  version: 11,
  name: 'idempotent-agent-writes',
  sql: /* sql */ `
CREATE TABLE task_state_batches (
  flow_run_id text COLLATE "C" NOT NULL,
  batch_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
);

ALTER TABLE flow_runs ADD COLUMN claim_request_id text COLLATE "C";
CREATE INDEX flow_runs_by_claim_request ON flow_runs (agent_id, claim_request_id) WHERE state = 'SUBMITTED';
`,
};
