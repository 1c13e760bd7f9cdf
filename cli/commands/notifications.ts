// `fluxo notifications add | list | delete | deliveries`: where the tenant's run events are sent,
// and the server flags that configure the notifier (`fluxo server start --public-url ...`).
// A receiver URL is a credential: the server shows it with its path hidden, and so does this command.
import type { Command } from 'commander';
import { FluxoError } from '../../common/errors.js';
import { withApiOptions, withClient, type ApiOptions } from '../api-options.js';
import type {
  CreateNotificationRuleMutation,
  CreateNotificationRuleMutationVariables,
  DeleteNotificationRuleMutation,
  DeleteNotificationRuleMutationVariables,
  NotificationDeliveriesQuery,
  NotificationChannel,
  NotificationDeliveriesQueryVariables,
  NotificationEvent,
  NotificationRuleFieldsFragment,
  NotificationRulesQuery,
} from '../../schema/generated/operations.js';
import { formatInstant, printJson, printTable } from '../format.js';

const RULE_FIELDS = /* GraphQL */ `
  fragment NotificationRuleFields on NotificationRule { id on channel target signingSecret createdAt createdBy flow { name project { name } } }
`;

const CREATE_RULE = /* GraphQL */ `
  mutation CreateNotificationRule($input: CreateNotificationRuleInput!) { createNotificationRule(input: $input) { ...NotificationRuleFields } }
  ${RULE_FIELDS}
`;
const LIST_RULES = /* GraphQL */ `
  query NotificationRules { notificationRules { ...NotificationRuleFields } }
  ${RULE_FIELDS}
`;
const DELETE_RULE = /* GraphQL */ `
  mutation DeleteNotificationRule($id: ID!) { deleteNotificationRule(id: $id) }
`;
const LIST_DELIVERIES = /* GraphQL */ `
  query NotificationDeliveries($failed: Boolean, $first: Int, $after: String) {
    notificationDeliveries(failed: $failed, first: $first, after: $after) {
      nodes { id event state attempts lastError createdAt deliveredAt nextAttemptAt rule { id channel target } flowRun { id state } }
      pageInfo { endCursor hasNextPage }
    }
  }
`;

const EVENTS: readonly NotificationEvent[] = ['FAILED', 'CRASHED', 'TIMED_OUT', 'CANCELLED', 'SUCCESS', 'LATE'];
const isEvent = (value: string): value is NotificationEvent => (EVENTS as readonly string[]).includes(value);

type RuleRow = NotificationRuleFieldsFragment;
type DeliveryRow = NotificationDeliveriesQuery['notificationDeliveries']['nodes'][number];

interface AddOptions extends ApiOptions {
  on: string;
  flow?: string;
  project?: string;
  webhook?: string;
  signingSecret?: string;
  slack?: string;
  discord?: string;
}

function parseEvents(value: string): NotificationEvent[] {
  const events = value.split(',').map((e) => e.trim().toUpperCase().replace('-', '_')).filter(Boolean);
  const unknown = events.find((e) => !isEvent(e));
  if (events.length === 0 || unknown) throw new FluxoError('BAD_USER_INPUT', `--on: a comma-separated list of ${EVENTS.join(', ')}${unknown ? ` (not "${unknown}")` : ''}`);
  return events.filter(isEvent);
}

function receiverOf(options: AddOptions): { channel: NotificationChannel; url: string } {
  const given = ([['WEBHOOK', options.webhook], ['SLACK', options.slack], ['DISCORD', options.discord]] as const).filter((entry): entry is [NotificationChannel, string] => entry[1] !== undefined);
  if (given.length !== 1) throw new FluxoError('BAD_USER_INPUT', 'give exactly one receiver: --webhook URL, --slack URL or --discord URL');
  const [channel, url] = given[0]!;
  if (options.signingSecret !== undefined && channel !== 'WEBHOOK') throw new FluxoError('BAD_USER_INPUT', '--signing-secret goes with --webhook only');
  return { channel, url };
}

const flowOf = (rule: RuleRow): string => (rule.flow ? `${rule.flow.project.name}/${rule.flow.name}` : '(every flow)');

