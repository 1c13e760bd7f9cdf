// `fluxo server start | migrate | prune | retention`.
import { Command } from 'commander';
import { join } from 'node:path';
import { tenantProblem } from '../../auth-proxy/claims.js';
import { checkTimeZone, parseEvery } from '../../common/clocks.js';
import { FluxoError } from '../../common/errors.js';
import { DEFAULT_KEYS_DIR, findSecretsKeyring, keyPaths, loadIdentitySecret } from '../../common/keys.js';
import { createLogger } from '../../common/logger.js';
import { startServer } from '../../server/http-server.js';
import { describeDatabase, openStore } from '../../server/open-store.js';
import { DEFAULT_RETENTION_DAYS, pruneHistory } from '../../server/services/retention.js';
import type { Store } from '../../server/store/store.js';
import { StorageRoots } from '../../storage/storage-location.js';
import { formatTable, printJson } from '../format.js';
import { notificationFlags, notificationServerOptions, type NotificationFlags } from './notifications.js';

interface ServerStartOptions extends NotificationFlags {
  host: string;
  port: string;
  database: string;
  keysDir?: string;
  identitySecretFile?: string;
  secretsKeyFile?: string;
  leaseSeconds: string;
  reaperIntervalMs: string;
  leaderRetryMs: string;
  retentionDays: string;
  retentionIntervalSeconds: string;
  production: boolean;
  storageRoot: string[];
  timezone: string;
  scheduleHorizon: string;
  schedulerIntervalMs: string;
}

function intOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new FluxoError('BAD_USER_INPUT', `--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function registerServerCommand(program: Command): void {
  const server = program.command('server').description('the orchestration server (GraphQL API; only reachable through the auth proxy)');
  const retentionDaysOption = [
    '--retention-days <n>',
    'days finished runs are kept for tenants without their own setting; 0 keeps them forever (env FLUXO_RETENTION_DAYS)',
    process.env.FLUXO_RETENTION_DAYS ?? String(DEFAULT_RETENTION_DAYS),
  ] as const;
  const databaseOption = [
    '--database <path-or-url>',
    'a SQLite file, or postgres://user:password@host/db?pool=10 (env FLUXO_DATABASE_URL or FLUXO_DATABASE)',
    process.env.FLUXO_DATABASE_URL ?? process.env.FLUXO_DATABASE ?? join('fluxo-data', 'fluxo.db'),
  ] as const;

  server
    .command('start')
    .description('start the server')
    .option('--host <host>', 'interface to listen on (env FLUXO_SERVER_HOST)', process.env.FLUXO_SERVER_HOST ?? '127.0.0.1')
    .option('--port <port>', 'port; 0 picks a free one (env FLUXO_SERVER_PORT)', process.env.FLUXO_SERVER_PORT ?? '4200')
    .option(...databaseOption)
    .option('--keys-dir <dir>', 'keys directory holding identity.secret (env FLUXO_KEYS_DIR)', process.env.FLUXO_KEYS_DIR ?? DEFAULT_KEYS_DIR)
    .option('--identity-secret-file <file>', 'the secret shared with the auth proxy (overrides --keys-dir)')
    .option('--secrets-key-file <file>', 'keys that encrypt tenant secrets (default: secrets.key in --keys-dir, if present; env FLUXO_SECRETS_KEY_FILE)', process.env.FLUXO_SECRETS_KEY_FILE)
    .option('--lease-seconds <n>', 'lease length granted to agents (env FLUXO_LEASE_SECONDS)', process.env.FLUXO_LEASE_SECONDS ?? '30')
    .option('--reaper-interval-ms <n>', 'how often expired leases are looked for', '1000')
    .option(
      '--leader-retry-ms <n>',
      'replicas on one PostgreSQL elect a leader that runs the lease reaper and retention: how often a follower tries to take over (env FLUXO_LEADER_RETRY_MS)',
      process.env.FLUXO_LEADER_RETRY_MS ?? '5000',
    )
    .option(...retentionDaysOption)
    .option('--retention-interval-seconds <n>', 'time between retention passes (env FLUXO_RETENTION_INTERVAL_SECONDS)', process.env.FLUXO_RETENTION_INTERVAL_SECONDS ?? '3600')
    .option(
      '--storage-root <uri>',
      "where a tenant's bundles may live, repeatable: a template naming {tenant} (file:///srv/fluxo/{tenant}, gs://bucket/{tenant}) or <tenant>=<uri>; registerFlow refuses every other storageUri (env FLUXO_STORAGE_ROOTS, comma-separated; default: unconfined)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--timezone <iana>', 'time zone of cron clocks that name none, e.g. America/Sao_Paulo (env FLUXO_TIMEZONE)', process.env.FLUXO_TIMEZONE ?? 'UTC')
    .option('--schedule-horizon <duration>', 'how far ahead the scheduler creates runs (at least 3 per clock), 1m to 7d, e.g. 1h, 90m (env FLUXO_SCHEDULE_HORIZON)', process.env.FLUXO_SCHEDULE_HORIZON ?? '1h')
    .option('--scheduler-interval-ms <n>', 'time between scheduler passes; registrations and resumes wake it at once (env FLUXO_SCHEDULER_INTERVAL_MS)', process.env.FLUXO_SCHEDULER_INTERVAL_MS ?? '5000')
    .option('--production', 'production mode: no GraphQL introspection, no field suggestions in errors (default when NODE_ENV=production)', process.env.NODE_ENV === 'production')
    .option(...notificationFlags.publicUrl)
    .option(...notificationFlags.allowHttpWebhooks)
    .option(...notificationFlags.lateAfterMinutes)
    .option(...notificationFlags.notificationBackoff)
    .option(...notificationFlags.notifierIntervalMs)
    .action(async (options: ServerStartOptions) => {
      const logger = createLogger('server');
      const secretFile = options.identitySecretFile ?? (options.keysDir ? keyPaths(options.keysDir).identitySecret : undefined);
      if (!secretFile) throw new FluxoError('BAD_USER_INPUT', 'the server needs the identity secret it shares with the proxy: pass --keys-dir or --identity-secret-file (create keys with `fluxo keys init`)');
      const identitySecret = await loadIdentitySecret(secretFile);
      const secretsKey = await findSecretsKeyring({ file: options.secretsKeyFile, keysDir: options.keysDir });
      if (secretsKey) logger.info({ file: secretsKey.path, keyVersion: secretsKey.keyring.current }, 'tenant secrets enabled');
      else logger.warn('no secrets key (secrets.key in --keys-dir, or --secrets-key-file): tenant secrets are unavailable until one is configured');
      const storageRoots = parseServerStorageRoots(options.storageRoot.length > 0 ? options.storageRoot : (process.env.FLUXO_STORAGE_ROOTS ?? '').split(','));
      if (storageRoots.configured) logger.info({ storageRoots: storageRoots.describe() }, 'bundle locations confined to the storage roots');
      else logger.warn('no storage roots (--storage-root): any tenant may register a bundle at any file:/// or gs:// location; configure them on a shared server');
      const timezone = scheduleTimeZone(options.timezone);
      const scheduleHorizonMs = scheduleHorizon(options.scheduleHorizon);
      const schedulerIntervalMs = intOption('scheduler-interval-ms', options.schedulerIntervalMs, 50, 600_000);
      const notifications = notificationServerOptions(options);
      const store = openStore(options.database);
      const { applied, current } = await store.migrate();
      if (applied.length) logger.info({ applied, current }, 'migrated the database');
      const running = await startServer({
        store,
        identitySecret,
        secretsKeyring: secretsKey?.keyring,
        logger,
        host: options.host,
        port: intOption('port', options.port, 0, 65535),
        leaseMs: intOption('lease-seconds', options.leaseSeconds, 1, 3600) * 1000,
        reaperIntervalMs: intOption('reaper-interval-ms', options.reaperIntervalMs, 50, 600_000),
        leaderRetryMs: intOption('leader-retry-ms', options.leaderRetryMs, 100, 600_000),
        retentionDays: intOption('retention-days', options.retentionDays, 0, 36_500),
        retentionIntervalMs: intOption('retention-interval-seconds', options.retentionIntervalSeconds, 1, 7 * 86_400) * 1000,
        production: options.production,
        storageRoots,
        timezone,
        scheduleHorizonMs,
        schedulerIntervalMs,
        notifications,
      });
      logger.info({ url: running.url, database: describeDatabase(options.database), production: options.production }, 'ready');
      const shutdown = async (): Promise<void> => {
        logger.info('shutting down');
        await running.close();
        await store.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void shutdown());
      process.once('SIGINT', () => void shutdown());
    });

  server
    .command('migrate')
    .description('apply pending database migrations and exit')
    .option(...databaseOption)
    .action(async (options: { database: string }) => {
      const store = openStore(options.database);
      const { applied, current } = await store.migrate();
      await store.close();
      process.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}; schema at version ${current}\n` : `schema already at version ${current}\n`);
    });

  server
    .command('prune')
    .description('one retention pass: delete finished runs older than their tenant\'s retention (with task runs, transitions and logs) and print what went')
    .option(...databaseOption)
    .option(...retentionDaysOption)
    .option('--dry-run', 'only count what would be deleted')
    .option('--json', 'print the report as JSON')
    .action(async (options: { database: string; retentionDays: string; dryRun?: boolean; json?: boolean }) => {
      const defaultDays = intOption('retention-days', options.retentionDays, 0, 36_500);
      await withStore(options.database, async (store) => {
        const dryRun = options.dryRun === true;
        const reports = await pruneHistory(store, { defaultDays, dryRun });
        if (options.json) return printJson({ dryRun, defaultDays, tenants: reports.map((r) => ({ ...r, endedBefore: r.endedBefore === null ? null : new Date(r.endedBefore).toISOString() })) });
        const rows = reports.map((r) => [
          r.tenant,
          r.retentionDays === 0 ? 'forever' : `${r.retentionDays} days${r.overridden ? '' : ' (default)'}`,
          r.endedBefore === null ? '-' : new Date(r.endedBefore).toISOString().replace(/\.\d+Z$/, 'Z'),
          r.runs, r.taskRuns, r.stateTransitions, r.logLines,
        ]);
        if (rows.length > 0) process.stdout.write(formatTable(['TENANT', 'KEEP', 'ENDED BEFORE', 'RUNS', 'TASK RUNS', 'TRANSITIONS', 'LOG LINES'], rows));
        const total = reports.reduce((sum, r) => sum + r.runs, 0);
        process.stdout.write(dryRun ? `dry run: would delete ${total} finished runs; nothing was deleted\n` : `deleted ${total} finished runs\n`);
      });
    });

  const retention = server.command('retention').description('per-tenant retention settings (override --retention-days)');
  retention
    .command('list')
    .description('tenants and their retention')
    .option(...databaseOption)
    .action(async (options: { database: string }) => {
      await withStore(options.database, async (store) => {
        const rows = (await store.listTenantRetention()).map((t) => [t.tenant, t.retentionDays === null ? 'default' : t.retentionDays === 0 ? 'forever' : `${t.retentionDays} days`]);
        if (rows.length === 0) process.stderr.write('no tenants yet\n');
        else process.stdout.write(formatTable(['TENANT', 'KEEP'], rows));
      });
    });
  retention
    .command('set <tenant> <days>')
    .description('keep a tenant\'s finished runs <days> days (0: forever; "default": follow --retention-days)')
    .option(...databaseOption)
    .action(async (tenant: string, days: string, options: { database: string }) => {
      const problem = tenantProblem(tenant);
      if (problem) throw new FluxoError('BAD_USER_INPUT', problem);
      const retentionDays = days === 'default' ? null : Number(days);
      if (retentionDays !== null && (!/^\d+$/.test(days) || retentionDays > 36_500)) {
        throw new FluxoError('BAD_USER_INPUT', `<days> must be a whole number from 0 to 36500, or "default", got "${days.slice(0, 40)}"`);
      }
      await withStore(options.database, async (store) => {
        await store.setTenantRetention(tenant, retentionDays);
        process.stdout.write(`${tenant}: ${retentionDays === null ? 'follows the server default' : retentionDays === 0 ? 'kept forever' : `kept ${retentionDays} days`}\n`);
      });
    });
}

