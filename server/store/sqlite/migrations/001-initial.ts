import type { Migration } from './index.js';

export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: /* sql */ `
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant, name)
);

CREATE TABLE flows (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  project_id TEXT NOT NULL REFERENCES projects (id),
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX flows_by_tenant_name ON flows (tenant, name, id);

CREATE TABLE flow_versions (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  flow_id TEXT NOT NULL REFERENCES flows (id),
  number INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  storage_uri TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  entrypoint TEXT NOT NULL,
  parameter_schema TEXT NOT NULL,
  default_labels TEXT NOT NULL,
  secrets TEXT NOT NULL DEFAULT '[]',
  retries INTEGER NOT NULL,
  retry_delay_seconds INTEGER NOT NULL,
  timeout_seconds INTEGER,
  description TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (flow_id, number)
);

CREATE TABLE flow_runs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  flow_id TEXT NOT NULL REFERENCES flows (id),
  flow_version_id TEXT NOT NULL REFERENCES flow_versions (id),
  state TEXT NOT NULL,
  state_reason TEXT,
  state_message TEXT,
  version INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  parameters TEXT NOT NULL,
  labels TEXT NOT NULL,
  priority INTEGER NOT NULL,
  idempotency_key TEXT,
  scheduled_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  exit_code INTEGER,
  signal TEXT,
  agent_id TEXT,
  lease_token TEXT,
  lease_expires_at INTEGER,
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
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  flow_run_id TEXT NOT NULL REFERENCES flow_runs (id),
  key TEXT NOT NULL,
  task_name TEXT NOT NULL,
  map_index INTEGER,
  state TEXT NOT NULL,
  state_message TEXT,
  attempts INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  UNIQUE (flow_run_id, key)
);

CREATE TABLE state_transitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  flow_run_id TEXT NOT NULL,
  task_run_id TEXT,
  from_state TEXT,
  to_state TEXT NOT NULL,
  reason TEXT,
  message TEXT,
  actor TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX state_transitions_by_run ON state_transitions (flow_run_id, task_run_id, id);

CREATE TABLE logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  flow_run_id TEXT NOT NULL,
  task_run_key TEXT,
  level TEXT NOT NULL,
  stream TEXT NOT NULL,
  message TEXT NOT NULL,
  timestamp INTEGER NOT NULL
);
CREATE INDEX logs_by_run ON logs (flow_run_id, id);

-- A log batch retried after a lost response is stored once.
CREATE TABLE log_batches (
  flow_run_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  PRIMARY KEY (flow_run_id, batch_id)
) WITHOUT ROWID;

CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  subject TEXT NOT NULL,
  labels TEXT NOT NULL,
  concurrency INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant, name)
);
`,
};
