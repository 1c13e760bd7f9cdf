// Notification rules, deliveries and the notifier's outbox step in PostgreSQL (migration 008).
//
// Identity values are taken before commit, so transitions can become visible out of id order: a
// transaction holding id 5 may commit after the one holding id 6. The cursor therefore keeps two
// marks: `read_id`, how far transitions were read, and `last_id`, which moves only past
// transitions older than `settleMs`; each pass reads new transitions after `read_id` and the
// window between the two again. A re-read transition whose deliveries exist is skipped in SQL,
// and the unique (rule, run, event, attempt) key makes any other second read create nothing.
import { newId } from '../../../common/ids.js';
import { decodeCursor, pageOf, pageSize } from '../cursor.js';
import {
  deliveryFromRow, dueFromRow, matchRules, NOTIFIER_CURSOR, ruleFromRow,
  type AttemptOutcome, type DeliveryRow, type DueDelivery, type DueRow, type EnqueueOptions, type FinalTransition, type NewDelivery,
  type NewNotificationRule, type NotificationsStore, type RuleRow,
} from '../notifications-store.js';
import type { NotificationDeliveryRecord, NotificationRuleRecord } from '../records.js';
import type { Page, PageRequest } from '../store.js';
import type { Executor, PgDatabase } from './database.js';
import { finalStates, sqlStateList } from '../../../contract/states.js';
import { NOW_MS, raw, sql } from './sql.js';

async function nowMs(tx: Executor): Promise<number> {
  return Number((await tx.row<{ now: number }>(sql`SELECT ${NOW_MS} AS now`))!.now);
}

async function insertDeliveries(tx: Executor, deliveries: readonly NewDelivery[], now: number): Promise<number> {
  if (deliveries.length === 0) return 0;
  const rows = await tx.rows<{ id: string }>(sql`
    INSERT INTO notification_deliveries (id, tenant, rule_id, event, flow_run_id, run_attempt, run_state, reason, message, occurred_at,
      state, attempts, created_at, next_attempt_at)
    SELECT d.id, d.tenant, d.rule_id, d.event, d.flow_run_id, d.run_attempt, d.run_state, d.reason, d.message, d.occurred_at,
      'PENDING', 0, ${now}::bigint, ${now}::bigint
    FROM unnest(${deliveries.map(() => newId())}::text[], ${deliveries.map((d) => d.tenant)}::text[], ${deliveries.map((d) => d.ruleId)}::text[],
      ${deliveries.map((d) => d.event)}::text[], ${deliveries.map((d) => d.flowRunId)}::text[], ${deliveries.map((d) => d.runAttempt)}::integer[],
      ${deliveries.map((d) => d.runState)}::text[], ${deliveries.map((d) => d.reason)}::text[], ${deliveries.map((d) => d.message)}::text[],
      ${deliveries.map((d) => d.occurredAt)}::bigint[])
      AS d(id, tenant, rule_id, event, flow_run_id, run_attempt, run_state, reason, message, occurred_at)
    ON CONFLICT (rule_id, flow_run_id, event, run_attempt) DO NOTHING
    RETURNING id`);
  return rows.length;
}

async function rulesOf(tx: Executor, tenants: readonly string[]): Promise<NotificationRuleRecord[]> {
  if (tenants.length === 0) return [];
  return (await tx.rows<RuleRow>(sql`SELECT * FROM notification_rules WHERE tenant = ANY(${[...tenants]}::text[])`)).map(ruleFromRow);
}

