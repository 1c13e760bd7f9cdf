// What only PostgreSQL has: several server replicas (separate pools, as separate processes would
// have) on one database, migrations racing at start, and the database going away under the server.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { migrations } from '../../server/store/postgres/migrations/index.js';
import { openPostgresStore, type PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { prepared, sql } from '../../server/store/postgres/sql.js';
import type { Claim } from '../../server/store/store.js';
import { freePort, onCleanup, waitFor } from '../support/harness.js';
import { freshPostgresDatabase, testPostgres } from '../support/postgres.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const tenant = developer.tenant;
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/hello.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };

function open(url: string, poolSize = 5): PostgresStore {
  const store = openPostgresStore(url, { poolSize });
  onCleanup(() => store.close());
  return store;
}

/** Two server replicas on one database: each its own pool and event bus, as two processes. */
async function replicas(leaseMs = 30_000) {
  const url = await freshPostgresDatabase();
  return [open(url), open(url)].map((store) => ({ store, service: new FluxoService(store, new EventBus(), { leaseMs }) }));
}

const count = async (store: PostgresStore, query: ReturnType<typeof sql>) => (await store.db.row<{ n: number }>(query))!.n;

describe('PostgreSQL with two replicas', () => {
  it('claims each of 500 runs exactly once while two replicas race for them', async () => {
    const [a, b] = await replicas();
    await a!.service.registerFlow(developer, { ...bundle, retries: 0 });
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => a!.service.createFlowRun(developer, { flowName: 'hello' })));
    }
    // Four agents per replica, each claiming small batches until nothing is left.
    const workers = [a!, b!].flatMap((replica, r) =>
      [0, 1, 2, 3].map(async (w) => {
        const agent = await replica.service.registerAgent(agentIdentity, { name: `agent-${r}-${w}`, labels: [], concurrency: 100 });
        const claimed: Claim[] = [];
        for (;;) {
          const batch = await replica.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 7 });
          if (batch.length === 0) return { agent, claimed };
          claimed.push(...batch);
        }
      }),
    );
    const results = await Promise.all(workers);
    const ids = results.flatMap((r) => r.claimed.map((c) => c.run.id));
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
    expect(results.filter((r) => r.claimed.length > 0).length).toBeGreaterThan(1);
    // The database agrees: every run submitted once, to the agent that was told it got it.
    for (const { agent, claimed } of results) {
      for (const claim of claimed) expect(claim.run).toMatchObject({ state: 'SUBMITTED', version: 2, agentId: agent.id });
    }
    const store = a!.store;
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM flow_runs WHERE state = 'SUBMITTED'`)).toBe(500);
    expect(await count(store, sql`SELECT COUNT(*) AS n FROM state_transitions WHERE to_state = 'SUBMITTED'`)).toBe(500);
    expect(await count(store, sql`SELECT COUNT(DISTINCT lease_token) AS n FROM flow_runs`)).toBe(500);
  });

  it('lets exactly one of two conflicting state writes win', async () => {
    const [a, b] = await replicas();
    await a!.service.registerFlow(developer, bundle);
    for (let i = 0; i < 20; i++) await a!.service.createFlowRun(developer, { flowName: 'hello' });
    const agent = await a!.service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    const claims = await a!.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 20 });
    const outcomes = await Promise.all(
      claims.map(async (claim) => {
        const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: claim.run.version };
        return Promise.allSettled([
          a!.service.setFlowRunState(agentIdentity, { ...base, state: 'RUNNING' }),
          b!.service.setFlowRunState(agentIdentity, { ...base, state: 'CRASHED', reason: 'spawn' }),
        ]);
      }),
    );
    for (const [i, pair] of outcomes.entries()) {
      const won = pair.filter((p) => p.status === 'fulfilled');
      const lost = pair.flatMap((p) => (p.status === 'rejected' ? [p.reason as { code: string }] : []));
      expect(won).toHaveLength(1);
      expect(['VERSION_CONFLICT', 'ILLEGAL_TRANSITION']).toContain(lost[0]!.code);
      const history = await a!.store.listStateTransitions(tenant, claims[i]!.run.id, null);
      expect(history.map((h) => h.toState)).toHaveLength(3);
    }
  });

  it('reaps each expired lease once when both replicas run the reaper', async () => {
    const [a, b] = await replicas(200);
    await a!.service.registerFlow(developer, { ...bundle, retries: 1, retryDelaySeconds: 3600 });
    for (let i = 0; i < 60; i++) await a!.service.createFlowRun(developer, { flowName: 'hello' });
    const agent = await a!.service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    await a!.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 60 });
    const reaped: string[] = [];
    await waitFor(async () => {
      const passes = await Promise.all([a!, b!, a!, b!].map((r) => r.service.reapExpiredLeases()));
      reaped.push(...passes.flat().map((r) => r.id));
      return reaped.length >= 60;
    });
    expect(new Set(reaped).size).toBe(reaped.length);
    expect(await count(a!.store, sql`SELECT COUNT(*) AS n FROM state_transitions WHERE to_state = 'CRASHED'`)).toBe(60);
    expect(await count(a!.store, sql`SELECT COUNT(*) AS n FROM flow_runs WHERE state = 'SCHEDULED' AND attempt = 2`)).toBe(60);
  });
});

describe('PostgreSQL single-statement state writes', () => {
  /** A claimed run, and a second connection that can hold its row locked like another replica's write. */
  async function claimedRun() {
    const url = await freshPostgresDatabase();
    const store = open(url);
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    onCleanup(() => other.end());
    return { store, service, claim: claim!, other };
  }

  // The write arrives while another transaction holds the run's row and commits `change`:
  // PostgreSQL re-checks the write's conditions against the committed row, with the clock of that moment.
  it.each([
    ['a heartbeat renewed the lease', `lease_expires_at = lease_expires_at + 1000`, 'applied'],
    ['the same write landed first (a retried request)', `state = 'RUNNING', version = version + 1`, 'unchanged'],
    ['a user cancelled the run', `state = 'CANCELLING', version = version + 1`, 'VERSION_CONFLICT'],
    ['the reaper crashed the run', `state = 'CRASHED', version = version + 1, lease_expires_at = NULL, ended_at = 1`, 'ILLEGAL_TRANSITION'],
    ['the lease ran out', `lease_expires_at = 1`, 'LEASE_LOST'],
  ])('decides a write that waited while %s on the row that committed', async (_, change, outcome) => {
    const { store, service, claim, other } = await claimedRun();
    await other.query('BEGIN');
    await other.query(`UPDATE flow_runs SET ${change} WHERE id = $1`, [claim.run.id]);
    const write = service.setFlowRunState(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: claim.run.version, state: 'RUNNING' });
    const settled = write.then((run) => ({ run, code: null }), (error: { code: string }) => ({ run: null, code: error.code }));
    await waitFor(async () => (await count(store, sql`SELECT COUNT(*) AS n FROM pg_locks WHERE NOT granted`)) > 0);
    await other.query('COMMIT');
    const { run, code } = await settled;
    const history = (await store.listStateTransitions(tenant, claim.run.id, null)).map((h) => `${h.fromState}->${h.toState}`);
    if (outcome === 'applied') {
      expect(run).toMatchObject({ state: 'RUNNING', version: claim.run.version + 1, startedAt: expect.any(Number) });
      expect(history).toEqual(['null->SCHEDULED', 'SCHEDULED->SUBMITTED', 'SUBMITTED->RUNNING']);
    } else if (outcome === 'unchanged') {
      expect(run).toMatchObject({ state: 'RUNNING', version: claim.run.version + 1 });
      expect(history).toHaveLength(2);
    } else {
      expect(code).toBe(outcome);
      expect(history).toHaveLength(2);
    }
  });

  it('keeps answering after a migration adds a column to a table its prepared statements read', async () => {
    const { store, service, claim } = await claimedRun();
    const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
    const running = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: claim.run.version, state: 'RUNNING' });
    await store.getFlowRun(tenant, claim.run.id);
    // As a newer replica's migration would, while this one runs with its statements prepared.
    await store.db.exec('ALTER TABLE flow_runs ADD COLUMN added_later text');
    expect(await store.getFlowRun(tenant, claim.run.id)).toMatchObject({ state: 'RUNNING' });
    expect(await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: running.version, state: 'SUCCESS' })).toMatchObject({ state: 'SUCCESS' });
  });

  it('refuses one prepared-statement name for two texts at once, with a TypeError', () => {
    prepared('test-one-name', sql`SELECT 1`);
    expect(() => prepared('test-one-name', sql`SELECT 2`)).toThrow(TypeError);
  });
});

describe('PostgreSQL migrations', () => {
  it('applies each migration once when replicas start together', async () => {
    const url = await freshPostgresDatabase({ migrated: false });
    const results = await Promise.all([open(url, 2), open(url, 2), open(url, 2)].map((store) => store.migrate()));
    const known = migrations.at(-1)!.version;
    expect(results.map((r) => r.current)).toEqual([known, known, known]);
    expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
  });

  it('refuses a database migrated by a newer fluxo, saying so', async () => {
    const store = open(await freshPostgresDatabase());
    await store.db.rows(sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from-the-future', 0)`);
    const known = migrations.at(-1)!.version;
    await expect(store.migrate()).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: `the database schema is at version 999, newer than this fluxo knows (${known}); upgrade fluxo before starting it against this database`,
    });
  });
});

