// Several server replicas on one PostgreSQL, in this process (each its own store, pool, event bus
// and HTTP server, as separate processes would have): they hear each other's changes through
// LISTEN/NOTIFY, and elect one leader that runs the lease reaper and retention.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { startServer, type RunningServer, type ServerOptions } from '../../server/http-server.js';
import { openSqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { openPostgresStore, type PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import { onCleanup, tempDir, waitFor } from '../support/harness.js';
import { freshPostgresDatabase, testPostgres } from '../support/postgres.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const tenant = developer.tenant;
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/hello.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };
const identitySecret = new Uint8Array(randomBytes(32));
const RETRY_MS = 200;

interface Replica {
  name: string;
  server: RunningServer;
  store: PostgresStore;
  /** Parsed log lines of this replica. */
  logs: Record<string, unknown>[];
  /** Stops the replica (idempotent; also done after the test). */
  close(): Promise<void>;
}

/** Leadership changes of every replica of a test, in the order they happened. */
type Timeline = { replica: string; leader: boolean; at: number }[];

async function startReplica(name: string, url: string, timeline: Timeline, options: Partial<ServerOptions> = {}): Promise<Replica> {
  const store = openPostgresStore(url, { poolSize: 4 });
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = await startServer({
    store,
    identitySecret,
    logger,
    port: 0,
    leaseMs: 30_000,
    reaperIntervalMs: 50,
    leaderRetryMs: RETRY_MS,
    onLeaderChange: (leader) => timeline.push({ replica: name, leader, at: Date.now() }),
    ...options,
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= server.close().then(() => store.close()));
  onCleanup(close);
  return { name, server, store, logs, close };
}

/** Waits until the database shows `count` LISTEN connections on `url`'s database ready. */
async function listening(url: string, count: number): Promise<void> {
  const admin = await adminClient();
  const database = new URL(url).pathname.slice(1);
  await waitFor(async () => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'fluxo-listener' AND state = 'idle'
         AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')`,
      [database],
    );
    return rows[0]!.n === count;
  }, { what: `${count} listening connections` });
}

async function adminClient(): Promise<pg.Client> {
  const server = await testPostgres();
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  admin.on('error', () => undefined);
  await admin.connect();
  onCleanup(() => admin.end());
  return admin;
}

/** Two replicas a and b on a fresh database, hearing each other. */
async function twoReplicas(options: Partial<ServerOptions> = {}) {
  const url = await freshPostgresDatabase();
  const timeline: Timeline = [];
  const a = await startReplica('a', url, timeline, options);
  const b = await startReplica('b', url, timeline, options);
  await listening(url, 2);
  return { url, a, b, timeline };
}

/** The replicas leading at each moment of the timeline never number more than one. */
function expectOneLeaderAtATime(timeline: Timeline): void {
  const leading = new Set<string>();
  for (const change of timeline) {
    if (change.leader) leading.add(change.replica);
    else leading.delete(change.replica);
    expect(leading.size, JSON.stringify(timeline)).toBeLessThanOrEqual(1);
  }
}

const leaderOf = (...replicas: Replica[]) => replicas.filter((r) => r.server.leader.isLeader);