/** `--timezone`: an IANA zone, checked at start. */
function scheduleTimeZone(value: string): string {
  try {
    checkTimeZone(value);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `--timezone: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

/** `--schedule-horizon` in ms: a duration from a minute to 7 days. */
function scheduleHorizon(value: string): number {
  const refused = (cause?: unknown): FluxoError =>
    new FluxoError('BAD_USER_INPUT', `--schedule-horizon must be a duration from 1m to 7d, like 1h, 90m or 2d, got "${value.slice(0, 40)}"`, cause === undefined ? {} : { cause });
  let seconds: number;
  try {
    seconds = parseEvery(value);
  } catch (error) {
    throw refused(error);
  }
  if (seconds > 7 * 86_400) throw refused();
  return seconds * 1000;
}

/** `--storage-root` entries; a mistake stops the server at start with BAD_USER_INPUT. */
function parseServerStorageRoots(entries: string[]): StorageRoots {
  try {
    return StorageRoots.parse(entries, { requireTenant: true });
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `--storage-root: ${(error as Error).message}`, { cause: error });
  }
}

/** Opens and migrates the store for a one-off command, and closes it afterwards. */
async function withStore(database: string, work: (store: Store) => Promise<void>): Promise<void> {
  const store = openStore(database);
  try {
    await store.migrate();
    await work(store);
  } finally {
    await store.close();
  }
}
