// Notification rules, deliveries and the notifier's outbox step in SQLite (migration 008).
// SQLite has one writer, so transitions commit in id order and the cursor never needs to trail.
import type { Database } from 'better-sqlite3';
import { newId } from '../../../common/ids.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import {
  deliveryFromRow, dueFromRow, matchRules, NOTIFIER_CURSOR, ruleFromRow,
  type AttemptOutcome, type DeliveryRow, type DueDelivery, type DueRow, type EnqueueOptions, type FinalTransition, type NewDelivery,
  type NewNotificationRule, type NotificationsStore, type RuleRow,
} from '../notifications-store.js';
import type { NotificationDeliveryRecord, NotificationRuleRecord } from '../records.js';
import type { Page, PageRequest } from '../store.js';
import { finalStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS } from './rows.js';
import { statement } from './statements.js';

const nowMs = (db: Database): number => (statement(db, `SELECT ${NOW_MS} AS now`).get() as { now: number }).now;

function insertDeliveries(db: Database, deliveries: readonly NewDelivery[], now: number): number {
  const insert = statement(db,
    `INSERT INTO notification_deliveries (id, tenant, rule_id, event, flow_run_id, run_attempt, run_state, reason, message, occurred_at,
       state, attempts, created_at, next_attempt_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)
     ON CONFLICT (rule_id, flow_run_id, event, run_attempt) DO NOTHING`);
  let created = 0;
  for (const d of deliveries) {
    created += insert.run(newId(), d.tenant, d.ruleId, d.event, d.flowRunId, d.runAttempt, d.runState, d.reason, d.message, d.occurredAt, now, now).changes;
  }
  return created;
}

function rulesOf(db: Database, tenants: readonly string[]): NotificationRuleRecord[] {
  if (tenants.length === 0) return [];
  return (statement(db, 'SELECT * FROM notification_rules WHERE tenant IN (SELECT value FROM json_each(?))').all(JSON.stringify(tenants)) as RuleRow[]).map(ruleFromRow);
}

