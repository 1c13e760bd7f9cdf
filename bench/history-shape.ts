// The history the list-query benchmark seeds: one tenant's year of runs, defined by arithmetic on
// each row's index so both seeders (SQLite from JavaScript, PostgreSQL in SQL with
// generate_series) produce the same rows, ids included. Keep the two in step: bench/history.ts
// prints a summary of each seeded database, and the summaries of both backends must match.
//
// The shape, at the volume (1M runs, 10M task runs, 50M log lines):
// - 200 flows in 2 projects, 3 versions each; a run's flow is skewed (flow 0 has ~7% of runs, the
//   rarest ~0.25%); runs are spread evenly over 365 days ending an hour before seeding;
// - states: the last 100 runs are SCHEDULED for the future, the 100 before RUNNING under a lease,
//   the rest final (90% SUCCESS, 6% FAILED, 1.5% CRASHED, 1.5% CANCELLED, 1% TIMED_OUT);
// - labels by flow: smtr (~50% of runs), escritorio, cor, none; `gpu` on 4 flows (~2% of runs);
// - ~10 task runs per run with 2 state transitions each, plus 10 mapped runs of 10,000 task runs;
// - ~47 log lines per run, plus 20 chatty runs of 200,000 lines; lines of 16 runs at a time are
//   interleaved in batches of 10, as concurrent agents write them.

export const TENANT = 'bench';
export const FLOWS = 200;
export const VERSIONS_PER_FLOW = 3;
export const AGENTS = 20;
export const SPAN_MS = 365 * 86_400_000;
/** Runs whose log lines are interleaved, and the lines per interleaved batch. */
export const LOG_GROUP = 16;
export const LOG_BATCH = 10;
export const SCHEDULED_RUNS = 100;
export const RUNNING_RUNS = 100;
export const MAP_RUNS = 10;
export const CHATTY_RUNS = 20;

export interface HistorySizes {
  runs: number;
  taskRuns: number;
  logLines: number;
}

export interface HistoryShape extends HistorySizes {
  /** Epoch ms the year of history ends at (an hour before seeding, on a whole minute). */
  end: number;
  start: number;
  /** Milliseconds between two runs' creation (whole, so SQL and JavaScript agree exactly). */
  step: number;
  /** Task runs of an ordinary run, and of each mapped run. */
  tasksPerRun: number;
  mapTasks: number;
  /** Log lines of an ordinary run, and of each chatty run. */
  linesPerRun: number;
  chattyLines: number;
  mapRunIndexes: number[];
  chattyRunIndexes: number[];
}

export function historyShape(sizes: HistorySizes, end: number): HistoryShape {
  const { runs, taskRuns, logLines } = sizes;
  if (runs < 10_000) throw new Error('--runs must be at least 10,000');
  const mapTasks = Math.max(100, Math.floor(taskRuns / 1000));
  // Rounded up: the history holds at least the sizes asked for.
  const tasksPerRun = Math.ceil((taskRuns - MAP_RUNS * mapTasks) / (runs - SCHEDULED_RUNS));
  const chattyLines = Math.floor((logLines * 0.08) / CHATTY_RUNS);
  const linesPerRun = Math.ceil((logLines - CHATTY_RUNS * chattyLines) / (runs - SCHEDULED_RUNS));
  if (tasksPerRun < 1 || linesPerRun < 1) throw new Error('--task-runs and --log-lines must be at least 2x --runs');
  if (chattyLines <= linesPerRun) throw new Error('--log-lines is too small for chatty runs');
  // Spread over the finished runs; +1 keeps the two sets apart.
  const mapRunIndexes = Array.from({ length: MAP_RUNS }, (_, i) => Math.floor(((i + 0.5) * runs) / MAP_RUNS));
  const chattyRunIndexes = Array.from({ length: CHATTY_RUNS }, (_, i) => Math.floor(((i + 0.5) * runs) / CHATTY_RUNS) + 1);
  return { ...sizes, end, start: end - SPAN_MS, step: Math.floor(SPAN_MS / runs), tasksPerRun, mapTasks, linesPerRun, chattyLines, mapRunIndexes, chattyRunIndexes };
}

