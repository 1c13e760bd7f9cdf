// Bulk-seeds the history of bench/history-shape.ts into a migrated PostgreSQL database, generated
// inside the server with generate_series: the same rows as the SQLite seeder, from the same
// arithmetic written in SQL (keep the two in step; bench/history.ts compares their summaries).
//
// The load is one transaction that starts by truncating every table: with `wal_level=minimal`
// (bench/history.ts starts its server so) PostgreSQL then writes the new tables without WAL and
// syncs them at commit. Foreign keys are not checked during the load (session_replication_role).
// A VACUUM ANALYZE afterwards leaves the tables as autovacuum would: statistics, hint bits and
// visibility map set. Raw SQL against server/store/postgres/migrations: mirror new NOT NULL columns
// and tables the writers keep in step with another (flow_run_labels).
import pg from 'pg';
import { backfillFlowRunLabels } from '../server/store/postgres/migrations/003-flow-run-labels.js';
import {
  AGENTS, FLOWS, LOG_BATCH, LOG_GROUP, RUNNING_RUNS, SCHEDULED_RUNS, TENANT, U1, U2, VERSIONS_PER_FLOW, type HistoryShape,
} from './history-shape.js';

/** The shape's SQL helpers, one statement each (pg_temp: gone with the session). */
function helpers(s: HistoryShape): string[] {
  const hex12 = 'lpad(to_hex(ms), 12, \'0\')';
  return [
    // benchId() of history-shape.ts.
    `CREATE FUNCTION pg_temp.bid(ms bigint, kind text, n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT substr(${hex12}, 1, 8) || '-' || substr(${hex12}, 9, 4) || '-7' || lpad(to_hex(n % 4096), 3, '0') || '-' || kind
         || lpad(to_hex((n / 4096) % 4096), 3, '0') || '-' || lpad(to_hex(n), 12, '0') $$`,
    `CREATE FUNCTION pg_temp.flow_labels(f integer) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN f % 50 = 7 THEN ARRAY['smtr', 'gpu'] WHEN f % 10 <= 3 OR f % 10 = 7 THEN ARRAY['smtr']
         WHEN f % 10 <= 6 THEN ARRAY['escritorio'] WHEN f % 10 = 8 THEN ARRAY[]::text[] ELSE ARRAY['cor'] END $$`,
    `CREATE FUNCTION pg_temp.log_level(j integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN j % 200 = 199 THEN 'ERROR' WHEN j % 50 = 49 THEN 'WARNING' WHEN j % 10 = 0 THEN 'DEBUG' ELSE 'INFO' END $$`,
    // One row per run with everything the other tables derive from it.
    `CREATE TEMP TABLE seed_runs AS
     SELECT r, pg_temp.bid(created, '8', r) AS id, created, f, state,
       created + 500 AS started, created + 500 + 1000 + floor(u2 * 600000::float8)::bigint AS ended,
       CASE WHEN state = 'SCHEDULED' THEN 0 WHEN r = ANY(${pgArray(s.mapRunIndexes)}) THEN ${s.mapTasks} ELSE ${s.tasksPerRun} END AS tasks,
       CASE WHEN state = 'SCHEDULED' THEN 0 WHEN r = ANY(${pgArray(s.chattyRunIndexes)}) THEN ${s.chattyLines} ELSE ${s.linesPerRun} END AS lines,
       r = ANY(${pgArray(s.mapRunIndexes)}) AS map
     FROM (
       SELECT r, ${s.start}::bigint + r * ${s.step}::bigint AS created, u2,
         floor(${FLOWS}::float8 * u1 * u1)::integer AS f,
         CASE WHEN r >= ${s.runs - SCHEDULED_RUNS} THEN 'SCHEDULED' WHEN r >= ${s.runs - SCHEDULED_RUNS - RUNNING_RUNS} THEN 'RUNNING'
           WHEN u2 < 0.9::float8 THEN 'SUCCESS' WHEN u2 < 0.96::float8 THEN 'FAILED' WHEN u2 < 0.975::float8 THEN 'CRASHED'
           WHEN u2 < 0.99::float8 THEN 'CANCELLED' ELSE 'TIMED_OUT' END AS state
       FROM (
         SELECT r, r::float8 * ${U1}::float8 - floor(r::float8 * ${U1}::float8) AS u1, r::float8 * ${U2}::float8 - floor(r::float8 * ${U2}::float8) AS u2
         FROM generate_series(0::bigint, ${s.runs - 1}::bigint) AS r
       ) AS hashed
     ) AS runs`,
    'CREATE UNIQUE INDEX ON seed_runs (r)',
    'ANALYZE seed_runs',
  ];
}

