// Bulk-seeds the history of bench/history-shape.ts into a migrated SQLite file: prepared inserts in
// transactions of about a million rows, with the journal off and a 1 GiB page cache for the load
// (WAL is restored afterwards, as the server runs it). Writes raw SQL against the schema of
// server/store/sqlite/migrations: a migration that adds a NOT NULL column without a default, or a
// table the writers keep in step with another (flow_run_labels), must be mirrored here.
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { backfillFlowRunLabels } from '../server/store/sqlite/migrations/003-flow-run-labels.js';
import {
  AGENTS, FLOWS, LOG_BATCH, LOG_GROUP, SCHEDULED_RUNS, TENANT, VERSIONS_PER_FLOW, agentLabels, benchId, flowLabels, flowName, logLevel, logMessage,
  projectName, runCreatedAt, runEndedAt, runFlow, runLineCount, runScheduledAt, runStartedAt, runState, runTaskCount, runVersion, stateReason,
  taskNumber, type HistoryShape,
} from './history-shape.js';

const CHUNK = 1_000_000;

/** Calls `insert` for every row `rows` yields, committing every CHUNK rows. */
function load(db: Database, rows: Iterable<unknown[]>, insert: Statement, progress: (n: number) => void): number {
  let n = 0;
  db.exec('BEGIN');
  for (const row of rows) {
    insert.run(row);
    if (++n % CHUNK === 0) {
      db.exec('COMMIT');
      progress(n);
      db.exec('BEGIN');
    }
  }
  db.exec('COMMIT');
  progress(n);
  return n;
}

function* runRows(s: HistoryShape): Generator<unknown[]> {
  for (let r = 0; r < s.runs; r++) {
    const state = runState(s, r);
    const f = runFlow(r);
    const created = runCreatedAt(s, r);
    const final = state !== 'SCHEDULED' && state !== 'RUNNING';
    yield [
      benchId(created, '8', r), TENANT, benchId(s.start - 3_000, 'b', f), benchId(s.start - 2_000, 'c', f * VERSIONS_PER_FLOW + runVersion(s, r)),
      state, stateReason[state], final ? 4 : state === 'RUNNING' ? 3 : 1, `{"partition":${r % 365}}`, JSON.stringify(flowLabels(f)),
      runScheduledAt(s, r), created,
      state === 'SCHEDULED' ? null : runStartedAt(s, r), final ? runEndedAt(s, r) : null,
      state === 'SUCCESS' ? 0 : state === 'FAILED' ? 1 : null,
      state === 'SCHEDULED' ? null : benchId(s.start - 1_000, 'a', r % AGENTS),
      state === 'RUNNING' ? `lease-${r}` : null, state === 'RUNNING' ? s.end + 30 * 86_400_000 : null,
    ];
  }
}

interface SeedTask { r: number; runId: string; id: string; key: string; name: string; mapIndex: number | null; state: string; started: number; ended: number | null }

function* tasks(s: HistoryShape): Generator<SeedTask> {
  for (let r = 0; r < s.runs; r++) {
    const count = runTaskCount(s, r);
    if (count === 0) continue;
    const state = runState(s, r);
    const map = s.mapRunIndexes.includes(r);
    const runId = benchId(runCreatedAt(s, r), '8', r);
    const started = runStartedAt(s, r);
    for (let j = 0; j < count; j++) {
      const last = j === count - 1;
      const taskState = !last || state === 'SUCCESS' ? 'SUCCESS' : state === 'RUNNING' ? 'RUNNING' : 'FAILED';
      const at = started + 100 * j;
      yield {
        r, runId, id: benchId(at, '9', taskNumber(r, j)), key: map ? `extract[${j}]` : `task-${j}`, name: map ? 'extract' : `task-${j}`,
        mapIndex: map ? j : null, state: taskState, started: at, ended: taskState === 'RUNNING' ? null : at + 50,
      };
    }
  }
}