describe('PostgreSQL unavailable', () => {
  it('answers SERVICE_UNAVAILABLE when nothing listens, without the password', async () => {
    const store = open(`postgres://fluxo:s3cret@127.0.0.1:${await freePort()}/fluxo`);
    for (const attempt of [() => store.now(), () => store.migrate(), () => store.getFlowRun(tenant, 'x')]) {
      const error = await attempt().then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: 'the database is unavailable (connection refused); retry shortly' });
      expect(error!.message).not.toContain('s3cret');
    }
  });

  it('answers SERVICE_UNAVAILABLE for a statement cut off by the server, then reconnects by itself', async () => {
    const server = await testPostgres();
    const url = await freshPostgresDatabase();
    const idleErrors: Error[] = [];
    const store = openPostgresStore(url, { poolSize: 2, onIdleError: (error) => idleErrors.push(error) });
    onCleanup(() => store.close());
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    onCleanup(() => admin.end());
    const database = new URL(url).pathname.slice(1);
    const terminate = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    // A statement running when its connection is killed (as on a PostgreSQL restart).
    const sleeping = store.db.rows(sql`SELECT pg_sleep(30)`);
    // The expectation is attached before the kill: a rejection with no handler yet, even for a
    // moment, is an unhandled rejection that fails the run.
    const refused = expect(sleeping).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/^the database is unavailable \(.+\); retry shortly$/) });
    await waitFor(async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND state = 'active'`, [database])).rowCount === 1);
    await terminate();
    await refused;
    // Idle connections killed too: the pool drops them (no crash) and opens new ones.
    expect(typeof (await store.now())).toBe('number');
    await terminate();
    await waitFor(() => idleErrors.length > 0);
    expect(typeof (await store.now())).toBe('number');
    await store.migrate();
  });

  it('rolls back a transaction whose connection is cut, leaving nothing half-written', async () => {
    const url = await freshPostgresDatabase();
    const store = open(url, 1);
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    await expect(
      store.db.transaction(async (tx) => {
        await tx.rows(sql`UPDATE flow_runs SET state = 'CANCELLED' WHERE id = ${run.id}`);
        await tx.rows(sql`SELECT pg_terminate_backend(pg_backend_pid())`);
      }),
    ).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect((await store.getFlowRun(tenant, run.id))!.state).toBe('SCHEDULED');
  });
});

describe('PostgreSQL text', () => {
  it('stores a log line holding a NUL character, with U+FFFD in its place', async () => {
    const store = open(await freshPostgresDatabase());
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const line = { taskRunKey: null, level: 'INFO' as const, stream: 'stdout', message: 'binary\u0000junk', timestamp: 1 };
    const [stored] = await service.writeLogs(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, batchId: 'b', lines: [line] });
    expect(stored!.message).toBe('binary\uFFFDjunk');
    expect((await store.listLogs(tenant, run.id, { first: 1 })).nodes[0]!.message).toBe('binary\uFFFDjunk');
  });
});