/** Notification rules and deliveries on one pool. */
export class PostgresNotificationsStore implements NotificationsStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async createRule(tenant: string, rule: NewNotificationRule): Promise<NotificationRuleRecord> {
    const row = await this.#db.row<RuleRow>(sql`
      INSERT INTO notification_rules (id, tenant, flow_id, events, channel, url, signing_secret, created_at, created_by)
      VALUES (${newId()}, ${tenant}, ${rule.flowId}, ${rule.on}::text[], ${rule.channel}, ${rule.url}, ${rule.signingSecret}, ${NOW_MS}, ${rule.createdBy})
      RETURNING *`);
    return ruleFromRow(row!);
  }

  async listRules(tenant: string): Promise<NotificationRuleRecord[]> {
    return (await this.#db.rows<RuleRow>(sql`SELECT * FROM notification_rules WHERE tenant = ${tenant} ORDER BY created_at, id`)).map(ruleFromRow);
  }

  async getRule(tenant: string, id: string): Promise<NotificationRuleRecord | null> {
    const row = await this.#db.row<RuleRow>(sql`SELECT * FROM notification_rules WHERE tenant = ${tenant} AND id = ${id}`);
    return row ? ruleFromRow(row) : null;
  }

  async deleteRule(tenant: string, id: string): Promise<boolean> {
    return (await this.#db.rows(sql`DELETE FROM notification_rules WHERE tenant = ${tenant} AND id = ${id} RETURNING id`)).length > 0;
  }

  async listDeliveries(tenant: string, filter: { failed: boolean }, page: PageRequest): Promise<Page<NotificationDeliveryRecord>> {
    const first = pageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await this.#db.rows<DeliveryRow>(sql`
      SELECT * FROM notification_deliveries
      WHERE tenant = ${tenant} AND (${!filter.failed}::boolean OR state = 'FAILED')
        AND (${after === null}::boolean OR (created_at, id) < (${after?.[0] ?? 0}::bigint, ${after?.[1] ?? ''}::text))
      ORDER BY created_at DESC, id DESC LIMIT ${first + 1}::integer`);
    return pageOf(rows.map(deliveryFromRow), first, (d) => [d.createdAt, d.id]);
  }

  async enqueueTransitions(options: EnqueueOptions): Promise<number> {
    return this.#db.transaction(async (tx) => {
      // The cursor row's lock keeps two notifiers (a leader hand-over) from interleaving.
      await tx.rows(sql`INSERT INTO notifier_cursor (name, last_id, read_id) VALUES (${NOTIFIER_CURSOR}, 0, 0) ON CONFLICT (name) DO NOTHING`);
      const mark = (await tx.row<{ last_id: string; read_id: string }>(sql`SELECT last_id, read_id FROM notifier_cursor WHERE name = ${NOTIFIER_CURSOR} FOR UPDATE`))!;
      const cursor = Number(mark.last_id);
      const read = Number(mark.read_id);
      // New transitions (after read_id, one batch of them) and the trailing window (cursor, read_id]
      // again, where a transaction that took its id early may have committed since.
      const range = await tx.row<{ upto: string | null }>(sql`
        SELECT MAX(id) AS upto FROM (SELECT id FROM state_transitions WHERE id > ${read}::bigint ORDER BY id LIMIT ${options.batchSize}::integer) AS batch`);
      const upto = Math.max(read, Number(range?.upto ?? 0));
      if (upto <= cursor) return 0;
      const now = await nowMs(tx);
      const transitions = (await tx.rows<FinalTransition & { at: string }>(sql`
        SELECT t.tenant, t.flow_run_id AS "flowRunId", fr.flow_id AS "flowId", t.to_state AS "toState", t.reason, t.message, t.attempt, t.at
        FROM state_transitions t LEFT JOIN flow_runs fr ON fr.id = t.flow_run_id
        WHERE t.id > ${cursor}::bigint AND t.id <= ${upto}::bigint AND t.task_run_id IS NULL
          AND t.to_state IN ${raw(sqlStateList(finalStates))}
          AND t.tenant IN (SELECT tenant FROM notification_rules)
          AND NOT EXISTS (SELECT 1 FROM state_transitions r WHERE r.flow_run_id = t.flow_run_id AND r.task_run_id IS NULL
            AND r.id > t.id AND r.reason = 'retry' AND r.attempt = t.attempt + 1)
          -- Re-read transitions whose deliveries exist already: every rule that matches was
          -- matched in the same transaction, so there is nothing left to write.
          AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.flow_run_id = t.flow_run_id AND d.event = t.to_state AND d.run_attempt = t.attempt)
        ORDER BY t.id`)).map((t) => ({ ...t, at: Number(t.at) }));
      const created = await insertDeliveries(tx, matchRules(transitions, await rulesOf(tx, [...new Set(transitions.map((t) => t.tenant))])), now);
      // The settled cursor moves past every transition older than settleMs, up to the first newer one.
      const unsettled = await tx.row<{ id: string | null }>(sql`
        SELECT MIN(id) AS id FROM state_transitions WHERE id > ${cursor}::bigint AND id <= ${upto}::bigint AND at > ${now - options.settleMs}::bigint`);
      const next = unsettled?.id === null || unsettled?.id === undefined ? upto : Number(unsettled.id) - 1;
      await tx.rows(sql`UPDATE notifier_cursor SET last_id = ${Math.max(cursor, next)}::bigint, read_id = ${upto}::bigint WHERE name = ${NOTIFIER_CURSOR}`);
      return created;
    });
  }

  async enqueueLate(lateAfterMs: number, limit: number): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const now = await nowMs(tx);
      const late = (await tx.rows<{ tenant: string; flowRunId: string; flowId: string; attempt: number; at: string }>(sql`
        SELECT fr.tenant, fr.id AS "flowRunId", fr.flow_id AS "flowId", fr.attempt, fr.scheduled_at AS at
        FROM flow_runs fr
        WHERE fr.state = 'SCHEDULED' AND fr.scheduled_at < ${now - lateAfterMs}::bigint
          AND fr.tenant IN (SELECT tenant FROM notification_rules WHERE 'LATE' = ANY(events))
          AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.flow_run_id = fr.id AND d.event = 'LATE' AND d.run_attempt = fr.attempt)
        ORDER BY fr.scheduled_at LIMIT ${limit}::integer`));
      const rules = await rulesOf(tx, [...new Set(late.map((r) => r.tenant))]);
      const deliveries: NewDelivery[] = [];
      for (const run of late) {
        for (const rule of rules) {
          if (rule.tenant !== run.tenant || !rule.on.includes('LATE') || (rule.flowId !== null && rule.flowId !== run.flowId)) continue;
          const minutes = Math.round((now - Number(run.at)) / 60_000);
          deliveries.push({ tenant: run.tenant, ruleId: rule.id, event: 'LATE', flowRunId: run.flowRunId, runAttempt: run.attempt, runState: 'SCHEDULED',
            reason: 'late', message: `not started ${minutes} min after its scheduled time`, occurredAt: now });
        }
      }
      return insertDeliveries(tx, deliveries, now);
    });
  }

  async takeDue(limit: number, holdMs: number): Promise<DueDelivery[]> {
    return this.#db.transaction(async (tx) => {
      const now = await nowMs(tx);
      const rows = await tx.rows<DueRow>(sql`
        WITH due AS (
          SELECT id FROM notification_deliveries WHERE state = 'PENDING' AND next_attempt_at <= ${now}::bigint
          ORDER BY next_attempt_at LIMIT ${limit}::integer FOR UPDATE SKIP LOCKED
        ),
        held AS (
          UPDATE notification_deliveries d SET next_attempt_at = ${now + holdMs}::bigint FROM due WHERE d.id = due.id RETURNING d.*
        )
        SELECT held.*, r.channel AS r_channel, r.url AS r_url, r.signing_secret AS r_signing_secret,
          f.id AS f_id, f.name AS f_name, p.name AS p_name, fr.scheduled_at AS fr_scheduled_at, fr.ended_at AS fr_ended_at
        FROM held
        LEFT JOIN notification_rules r ON r.id = held.rule_id
        LEFT JOIN flow_runs fr ON fr.id = held.flow_run_id
        LEFT JOIN flows f ON f.id = fr.flow_id
        LEFT JOIN projects p ON p.id = f.project_id`);
      return rows.map(dueFromRow);
    });
  }

  async recordAttempt(id: string, outcome: AttemptOutcome): Promise<void> {
    if (outcome.delivered) {
      await this.#db.rows(sql`UPDATE notification_deliveries SET state = 'DELIVERED', attempts = attempts + 1, delivered_at = ${NOW_MS}, next_attempt_at = NULL
        WHERE id = ${id} AND state = 'PENDING'`);
    } else {
      await this.#db.rows(sql`
        UPDATE notification_deliveries SET state = ${outcome.retryInMs === null ? 'FAILED' : 'PENDING'}, attempts = attempts + 1,
          last_error = ${outcome.error}, next_attempt_at = ${NOW_MS} + ${outcome.retryInMs ?? 0}::bigint
        WHERE id = ${id} AND state = 'PENDING'`);
    }
  }
}
