import type { Migration } from './index.js';

// Schedules. A version records its clocks and missed-run policy (declared in code, hashed); the
// operator's switch lives in flow_schedules, one row per flow, created by the first registration
// that declares clocks and never changed by a later one. Runs the scheduler created carry their
// clock's key, so a pause or a version with other clocks finds its future runs through one partial
// index (flow_runs_scheduler_queue) without reading the flow's history.
//
// The scheduler's bookkeeping: schedule_clocks holds, per clock, the instant runs exist up to
// (filled_through) and when to look again (refill_at); flow_schedules.refill_at is the minimum over
// the current clocks (0 for a clock never filled, null when the latest version has no clocks), so
// listDueSchedules is one range scan of flow_schedules_due, most overdue first. clock_keys repeats
// the latest version's keys so the scheduler's writes check them without decoding versions.
// project_name and flow_name repeat the flow's names (which never change) so a page of
// listFlowSchedules walks flow_schedules_by_name in order instead of sorting every schedule.
export const schedules: Migration = {
  version: 6,
  name: 'schedules',
  sql: /* sql */ `
ALTER TABLE flow_versions ADD COLUMN clocks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE flow_versions ADD COLUMN missed_runs TEXT NOT NULL DEFAULT 'SKIP';
ALTER TABLE flow_versions ADD COLUMN catch_up_limit INTEGER NOT NULL DEFAULT 10;
-- knownBundles: which digests a tenant has registered.
CREATE INDEX flow_versions_by_sha256 ON flow_versions (tenant, sha256);

ALTER TABLE flow_runs ADD COLUMN clock_key TEXT;
CREATE INDEX flow_runs_scheduler_queue ON flow_runs (flow_id, scheduled_at) WHERE state = 'SCHEDULED' AND clock_key IS NOT NULL;

CREATE TABLE flow_schedules (
  flow_id TEXT PRIMARY KEY REFERENCES flows (id),
  tenant TEXT NOT NULL,
  project_name TEXT NOT NULL,
  flow_name TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ACTIVE', 'PAUSED')),
  state_changed_at INTEGER,
  state_changed_by TEXT,
  clock_keys TEXT NOT NULL DEFAULT '[]',
  refill_at INTEGER
);
CREATE INDEX flow_schedules_due ON flow_schedules (refill_at, flow_id) WHERE state = 'ACTIVE';
CREATE UNIQUE INDEX flow_schedules_by_name ON flow_schedules (tenant, project_name, flow_name);

CREATE TABLE schedule_clocks (
  flow_id TEXT NOT NULL,
  clock_key TEXT NOT NULL,
  tenant TEXT NOT NULL,
  filled_through INTEGER NOT NULL,
  refill_at INTEGER NOT NULL,
  PRIMARY KEY (flow_id, clock_key)
) WITHOUT ROWID;
`,
};