/** A graphql-ws subscription straight to a replica, with the identity header the proxy would add. */
async function subscribe<T>(replica: Replica, query: string, variables: Record<string, unknown>): Promise<{ events: T[]; done: Promise<void> }> {
  const header = await signIdentity(developer, identitySecret);
  const client = createClient({
    url: `${replica.server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { [IDENTITY_HEADER]: header } });
      }
    },
    retryAttempts: 0,
  });
  onCleanup(() => client.dispose());
  const events: T[] = [];
  const done = new Promise<void>((resolve, reject) => {
    client.subscribe<T>({ query, variables }, {
      next: (result) => (result.errors ? reject(new Error(JSON.stringify(result.errors))) : events.push(result.data as T)),
      error: reject,
      complete: resolve,
    });
  });
  return { events, done };
}

async function runWithAgent(replica: Replica) {
  const { service } = replica.server;
  await service.registerFlow(developer, bundle);
  const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [], concurrency: 100 });
  return { service, agent };
}

describe('replicas hear each other (LISTEN/NOTIFY)', () => {
  it('wakes a claim long-polling on one replica when a run is created through the other', async () => {
    const { a, b } = await twoReplicas();
    const { agent } = await runWithAgent(b);
    await a.server.service.registerFlow(developer, bundle);
    const started = Date.now();
    const claim = b.server.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1, waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await a.server.service.createFlowRun(developer, { flowName: 'hello' });
    const created = Date.now();
    const claims = await claim;
    expect(claims.map((c) => c.run.id)).toEqual([run.id]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Woken by the notification (milliseconds; generous for a loaded machine), not by the end of the 20 s wait.
    expect(Date.now() - created).toBeLessThan(5_000);
  });

  it('feeds a state subscription on one replica with a run written through the other, each version once and in order', async () => {
    const { a, b } = await twoReplicas();
    const { service, agent } = await runWithAgent(a);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const subscription = await subscribe<{ flowRunStateChanged: { flowRun: { state: string; version: number } } }>(
      b,
      'subscription($id: ID!) { flowRunStateChanged(id: $id) { flowRun { state version } } }',
      { id: run.id },
    );
    await waitFor(() => subscription.events.length === 1, { what: 'the current state' });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const lease = { flowRunId: run.id, leaseToken: claim!.leaseToken };
    await waitFor(() => subscription.events.length === 2, { what: 'SUBMITTED' });
    const running = await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: claim!.run.version, state: 'RUNNING' });
    await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: running.version, state: 'SUCCESS' });
    await subscription.done;
    const seen = subscription.events.map((e) => e.flowRunStateChanged.flowRun);
    expect(seen[0]).toEqual({ state: 'SCHEDULED', version: 1 });
    expect(seen[1]).toEqual({ state: 'SUBMITTED', version: 2 });
    expect(seen.at(-1)).toEqual({ state: 'SUCCESS', version: 4 });
    const versions = seen.map((s) => s.version);
    expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
  });

  it('feeds a log subscription on one replica with lines stored through the other', async () => {
    const { a, b } = await twoReplicas();
    const { service, agent } = await runWithAgent(a);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const lease = { flowRunId: run.id, leaseToken: claim!.leaseToken };
    const running = await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: claim!.run.version, state: 'RUNNING' });
    const line = (message: string) => ({ taskRunKey: null, level: 'INFO' as const, stream: 'stdout', message, timestamp: 1 });
    await service.writeLogs(agentIdentity, { ...lease, batchId: 'b1', lines: [line('one'), line('two')] });
    const subscription = await subscribe<{ flowRunLogs: { message: string } }>(b, 'subscription($id: ID!) { flowRunLogs(id: $id) { message } }', { id: run.id });
    await waitFor(() => subscription.events.length === 2, { what: 'the backlog' });
    await service.writeLogs(agentIdentity, { ...lease, batchId: 'b2', lines: [line('three')] });
    await waitFor(() => subscription.events.length === 3, { what: 'a line stored through the other replica' });
    await service.writeLogs(agentIdentity, { ...lease, batchId: 'b3', lines: [line('four'), line('five')] });
    await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: running.version, state: 'SUCCESS' });
    await subscription.done;
    expect(subscription.events.map((e) => e.flowRunLogs.message)).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  it('does not hear its own changes twice', async () => {
    const { a, b } = await twoReplicas();
    const seen = { a: [] as string[], b: [] as string[] };
    a.server.service.events.on('run:changed', (run) => seen.a.push(run.id));
    b.server.service.events.on('run:changed', (run) => seen.b.push(run.id));
    await a.server.service.registerFlow(developer, bundle);
    const run = await a.server.service.createFlowRun(developer, { flowName: 'hello' });
    await waitFor(() => seen.b.includes(run.id), { what: 'replica b to hear of the run' });
    // b's notification was sent after a's own event: give a's listener the same time, then count.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.a).toEqual([run.id]);
    expect(seen.b).toEqual([run.id]);
  });

  it('reconnects when its LISTEN connection is cut, tells waiters to look again, and hears changes again', async () => {
    const { url, a, b } = await twoReplicas();
    const { agent } = await runWithAgent(b);
    await a.server.service.registerFlow(developer, bundle);
    let gaps = 0;
    b.server.service.events.on('events:gap', () => (gaps += 1));
    const admin = await adminClient();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'fluxo-listener'`, [new URL(url).pathname.slice(1)]);
    await waitFor(() => gaps > 0, { what: 'replica b to reconnect and report the gap' });
    await listening(url, 2);
    const claim = b.server.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1, waitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const created = Date.now();
    const run = await a.server.service.createFlowRun(developer, { flowName: 'hello' });
    expect((await claim).map((c) => c.run.id)).toEqual([run.id]);
    expect(Date.now() - created).toBeLessThan(5_000);
    expect(b.logs.some((l) => l.msg === 'hearing other replicas again')).toBe(true);
  });
});

