// Two server replicas (separate processes, each behind its own auth proxy) on one PostgreSQL,
// with agents split between them. Every run executes exactly once, counted by an external witness
// file the children append to; replicas and PostgreSQL itself are killed or restarted under load.
//
// Sizes: FLUXO_REPLICA_RUNS (default 2000), FLUXO_REPLICA_AGENTS (default 20),
// FLUXO_REPLICA_CONCURRENCY (children per agent, default 2).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { GraphQLClient } from '../../client/graphql-client.js';
import type { Role } from '../../common/identity.js';
import { startDaemon, type Daemon } from '../support/daemon.js';
import { isAlive, onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { freshPostgresDatabase, stopTestPostgres } from '../support/postgres.js';
import { startStack, type Replica, type Stack } from '../support/stack.js';
import { createRun, runDetails } from './queries.js';

const RUNS = Number(process.env.FLUXO_REPLICA_RUNS ?? 2000);
const AGENTS = Number(process.env.FLUXO_REPLICA_AGENTS ?? 20);
const CONCURRENCY = Number(process.env.FLUXO_REPLICA_CONCURRENCY ?? 2);
/**
 * The lease the servers grant. An outage longer than a lease is where exactly-once ends: an agent
 * that cannot report a finished run before its lease runs out fences itself, the run is reaped and
 * runs again. A replica restarted on a loaded 2-core machine takes several seconds to serve again,
 * so the races keep fluxo's default of 30 s; the leader test uses a short one to wait less.
 */
const LEASE_SECONDS = 30;
const SHORT_LEASE_SECONDS = 10;
const LEADER_RETRY_MS = 1_000;
/** Agents renew often: after an outage their leases are renewed within seconds. */
const AGENT_ARGS = ['--heartbeat-seconds', '2'];

interface Cluster {
  stack: Stack;
  replicas: [Replica, Replica];
  /** A pool on the test database (it reconnects by itself after a PostgreSQL restart). */
  db: pg.Pool;
  developer: GraphQLClient;
  witness: string;
}

/** Two replicas on a fresh PostgreSQL database, with the witness flow registered (flow-level retries on). */
async function startCluster(leaseSeconds = LEASE_SECONDS): Promise<Cluster> {
  const database = await freshPostgresDatabase();
  const stack = await startStack({ database, leaseSeconds, serverArgs: ['--leader-retry-ms', String(LEADER_RETRY_MS)] });
  const second = await stack.startReplica();
  const first: Replica = { server: stack.server, proxy: stack.proxy, serverUrl: stack.serverUrl, apiUrl: stack.apiUrl };
  const db = new pg.Pool({ connectionString: database, max: 2 });
  db.on('error', () => undefined);
  onCleanup(() => db.end());
  const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'witness.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  const developer = await stack.client('developer');
  // The same bundle again with flow-level retries: a run whose claim was committed but whose answer
  // died with a replica is reaped when its lease expires and runs again (once: the witness counts).
  const { flow } = await developer.request<{ flow: { latestVersion: Record<string, unknown> } }>(
    '{ flow(name: "witness") { latestVersion { storageUri sha256 size entrypoint parameterSchema } } }',
  );
  await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
    input: { project: 'production', name: 'witness', ...flow.latestVersion, retries: 2, retryDelaySeconds: 0 },
  });
  return { stack, replicas: [first, second], db, developer, witness: join(stack.dir, 'witness.txt') };
}

/** A client of one replica (through that replica's proxy). */
async function clientOf(stack: Stack, replica: Replica, role: Role): Promise<GraphQLClient> {
  const client = new GraphQLClient({ apiUrl: replica.apiUrl!, token: await stack.token(role) });
  onCleanup(() => client.close());
  return client;
}

/** Creates `count` witness runs, 50 at a time, alternating between the replicas' APIs. */
async function createRuns(cluster: Cluster, count: number): Promise<string[]> {
  const clients = [await clientOf(cluster.stack, cluster.replicas[0], 'developer'), await clientOf(cluster.stack, cluster.replicas[1], 'developer')];
  const ids: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => createRun(clients[(i + j) % 2]!, { flowName: 'witness', parameters: { file: cluster.witness, tag: `run-${i + j}` } })),
    );
    ids.push(...batch);
  }
  return ids;
}

