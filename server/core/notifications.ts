// Notification rules for users: create, list, delete (role-checked, scoped by the identity's
// tenant) and the delivery list. A rule's URL is a credential (a Slack or Discord webhook URL is
// all it takes to post into the channel), so the API shows it with its path hidden, and refusals
// and logs name only its origin.
import { FluxoError } from '../../common/errors.js';
import type { Identity } from '../../common/identity.js';
import { secretNameProblem } from '../../contract/names.js';
import type { NotificationsStore } from '../store/notifications-store.js';
import type { NotificationChannel, NotificationDeliveryRecord, NotificationEvent, NotificationRuleRecord } from '../store/records.js';
import type { SecretsStore } from '../store/secrets-store.js';
import type { Page, PageRequest, Store } from '../store/store.js';
import { authorize } from './authorize.js';

/** Longest receiver URL accepted. */
const MAX_URL_LENGTH = 2048;

const EVENTS: readonly NotificationEvent[] = ['FAILED', 'CRASHED', 'TIMED_OUT', 'CANCELLED', 'SUCCESS', 'LATE'];
const CHANNELS: readonly NotificationChannel[] = ['WEBHOOK', 'SLACK', 'DISCORD'];
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Settings of {@link Notifications}. */
export interface NotificationSettings {
  /** Whether http:// to a loopback address is accepted (`--allow-http-webhooks`; tests, local receivers). @default false */
  allowHttpWebhooks?: boolean;
  /** Whether the server has a secrets key (without one a signing secret can never be read). */
  secretsAvailable: boolean;
}

/** What {@link Notifications.createRule} takes (the GraphQL input). */
export interface CreateRuleInput {
  on: readonly NotificationEvent[];
  project?: string | null | undefined;
  flowName?: string | null | undefined;
  channel: NotificationChannel;
  url: string;
  signingSecret?: string | null | undefined;
}

/**
 * A URL as it may be shown: scheme and host, the path hidden (`https://hooks.slack.com/…`).
 *
 * @example maskUrl('https://hooks.slack.com/services/T0/B0/xyz') // 'https://hooks.slack.com/…'
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '(unparseable URL)';
  }
}

/** Throws BAD_USER_INPUT unless `url` is a receiver this server may send to; returns it normalised. */
export function checkReceiverUrl(url: string, allowHttp: boolean): string {
  if (url.length > MAX_URL_LENGTH) throw new FluxoError('BAD_USER_INPUT', `url: at most ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FluxoError('BAD_USER_INPUT', 'url: not a valid absolute URL');
  }
  if (parsed.username || parsed.password) throw new FluxoError('BAD_USER_INPUT', `url: ${maskUrl(url)} must not hold a user name or password`);
  if (parsed.protocol === 'https:') return parsed.href;
  if (parsed.protocol === 'http:') {
    if (!LOOPBACK.has(parsed.hostname)) {
      throw new FluxoError('BAD_USER_INPUT', `url: ${maskUrl(url)} must be https:// (http:// only to 127.0.0.1, ::1 or localhost, on a server started with --allow-http-webhooks)`);
    }
    if (!allowHttp) {
      throw new FluxoError('BAD_USER_INPUT', `url: ${maskUrl(url)} is http://; this server accepts only https:// receivers (start it with --allow-http-webhooks to allow http:// to a loopback address)`);
    }
    return parsed.href;
  }
  throw new FluxoError('BAD_USER_INPUT', `url: the scheme ${parsed.protocol} is not https://`);
}

/**
 * The notification rules service. Rules are checked when created (events, URL, the flow, the
 * signing secret), so the notifier only ever meets rules it can send.
 *
 * @example const notifications = new Notifications(store, { secretsAvailable: true })
 */
export class Notifications {
  readonly #store: Store;
  readonly #settings: NotificationSettings;

  constructor(store: Store, settings: NotificationSettings) {
    this.#store = store;
    this.#settings = settings;
  }