/** Registers `fluxo notifications ...`. */
export function registerNotificationsCommand(program: Command): void {
  const notifications = program.command('notifications').description("where your tenant's run events (failures, late runs, successes) are sent: Slack, Discord or a signed webhook");

  withApiOptions(
    notifications
      .command('add')
      .description('add a rule (tenant-admin, developer): send these events of one flow, or of every flow, to a receiver')
      .requiredOption('--on <events>', `comma-separated events: ${EVENTS.join(', ')}`)
      .option('--flow <name>', 'only this flow (default: every flow of the tenant)')
      .option('--project <name>', 'project of --flow (default production)')
      .option('--webhook <url>', 'a generic JSON webhook (https://), signed with --signing-secret')
      .option('--signing-secret <name>', 'the tenant secret (`fluxo secrets set`) whose value signs each webhook delivery (X-Fluxo-Signature)')
      .option('--slack <url>', 'a Slack incoming-webhook URL')
      .option('--discord <url>', 'a Discord webhook URL'),
  ).action(async (options: AddOptions) => {
    const on = parseEvents(options.on);
    const { channel, url } = receiverOf(options);
    const input = {
      on, channel, url,
      ...(options.flow ? { flowName: options.flow, project: options.project ?? 'production' } : {}),
      ...(options.signingSecret ? { signingSecret: options.signingSecret } : {}),
    };
    if (options.project && !options.flow) throw new FluxoError('BAD_USER_INPUT', '--project goes with --flow');
    await withClient(options, async (client) => {
      const { createNotificationRule: rule } = await client.request<CreateNotificationRuleMutation>(CREATE_RULE, { input } satisfies CreateNotificationRuleMutationVariables);
      if (options.json) return printJson(rule);
      process.stdout.write(`added rule ${rule.id}: ${rule.on.join(',')} of ${flowOf(rule)} to ${rule.channel} ${rule.target}\n`);
    });
  });

  withApiOptions(notifications.command('list').description("your tenant's notification rules (receiver URLs with their path hidden)")).action(async (options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { notificationRules } = await client.request<NotificationRulesQuery>(LIST_RULES, {});
      if (options.json) return printJson(notificationRules);
      printTable(
        ['ID', 'EVENTS', 'FLOW', 'CHANNEL', 'TARGET', 'SIGNED WITH', 'CREATED', 'BY'],
        notificationRules.map((r) => [r.id, r.on.join(','), flowOf(r), r.channel, r.target, r.signingSecret ?? '', formatInstant(r.createdAt), r.createdBy]),
        'no notification rules (add one with `fluxo notifications add --on FAILED --slack URL`)',
      );
    });
  });

  withApiOptions(notifications.command('delete <id>').description('delete a rule; its past deliveries stay listed; exits 4 when there is none')).action(async (id: string, options: ApiOptions) => {
    await withClient(options, async (client) => {
      const { deleteNotificationRule } = await client.request<DeleteNotificationRuleMutation>(DELETE_RULE, { id } satisfies DeleteNotificationRuleMutationVariables);
      if (options.json) return printJson({ id, deleted: deleteNotificationRule });
      if (!deleteNotificationRule) throw new FluxoError('NOT_FOUND', `no notification rule ${id} in your tenant; nothing was deleted`);
      process.stdout.write(`deleted rule ${id}\n`);
    });
  });

  withApiOptions(
    notifications
      .command('deliveries')
      .description('deliveries, newest first: state, attempts, the last error')
      .option('--failed', 'only deliveries given up after their last attempt')
      .option('--first <n>', 'how many', '50'),
  ).action(async (options: ApiOptions & { failed?: boolean; first: string }) => {
    await withClient(options, async (client) => {
      const { notificationDeliveries } = await client.request<NotificationDeliveriesQuery>(LIST_DELIVERIES, { failed: options.failed ?? false, first: Number(options.first) } satisfies NotificationDeliveriesQueryVariables);
      const rows = notificationDeliveries.nodes;
      if (options.json) return printJson(rows);
      printTable(
        ['ID', 'EVENT', 'RUN', 'STATE', 'ATTEMPTS', 'LAST ERROR', 'TARGET', 'CREATED', 'DELIVERED / NEXT'],
        rows.map((d) => [d.id, d.event, d.flowRun?.id ?? '(gone)', d.state, d.attempts, d.lastError ?? '', d.rule ? `${d.rule.channel} ${d.rule.target}` : '(rule deleted)',
          formatInstant(d.createdAt), d.deliveredAt ? formatInstant(d.deliveredAt) : d.nextAttemptAt ? `next ${formatInstant(d.nextAttemptAt)}` : '']),
        options.failed ? 'no failed deliveries' : 'no deliveries',
      );
    });
  });
}

