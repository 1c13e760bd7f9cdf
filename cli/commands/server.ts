// `fluxo server start | migrate`.
import { Command } from 'commander';
import { join } from 'node:path';
import { FluxoError } from '../../common/errors.js';
import { DEFAULT_KEYS_DIR, keyPaths, loadIdentitySecret } from '../../common/keys.js';
import { createLogger } from '../../common/logger.js';
import { startServer } from '../../server/http-server.js';
import { describeDatabase, openStore } from '../../server/open-store.js';

interface ServerStartOptions {
  host: string;
  port: string;
  database: string;
  keysDir?: string;
  identitySecretFile?: string;
  leaseSeconds: string;
  reaperIntervalMs: string;
}

function intOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new FluxoError('BAD_USER_INPUT', `--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function registerServerCommand(program: Command): void {
  const server = program.command('server').description('the orchestration server (GraphQL API; only reachable through the auth proxy)');
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
    .option('--lease-seconds <n>', 'lease length granted to agents (env FLUXO_LEASE_SECONDS)', process.env.FLUXO_LEASE_SECONDS ?? '30')
    .option('--reaper-interval-ms <n>', 'how often expired leases are looked for', '1000')
    .action(async (options: ServerStartOptions) => {
      const logger = createLogger('server');
      const secretFile = options.identitySecretFile ?? (options.keysDir ? keyPaths(options.keysDir).identitySecret : undefined);
      if (!secretFile) throw new FluxoError('BAD_USER_INPUT', 'the server needs the identity secret it shares with the proxy: pass --keys-dir or --identity-secret-file (create keys with `fluxo keys init`)');
      const identitySecret = await loadIdentitySecret(secretFile);
      const store = openStore(options.database);
      const { applied, current } = await store.migrate();
      if (applied.length) logger.info({ applied, current }, 'migrated the database');
      const running = await startServer({
        store,
        identitySecret,
        logger,
        host: options.host,
        port: intOption('port', options.port, 0, 65535),
        leaseMs: intOption('lease-seconds', options.leaseSeconds, 1, 3600) * 1000,
        reaperIntervalMs: intOption('reaper-interval-ms', options.reaperIntervalMs, 50, 600_000),
      });
      logger.info({ url: running.url, database: describeDatabase(options.database) }, 'ready');
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
}
