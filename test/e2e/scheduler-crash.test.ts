// A real `fluxo server start` on SQLite, killed with SIGKILL while its scheduler fills the horizon
// of a few hundred every-minute schedules (a 6-hour horizon: a fill of ~100,000 runs that takes
// seconds), restarted, killed again at other moments, and finally left to finish. Then, read from
// the database file: every (schedule, time) has exactly one run and no time is missing.
//
// Size: FLUXO_SCHEDULER_CRASH_FLOWS (default 300).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signIdentity } from '../../common/identity.js';
import { initKeys, keyPaths, loadIdentitySecret } from '../../common/keys.js';
import { startDaemon, type Daemon } from '../support/daemon.js';
import { cliPath, tempDir, waitFor } from '../support/harness.js';
import { checkOneRunPerTime, developer, registerScheduledFlows, type TimeCount } from './scheduled-flows.js';

const FLOWS = Number(process.env.FLUXO_SCHEDULER_CRASH_FLOWS ?? 300);
const HORIZON_MS = 6 * 3_600_000;
/** When each life is killed, after its log says the fill started. */
const KILL_AFTER_MS = [200, 900, 2_000];

const logged = (daemon: Daemon, msg: string): boolean => daemon.output.some((line) => line.includes(`"msg":"${msg}"`));

function readOnly<T>(database: string, read: (db: Database.Database) => T): T {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Schedules whose clock is filled 6 hours (less a minute) past `now`. */
const filledAhead = (database: string, now: number): number =>
  readOnly(database, (db) => (db.prepare('SELECT COUNT(*) AS n FROM schedule_clocks WHERE filled_through >= ?').get(now + HORIZON_MS - 60_000) as { n: number }).n);

const schedulerRuns = (database: string): number =>
  readOnly(database, (db) => (db.prepare('SELECT COUNT(*) AS n FROM flow_runs WHERE clock_key IS NOT NULL').get() as { n: number }).n);

describe('scheduler crash', () => {
  it('kill -9 while filling the horizon, restarted: exactly one run per schedule time, none missing', { timeout: 300_000 }, async () => {
    const dir = await tempDir('fluxo-scheduler-crash-');
    const keysDir = join(dir, 'keys');
    await initKeys(keysDir);
    const database = join(dir, 'fluxo.db');
    await registerScheduledFlows(database, FLOWS);
    const args = ['server', 'start', '--port', '0', '--database', database, '--keys-dir', keysDir, '--schedule-horizon', '6h', '--scheduler-interval-ms', '500'];

    const killedMidFill: number[] = [];
    for (const delay of KILL_AFTER_MS) {
      const server = await startDaemon(args, { timeoutMs: 60_000 });
      const started = await waitFor(() => (logged(server, 'schedule fill started') ? 'started' : filledAhead(database, Date.now()) === FLOWS ? 'done' : undefined), {
        timeoutMs: 30_000,
        what: 'the fill to start',
      });
      if (started === "done") break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      const finished = logged(server, 'schedule fill finished');
      process.kill(server.pid, 'SIGKILL');
      await server.child.catch(() => undefined);
      if (!finished) killedMidFill.push(schedulerRuns(database));
    }
    // At least one kill landed inside a fill (the first one, on any machine this suite runs on).
    expect(killedMidFill.length).toBeGreaterThan(0);

    const server = await startDaemon(args, { timeoutMs: 60_000 });
    let coveredUntil = 0;
    await waitFor(
      () => {
        coveredUntil = Date.now() + HORIZON_MS - 60_000;
        return filledAhead(database, Date.now()) === FLOWS;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: `${FLOWS} schedules filled 6 hours ahead` },
    );
    await server.stop(10_000);

    const rows = readOnly(database, (db) =>
      db.prepare('SELECT flow_id AS flow, scheduled_at AS at, COUNT(*) AS n FROM flow_runs WHERE clock_key IS NOT NULL GROUP BY flow_id, scheduled_at').all() as TimeCount[],
    );
    const { runs } = checkOneRunPerTime(rows, FLOWS, coveredUntil);
    // The idempotency keys agree: one run per key.
    const keys = readOnly(database, (db) => (db.prepare('SELECT COUNT(DISTINCT idempotency_key) AS n FROM flow_runs WHERE clock_key IS NOT NULL').get() as { n: number }).n);
    expect(keys).toBe(runs);
    for (const count of killedMidFill) expect(count).toBeLessThan(runs);
    console.info(`scheduler crash: ${FLOWS} schedules, killed mid-fill at ${killedMidFill.join(', ')} runs; ${runs} runs in the end, one per (schedule, time)`);
  });
});

describe('the scheduler\'s server flags', () => {
  it.each([
    [['--timezone', 'America/Atlantis'], /--timezone: unknown time zone "America\/Atlantis"/],
    [['--schedule-horizon', '30s'], /--schedule-horizon must be a duration from 1m to 7d/],
    [['--schedule-horizon', '8d'], /--schedule-horizon must be a duration from 1m to 7d, like 1h, 90m or 2d, got "8d"/],
    [['--scheduler-interval-ms', '0'], /--scheduler-interval-ms must be an integer from 50 to 600000/],
  ])('refuses to start with %j: exit 2, the flag named', async (flags, message) => {
    const dir = await tempDir();
    await initKeys(join(dir, 'keys'));
    const result = await execa(process.execPath, [cliPath, 'server', 'start', '--port', '0', '--database', join(dir, 'db'), '--keys-dir', join(dir, 'keys'), ...flags], { reject: false, timeout: 30_000 });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('--timezone (or FLUXO_TIMEZONE) is the zone of cron clocks registered without one', async () => {
    const dir = await tempDir();
    const keysDir = join(dir, 'keys');
    await initKeys(keysDir);
    const server = await startDaemon(['server', 'start', '--port', '0', '--database', join(dir, 'fluxo.db'), '--keys-dir', keysDir], { env: { FLUXO_TIMEZONE: 'America/Sao_Paulo' } });
    const secret = await loadIdentitySecret(keyPaths(keysDir).identitySecret);
    const response = await fetch(`${String(server.ready.url)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await signIdentity(developer, secret) },
      body: JSON.stringify({
        query: 'mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { clocks { cron timezone nextTimes(count: 2) } } } }',
        variables: { input: { project: 'production', name: 'diaria', storageUri: 'file:///tmp/diaria.mjs', sha256: 'e'.repeat(64), size: 10, entrypoint: 'main', schedules: [{ cron: '0 3 * * *' }] } },
      }),
    });
    const answer = (await response.json()) as { data: { registerFlow: { flowVersion: { clocks: { cron: string; timezone: string; nextTimes: string[] }[] } } } };
    const [clock] = answer.data.registerFlow.flowVersion.clocks;
    expect(clock).toMatchObject({ cron: '0 3 * * *', timezone: 'America/Sao_Paulo' });
    for (const time of clock!.nextTimes) expect(time).toMatch(/T06:00:00\.000Z$/);
  });
});