/** Starts `count` agents, split evenly between the replicas' proxies. */
async function startAgents(cluster: Cluster, count: number, concurrency: number): Promise<Daemon[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      cluster.stack.startAgent({ name: `agent-${i % 2 === 0 ? 'a' : 'b'}-${i}`, concurrency, apiUrl: cluster.replicas[i % 2]!.apiUrl!, extraArgs: AGENT_ARGS }),
    ),
  );
}

async function stateCounts(db: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ state: string; n: number }>('SELECT state, COUNT(*)::int AS n FROM flow_runs GROUP BY state');
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** Waits until every run succeeded; the last counts seen are in the timeout's message. */
async function allSucceed(db: pg.Pool, runs: number, timeoutMs: number): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const counts = await stateCounts(db);
      last = JSON.stringify(counts);
      return counts.SUCCESS === runs;
    },
    { timeoutMs, intervalMs: 500, what: `${runs} runs to succeed` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${last}`);
  });
}

const witnessLines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

/** The runs agents were told their SUCCESS write was stored (their `run finished` log lines). */
function acknowledgedSuccesses(agents: Daemon[]): string[] {
  return agents.flatMap((agent) =>
    agent.output.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      const entry = JSON.parse(line) as { msg?: string; reported?: boolean; state?: string; flowRunId?: string };
      return entry.msg === 'run finished' && entry.reported && entry.state === 'SUCCESS' ? [entry.flowRunId!] : [];
    }),
  );
}

/** For a failure message: what the database and the daemons' logs say about runs the witness saw twice. */
async function explainDuplicates(db: pg.Pool, daemons: Daemon[], lines: string[]): Promise<string> {
  const seen = new Set<string>();
  const twice = lines.filter((tag) => seen.has(tag) || !seen.add(tag));
  const out: string[] = [];
  for (const tag of twice.slice(0, 3)) {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM flow_runs WHERE parameters->>'tag' = $1`, [tag]);
    out.push(`${tag} ran twice: ${await explainRun(db, daemons, rows[0]?.id ?? '?')}`);
  }
  return out.join('\n');
}

/** For a failure message: a run's history and every log line of the daemons that names it. */
async function explainRun(db: pg.Pool, daemons: Daemon[], id: string): Promise<string> {
  const history = await db.query(`SELECT from_state, to_state, reason, actor, attempt, at FROM state_transitions WHERE flow_run_id = $1 AND task_run_id IS NULL ORDER BY id`, [id]);
  const out = [`run ${id}; history: ${JSON.stringify(history.rows)}`];
  for (const daemon of daemons) for (const line of daemon.output) if (line.includes(id)) out.push(`  [${daemon.pid}] ${line}`);
  return out.join('\n');
}

const logged = (daemon: Daemon, msg: string) => daemon.output.some((line) => line.includes(`"msg":"${msg}"`));