function* taskRows(s: HistoryShape): Generator<unknown[]> {
  for (const t of tasks(s)) yield [t.id, TENANT, t.runId, t.key, t.name, t.mapIndex, t.state, t.started, t.ended];
}

function* runTransitionRows(s: HistoryShape): Generator<unknown[]> {
  for (let r = 0; r < s.runs; r++) {
    const state = runState(s, r);
    const runId = benchId(runCreatedAt(s, r), '8', r);
    yield [runId, null, null, 'SCHEDULED', null, 'user:bench', runCreatedAt(s, r)];
    if (state === 'SCHEDULED') continue;
    const agent = `agent:bench-agent-${r % AGENTS}`;
    yield [runId, null, 'SCHEDULED', 'SUBMITTED', null, agent, runStartedAt(s, r) - 400];
    yield [runId, null, 'SUBMITTED', 'RUNNING', null, agent, runStartedAt(s, r)];
    if (state !== 'RUNNING') yield [runId, null, 'RUNNING', state, stateReason[state], agent, runEndedAt(s, r)];
  }
}

function* taskTransitionRows(s: HistoryShape): Generator<unknown[]> {
  for (const t of tasks(s)) {
    const agent = `agent:bench-agent-${t.r % AGENTS}`;
    yield [t.runId, t.id, null, 'RUNNING', null, agent, t.started];
    if (t.state !== 'RUNNING') yield [t.runId, t.id, 'RUNNING', t.state, null, agent, t.ended];
  }
}

/** Log lines in the order concurrent agents write them: 16 runs at a time, batches of 10 lines, then the chatty runs' rest. */
function* logRows(s: HistoryShape): Generator<unknown[]> {
  const line = (r: number, j: number): unknown[] => {
    const tasks = runTaskCount(s, r);
    const map = s.mapRunIndexes.includes(r);
    return [benchId(runCreatedAt(s, r), '8', r), map ? `extract[${j % tasks}]` : `task-${j % tasks}`, logLevel(j), 'logger', logMessage(r, j), runStartedAt(s, r) + 10 * j];
  };
  const live = s.runs - SCHEDULED_RUNS;
  const batches = Math.ceil(s.linesPerRun / LOG_BATCH);
  for (let g = 0; g * LOG_GROUP < live; g++) {
    for (let b = 0; b < batches; b++) {
      for (let q = 0; q < LOG_GROUP; q++) {
        const r = g * LOG_GROUP + q;
        if (r >= live) break;
        for (let i = 0; i < LOG_BATCH; i++) {
          const j = b * LOG_BATCH + i;
          if (j < s.linesPerRun) yield line(r, j);
        }
      }
    }
  }
  for (let b = Math.floor(s.linesPerRun / LOG_BATCH); b * LOG_BATCH < s.chattyLines; b++) {
    for (const r of s.chattyRunIndexes) {
      for (let i = 0; i < LOG_BATCH; i++) {
        const j = b * LOG_BATCH + i;
        if (j >= s.linesPerRun && j < s.chattyLines) yield line(r, j);
      }
    }
  }
}

/**
 * Seeds `path` (already migrated, empty). Returns seconds per table.
 *
 * @example seedSqliteHistory('/tmp/history.db', historyShape({ runs: 1e6, taskRuns: 1e7, logLines: 5e7 }, end), console.log)
 */