// ---- server flags (`fluxo server start`) ----

/** The notifier's flags as commander hands them over. */
export interface NotificationFlags {
  publicUrl?: string;
  allowHttpWebhooks: boolean;
  lateAfterMinutes: string;
  notificationBackoff: string;
  notifierIntervalMs: string;
}

const envFlag = (name: string): boolean => ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());

/** `fluxo server start` options of the notifier, each `[flags, description, default]`. */
export const notificationFlags = {
  publicUrl: ['--public-url <url>', 'base URL of the UI as users reach it (through the proxy); notifications link to <url>/runs/<id> (env FLUXO_PUBLIC_URL; default: no links)', process.env.FLUXO_PUBLIC_URL],
  allowHttpWebhooks: ['--allow-http-webhooks', 'accept http:// notification receivers on 127.0.0.1, ::1 or localhost (local receivers, tests; env FLUXO_ALLOW_HTTP_WEBHOOKS=1)', envFlag('FLUXO_ALLOW_HTTP_WEBHOOKS')],
  lateAfterMinutes: ['--late-after-minutes <n>', 'a scheduled run not started this many minutes after its time is LATE (fractions allowed; env FLUXO_LATE_AFTER_MINUTES)', process.env.FLUXO_LATE_AFTER_MINUTES ?? '15'],
  notificationBackoff: ['--notification-backoff <waits>', 'waits between delivery attempts, comma-separated (ms, s, m, h); one more attempt than waits (env FLUXO_NOTIFICATION_BACKOFF)', process.env.FLUXO_NOTIFICATION_BACKOFF ?? '5s,30s,2m,10m,1h'],
  notifierIntervalMs: ['--notifier-interval-ms <n>', 'time between notifier passes; a run that ends wakes it sooner (env FLUXO_NOTIFIER_INTERVAL_MS)', process.env.FLUXO_NOTIFIER_INTERVAL_MS ?? '1000'],
} as const satisfies Record<string, readonly [string, string, string | boolean | undefined]>;

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `5s,30s,2m` → [5000, 30000, 120000]; BAD_USER_INPUT otherwise. */
export function parseBackoff(value: string): number[] {
  const waits = value.split(',').map((part) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(part);
    const ms = match ? Math.round(Number(match[1]) * UNITS[match[2]!]!) : NaN;
    if (!Number.isFinite(ms) || ms < 10 || ms > 86_400_000) {
      throw new FluxoError('BAD_USER_INPUT', `--notification-backoff: "${part.trim()}" is not a wait from 10ms to 24h (e.g. 5s,30s,2m,10m,1h)`);
    }
    return ms;
  });
  if (waits.length > 20) throw new FluxoError('BAD_USER_INPUT', '--notification-backoff: at most 20 waits');
  return waits;
}

/** The server's notification options from the flags; BAD_USER_INPUT for a bad one. */
export function notificationServerOptions(flags: NotificationFlags): { publicUrl?: string; allowHttpWebhooks: boolean; lateAfterMs: number; backoffMs: number[]; intervalMs: number } {
  let publicUrl: string | undefined;
  if (flags.publicUrl) {
    let parsed: URL;
    try {
      parsed = new URL(flags.publicUrl);
    } catch {
      throw new FluxoError('BAD_USER_INPUT', `--public-url: "${flags.publicUrl}" is not an absolute URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new FluxoError('BAD_USER_INPUT', '--public-url: an http(s):// URL');
    publicUrl = parsed.href.replace(/\/+$/, '');
  }
  const minutes = Number(flags.lateAfterMinutes);
  if (!Number.isFinite(minutes) || minutes < 0.001 || minutes > 10_080) throw new FluxoError('BAD_USER_INPUT', `--late-after-minutes: a number from 0.001 to 10080, got "${flags.lateAfterMinutes}"`);
  const intervalMs = Number(flags.notifierIntervalMs);
  if (!Number.isInteger(intervalMs) || intervalMs < 20 || intervalMs > 600_000) throw new FluxoError('BAD_USER_INPUT', `--notifier-interval-ms: an integer from 20 to 600000, got "${flags.notifierIntervalMs}"`);
  return { ...(publicUrl ? { publicUrl } : {}), allowHttpWebhooks: flags.allowHttpWebhooks, lateAfterMs: Math.round(minutes * 60_000), backoffMs: parseBackoff(flags.notificationBackoff), intervalMs };
}
