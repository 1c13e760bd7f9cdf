// `fluxo server prune` and `fluxo server retention` against both stores, run as the built CLI.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { openStore } from '../../server/open-store.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { cliPath, tempDir } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';

const DAY = 86_400_000;
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/hello.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };

const databases = [
  { name: 'sqlite', database: async () => `${await tempDir()}/fluxo.db` },
  { name: 'postgres', database: () => freshPostgresDatabase() },
];

async function fluxo(...args: string[]) {
  const result = await execa(process.execPath, [cliPath, ...args], { reject: false, env: { FLUXO_DATABASE: '', FLUXO_DATABASE_URL: '' } });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Moves a run's times `days` into the past. */
async function age(store: Store, runId: string, days: number): Promise<void> {
  const ms = days * DAY;
  if (store instanceof SqliteStore) store.db.prepare('UPDATE flow_runs SET created_at = created_at - ?, ended_at = ended_at - ? WHERE id = ?').run(ms, ms, runId);
  else if (store instanceof PostgresStore) await store.db.rows(sql`UPDATE flow_runs SET created_at = created_at - ${ms}::bigint, ended_at = ended_at - ${ms}::bigint WHERE id = ${runId}`);
}

/** Two tenants, each with one cancelled run 40 days old and one from today. */
async function seed(database: string): Promise<void> {
  const store = openStore(database);
  try {
    await store.migrate();
    const service = new FluxoService(store, new EventBus());
    for (const tenant of ['rj-escritorio', 'rj-smtr']) {
      const developer: Identity = { subject: 'ana', tenant, role: 'developer' };
      await service.registerFlow(developer, bundle);
      const old = await service.cancelFlowRun(developer, (await service.createFlowRun(developer, { flowName: 'hello' })).id);
      await service.cancelFlowRun(developer, (await service.createFlowRun(developer, { flowName: 'hello' })).id);
      await age(store, old.id, 40);
    }
  } finally {
    await store.close();
  }
}

describe.each(databases)('fluxo server prune on $name', ({ database: make }) => {
  it('shows what would go with --dry-run, deletes it without, and honours a tenant kept forever', async () => {
    const database = await make();
    await seed(database);
    const set = await fluxo('server', 'retention', 'set', 'rj-smtr', '0', '--database', database);
    expect(set).toMatchObject({ exitCode: 0, stdout: 'rj-smtr: kept forever' });
    const list = await fluxo('server', 'retention', 'list', '--database', database);
    expect(list.stdout).toBe('TENANT         KEEP\nrj-escritorio  default\nrj-smtr        forever');

    const dry = await fluxo('server', 'prune', '--dry-run', '--retention-days', '30', '--database', database);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TENANT\s+KEEP\s+ENDED BEFORE\s+RUNS\s+TASK RUNS\s+TRANSITIONS\s+LOG LINES$/);
    expect(lines[1]).toMatch(/^rj-escritorio\s+30 days \(default\)\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+1\s+0\s+2\s+0$/);
    expect(lines[2]).toMatch(/^rj-smtr\s+forever\s+-\s+0\s+0\s+0\s+0$/);
    expect(lines[3]).toBe('dry run: would delete 1 finished runs; nothing was deleted');

    const json = await fluxo('server', 'prune', '--json', '--database', database);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: false,
      defaultDays: 30,
      tenants: [
        { tenant: 'rj-escritorio', retentionDays: 30, overridden: false, runs: 1, stateTransitions: 2 },
        { tenant: 'rj-smtr', retentionDays: 0, overridden: true, runs: 0, endedBefore: null },
      ],
    });
    const again = await fluxo('server', 'prune', '--database', database);
    expect(again.stdout.trim().split('\n').at(-1)).toBe('deleted 0 finished runs');

    const store = openStore(database);
    try {
      expect((await store.listFlowRuns('rj-escritorio', {}, { first: 10 })).nodes).toHaveLength(1);
      expect((await store.listFlowRuns('rj-smtr', {}, { first: 10 })).nodes).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it.each([
    [['server', 'retention', 'set', 'Bad Tenant', '5'], /tenant "Bad Tenant" is not valid/],
    [['server', 'retention', 'set', 'rj-smtr', '-1'], /<days> must be a whole number from 0 to 36500, or "default", got "-1"/],
    [['server', 'prune', '--retention-days', 'soon'], /--retention-days must be an integer/],
  ])('refuses %j with exit code 2', async (args, message) => {
    const result = await fluxo(...args, '--database', await make());
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