describe('leader election', () => {
  /** Claims `n` runs through `replica` with a lease of `leaseMs` and never renews them. */
  async function abandonedLeases(replica: Replica, n: number, leaseMs: number): Promise<string[]> {
    const { service, agent } = await runWithAgent(replica);
    const ids = [];
    for (let i = 0; i < n; i++) ids.push((await service.createFlowRun(developer, { flowName: 'hello' })).id);
    // Straight through the store: the lease length is the caller's here, not the server's setting.
    await replica.store.claimFlowRuns(tenant, agent, [], n, leaseMs);
    return ids;
  }

  const reapedBy = (replica: Replica) => replica.logs.filter((l) => l.msg === 'lease expired').map((l) => l.flowRunId as string);

  async function crashed(store: PostgresStore, ids: string[]): Promise<boolean> {
    const row = await store.db.row<{ n: number }>(sql`SELECT COUNT(*)::int AS n FROM flow_runs WHERE id = ANY(${ids}::text[]) AND state = 'CRASHED'`);
    return row!.n === ids.length;
  }

  it('elects exactly one of two replicas, and only the leader reaps expired leases', async () => {
    const { a, b, timeline } = await twoReplicas();
    const [leader] = await waitFor(() => (leaderOf(a, b).length === 1 ? leaderOf(a, b) : undefined), { what: 'a leader' });
    const follower = leader === a ? b : a;
    // Many retry rounds later the follower still follows.
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS * 6));
    expect(leaderOf(a, b)).toEqual([leader]);
    const ids = await abandonedLeases(follower, 5, 100);
    await waitFor(() => crashed(a.store, ids), { what: 'the expired leases to be reaped' });
    expect(reapedBy(leader!).sort()).toEqual([...ids].sort());
    expect(reapedBy(follower)).toEqual([]);
    expect(timeline).toEqual([{ replica: leader!.name, leader: true, at: expect.any(Number) }]);
    expect(follower.logs.some((l) => l.msg === 'became the leader')).toBe(false);
  });

  it('runs retention on the leader only', async () => {
    const url = await freshPostgresDatabase();
    // An old finished run, before any replica starts.
    const seeding = openPostgresStore(url, { poolSize: 1 });
    onCleanup(() => seeding.close());
    const { id } = await new FluxoService(seeding, new EventBus()).registerFlow(developer, bundle).then(async () => {
      const service = new FluxoService(seeding, new EventBus());
      const run = await service.createFlowRun(developer, { flowName: 'hello' });
      return service.cancelFlowRun(developer, run.id);
    });
    await seeding.db.rows(sql`UPDATE flow_runs SET ended_at = ended_at - ${40 * 86_400_000}::bigint WHERE id = ${id}`);
    const timeline: Timeline = [];
    const a = await startReplica('a', url, timeline, { retentionDays: 30 });
    const b = await startReplica('b', url, timeline, { retentionDays: 30 });
    await waitFor(async () => (await seeding.getFlowRun(tenant, id)) === null, { what: 'retention to delete the old run' });
    const pruned = (r: Replica) => r.logs.filter((l) => l.msg === 'retention deleted finished runs');
    const [leader] = leaderOf(a, b);
    expect(pruned(leader!)).toEqual([expect.objectContaining({ tenant, runs: 1, retentionDays: 30 })]);
    expect(pruned(leader === a ? b : a)).toEqual([]);
  });

  it('hands the lead to the other replica within one retry interval when the leader stops, and the new leader reaps', async () => {
    const { a, b, timeline } = await twoReplicas();
    const [leader] = await waitFor(() => (leaderOf(a, b).length === 1 ? leaderOf(a, b) : undefined), { what: 'a leader' });
    const follower = leader === a ? b : a;
    const ids = await abandonedLeases(follower, 3, 1_000);
    const stopped = Date.now();
    await leader!.close();
    await waitFor(() => follower.server.leader.isLeader, { what: 'the follower to lead', intervalMs: 5 });
    const takeover = timeline.find((t) => t.replica === follower.name && t.leader)!.at - stopped;
    // One retry interval, plus timer slack on a loaded machine.
    expect(takeover).toBeLessThanOrEqual(RETRY_MS + 500);
    await waitFor(() => crashed(follower.store, ids), { what: 'the new leader to reap' });
    expect(reapedBy(follower).sort()).toEqual([...ids].sort());
    expectOneLeaderAtATime(timeline);
  });

  it('steps down when its database session is cut (as when the leader dies) and a replica leads again', async () => {
    const { url, a, b, timeline } = await twoReplicas();
    await waitFor(() => leaderOf(a, b).length === 1, { what: 'a leader' });
    const admin = await adminClient();
    const database = new URL(url).pathname.slice(1);
    // The session holding fluxo's leader lock (advisory lock keys are split in two 32-bit halves).
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1`,
      [database],
    );
    expect(rows).toHaveLength(1);
    const before = timeline.length;
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await waitFor(() => timeline.slice(before).some((t) => !t.leader), { what: 'the leader to step down' });
    await waitFor(() => leaderOf(a, b).length === 1, { what: 'a new leader', timeoutMs: RETRY_MS * 10 });
    // And it works: a lease that expires now is reaped.
    const ids = await abandonedLeases(a, 2, 100);
    await waitFor(() => crashed(a.store, ids), { what: 'the new leader to reap' });
    expect([...reapedBy(a), ...reapedBy(b)]).toEqual(expect.arrayContaining(ids));
  });
});

describe('a single server on SQLite', () => {
  it('leads from the start: it runs the lease reaper alone', async () => {
    const store = openSqliteStore(`${await tempDir()}/fluxo.db`);
    await store.migrate();
    const changes: boolean[] = [];
    const logger = pino({ level: 'silent' });
    const server = await startServer({ store, identitySecret, logger, port: 0, leaseMs: 100, reaperIntervalMs: 50, onLeaderChange: (leader) => changes.push(leader) });
    onCleanup(async () => {
      await server.close();
      await store.close();
    });
    await waitFor(() => server.leader.isLeader, { what: 'the server to lead' });
    const { service } = server;
    await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
    await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    await waitFor(async () => (await store.getFlowRun(tenant, run.id))?.state === 'CRASHED', { what: 'the reaper' });
    await server.close();
    expect(changes).toEqual([true, false]);
  });
});
