// Where notification rules and deliveries rest (migration 008), and the notifier's outbox step.
//
// The outbox is state_transitions: every state write records its transition in the same
// transaction as the change, so nothing acknowledged is lost and no state write waits for a
// receiver. The notifier (server/services/notifier.ts) asks the store to turn the transitions
// after its durable cursor into deliveries, in one transaction with the cursor's advance; a
// delivery is unique per (rule, run, event, run attempt), so a transition read twice is sent once.
import { finalStates } from '../../contract/states.js';
import type { DeliveryState, NotificationChannel, NotificationDeliveryRecord, NotificationEvent, NotificationRuleRecord } from './records.js';
import type { Page, PageRequest } from './store.js';

/** What {@link NotificationsStore.createRule} writes (already checked by the service). */
export interface NewNotificationRule {
  flowId: string | null;
  on: NotificationEvent[];
  channel: NotificationChannel;
  url: string;
  signingSecret: string | null;
  createdBy: string;
}

/** A pending delivery with what sending it needs: the rule's receiver and the run's names. */
export interface DueDelivery extends NotificationDeliveryRecord {
  /** The run's state when the event happened. */
  runState: string;
  runAttempt: number;
  reason: string | null;
  message: string | null;
  /** Epoch ms of the event. */
  occurredAt: number;
  /** Null once the rule was deleted: the delivery cannot be sent. */
  rule: { channel: NotificationChannel; url: string; signingSecret: string | null } | null;
  flow: { id: string; name: string; project: string } | null;
  run: { scheduledAt: number; endedAt: number | null } | null;
}

/** How one attempt went. */
export type AttemptOutcome =
  | { delivered: true }
  /** `retryInMs` (from the database's now) null: that was the last attempt, the delivery is FAILED. */
  | { delivered: false; error: string; retryInMs: number | null };

/** Settings of {@link NotificationsStore.enqueueTransitions}. */
export interface EnqueueOptions {
  /** Transitions read per call. */
  batchSize: number;
  /**
   * How old (ms, by their `at`) transitions must be before the cursor moves past them. PostgreSQL
   * identity values can commit out of order (a transaction holding id 5 may commit after the one
   * holding id 6), so its cursor trails by this much and recent transitions are read again; the
   * unique delivery key makes that harmless. SQLite's single writer commits in id order: 0.
   */
  settleMs: number;
}

/** Rules, deliveries and the notifier's cursor in the server's database. */
export interface NotificationsStore {
  createRule(tenant: string, rule: NewNotificationRule): Promise<NotificationRuleRecord>;
  /** The tenant's rules, oldest first. */
  listRules(tenant: string): Promise<NotificationRuleRecord[]>;
  getRule(tenant: string, id: string): Promise<NotificationRuleRecord | null>;
  /** Deletes a rule (its deliveries stay, with no rule); false when there was none. */
  deleteRule(tenant: string, id: string): Promise<boolean>;
  /** The tenant's deliveries, newest first; `failed` for the FAILED ones only. */
  listDeliveries(tenant: string, filter: { failed: boolean }, page: PageRequest): Promise<Page<NotificationDeliveryRecord>>;
  /**
   * The outbox step: turns the final transitions after the cursor (runs that ended, without a
   * retry following) into PENDING deliveries for every matching rule, and advances the cursor, in
   * one transaction. Returns the deliveries created.
   */
  enqueueTransitions(options: EnqueueOptions): Promise<number>;
  /** One LATE delivery per matching rule for each SCHEDULED run due more than `lateAfterMs` ago. */
  enqueueLate(lateAfterMs: number, limit: number): Promise<number>;
  /**
   * Up to `limit` PENDING deliveries whose next attempt is due, each pushed `holdMs` ahead so the
   * next pass does not send it again while this one is in flight (a crash resends it after that).
   */
  takeDue(limit: number, holdMs: number): Promise<DueDelivery[]>;
  /** Records an attempt's outcome (attempts + 1). */
  recordAttempt(id: string, outcome: AttemptOutcome): Promise<void>;
}

/** Events that end a run, by the state it ends in. */
export const finalEvents: ReadonlySet<string> = new Set(finalStates);