// Two low-discrepancy sequences (golden ratio and plastic number): evenly spread, no clustering
// in time, and exactly reproducible in SQL float8 arithmetic.
export const U1 = 0.6180339887498949;
export const U2 = 0.7548776662466927;
export const u1 = (r: number): number => r * U1 - Math.floor(r * U1);
export const u2 = (r: number): number => r * U2 - Math.floor(r * U2);

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * A UUIDv7 (as common/ids.ts makes them) for time `ms`, unique per (kind, n).
 * Kinds: 8 run, 9 task run, a agent, b flow, c flow version, d project.
 */
export function benchId(ms: number, kind: string, n: number): string {
  const t = hex(ms, 12);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${hex(n % 4096, 3)}-${kind}${hex(Math.floor(n / 4096) % 4096, 3)}-${hex(n, 12)}`;
}

export const projectName = (f: number): string => (f % 4 === 0 ? 'staging' : 'production');
export const flowName = (f: number): string => `flow-${String(f).padStart(3, '0')}`;

export function flowLabels(f: number): string[] {
  if (f % 50 === 7) return ['smtr', 'gpu'];
  const d = f % 10;
  if (d <= 3 || d === 7) return ['smtr'];
  if (d <= 6) return ['escritorio'];
  if (d === 8) return [];
  return ['cor'];
}

export const agentLabels = (a: number): string[] => [['smtr', 'gpu'], ['smtr'], ['escritorio'], ['cor']][a % 4]!;

export const runCreatedAt = (s: HistoryShape, r: number): number => s.start + r * s.step;
export const runStartedAt = (s: HistoryShape, r: number): number => runCreatedAt(s, r) + 500;
export const runEndedAt = (s: HistoryShape, r: number): number => runStartedAt(s, r) + 1000 + Math.floor(u2(r) * 600_000);
/** A SCHEDULED run is due one minute after another, from the end of the history on. */
export const runScheduledAt = (s: HistoryShape, r: number): number =>
  r >= s.runs - SCHEDULED_RUNS ? s.end + (r - (s.runs - SCHEDULED_RUNS) + 1) * 60_000 : runCreatedAt(s, r);
export const runFlow = (r: number): number => Math.floor(FLOWS * u1(r) * u1(r));
export const runVersion = (s: HistoryShape, r: number): number => Math.floor((VERSIONS_PER_FLOW * r) / s.runs);

export type SeedState = 'SCHEDULED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CRASHED' | 'CANCELLED' | 'TIMED_OUT';

export function runState(s: HistoryShape, r: number): SeedState {
  if (r >= s.runs - SCHEDULED_RUNS) return 'SCHEDULED';
  if (r >= s.runs - SCHEDULED_RUNS - RUNNING_RUNS) return 'RUNNING';
  const u = u2(r);
  if (u < 0.9) return 'SUCCESS';
  if (u < 0.96) return 'FAILED';
  if (u < 0.975) return 'CRASHED';
  if (u < 0.99) return 'CANCELLED';
  return 'TIMED_OUT';
}

export const stateReason: Record<SeedState, string | null> = {
  SCHEDULED: null, RUNNING: null, SUCCESS: null, FAILED: 'exception', CRASHED: 'lease-expired', CANCELLED: 'cancelled', TIMED_OUT: 'timeout',
};

export const runTaskCount = (s: HistoryShape, r: number): number =>
  runState(s, r) === 'SCHEDULED' ? 0 : s.mapRunIndexes.includes(r) ? s.mapTasks : s.tasksPerRun;
export const runLineCount = (s: HistoryShape, r: number): number =>
  runState(s, r) === 'SCHEDULED' ? 0 : s.chattyRunIndexes.includes(r) ? s.chattyLines : s.linesPerRun;

/** Task run global number (unique id part): a run has fewer than 100,000 task runs. */
export const taskNumber = (r: number, j: number): number => r * 100_000 + j;

export function logLevel(j: number): string {
  if (j % 200 === 199) return 'ERROR';
  if (j % 50 === 49) return 'WARNING';
  if (j % 10 === 0) return 'DEBUG';
  return 'INFO';
}

export const logMessage = (r: number, j: number): string =>
  `batch ${j}: loaded ${(j * 7919) % 100_000} rows into br_rj_riodejaneiro_staging.registros (partition ${r % 365})`;