describe('two server replicas on one PostgreSQL', () => {
  it(`${AGENTS} agents split between 2 replicas race for ${RUNS} runs: each executes exactly once, though a replica is killed -9 mid-writes`, async () => {
    const cluster = await startCluster();
    const { stack, replicas, db } = cluster;
    const ids = await createRuns(cluster, RUNS);
    const started = Date.now();
    const agents = await startAgents(cluster, AGENTS, CONCURRENCY);

    // In the middle of the race, replica b dies at once (no shutdown) and comes back on its port
    // (as a restarted pod would), while its agents retry through its proxy.
    await waitFor(async () => ((await stateCounts(db)).SUCCESS ?? 0) >= RUNS / 4, { timeoutMs: 120_000, intervalMs: 200, what: 'a quarter of the runs' });
    const victim = replicas[1];
    process.kill(victim.server.pid, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => !isAlive(victim.server.pid), { what: 'replica b to die' });
    const restarted = await startDaemon(stack.serverArgs(Number(new URL(victim.serverUrl).port)), { timeoutMs: 60_000 });
    const downMs = Date.now() - killedAt;

    await allSucceed(db, RUNS, 240_000);
    const elapsed = Date.now() - started;
    // The witness: every run executed once, no run twice.
    const lines = await witnessLines(cluster.witness);
    expect(new Set(lines).size).toBe(RUNS);
    expect(lines.length, `replica b was down ${downMs} ms\n${await explainDuplicates(db, [...agents, ...replicas.map((r) => r.server), restarted], lines)}`).toBe(RUNS);
    // Nothing acknowledged was lost: every SUCCESS an agent was told was stored is in the
    // database, once (a retried write that had landed before the crash is a no-op).
    const told = acknowledgedSuccesses(agents);
    const notStored = await db.query<{ id: string }>(`SELECT id FROM flow_runs WHERE id = ANY($1::text[]) AND state <> 'SUCCESS'`, [told]);
    expect(notStored.rows).toEqual([]);
    expect(told.length).toBe(new Set(told).size);
    // The other way round is not promised: an agent whose SUCCESS committed just before the
    // replica died retries the write, and a heartbeat answered meanwhile may already call the
    // (ended) lease lost, so the agent drops the run without hearing its write landed. The run
    // is SUCCESS and ran once all the same; the count is reported below.
    const unacknowledged = ids.filter((id) => !new Set(acknowledgedSuccesses(agents)).has(id));
    const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM state_transitions WHERE to_state = 'SUCCESS' AND task_run_id IS NULL`);
    expect(rows[0]!.n).toBe(RUNS);
    // The race was real: agents of both replicas ran runs.
    const byReplica = await db.query<{ side: string; n: number }>(
      `SELECT substr(a.name, 7, 1) AS side, COUNT(*)::int AS n FROM flow_runs r JOIN agents a ON a.id = r.agent_id GROUP BY 1 ORDER BY 1`,
    );
    expect(byReplica.rows.map((r) => r.side)).toEqual(['a', 'b']);
    for (const agent of agents) expect(isAlive(agent.pid), agent.output.slice(-5).join('\n')).toBe(true);
    // Runs whose claim committed on the dying replica but whose answer was lost ran again after their lease expired.
    const retried = await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM flow_runs WHERE attempt > 1');
    console.info(
      `replicas race: ${RUNS} runs, ${AGENTS} agents x ${CONCURRENCY} in ${(elapsed / 1000).toFixed(1)} s (${((RUNS * 1000) / elapsed).toFixed(0)} runs/s); ` +
        `runs per replica side ${JSON.stringify(byReplica.rows)}; replica b was down ${downMs} ms; ${retried.rows[0]!.n} runs needed a second attempt; ` +
        `${unacknowledged.length} stored successes their agent did not hear of`,
    );
  }, 420_000);

  it('kill -9 the leader: the other replica takes over its services and reaps an expired lease within one lease period', async () => {
    const cluster = await startCluster(SHORT_LEASE_SECONDS);
    const { stack, replicas } = cluster;
    const leaderIndex = await waitFor(() => {
      const leading = replicas.flatMap((r, i) => (logged(r.server, 'became the leader') ? [i] : []));
      return leading.length === 1 ? leading[0]! : undefined;
    }, { what: 'one replica to lead' });
    const leader = replicas[leaderIndex]!;
    const survivor = replicas[1 - leaderIndex]!;
    expect(logged(survivor.server, 'became the leader')).toBe(false);

    // An agent claims a run through the survivor and then says nothing more: its lease will expire.
    const agentClient = await clientOf(stack, survivor, 'agent');
    const { registerAgent } = await agentClient.request<{ registerAgent: { id: string } }>('mutation { registerAgent(input: { name: "silent", labels: [], concurrency: 1 }) { id } }');
    const developer = await clientOf(stack, survivor, 'developer');
    const id = await createRun(developer, { flowName: 'witness', parameters: { file: cluster.witness, tag: 'abandoned' } });
    const { claimFlowRuns } = await agentClient.request<{ claimFlowRuns: { leaseExpiresAt: string; flowRun: { id: string } }[] }>(
      `mutation($agent: ID!) { claimFlowRuns(input: { agentId: $agent, max: 1, waitMs: 0 }) { leaseExpiresAt flowRun { id } } }`,
      { agent: registerAgent.id },
    );
    expect(claimFlowRuns.map((c) => c.flowRun.id)).toEqual([id]);
    const leaseExpiresAt = Date.parse(claimFlowRuns[0]!.leaseExpiresAt);

    process.kill(leader.server.pid, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => logged(survivor.server, 'became the leader'), { timeoutMs: LEADER_RETRY_MS * 5, intervalMs: 50, what: 'the survivor to lead' });
    const tookOverMs = Date.now() - killedAt;

    const crashed = await waitFor(async () => {
      const run = await runDetails(developer, id);
      return run.stateHistory.find((h) => h.toState === 'CRASHED');
    }, { timeoutMs: SHORT_LEASE_SECONDS * 2_000, intervalMs: 100, what: 'the survivor to reap the expired lease' });
    expect(crashed).toMatchObject({ reason: 'lease-expired', actor: 'server:lease-reaper', attempt: 1 });
    const { db } = cluster;
    const { rows } = await db.query<{ at: number }>(`SELECT at FROM state_transitions WHERE flow_run_id = $1 AND to_state = 'CRASHED'`, [id]);
    // Reaped within one lease period of its expiry (in practice: one leader retry plus one reaper pass).
    expect(rows[0]!.at - leaseExpiresAt).toBeLessThan(SHORT_LEASE_SECONDS * 1000);
    expect(survivor.server.output.some((line) => line.includes('"msg":"lease expired"') && line.includes(id))).toBe(true);
    console.info(`leader killed: the survivor led after ${tookOverMs} ms and reaped ${rows[0]!.at - leaseExpiresAt} ms after the lease expired`);
  }, 90_000);

  it('PostgreSQL restarted under load: replicas answer a coded 503 meanwhile, reconnect by themselves, and agents carry on', async () => {
    const runs = Math.min(RUNS, 200);
    const cluster = await startCluster();
    const { stack, replicas, db } = cluster;
    await createRuns(cluster, runs);
    const agents = await startAgents(cluster, 4, CONCURRENCY);
    await waitFor(async () => ((await stateCounts(db)).SUCCESS ?? 0) >= runs / 4, { timeoutMs: 120_000, intervalMs: 200, what: 'a quarter of the runs' });

    const startAgain = await stopTestPostgres();
    const stoppedAt = Date.now();
    try {
      const token = await stack.token('developer');
      for (const replica of replicas) {
        const response = await fetch(replica.apiUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ flowRuns(first: 1) { nodes { id } } }' }),
        });
        const text = await response.text();
        expect(response.status, text).toBe(503);
        const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
        expect(body.errors[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' }, message: expect.stringMatching(/^the database is unavailable \(.+\); retry shortly$/) });
        expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+/);
        const ready = await fetch(`${replica.serverUrl}/readyz`);
        expect(ready.status).toBe(503);
      }
      // A few seconds down: shorter than the lease, so agents keep their runs.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 3_000 - (Date.now() - stoppedAt))));
    } finally {
      await startAgain();
    }
    for (const replica of replicas) {
      await waitFor(async () => (await fetch(`${replica.serverUrl}/readyz`)).status === 200, { what: 'the replica to reconnect' });
    }
    await allSucceed(db, runs, 120_000);
    const lines = await witnessLines(cluster.witness);
    expect(lines).toHaveLength(runs);
    expect(new Set(lines).size).toBe(runs);
    for (const daemon of [...replicas.map((r) => r.server), ...agents]) expect(isAlive(daemon.pid), daemon.output.slice(-5).join('\n')).toBe(true);
    // Both replicas saw the outage and told their agents so in codes, not stack traces.
    expect(agents.some((agent) => agent.output.some((line) => line.includes('server unreachable; retrying')))).toBe(true);
  }, 180_000);
});