const pgArray = (values: number[]): string => `ARRAY[${values.join(', ')}]::bigint[]`;

const REASON = `CASE state WHEN 'FAILED' THEN 'exception' WHEN 'CRASHED' THEN 'lease-expired' WHEN 'CANCELLED' THEN 'cancelled' WHEN 'TIMED_OUT' THEN 'timeout' END`;
const FINAL = `state NOT IN ('SCHEDULED', 'RUNNING')`;

/**
 * Seeds the database at `url` (migrated, empty). Returns seconds per step.
 *
 * @example await seedPostgresHistory(url, historyShape({ runs: 1e6, taskRuns: 1e7, logLines: 5e7 }, end), console.log)
 */
export async function seedPostgresHistory(url: string, s: HistoryShape, say: (message: string) => void): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const timings: Record<string, number> = {};
  const timed = async (name: string, statements: string[]): Promise<void> => {
    const started = performance.now();
    let rows = 0;
    for (const text of statements) rows += (await client.query(text)).rowCount ?? 0;
    timings[name] = +((performance.now() - started) / 1000).toFixed(1);
    say(`  ${name}: ${rows.toLocaleString('en')} rows in ${timings[name]} s`);
  };
  try {
    await client.query(`SET session_replication_role = replica; SET work_mem = '256MB'; SET synchronous_commit = off`);
    await client.query('BEGIN');
    await client.query('TRUNCATE projects, flows, flow_versions, flow_runs, flow_run_labels, task_runs, state_transitions, logs, log_batches, agents RESTART IDENTITY CASCADE');
    await timed('seed table (one row per run)', helpers(s));
    await timed('projects, flows, versions, agents', [
      `INSERT INTO projects (id, tenant, name, created_at)
       SELECT pg_temp.bid(${s.start - 4_000}, 'd', i), '${TENANT}', name, ${s.start - 4_000}
       FROM (VALUES (0, 'production'), (1, 'staging')) AS p(i, name)`,
      `INSERT INTO flows (id, tenant, project_id, name, created_at)
       SELECT pg_temp.bid(${s.start - 3_000}, 'b', f), '${TENANT}', pg_temp.bid(${s.start - 4_000}, 'd', CASE WHEN f % 4 = 0 THEN 1 ELSE 0 END),
         'flow-' || lpad(f::text, 3, '0'), ${s.start - 3_000}
       FROM generate_series(0, ${FLOWS - 1}) AS f ORDER BY f`,
      `INSERT INTO flow_versions (id, tenant, flow_id, number, content_hash, storage_uri, sha256, size, entrypoint, parameter_schema,
         default_labels, secrets, retries, retry_delay_seconds, timeout_seconds, description, created_at)
       SELECT pg_temp.bid(${s.start - 2_000}, 'c', f * ${VERSIONS_PER_FLOW} + v), '${TENANT}', pg_temp.bid(${s.start - 3_000}, 'b', f), v + 1,
         'hash-' || (f * ${VERSIONS_PER_FLOW} + v), 'file:///bench/flow-' || lpad(f::text, 3, '0') || '-' || (v + 1) || '.mjs', repeat('0', 64), 1000, 'flow',
         '{"type":"object"}', pg_temp.flow_labels(f), '{}', 0, 10, NULL, NULL, ${s.start - 2_000}
       FROM generate_series(0, ${FLOWS - 1}) AS f, generate_series(0, ${VERSIONS_PER_FLOW - 1}) AS v ORDER BY f, v`,
      `INSERT INTO agents (id, tenant, name, subject, labels, concurrency, last_seen_at, created_at)
       SELECT pg_temp.bid(${s.start - 1_000}, 'a', a), '${TENANT}', 'agent-' || lpad(a::text, 2, '0'), 'bench-agent-' || a,
         CASE a % 4 WHEN 0 THEN ARRAY['smtr', 'gpu'] WHEN 1 THEN ARRAY['smtr'] WHEN 2 THEN ARRAY['escritorio'] ELSE ARRAY['cor'] END,
         4, ${s.end}, ${s.start - 1_000}
       FROM generate_series(0, ${AGENTS - 1}) AS a ORDER BY a`,
    ]);
    await timed('flow_runs', [
      `INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, state_reason, version, attempt, parameters, labels, priority,
         scheduled_at, created_at, started_at, ended_at, exit_code, agent_id, lease_token, lease_expires_at)
       SELECT id, '${TENANT}', pg_temp.bid(${s.start - 3_000}, 'b', f), pg_temp.bid(${s.start - 2_000}, 'c', f * ${VERSIONS_PER_FLOW} + (${VERSIONS_PER_FLOW} * r) / ${s.runs}),
         state, ${REASON}, CASE WHEN ${FINAL} THEN 4 WHEN state = 'RUNNING' THEN 3 ELSE 1 END, 1,
         ('{"partition":' || (r % 365) || '}')::json, pg_temp.flow_labels(f), 0,
         CASE WHEN state = 'SCHEDULED' THEN ${s.end}::bigint + (r - ${s.runs - SCHEDULED_RUNS} + 1) * 60000 ELSE created END, created,
         CASE WHEN state <> 'SCHEDULED' THEN started END, CASE WHEN ${FINAL} THEN ended END,
         CASE state WHEN 'SUCCESS' THEN 0 WHEN 'FAILED' THEN 1 END,
         CASE WHEN state <> 'SCHEDULED' THEN pg_temp.bid(${s.start - 1_000}, 'a', r % ${AGENTS}) END,
         CASE WHEN state = 'RUNNING' THEN 'lease-' || r END, CASE WHEN state = 'RUNNING' THEN ${s.end + 30 * 86_400_000}::bigint END
       FROM seed_runs ORDER BY r`,
    ]);
    // createFlowRun writes a run's labels to flow_run_labels with the run; the migration's backfill
    // does the same for all of them at once.
    await timed('flow_run_labels', [backfillFlowRunLabels]);
    // Task runs: per run in order; the last task of a run that did not succeed carries its outcome.
    const tasks = `
      SELECT sr.r, sr.id AS run_id, j, sr.started + 100 * j AS at,
        pg_temp.bid(sr.started + 100 * j, '9', sr.r * 100000 + j) AS task_id,
        CASE WHEN j < sr.tasks - 1 OR sr.state = 'SUCCESS' THEN 'SUCCESS' WHEN sr.state = 'RUNNING' THEN 'RUNNING' ELSE 'FAILED' END AS task_state,
        sr.map
      FROM seed_runs sr, generate_series(0, sr.tasks - 1) AS j`;
    const chunks = (step: number, statement: (from: number, to: number) => string): string[] =>
      Array.from({ length: Math.ceil(s.runs / step) }, (_, i) => statement(i * step, Math.min(s.runs, (i + 1) * step)));
    await timed('task_runs', chunks(100_000, (from, to) => `
      INSERT INTO task_runs (id, tenant, flow_run_id, key, task_name, map_index, state, attempts, started_at, ended_at)
      SELECT task_id, '${TENANT}', run_id, CASE WHEN map THEN 'extract[' || j || ']' ELSE 'task-' || j END, CASE WHEN map THEN 'extract' ELSE 'task-' || j END,
        CASE WHEN map THEN j END, task_state, 1, at, CASE WHEN task_state <> 'RUNNING' THEN at + 50 END
      FROM (${tasks} WHERE sr.r >= ${from} AND sr.r < ${to}) AS t ORDER BY r, j`));
    await timed('state_transitions of runs', [`
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
      SELECT '${TENANT}', id, NULL, t.from_state, t.to_state, t.reason, NULL, t.actor, 1, t.at
      FROM seed_runs, LATERAL (VALUES
        (1, NULL, 'SCHEDULED', NULL, 'user:bench', created),
        (2, 'SCHEDULED', 'SUBMITTED', NULL, 'agent:bench-agent-' || r % ${AGENTS}, started - 400),
        (3, 'SUBMITTED', 'RUNNING', NULL, 'agent:bench-agent-' || r % ${AGENTS}, started),
        (4, 'RUNNING', state, ${REASON}, 'agent:bench-agent-' || r % ${AGENTS}, ended)
      ) AS t(n, from_state, to_state, reason, actor, at)
      WHERE t.n = 1 OR (t.n <= 3 AND state <> 'SCHEDULED') OR ${FINAL}
      ORDER BY r, t.n`]);
    await timed('state_transitions of task runs', chunks(100_000, (from, to) => `
      INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
      SELECT '${TENANT}', run_id, task_id, x.from_state, x.to_state, NULL, NULL, 'agent:bench-agent-' || r % ${AGENTS}, 1, x.at
      FROM (${tasks} WHERE sr.r >= ${from} AND sr.r < ${to}) AS t,
        LATERAL (VALUES (1, NULL, 'RUNNING', t.at), (2, 'RUNNING', t.task_state, t.at + 50)) AS x(n, from_state, to_state, at)
      WHERE x.n = 1 OR t.task_state <> 'RUNNING'
      ORDER BY r, j, x.n`));
    // Log lines as concurrent agents write them (see seed-history-sqlite.ts): groups of runs
    // interleaved in batches, then the rest of the chatty runs.
    const live = s.runs - SCHEDULED_RUNS;
    const groups = Math.ceil(live / LOG_GROUP);
    const groupChunk = 4_000;
    const logInsert = (lines: string, order: string): string => `
      INSERT INTO logs (tenant, flow_run_id, task_run_key, level, stream, message, timestamp)
      SELECT '${TENANT}', sr.id, CASE WHEN sr.map THEN 'extract[' || x.j % sr.tasks || ']' ELSE 'task-' || x.j % sr.tasks END,
        pg_temp.log_level(x.j), 'logger',
        'batch ' || x.j || ': loaded ' || (x.j * 7919) % 100000 || ' rows into br_rj_riodejaneiro_staging.registros (partition ' || sr.r % 365 || ')',
        sr.started + 10 * x.j
      FROM (${lines}) AS x JOIN seed_runs sr ON sr.r = x.r
      ORDER BY ${order}`;
    await timed('logs', [
      ...Array.from({ length: Math.ceil(groups / groupChunk) }, (_, i) => logInsert(`
        SELECT g * ${LOG_GROUP} + q AS r, b * ${LOG_BATCH} + i AS j, g, b, q, i
        FROM generate_series(${i * groupChunk}, ${Math.min(groups, (i + 1) * groupChunk) - 1}) AS g,
          generate_series(0, ${Math.ceil(s.linesPerRun / LOG_BATCH) - 1}) AS b, generate_series(0, ${LOG_GROUP - 1}) AS q, generate_series(0, ${LOG_BATCH - 1}) AS i
        WHERE g * ${LOG_GROUP} + q < ${live} AND b * ${LOG_BATCH} + i < ${s.linesPerRun}`, 'x.g, x.b, x.q, x.i')),
      logInsert(`
        SELECT c.r, b * ${LOG_BATCH} + i AS j, b, c.n, i
        FROM unnest(${pgArray(s.chattyRunIndexes)}) WITH ORDINALITY AS c(r, n),
          generate_series(${Math.floor(s.linesPerRun / LOG_BATCH)}, ${Math.ceil(s.chattyLines / LOG_BATCH) - 1}) AS b, generate_series(0, ${LOG_BATCH - 1}) AS i
        WHERE b * ${LOG_BATCH} + i >= ${s.linesPerRun} AND b * ${LOG_BATCH} + i < ${s.chattyLines}`, 'x.b, x.n, x.i'),
    ]);
    await client.query('COMMIT');
    await timed('vacuum analyze', ['VACUUM (ANALYZE)']);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
  return timings;
}
