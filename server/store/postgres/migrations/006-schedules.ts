import type { Migration } from './index.js';

// SQLite's 006-schedules in PostgreSQL types (see there for the reasons of each table and index).
// Clocks are json (the caller's key order, as parameter schemas); clock_keys is text[].
export const schedules: Migration = {
  version: 6,
  name: 'schedules',
  sql: /* sql */ `
ALTER TABLE flow_versions ADD COLUMN clocks json NOT NULL DEFAULT '[]';
ALTER TABLE flow_versions ADD COLUMN missed_runs text NOT NULL DEFAULT 'SKIP';
ALTER TABLE flow_versions ADD COLUMN catch_up_limit integer NOT NULL DEFAULT 10;
CREATE INDEX flow_versions_by_sha256 ON flow_versions (tenant, sha256);

ALTER TABLE flow_runs ADD COLUMN clock_key text COLLATE "C";
CREATE INDEX flow_runs_scheduler_queue ON flow_runs (flow_id, scheduled_at) WHERE state = 'SCHEDULED' AND clock_key IS NOT NULL;

CREATE TABLE flow_schedules (
  flow_id text COLLATE "C" PRIMARY KEY REFERENCES flows (id),
  tenant text COLLATE "C" NOT NULL,
  project_name text COLLATE "C" NOT NULL,
  flow_name text COLLATE "C" NOT NULL,
  state text NOT NULL CHECK (state IN ('ACTIVE', 'PAUSED')),
  state_changed_at bigint,
  state_changed_by text,
  clock_keys text[] NOT NULL DEFAULT '{}',
  refill_at bigint
);
CREATE INDEX flow_schedules_due ON flow_schedules (refill_at, flow_id) WHERE state = 'ACTIVE';
CREATE UNIQUE INDEX flow_schedules_by_name ON flow_schedules (tenant, project_name, flow_name);

CREATE TABLE schedule_clocks (
  flow_id text COLLATE "C" NOT NULL,
  clock_key text COLLATE "C" NOT NULL,
  tenant text COLLATE "C" NOT NULL,
  filled_through bigint NOT NULL,
  refill_at bigint NOT NULL,
  PRIMARY KEY (flow_id, clock_key)
);
`,
};
