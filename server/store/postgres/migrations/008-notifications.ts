import type { Migration } from './index.js';

// SQLite's 008-notifications: notification rules, deliveries (unique per rule, run, event and run
// attempt, so a transition read twice is sent once) and the notifier's cursor over state_transitions.
export const notifications: Migration = {
  version: 8,
  name: 'notifications',
  sql: /* sql */ `
CREATE TABLE notification_rules (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  flow_id text COLLATE "C",
  events text[] NOT NULL,
  channel text NOT NULL CHECK (channel IN ('WEBHOOK', 'SLACK', 'DISCORD')),
  url text NOT NULL,
  signing_secret text,
  created_at bigint NOT NULL,
  created_by text NOT NULL
);
CREATE INDEX notification_rules_by_tenant ON notification_rules (tenant, created_at, id);

CREATE TABLE notification_deliveries (
  id text COLLATE "C" PRIMARY KEY,
  tenant text COLLATE "C" NOT NULL,
  rule_id text COLLATE "C" REFERENCES notification_rules (id) ON DELETE SET NULL,
  event text NOT NULL,
  flow_run_id text COLLATE "C" NOT NULL,
  run_attempt integer NOT NULL,
  run_state text NOT NULL,
  reason text,
  message text,
  occurred_at bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at bigint NOT NULL,
  delivered_at bigint,
  next_attempt_at bigint,
  UNIQUE (rule_id, flow_run_id, event, run_attempt)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX notification_deliveries_by_tenant ON notification_deliveries (tenant, created_at DESC, id DESC);
CREATE INDEX notification_deliveries_failed ON notification_deliveries (tenant, created_at DESC, id DESC) WHERE state = 'FAILED';
CREATE INDEX notification_deliveries_by_run ON notification_deliveries (flow_run_id, event, run_attempt);

CREATE TABLE notifier_cursor (
  name text COLLATE "C" PRIMARY KEY,
  -- Every transition up to last_id is processed for good; up to read_id at least once
  -- (postgres/notifications.ts re-reads the ids between, which may have committed late).
  last_id bigint NOT NULL,
  read_id bigint NOT NULL
);
`,
};
