// Two `fluxo server start` replicas on one PostgreSQL, both with the scheduler machinery: only the
// elected leader fills horizons. The leader is killed with SIGKILL in the middle of a fill of a
// few hundred every-minute schedules; the other replica takes the lead and finishes it. Counted in
// the database: exactly one run per (schedule, time), none missing.
//
// Size: FLUXO_SCHEDULER_REPLICA_FLOWS (default 300).
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { initKeys } from '../../common/keys.js';
import { startDaemon, type Daemon } from '../support/daemon.js';
import { onCleanup, tempDir, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { checkOneRunPerTime, registerScheduledFlows, type TimeCount } from './scheduled-flows.js';

const FLOWS = Number(process.env.FLUXO_SCHEDULER_REPLICA_FLOWS ?? 300);
const HORIZON_MS = 6 * 3_600_000;
const LEADER_RETRY_MS = 300;

const logged = (daemon: Daemon, msg: string): boolean => daemon.output.some((line) => line.includes(`"msg":"${msg}"`));

describe('scheduler on two replicas', () => {
  it('kill -9 the leader mid-fill: the other replica takes over, and every schedule time has exactly one run', { timeout: 300_000 }, async () => {
    const database = await freshPostgresDatabase();
    await registerScheduledFlows(database, FLOWS);
    const keysDir = join(await tempDir('fluxo-scheduler-replicas-'), 'keys');
    await initKeys(keysDir);
    const db = new pg.Pool({ connectionString: database, max: 2 });
    db.on('error', () => undefined);
    onCleanup(() => db.end());
    const args = [
      'server', 'start', '--port', '0', '--database', database, '--keys-dir', keysDir,
      '--schedule-horizon', '6h', '--scheduler-interval-ms', '500', '--leader-retry-ms', String(LEADER_RETRY_MS),
    ];
    const replicas = await Promise.all([startDaemon(args, { timeoutMs: 60_000 }), startDaemon(args, { timeoutMs: 60_000 })]);
    const leaderIndex = await waitFor(() => {
      const leading = replicas.flatMap((r, i) => (logged(r, 'became the leader') ? [i] : []));
      return leading.length === 1 ? leading[0] : undefined;
    }, { timeoutMs: 30_000, what: 'one leader' });
    const leader = replicas[leaderIndex]!;
    const survivor = replicas[1 - leaderIndex]!;
    await waitFor(() => logged(leader, 'schedule fill started'), { timeoutMs: 30_000, what: 'the leader to start filling' });
    const count = async (): Promise<number> => (await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM flow_runs WHERE clock_key IS NOT NULL')).rows[0]!.n;
    // A quarter of the horizon is in (each schedule gets 6 h 36 min of minute runs): then the kill.
    const expected = FLOWS * 396;
    await waitFor(async () => (await count()) >= expected / 4, { timeoutMs: 60_000, intervalMs: 20, what: 'a quarter of the runs' });
    expect(logged(leader, 'schedule fill finished')).toBe(false);
    process.kill(leader.pid, 'SIGKILL');
    await leader.child.catch(() => undefined);
    const atKill = await count();
    expect(logged(survivor, 'schedule fill started')).toBe(false);

    await waitFor(() => logged(survivor, 'became the leader'), { timeoutMs: 30_000, what: 'the survivor to lead' });
    const filledAhead = async (): Promise<number> =>
      (await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM schedule_clocks WHERE filled_through >= $1', [Date.now() + HORIZON_MS - 60_000])).rows[0]!.n;
    let coveredUntil = 0;
    await waitFor(
      async () => {
        coveredUntil = Date.now() + HORIZON_MS - 60_000;
        return (await filledAhead()) === FLOWS;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: `${FLOWS} schedules filled 6 hours ahead by the survivor` },
    );
    await survivor.stop(10_000);

    const { rows } = await db.query<TimeCount>(
      `SELECT flow_id AS flow, scheduled_at::float8 AS at, COUNT(*)::int AS n FROM flow_runs WHERE clock_key IS NOT NULL GROUP BY flow_id, scheduled_at`,
    );
    const { runs } = checkOneRunPerTime(rows, FLOWS, coveredUntil);
    expect(atKill).toBeLessThan(runs);
    const keys = (await db.query<{ n: number }>('SELECT COUNT(DISTINCT idempotency_key)::int AS n FROM flow_runs WHERE clock_key IS NOT NULL')).rows[0]!.n;
    expect(keys).toBe(runs);
    console.info(`scheduler replicas: ${FLOWS} schedules, leader killed at ${atKill} runs; ${runs} runs in the end, one per (schedule, time)`);
  });
});