/** Notification rules and deliveries on one connection. */
export class SqliteNotificationsStore implements NotificationsStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async createRule(tenant: string, rule: NewNotificationRule): Promise<NotificationRuleRecord> {
    const row = statement(this.#db,
      `INSERT INTO notification_rules (id, tenant, flow_id, events, channel, url, signing_secret, created_at, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ?) RETURNING *`,
    ).get(newId(), tenant, rule.flowId, JSON.stringify(rule.on), rule.channel, rule.url, rule.signingSecret, rule.createdBy) as RuleRow;
    return ruleFromRow(row);
  }

  async listRules(tenant: string): Promise<NotificationRuleRecord[]> {
    return (statement(this.#db, 'SELECT * FROM notification_rules WHERE tenant = ? ORDER BY created_at, id').all(tenant) as RuleRow[]).map(ruleFromRow);
  }

  async getRule(tenant: string, id: string): Promise<NotificationRuleRecord | null> {
    const row = statement(this.#db, 'SELECT * FROM notification_rules WHERE tenant = ? AND id = ?').get(tenant, id) as RuleRow | undefined;
    return row ? ruleFromRow(row) : null;
  }

  async deleteRule(tenant: string, id: string): Promise<boolean> {
    return statement(this.#db, 'DELETE FROM notification_rules WHERE tenant = ? AND id = ?').run(tenant, id).changes > 0;
  }

  async listDeliveries(tenant: string, filter: { failed: boolean }, page: PageRequest): Promise<Page<NotificationDeliveryRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = statement(this.#db,
      `SELECT * FROM notification_deliveries
       WHERE tenant = ? AND (? = 0 OR state = 'FAILED') AND (? IS NULL OR (created_at, id) < (?, ?))
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    ).all(tenant, filter.failed ? 1 : 0, after?.[0] ?? null, after?.[0] ?? null, after?.[1] ?? null, first + 1) as DeliveryRow[];
    return pageOf(rows.map(deliveryFromRow), first, (d) => [d.createdAt, d.id]);
  }

  async enqueueTransitions(options: EnqueueOptions): Promise<number> {
    const db = this.#db;
    return db.transaction(() => {
      const cursor = (statement(db, 'SELECT last_id FROM notifier_cursor WHERE name = ?').get(NOTIFIER_CURSOR) as { last_id: number } | undefined)?.last_id ?? 0;
      const upto = (statement(db, 'SELECT MAX(id) AS id FROM (SELECT id FROM state_transitions WHERE id > ? ORDER BY id LIMIT ?)')
        .get(cursor, options.batchSize) as { id: number | null }).id;
      if (upto === null) return 0;
      // Final transitions of runs, without the retry that the same transaction records when
      // retries remain (transitions.ts shouldRetry): such a run goes on. Tenants without rules cost nothing.
      const transitions = statement(db,
        `SELECT t.tenant, t.flow_run_id AS flowRunId, fr.flow_id AS flowId, t.to_state AS toState, t.reason, t.message, t.attempt, t.at
         FROM state_transitions t LEFT JOIN flow_runs fr ON fr.id = t.flow_run_id
         WHERE t.id > ? AND t.id <= ? AND t.task_run_id IS NULL
           AND t.to_state IN ${sqlStateList(finalStates)}
           AND t.tenant IN (SELECT tenant FROM notification_rules)
           AND NOT EXISTS (SELECT 1 FROM state_transitions r WHERE r.flow_run_id = t.flow_run_id AND r.task_run_id IS NULL
             AND r.id > t.id AND r.reason = 'retry' AND r.attempt = t.attempt + 1)
         ORDER BY t.id`,
      ).all(cursor, upto) as FinalTransition[];
      const now = nowMs(db);
      const created = insertDeliveries(db, matchRules(transitions, rulesOf(db, [...new Set(transitions.map((t) => t.tenant))])), now);
      statement(db, 'INSERT INTO notifier_cursor (name, last_id, read_id) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, read_id = excluded.read_id')
        .run(NOTIFIER_CURSOR, upto, upto);
      return created;
    }).immediate();
  }

  async enqueueLate(lateAfterMs: number, limit: number): Promise<number> {
    const db = this.#db;
    return db.transaction(() => {
      const now = nowMs(db);
      const late = statement(db,
        `SELECT fr.tenant, fr.id AS flowRunId, fr.flow_id AS flowId, 'LATE' AS toState, fr.attempt, fr.scheduled_at AS at
         FROM flow_runs fr
         WHERE fr.state = 'SCHEDULED' AND fr.scheduled_at < ?
           AND fr.tenant IN (SELECT tenant FROM notification_rules WHERE events LIKE '%"LATE"%')
           AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.flow_run_id = fr.id AND d.event = 'LATE' AND d.run_attempt = fr.attempt)
         ORDER BY fr.scheduled_at LIMIT ?`,
      ).all(now - lateAfterMs, limit) as Omit<FinalTransition, 'reason' | 'message'>[];
      const rules = rulesOf(db, [...new Set(late.map((r) => r.tenant))]);
      const deliveries: NewDelivery[] = [];
      for (const run of late) {
        for (const rule of rules) {
          if (rule.tenant !== run.tenant || !rule.on.includes('LATE') || (rule.flowId !== null && rule.flowId !== run.flowId)) continue;
          const minutes = Math.round((now - run.at) / 60_000);
          deliveries.push({ tenant: run.tenant, ruleId: rule.id, event: 'LATE', flowRunId: run.flowRunId, runAttempt: run.attempt, runState: 'SCHEDULED',
            reason: 'late', message: `not started ${minutes} min after its scheduled time`, occurredAt: now });
        }
      }
      return insertDeliveries(db, deliveries, now);
    }).immediate();
  }

  async takeDue(limit: number, holdMs: number): Promise<DueDelivery[]> {
    const db = this.#db;
    return db.transaction(() => {
      const now = nowMs(db);
      const rows = statement(db,
        `SELECT d.*, r.channel AS r_channel, r.url AS r_url, r.signing_secret AS r_signing_secret,
           f.id AS f_id, f.name AS f_name, p.name AS p_name, fr.scheduled_at AS fr_scheduled_at, fr.ended_at AS fr_ended_at
         FROM notification_deliveries d
         LEFT JOIN notification_rules r ON r.id = d.rule_id
         LEFT JOIN flow_runs fr ON fr.id = d.flow_run_id
         LEFT JOIN flows f ON f.id = fr.flow_id
         LEFT JOIN projects p ON p.id = f.project_id
         WHERE d.state = 'PENDING' AND d.next_attempt_at <= ?
         ORDER BY d.next_attempt_at LIMIT ?`,
      ).all(now, limit) as DueRow[];
      const hold = statement(db, 'UPDATE notification_deliveries SET next_attempt_at = ? WHERE id = ?');
      for (const row of rows) hold.run(now + holdMs, row.id);
      return rows.map(dueFromRow);
    }).immediate();
  }

  async recordAttempt(id: string, outcome: AttemptOutcome): Promise<void> {
    if (outcome.delivered) {
      statement(this.#db, `UPDATE notification_deliveries SET state = 'DELIVERED', attempts = attempts + 1, delivered_at = ${NOW_MS}, next_attempt_at = NULL WHERE id = ? AND state = 'PENDING'`).run(id);
    } else {
      statement(this.#db,
        `UPDATE notification_deliveries SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ${NOW_MS} + ? WHERE id = ? AND state = 'PENDING'`,
      ).run(outcome.retryInMs === null ? 'FAILED' : 'PENDING', outcome.error, outcome.retryInMs ?? 0, id);
    }
  }
}
