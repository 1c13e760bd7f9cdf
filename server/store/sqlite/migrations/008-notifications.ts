import type { Migration } from './index.js';

// Notification rules and their deliveries (server/services/notifier.ts). The outbox is
// state_transitions itself: every state write already records its transition in the same
// transaction, so the notifier reads transitions after its cursor (notifier_cursor) and writes the
// deliveries they call for, with the cursor's advance, in one transaction. A delivery is unique per
// (rule, run, event, run attempt), so reading a transition twice never sends twice.
export const notifications: Migration = {
  version: 8,
  name: 'notifications',
  sql: /* sql */ `
CREATE TABLE notification_rules (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  flow_id TEXT,
  events TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('WEBHOOK', 'SLACK', 'DISCORD')),
  url TEXT NOT NULL,
  signing_secret TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX notification_rules_by_tenant ON notification_rules (tenant, created_at, id);

CREATE TABLE notification_deliveries (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  rule_id TEXT REFERENCES notification_rules (id) ON DELETE SET NULL,
  event TEXT NOT NULL,
  flow_run_id TEXT NOT NULL,
  run_attempt INTEGER NOT NULL,
  run_state TEXT NOT NULL,
  reason TEXT,
  message TEXT,
  occurred_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER,
  next_attempt_at INTEGER,
  UNIQUE (rule_id, flow_run_id, event, run_attempt)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX notification_deliveries_by_tenant ON notification_deliveries (tenant, created_at DESC, id DESC);
CREATE INDEX notification_deliveries_failed ON notification_deliveries (tenant, created_at DESC, id DESC) WHERE state = 'FAILED';
CREATE INDEX notification_deliveries_by_run ON notification_deliveries (flow_run_id, event, run_attempt);

CREATE TABLE notifier_cursor (
  name TEXT PRIMARY KEY,
  -- Every transition up to last_id is processed for good; up to read_id at least once.
  last_id INTEGER NOT NULL,
  read_id INTEGER NOT NULL
);
`,
};
