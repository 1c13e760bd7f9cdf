// History that stays fast: seeds a year of one tenant's history (bench/history-shape.ts: by
// default the issue's 1M flow runs, 10M task runs, 50M log lines) and measures p50/p99 of every
// list query the API offers, through the store methods the resolvers call
// (server/graphql/resolvers.ts reads through `ctx.service.store`).
//
//   npm run build && node dist/bench/history.js [--database sqlite|postgres|both] \
//     [--runs 1000000] [--task-runs 10000000] [--log-lines 50000000] [--samples 200] [--data-dir DIR]
//
// Seeding the full volume takes 8-13 minutes per backend on 2 cores and ~19 GB of disk for SQLite,
// ~35 GB for PostgreSQL (WAL included). With `--data-dir DIR` the seeded databases are kept there
// and reused by a later run with the same sizes (the history then ends where it ended when
// seeded); without it they are removed.
// Target (DESIGN.md): every list query p99 < 100 ms.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../server/open-store.js';
import { encodeCursor } from '../server/store/cursor.js';
import type { FlowRunRecord } from '../server/store/records.js';
import type { FlowRunFilter, Store } from '../server/store/store.js';
import { pgSettings } from './backend.js';
import {
  FLOWS, SCHEDULED_RUNS, TENANT, benchId, historyShape, runCreatedAt, runFlow, type HistoryShape, type HistorySizes,
} from './history-shape.js';
import { startBenchPostgres, type BenchPostgres } from './postgres.js';
import { seedPostgresHistory } from './seed-history-postgres.js';
import { seedSqliteHistory } from './seed-history-sqlite.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'both' },
    runs: { type: 'string', default: '1000000' },
    'task-runs': { type: 'string', default: '10000000' },
    'log-lines': { type: 'string', default: '50000000' },
    samples: { type: 'string', default: '200' },
    'budget-seconds': { type: 'string', default: '20' },
    'data-dir': { type: 'string' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const SIZES: HistorySizes = { runs: Number(values.runs), taskRuns: Number(values['task-runs']), logLines: Number(values['log-lines']) };
const SAMPLES = Number(values.samples);
const BUDGET_MS = Number(values['budget-seconds']) * 1000;
const BACKENDS = values.database === 'both' ? (['sqlite', 'postgres'] as const) : ([values.database] as ('sqlite' | 'postgres')[]);
if (!BACKENDS.every((b) => b === 'sqlite' || b === 'postgres')) throw new Error('--database must be sqlite, postgres or both');
const say = (message: string): void => console.error(message);
// Where the seeded year ends: an hour ago, on a whole minute; the same for both backends of a run.
const END = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

// A reproducible stream of choices (mulberry32), so both backends get the same query parameters.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Measured {
  query: string;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  rows: number;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** Runs `one` up to SAMPLES times (or until the time budget is spent), after 3 unmeasured warm-ups. */
async function measure(query: string, one: (i: number) => Promise<number>): Promise<Measured> {
  for (let i = 0; i < 3; i++) await one(-1 - i);
  const times: number[] = [];
  let rows = 0;
  const started = performance.now();
  for (let i = 0; i < SAMPLES && (i < 5 || performance.now() - started < BUDGET_MS); i++) {
    const t0 = performance.now();
    rows += await one(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const result = { query, samples: times.length, p50: +quantile(times, 0.5).toFixed(2), p99: +quantile(times, 0.99).toFixed(2), max: +times.at(-1)!.toFixed(2), rows: Math.round(rows / times.length) };
  say(`    ${query.padEnd(58)} p50 ${String(result.p50).padStart(8)} ms  p99 ${String(result.p99).padStart(8)} ms  (${result.samples} samples, ~${result.rows} rows)${result.p99 >= 100 ? '  <-- p99 >= 100 ms' : ''}`);
  return result;
}

/** Every list query of the API, with parameters spread over the whole history. */
async function measureQueries(store: Store, s: HistoryShape): Promise<Measured[]> {
  const pick = random(42);
  const runIndex = (from = 0, to = s.runs): number => from + Math.floor(pick() * (to - from));
  const runId = (r: number): string => benchId(runCreatedAt(s, r), '8', r);
  const cursorAt = (r: number): string => encodeCursor([runCreatedAt(s, r), runId(r)]);
  const flowId = (f: number): string => benchId(s.start - 3_000, 'b', f);
  /** A run of flow `f` near a random point of the history. */
  const runOfFlow = (f: number): number => {
    for (let r = runIndex(0, s.runs - SCHEDULED_RUNS); ; r = (r + 1) % s.runs) if (runFlow(r) === f) return r;
  };
  const finished = (): number => runIndex(0, s.runs - SCHEDULED_RUNS - 100);
  const day = 86_400_000;
  const runs = (filter: FlowRunFilter, after?: string | null, first = 50) => store.listFlowRuns(TENANT, filter, { first, after });
  const count = (page: { nodes: unknown[] }): number => page.nodes.length;
  const results: Measured[] = [];
  const add = async (query: string, one: (i: number) => Promise<number>): Promise<void> => {
    results.push(await measure(query, one));
  };

  say('  flows, projects, versions, agents');
  await add('projects', async () => (await store.listProjects(TENANT)).length);
  await add('flows: first page (50)', async () => count(await store.listFlows(TENANT, null, { first: 50 })));
  await add('flows: project filter, page 2 by cursor', async () => {
    const page = await store.listFlows(TENANT, 'production', { first: 50 });
    return count(await store.listFlows(TENANT, 'production', { first: 50, after: page.endCursor }));
  });
  await add('flow versions of a flow', async () => count(await store.listFlowVersions(TENANT, flowId(runIndex(0, FLOWS)), { first: 50 })));
  await add('agents: first page', async () => count(await store.listAgents(TENANT, { first: 50 })));

  say('  flowRuns, no filter');
  await add('flowRuns: newest page (50)', async () => count(await runs({})));
  await add('flowRuns: newest page (500)', async () => count(await runs({}, null, 500)));
  await add('flowRuns: deep page at a random cursor', async () => count(await runs({}, cursorAt(finished()))));
  let walkCursor: string | null = null;
  await add('flowRuns: walking pages 1..N by endCursor', async () => {
    const page = await runs({}, walkCursor);
    walkCursor = page.endCursor;
    return count(page);
  });

  say('  flowRuns by flow');
  await add('flowRuns: flow (popular, ~7%), newest page', async () => count(await runs({ flowId: flowId(0) })));
  await add('flowRuns: flow (rare, ~0.25%), newest page', async () => count(await runs({ flowId: flowId(FLOWS - 1 - Math.floor(pick() * 10)) })));
  await add('flowRuns: flow (rare), deep page at a random cursor', async () => {
    const f = FLOWS - 1 - Math.floor(pick() * 10);
    return count(await runs({ flowId: flowId(f) }, cursorAt(runOfFlow(f))));
  });

  say('  flowRuns by state');
  await add('flowRuns: state FAILED (6%), newest page', async () => count(await runs({ states: ['FAILED'] })));
  await add('flowRuns: state FAILED, deep page at a random cursor', async () => count(await runs({ states: ['FAILED'] }, cursorAt(finished()))));
  await add('flowRuns: state RUNNING (100 runs)', async () => count(await runs({ states: ['RUNNING'] })));
  await add('flowRuns: state SCHEDULED (100 runs)', async () => count(await runs({ states: ['SCHEDULED'] })));
  await add('flowRuns: states FAILED,CRASHED,TIMED_OUT, newest page', async () => count(await runs({ states: ['FAILED', 'CRASHED', 'TIMED_OUT'] })));
  await add('flowRuns: states FAILED,CRASHED,TIMED_OUT, deep page', async () => count(await runs({ states: ['FAILED', 'CRASHED', 'TIMED_OUT'] }, cursorAt(finished()))));
  await add('flowRuns: states SCHEDULED,RUNNING (200 runs)', async () => count(await runs({ states: ['SCHEDULED', 'RUNNING'] })));
  await add('flowRuns: flow (popular) + state FAILED', async () => count(await runs({ flowId: flowId(0), states: ['FAILED'] })));
  await add('flowRuns: flow (rare) + state CANCELLED', async () => count(await runs({ flowId: flowId(FLOWS - 1 - Math.floor(pick() * 10)), states: ['CANCELLED'] })));

  say('  flowRuns by time range');
  await add('flowRuns: one random day', async () => {
    const from = s.start + Math.floor(pick() * 360) * day;
    return count(await runs({ createdAfter: from, createdBefore: from + day }));
  });
  await add('flowRuns: one random hour, page 2', async () => {
    const from = s.start + Math.floor(pick() * 360 * 24) * 3_600_000;
    const page = await runs({ createdAfter: from, createdBefore: from + 3_600_000 }, null, 50);
    return count(page) + (page.endCursor ? count(await runs({ createdAfter: from, createdBefore: from + 3_600_000 }, page.endCursor)) : 0);
  });
  await add('flowRuns: last 30 days + state FAILED', async () => count(await runs({ createdAfter: s.end - 30 * day, states: ['FAILED'] })));
  await add('flowRuns: random month + flow (rare)', async () => {
    const from = s.start + Math.floor(pick() * 11) * 30 * day;
    return count(await runs({ flowId: flowId(FLOWS - 1 - Math.floor(pick() * 10)), createdAfter: from, createdBefore: from + 30 * day }));
  });

  say('  flowRuns by label');
  await add('flowRuns: label smtr (~50%), newest page', async () => count(await runs({ label: 'smtr' })));
  await add('flowRuns: label smtr, deep page at a random cursor', async () => count(await runs({ label: 'smtr' }, cursorAt(finished()))));
  await add('flowRuns: label gpu (~2%), newest page', async () => count(await runs({ label: 'gpu' })));
  await add('flowRuns: label gpu, deep page at a random cursor', async () => count(await runs({ label: 'gpu' }, cursorAt(finished()))));
  await add('flowRuns: label gpu + state FAILED', async () => count(await runs({ label: 'gpu', states: ['FAILED'] })));
  await add('flowRuns: label nobody has (scans everything)', async () => count(await runs({ label: 'no-such-label' })));

  say('  one flowRun');
  await add('flowRun by id', async () => ((await store.getFlowRun(TENANT, runId(finished()))) ? 1 : 0));
  /** What the UI's run page asks: the run, its flow, version and agent, the first page of task runs (FlowRun.taskRuns' default 1000), state history, first page of logs. */
  const runPage = async (r: number): Promise<number> => {
    const run = (await store.getFlowRun(TENANT, runId(r))) as FlowRunRecord;
    const [, , , tasks, history, logs] = await Promise.all([
      store.getFlow(TENANT, run.flowId), store.getFlowVersion(TENANT, run.flowVersionId), run.agentId ? store.getAgent(TENANT, run.agentId) : null,
      store.listTaskRuns(TENANT, run.id, { first: 1000 }), store.listStateTransitions(TENANT, run.id, null), store.listLogs(TENANT, run.id, { first: 1000 }),
    ]);
    return 1 + tasks.length + history.length + logs.nodes.length;
  };
  await add('flowRun page: run, flow, version, agent, tasks, history, logs', async () => runPage(finished()));
  await add('flowRun: each task run\'s state history (~10 tasks)', async () => {
    const tasks = await store.listTaskRuns(TENANT, runId(finished()), { first: 1000 });
    let n = 0;
    for (const task of tasks) n += (await store.listStateTransitions(TENANT, task.flowRunId, task.id)).length;
    return n;
  });
  await add(`flowRun page of a mapped run (${s.mapTasks.toLocaleString('en')} task runs)`, async () => runPage(s.mapRunIndexes[Math.floor(pick() * s.mapRunIndexes.length)]!));
  // FlowRun.taskRuns(first:, after:): a mapped run's task runs walked page by page, and a page deep in it.
  const mapped = runId(s.mapRunIndexes[0]!);
  const taskCursors: string[] = [];
  let taskCursor: string | null = null;
  await add(`taskRuns: walking a ${s.mapTasks.toLocaleString('en')}-task mapped run, 1000 a page`, async () => {
    const page = await store.listTaskRuns(TENANT, mapped, { first: 1000, after: taskCursor });
    taskCursor = page.length === 1000 ? page.at(-1)!.id : null;
    if (taskCursor) taskCursors.push(taskCursor);
    return page.length;
  });
  await add('taskRuns: a random deep page of that run (100)', async () => (await store.listTaskRuns(TENANT, mapped, { first: 100, after: taskCursors[Math.floor(pick() * taskCursors.length)] ?? null })).length);
  await add(`taskRuns: all ${s.mapTasks.toLocaleString('en')} of that run in two pages of 5000`, async () => {
    const head = await store.listTaskRuns(TENANT, mapped, { first: 5000 });
    return head.length + (await store.listTaskRuns(TENANT, mapped, { first: 5000, after: head.at(-1)?.id ?? null })).length;
  });
  await add('flowRun: waitReason of a SCHEDULED run', async () => {
    const [agents, busy] = await Promise.all([store.listAgents(TENANT, { first: 500 }), store.countLeasedRuns(TENANT), store.now()]);
    return agents.nodes.length + busy.size;
  });

  say('  logs');
  await add('logs: first page (1000) of a random run', async () => count(await store.listLogs(TENANT, runId(finished()), { first: 1000 })));
  const chatty = runId(s.chattyRunIndexes[0]!);
  const logCursors: string[] = [];
  let logCursor: string | null = null;
  await add(`logs: walking a ${s.chattyLines.toLocaleString('en')}-line run, 1000 a page`, async () => {
    const page = await store.listLogs(TENANT, chatty, { first: 1000, after: logCursor });
    logCursor = page.hasNextPage ? page.endCursor : null;
    if (logCursor) logCursors.push(logCursor);
    return count(page);
  });
  await add('logs: a random deep page of that run (5000)', async () => count(await store.listLogs(TENANT, chatty, { first: 5000, after: logCursors[Math.floor(pick() * logCursors.length)] ?? null })));
  return results;
}

/** Counts that must be equal on both backends (the seeders agree) and check the shape. */
async function summarize(kind: 'sqlite' | 'postgres', database: string): Promise<Record<string, unknown>> {
  const queries: Record<string, string> = {
    projects: 'SELECT COUNT(*) AS n FROM projects',
    flows: 'SELECT COUNT(*) AS n FROM flows',
    flowVersions: 'SELECT COUNT(*) AS n FROM flow_versions',
    agents: 'SELECT COUNT(*) AS n FROM agents',
    flowRuns: 'SELECT COUNT(*) AS n FROM flow_runs',
    flowRunLabels: 'SELECT COUNT(*) AS n FROM flow_run_labels',
    byState: `SELECT state || '=' || COUNT(*) AS n FROM flow_runs GROUP BY state ORDER BY state`,
    runsOfFlow199: `SELECT COUNT(*) AS n FROM flow_runs WHERE flow_id = (SELECT id FROM flows WHERE name = 'flow-199')`,
    taskRuns: 'SELECT COUNT(*) AS n FROM task_runs',
    stateTransitions: 'SELECT COUNT(*) AS n FROM state_transitions',
    logs: 'SELECT COUNT(*) AS n FROM logs',
    lastLog: `SELECT flow_run_id || ' ' || task_run_key || ' ' || level || ' ' || message || ' ' || timestamp AS n FROM logs WHERE id = (SELECT MAX(id) FROM logs)`,
    log12345: `SELECT flow_run_id || ' ' || task_run_key || ' ' || message AS n FROM logs WHERE id = 12345`,
    lastRun: `SELECT id || ' ' || state || ' ' || created_at || ' ' || scheduled_at || ' ' || flow_version_id AS n FROM flow_runs WHERE id = (SELECT MAX(id) FROM flow_runs)`,
    run777: `SELECT id || ' ' || state || ' ' || COALESCE(ended_at, 0) || ' ' || COALESCE(agent_id, '-') AS n FROM flow_runs ORDER BY id LIMIT 1 OFFSET 777`,
  };
  const summary: Record<string, unknown> = {};
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(database, { readonly: true });
    try {
      for (const [name, text] of Object.entries(queries)) summary[name] = db.prepare(text).all().map((row) => (row as { n: unknown }).n).join(' ');
      summary.gpuRuns = (db.prepare(`SELECT COUNT(*) AS n FROM flow_runs WHERE EXISTS (SELECT 1 FROM json_each(labels) WHERE value = 'gpu')`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      for (const [name, text] of Object.entries(queries)) summary[name] = (await client.query(text)).rows.map((row: { n: unknown }) => String(row.n)).join(' ');
      summary.gpuRuns = Number((await client.query(`SELECT COUNT(*) AS n FROM flow_runs WHERE 'gpu' = ANY(labels)`)).rows[0].n);
    } finally {
      await client.end();
    }
  }
  for (const [name, value] of Object.entries(summary)) if (typeof value === 'string' && /^\d+$/.test(value)) summary[name] = Number(value);
  return summary;
}

interface Seeded {
  sizes: HistorySizes;
  end: number;
  seedSeconds: Record<string, number>;
}

async function runBackend(kind: 'sqlite' | 'postgres', dir: string): Promise<Record<string, unknown>> {
  const markerPath = join(dir, `history-${kind}.json`);
  let marker: Seeded | null = existsSync(markerPath) ? (JSON.parse(await readFile(markerPath, 'utf8')) as Seeded) : null;
  if (marker && JSON.stringify(marker.sizes) !== JSON.stringify(SIZES)) marker = null;
  let postgres: BenchPostgres | undefined;
  let database: string;
  if (kind === 'sqlite') {
    database = join(dir, 'history.db');
    if (!marker) await rm(database, { force: true });
  } else {
    // wal_level=minimal lets the seeding transaction skip WAL (see seed-history-postgres.ts).
    postgres = await startBenchPostgres({
      dataDir: join(dir, 'postgres'),
      settings: { wal_level: 'minimal', max_wal_senders: '0', ...pgSettings(values['pg-setting']) },
    });
    if (!marker || !(await postgres.hasDatabase('history'))) {
      marker = null;
      await postgres.createDatabase('history');
    }
    database = postgres.url('history');
  }
  try {
    const end = marker?.end ?? END;
    const shape = historyShape(SIZES, end);
    let seedSeconds = marker?.seedSeconds;
    // A kept database seeded by an older fluxo gets the newer migrations (and their backfills) first.
    const migrating = openStore(database);
    await migrating.migrate();
    await migrating.close();
    if (!seedSeconds) {
      say(`${kind}: seeding ${SIZES.runs.toLocaleString('en')} runs, ${SIZES.taskRuns.toLocaleString('en')} task runs, ${SIZES.logLines.toLocaleString('en')} log lines`);
      const started = performance.now();
      seedSeconds = kind === 'sqlite' ? seedSqliteHistory(database, shape, say) : await seedPostgresHistory(database, shape, say);
      seedSeconds.total = +((performance.now() - started) / 1000).toFixed(1);
      await writeFile(markerPath, JSON.stringify({ sizes: SIZES, end, seedSeconds } satisfies Seeded));
    } else {
      say(`${kind}: reusing the history seeded in ${dir}`);
    }
    const summary = await summarize(kind, database);
    say(`${kind}: ${JSON.stringify(summary)}`);
    const store = openStore(database);
    try {
      say(`${kind}: list queries (p50/p99 over up to ${SAMPLES} samples each)`);
      const queries = await measureQueries(store, shape);
      return { backend: kind, ...(postgres ? { settings: postgres.settings } : {}), end, seedSeconds, summary, queries };
    } finally {
      await store.close();
    }
  } finally {
    await postgres?.stop();
  }
}

const keep = values['data-dir'] !== undefined;
const dir = values['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'fluxo-bench-history-')));
await mkdir(dir, { recursive: true });
// PostgreSQL runs as the postgres user when we are root: it must reach its data directory in here.
await chmod(dir, 0o755);
try {
  const results: Record<string, unknown>[] = [];
  for (const kind of BACKENDS) {
    results.push(await runBackend(kind, dir));
    if (!keep) await rm(join(dir, kind === 'sqlite' ? 'history.db' : 'postgres'), { recursive: true, force: true });
  }
  if (results.length === 2) {
    // Histories seeded by different runs end at different times: then only the counts can agree.
    const timeless = (summary: unknown): string =>
      JSON.stringify(Object.entries(summary as Record<string, unknown>).filter(([k]) => !['lastLog', 'log12345', 'lastRun', 'run777'].includes(k)));
    const [a, b] = results.map((r) => (r.end === results[0]!.end ? JSON.stringify(r.summary) : timeless(r.summary)));
    const [sa, sb] = results.map((r) => timeless(r.summary));
    say(a === b ? 'the two backends hold the same history' : sa === sb ? 'the two backends hold the same counts (seeded at different times)' : `the backends' histories differ:\n  sqlite   ${a}\n  postgres ${b}`);
  }
  console.log(JSON.stringify({ benchmark: 'history', ...SIZES, samples: SAMPLES, results }));
  for (const result of results) {
    const slow = (result.queries as Measured[]).filter((q) => q.p99 >= 100);
    say(`${String(result.backend)}: ${slow.length === 0 ? 'every list query p99 < 100 ms' : `p99 >= 100 ms: ${slow.map((q) => `${q.query} (${q.p99} ms)`).join('; ')}`}`);
  }
} finally {
  if (!keep) await rm(dir, { recursive: true, force: true });
}
