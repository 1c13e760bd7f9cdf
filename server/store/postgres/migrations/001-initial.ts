import type { Migration } from './index.js';

// SQLite's 001-initial in PostgreSQL types. Times stay epoch ms (bigint) so records are the same
// in both stores. Identifiers and names are COLLATE "C": keyset pages compare bytes, as SQLite does,
// whatever locale the database was created with. Labels are text[] so the claim's routing rule is
// `labels <@ agent_labels`; parameters and schemas are json (not jsonb) to keep the caller's key order.
export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: /* sql */ `
CREATE TABLE projects (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (tenant, name)
);

CREATE TABLE flows (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
  name text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX flows_by_tenant_name ON flows (tenant, name, id);

CREATE TABLE flow_versions (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_id text COLLATE "C" NOT NULL REFERENCES flows (id),
  number integer NOT NULL,
  content_hash text NOT NULL,
  storage_uri text NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  entrypoint text NOT NULL,
  parameter_schema json NOT NULL,
  default_labels text[] NOT NULL,
  secrets text[] NOT NULL DEFAULT '{}',
  retries integer NOT NULL,
  retry_delay_seconds integer NOT NULL,
  timeout_seconds integer,
  description text,
  created_at bigint NOT NULL,
  UNIQUE (flow_id, number)
);

CREATE TABLE flow_runs (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_id text COLLATE "C" NOT NULL REFERENCES flows (id),
  flow_version_id text COLLATE "C" NOT NULL REFERENCES flow_versions (id),
  state text NOT NULL,
  state_reason text,
  state_message text,
  version integer NOT NULL,
  attempt integer NOT NULL,
  parameters json NOT NULL,
  labels text[] NOT NULL,
  priority integer NOT NULL,
  idempotency_key text COLLATE "C",
  scheduled_at bigint NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint,
  ended_at bigint,
  exit_code integer,
  signal text,
  agent_id text COLLATE "C",
  lease_token text COLLATE "C",
  lease_expires_at bigint,
  UNIQUE (tenant, idempotency_key)
);
-- Claim order among due runs; partial, so it stays as small as the queue.
CREATE INDEX flow_runs_claimable ON flow_runs (tenant, priority DESC, scheduled_at, id) WHERE state = 'SCHEDULED';
-- Live leases only (a lease's expiry is cleared when its attempt ends), for the lease reaper.
CREATE INDEX flow_runs_leased ON flow_runs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX flow_runs_by_created ON flow_runs (tenant, created_at DESC, id DESC);
CREATE INDEX flow_runs_by_flow ON flow_runs (tenant, flow_id, created_at DESC, id DESC);
CREATE INDEX flow_runs_by_state ON flow_runs (tenant, state, created_at DESC, id DESC);

CREATE TABLE task_runs (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL REFERENCES flow_runs (id),
  key text COLLATE "C" NOT NULL,
  task_name text NOT NULL,
  map_index integer,
  state text NOT NULL,
  state_message text,
  attempts integer NOT NULL,
  started_at bigint,
  ended_at bigint,
  UNIQUE (flow_run_id, key)
);

CREATE TABLE state_transitions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL,
  task_run_id text COLLATE "C",
  from_state text,
  to_state text NOT NULL,
  reason text,
  message text,
  actor text NOT NULL,
  attempt integer NOT NULL,
  at bigint NOT NULL
);
CREATE INDEX state_transitions_by_run ON state_transitions (flow_run_id, task_run_id, id);

CREATE TABLE logs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL,
  task_run_key text,
  level text NOT NULL,
  stream text NOT NULL,
  message text NOT NULL,
  timestamp bigint NOT NULL
);
CREATE INDEX logs_by_run ON logs (flow_run_id, id);

-- A log batch retried after a lost response is stored once.
CREATE TABLE log_batches (
  flow_run_id text COLLATE "C" NOT NULL,
  batch_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
);

CREATE TABLE agents (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  subject text NOT NULL,
  labels text[] NOT NULL,
  concurrency integer NOT NULL,
  last_seen_at bigint NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (tenant, name)
);
`,
};