export function seedSqliteHistory(path: string, s: HistoryShape, say: (message: string) => void): Record<string, number> {
  const db = new BetterSqlite3(path);
  const timings: Record<string, number> = {};
  const timed = (name: string, work: () => number): void => {
    const started = performance.now();
    const rows = work();
    timings[name] = +((performance.now() - started) / 1000).toFixed(1);
    say(`  ${name}: ${rows.toLocaleString('en')} rows in ${timings[name]} s`);
  };
  const progress = (name: string) => (n: number) => {
    if (n % 10_000_000 === 0 && n > 0) say(`  ${name}: ${n.toLocaleString('en')} rows...`);
  };
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1048576');
    db.pragma('temp_store = MEMORY');
    db.pragma('foreign_keys = OFF');
    timed('projects, flows, versions, agents', () => {
      db.exec('BEGIN');
      for (const [i, name] of ['production', 'staging'].entries()) {
        db.prepare('INSERT INTO projects (id, tenant, name, created_at) VALUES (?, ?, ?, ?)').run(benchId(s.start - 4_000, 'd', i), TENANT, name, s.start - 4_000);
      }
      const flow = db.prepare('INSERT INTO flows (id, tenant, project_id, name, created_at) VALUES (?, ?, ?, ?, ?)');
      const version = db.prepare(
        `INSERT INTO flow_versions (id, tenant, flow_id, number, content_hash, storage_uri, sha256, size, entrypoint, parameter_schema,
           default_labels, secrets, retries, retry_delay_seconds, timeout_seconds, description, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1000, 'flow', '{"type":"object"}', ?, '[]', 0, 10, NULL, NULL, ?)`,
      );
      for (let f = 0; f < FLOWS; f++) {
        const flowId = benchId(s.start - 3_000, 'b', f);
        flow.run(flowId, TENANT, benchId(s.start - 4_000, 'd', projectName(f) === 'production' ? 0 : 1), flowName(f), s.start - 3_000);
        for (let v = 0; v < VERSIONS_PER_FLOW; v++) {
          const n = f * VERSIONS_PER_FLOW + v;
          version.run(benchId(s.start - 2_000, 'c', n), TENANT, flowId, v + 1, `hash-${n}`, `file:///bench/${flowName(f)}-${v + 1}.mjs`, '0'.repeat(64),
            JSON.stringify(flowLabels(f)), s.start - 2_000);
        }
      }
      const agent = db.prepare('INSERT INTO agents (id, tenant, name, subject, labels, concurrency, last_seen_at, created_at) VALUES (?, ?, ?, ?, ?, 4, ?, ?)');
      for (let a = 0; a < AGENTS; a++) {
        agent.run(benchId(s.start - 1_000, 'a', a), TENANT, `agent-${String(a).padStart(2, '0')}`, `bench-agent-${a}`, JSON.stringify(agentLabels(a)), s.end, s.start - 1_000);
      }
      db.exec('COMMIT');
      return 2 + FLOWS * (1 + VERSIONS_PER_FLOW) + AGENTS;
    });
    timed('flow_runs', () => load(db, runRows(s), db.prepare(
      `INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, state_reason, version, attempt, parameters, labels, priority,
         scheduled_at, created_at, started_at, ended_at, exit_code, agent_id, lease_token, lease_expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`), progress('flow_runs')));
    // createFlowRun writes a run's labels to flow_run_labels with the run; the migration's backfill
    // does the same for all of them at once.
    timed('flow_run_labels', () => db.prepare(backfillFlowRunLabels).run().changes);
    timed('task_runs', () => load(db, taskRows(s), db.prepare(
      `INSERT INTO task_runs (id, tenant, flow_run_id, key, task_name, map_index, state, attempts, started_at, ended_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`), progress('task_runs')));
    const transition = db.prepare(
      `INSERT INTO state_transitions (tenant, flow_run_id, task_run_id, from_state, to_state, reason, message, actor, attempt, at)
       VALUES ('${TENANT}', ?, ?, ?, ?, ?, NULL, ?, 1, ?)`);
    timed('state_transitions of runs', () => load(db, runTransitionRows(s), transition, progress('run transitions')));
    timed('state_transitions of task runs', () => load(db, taskTransitionRows(s), transition, progress('task transitions')));
    timed('logs', () => load(db, logRows(s), db.prepare(
      `INSERT INTO logs (tenant, flow_run_id, task_run_key, level, stream, message, timestamp) VALUES ('${TENANT}', ?, ?, ?, ?, ?, ?)`), progress('logs')));
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return timings;
}