  get #rules(): NotificationsStore {
    return this.#store.notifications;
  }

  get #secrets(): SecretsStore {
    return this.#store.secrets;
  }

  /** Creates a rule of the caller's tenant (admin, tenant-admin, developer). */
  async createRule(identity: Identity, input: CreateRuleInput): Promise<NotificationRuleRecord> {
    authorize(identity, 'manageNotifications');
    const on = [...new Set(input.on)];
    if (on.length === 0) throw new FluxoError('BAD_USER_INPUT', `on: name at least one event (${EVENTS.join(', ')})`);
    const unknown = on.find((e) => !EVENTS.includes(e));
    if (unknown) throw new FluxoError('BAD_USER_INPUT', `on: unknown event "${String(unknown).slice(0, 40)}" (events: ${EVENTS.join(', ')})`);
    if (!CHANNELS.includes(input.channel)) throw new FluxoError('BAD_USER_INPUT', `channel: one of ${CHANNELS.join(', ')}`);
    const url = checkReceiverUrl(input.url, this.#settings.allowHttpWebhooks ?? false);
    const signingSecret = input.signingSecret ?? null;
    if (signingSecret !== null) {
      if (input.channel !== 'WEBHOOK') throw new FluxoError('BAD_USER_INPUT', `signingSecret: only WEBHOOK rules are signed (${input.channel} receivers check nothing)`);
      const problem = secretNameProblem(signingSecret);
      if (problem) throw new FluxoError('BAD_USER_INPUT', `signingSecret: secret name "${signingSecret.slice(0, 120)}" ${problem}`);
      if (!this.#settings.secretsAvailable) {
        throw new FluxoError('SECRETS_UNAVAILABLE', 'signingSecret: this server has no secrets key, so it could never read a signing secret; see docs/security.md#secrets');
      }
      const stored = await this.#secrets.sealed(identity.tenant, [signingSecret]);
      if (stored.length === 0) throw new FluxoError('NOT_FOUND', `signingSecret: the tenant has no secret named ${signingSecret} (set it with \`fluxo secrets set ${signingSecret}\`)`);
    }
    let flowId: string | null = null;
    if (input.flowName) {
      const project = input.project ?? 'production';
      const flow = await this.#store.findFlow(identity.tenant, project, input.flowName);
      if (!flow) throw new FluxoError('NOT_FOUND', `flow ${project}/${input.flowName} not found`);
      flowId = flow.id;
    } else if (input.project) {
      throw new FluxoError('BAD_USER_INPUT', 'project: give flowName too (a rule watches one flow or every flow of the tenant)');
    }
    return this.#rules.createRule(identity.tenant, { flowId, on, channel: input.channel, url, signingSecret, createdBy: identity.subject });
  }

  /** The caller's tenant's rules, oldest first. */
  async listRules(identity: Identity): Promise<NotificationRuleRecord[]> {
    authorize(identity, 'manageNotifications');
    return this.#rules.listRules(identity.tenant);
  }

  /** Deletes a rule of the caller's tenant; false when there was none. Its deliveries stay, without a rule. */
  async deleteRule(identity: Identity, id: string): Promise<boolean> {
    authorize(identity, 'manageNotifications');
    return this.#rules.deleteRule(identity.tenant, id);
  }

  /** The caller's tenant's deliveries, newest first. */
  async listDeliveries(identity: Identity, filter: { failed: boolean }, page: PageRequest): Promise<Page<NotificationDeliveryRecord>> {
    authorize(identity, 'manageNotifications');
    return this.#rules.listDeliveries(identity.tenant, filter, page);
  }

  /** Field read: a delivery's rule, or null when it is gone (no role check: the delivery was already checked). */
  async ruleOf(identity: Identity, id: string | null): Promise<NotificationRuleRecord | null> {
    return id === null ? null : this.#rules.getRule(identity.tenant, id);
  }
}