/** A final transition as the outbox step reads it. */
export interface FinalTransition {
  tenant: string;
  flowRunId: string;
  flowId: string | null;
  toState: string;
  reason: string | null;
  message: string | null;
  attempt: number;
  at: number;
}

/** A delivery the outbox step writes. */
export interface NewDelivery {
  tenant: string;
  ruleId: string;
  event: NotificationEvent;
  flowRunId: string;
  runAttempt: number;
  runState: string;
  reason: string | null;
  message: string | null;
  occurredAt: number;
}

/**
 * The deliveries `transitions` call for: one per rule of the run's tenant that watches the run's
 * flow (or every flow) and the event, and existed when the transition happened (a new rule is not
 * sent events from before it, which re-reading a window would otherwise do).
 */
export function matchRules(transitions: readonly FinalTransition[], rules: readonly NotificationRuleRecord[]): NewDelivery[] {
  const out: NewDelivery[] = [];
  for (const t of transitions) {
    if (!finalEvents.has(t.toState)) continue;
    const event = t.toState as NotificationEvent;
    for (const rule of rules) {
      if (rule.tenant !== t.tenant || !rule.on.includes(event) || rule.createdAt >= t.at) continue;
      if (rule.flowId !== null && rule.flowId !== t.flowId) continue;
      out.push({ tenant: t.tenant, ruleId: rule.id, event, flowRunId: t.flowRunId, runAttempt: t.attempt, runState: t.toState, reason: t.reason, message: t.message, occurredAt: t.at });
    }
  }
  return out;
}

/** A notification_rules row as both dialects return it (SQLite keeps `events` as JSON text). */
export interface RuleRow {
  id: string;
  tenant: string;
  flow_id: string | null;
  events: string | string[];
  channel: string;
  url: string;
  signing_secret: string | null;
  created_at: number | string;
  created_by: string;
}

export const ruleFromRow = (r: RuleRow): NotificationRuleRecord => ({
  id: r.id,
  tenant: r.tenant,
  flowId: r.flow_id,
  on: (typeof r.events === 'string' ? JSON.parse(r.events) : r.events) as NotificationEvent[],
  channel: r.channel as NotificationChannel,
  url: r.url,
  signingSecret: r.signing_secret,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

/** A notification_deliveries row (either dialect), optionally joined with rule, flow and run. */
export interface DeliveryRow {
  id: string;
  tenant: string;
  rule_id: string | null;
  event: string;
  flow_run_id: string;
  run_attempt: number;
  run_state: string;
  reason: string | null;
  message: string | null;
  occurred_at: number | string;
  state: string;
  attempts: number;
  last_error: string | null;
  created_at: number | string;
  delivered_at: number | string | null;
  next_attempt_at: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export const deliveryFromRow = (r: DeliveryRow): NotificationDeliveryRecord => ({
  id: r.id,
  tenant: r.tenant,
  ruleId: r.rule_id,
  event: r.event as NotificationEvent,
  flowRunId: r.flow_run_id,
  state: r.state as DeliveryState,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: Number(r.created_at),
  deliveredAt: num(r.delivered_at),
  nextAttemptAt: r.state === 'PENDING' ? num(r.next_attempt_at) : null,
});

/** A due delivery row joined with its rule, run and flow. */
export interface DueRow extends DeliveryRow {
  r_channel: string | null;
  r_url: string | null;
  r_signing_secret: string | null;
  f_id: string | null;
  f_name: string | null;
  p_name: string | null;
  fr_scheduled_at: number | string | null;
  fr_ended_at: number | string | null;
}

export const dueFromRow = (r: DueRow): DueDelivery => ({
  ...deliveryFromRow(r),
  runState: r.run_state,
  runAttempt: r.run_attempt,
  reason: r.reason,
  message: r.message,
  occurredAt: Number(r.occurred_at),
  rule: r.r_channel === null || r.r_url === null ? null : { channel: r.r_channel as NotificationChannel, url: r.r_url, signingSecret: r.r_signing_secret },
  flow: r.f_id === null ? null : { id: r.f_id, name: r.f_name ?? '', project: r.p_name ?? '' },
  run: r.fr_scheduled_at === null ? null : { scheduledAt: Number(r.fr_scheduled_at), endedAt: num(r.fr_ended_at) },
});

/** The one cursor row's name. */
export const NOTIFIER_CURSOR = 'notifier';
