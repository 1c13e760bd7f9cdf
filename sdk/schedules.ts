// The `schedules` option of flow(): clocks declared in code, checked when the module loads (a
// TypeError, like every other misuse) and normalised into the ClockDefinitions `fluxo register`
// sends. The clock math is common/clocks.ts, the same the server schedules and backfills with.
import { checkCron, checkEverySeconds, parseEvery } from '../common/clocks.js';
import { FluxoError } from '../common/errors.js';
import { checkLabelList } from './options.js';
import type { ClockDefinition } from './runtime/protocol.js';

/** What the scheduler does with clock times missed while the server was down or the schedule paused. */
export type MissedRuns = 'skip' | 'catch-up';

interface ClockCommon<P> {
  /**
   * Parameters every run of this clock gets, as a plain JSON object. The server validates them
   * against the flow's parameter schema at registration and fills in defaults. @default {}
   */
  parameters?: P;
  /** Routing labels every run of this clock gets. @default the flow's labels */
  labels?: string[];
}

/**
 * A cron clock: local times in a zone. 5 fields (`minute hour day-of-month month day-of-week`) or 6
 * with seconds first, croner syntax (`MON-FRI`, `L`, `FRI#2`, `@daily`). A local time skipped by
 * daylight saving runs at the end of the gap; a repeated one runs once, the first time.
 *
 * @example { cron: '0 3 * * *', timezone: 'America/Sao_Paulo' }
 */
export interface CronClockOptions<P = Record<string, unknown>> extends ClockCommon<P> {
  cron: string;
  /** IANA zone the expression is read in. @default the server's zone (its `--timezone`) */
  timezone?: string;
  every?: never;
  anchor?: never;
}

/**
 * An interval clock: every `every` from `anchor`, in absolute time (daylight saving changes
 * nothing). `every` is a duration (`'90s'`, `'15m'`, `'1h30m'`, `'1d'`) or whole seconds, from 60
 * seconds to 366 days.
 *
 * @example { every: '15m', anchor: '2026-01-01T00:05:00-03:00' } // at :05, :20, :35 and :50
 */
export interface IntervalClockOptions<P = Record<string, unknown>> extends ClockCommon<P> {
  every: string | number;
  /** An instant the times count from (before or after it): an ISO string with a zone, or a Date. @default the Unix epoch, so '1h' runs on the hour */
  anchor?: string | Date;
  cron?: never;
  timezone?: never;
}

/** One clock of a flow: a cron expression or an interval. */
export type ClockOptions<P = Record<string, unknown>> = CronClockOptions<P> | IntervalClockOptions<P>;

/** The most clocks a flow may declare (the server's limit). */
export const MAX_CLOCKS = 50;

const CRON_KEYS = new Set(['cron', 'timezone', 'parameters', 'labels']);
const INTERVAL_KEYS = new Set(['every', 'anchor', 'parameters', 'labels']);
// An instant, not a wall time: a date, a time and a zone (`Z` or an offset).
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** The schedule part of a flow's definition, checked; throws TypeError naming the flow and the clock. */
export function checkSchedules(
  owner: string,
  options: { schedules?: unknown; missedRuns?: unknown; catchUpLimit?: unknown },
): { schedules: ClockDefinition[]; missedRuns: MissedRuns; catchUpLimit: number } {
  const { schedules = [], missedRuns = 'skip', catchUpLimit = 10 } = options;
  if (!Array.isArray(schedules)) throw new TypeError(`${owner}: schedules must be an array of clocks ({ cron } or { every })`);
  if (schedules.length > MAX_CLOCKS) throw new TypeError(`${owner}: schedules has ${schedules.length} clocks, at most ${MAX_CLOCKS} are allowed`);
  if (missedRuns !== 'skip' && missedRuns !== 'catch-up') {
    throw new TypeError(`${owner}: missedRuns must be 'skip' or 'catch-up' (got ${JSON.stringify(missedRuns)})`);
  }
  if (typeof catchUpLimit !== 'number' || !Number.isInteger(catchUpLimit) || catchUpLimit < 1 || catchUpLimit > 1000) {
    throw new TypeError(`${owner}: catchUpLimit must be an integer from 1 to 1000 (got ${String(catchUpLimit)})`);
  }
  const clocks = (schedules as unknown[]).map((clock, index) => checkClock(`${owner}: schedules[${index}]`, clock));
  // Equal clocks would share the server's clock key (a hash of the definition) and its runs.
  const seen = new Map<string, number>();
  for (const [index, clock] of clocks.entries()) {
    const key = canonicalJson(clock);
    const first = seen.get(key);
    if (first !== undefined) throw new TypeError(`${owner}: schedules[${index}] repeats schedules[${first}]`);
    seen.set(key, index);
  }
  return { schedules: clocks, missedRuns, catchUpLimit };
}

function checkClock(owner: string, clock: unknown): ClockDefinition {
  if (!isPlainObject(clock)) throw new TypeError(`${owner}: a clock must be an object ({ cron } or { every })`);
  const hasCron = clock.cron !== undefined;
  const hasEvery = clock.every !== undefined;
  if (hasCron === hasEvery) throw new TypeError(`${owner}: a clock takes exactly one of cron and every`);
  const allowed = hasCron ? CRON_KEYS : INTERVAL_KEYS;
  for (const key of Object.keys(clock)) {
    if (allowed.has(key) || clock[key] === undefined) continue;
    if (key === 'timezone') throw new TypeError(`${owner}: timezone goes with cron, not every (an interval counts absolute time)`);
    if (key === 'anchor') throw new TypeError(`${owner}: anchor goes with every, not cron`);
    throw new TypeError(`${owner}: unknown option ${JSON.stringify(key)} (a ${hasCron ? 'cron' : 'interval'} clock takes ${[...allowed].join(', ')})`);
  }
  const timing = hasCron ? cronTiming(owner, clock.cron, clock.timezone) : intervalTiming(owner, clock.every, clock.anchor);
  const definition: ClockDefinition = { ...timing, parameters: checkParameters(owner, clock.parameters) };
  if (clock.labels !== undefined) definition.labels = checkLabelList(owner, clock.labels);
  return definition;
}

function cronTiming(owner: string, cron: unknown, timezone: unknown): Pick<ClockDefinition, 'cron' | 'timezone'> {
  if (typeof cron !== 'string') throw new TypeError(`${owner}: cron must be a string like '0 3 * * *' (got ${describe(cron)})`);
  if (timezone !== undefined && typeof timezone !== 'string') throw new TypeError(`${owner}: timezone must be an IANA name like 'America/Sao_Paulo' (got ${describe(timezone)})`);
  // One spelling per expression: the server's clock key hashes it.
  const expression = cron.trim().split(/\s+/).join(' ');
  // Without a zone the server's applies; the syntax is the same in any zone.
  asTypeError(owner, () => checkCron(expression, timezone ?? 'UTC'));
  return timezone === undefined ? { cron: expression } : { cron: expression, timezone };
}

function intervalTiming(owner: string, every: unknown, anchor: unknown): Pick<ClockDefinition, 'everySeconds' | 'anchor'> {
  let everySeconds: number;
  if (typeof every === 'string') everySeconds = asTypeError(owner, () => parseEvery(every));
  else if (typeof every === 'number') everySeconds = asTypeError(owner, () => checkEverySeconds(every));
  else throw new TypeError(`${owner}: every must be a duration like '15m' or a number of seconds (got ${describe(every)})`);
  if (anchor === undefined) return { everySeconds };
  const instant = anchor instanceof Date ? anchor.getTime() : typeof anchor === 'string' ? isoInstant(anchor) : undefined;
  if (instant === undefined) {
    throw new TypeError(`${owner}: anchor must be a Date or an ISO instant with a zone like '2026-01-01T00:05:00-03:00' (got ${describe(anchor)})`);
  }
  if (Number.isNaN(instant)) throw new TypeError(`${owner}: anchor ${describe(anchor)} is not a valid date`);
  return { everySeconds, anchor: new Date(instant).toISOString() };
}

/** Epoch ms of an ISO instant with a zone; NaN for a day or time that does not exist; undefined for other text. */
function isoInstant(text: string): number | undefined {
  const match = ISO_INSTANT.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second = 0] = match.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  // Date.parse rolls 2026-02-30 over to March 2: check the fields instead.
  const fields = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second));
  const exists =
    fields.getUTCFullYear() === year && fields.getUTCMonth() === month! - 1 && fields.getUTCDate() === day &&
    fields.getUTCHours() === hour && fields.getUTCMinutes() === minute && fields.getUTCSeconds() === second;
  return exists ? Date.parse(text) : Number.NaN;
}

function checkParameters(owner: string, parameters: unknown): Record<string, unknown> {
  if (parameters === undefined) return {};
  if (!isPlainObject(parameters)) throw new TypeError(`${owner}: parameters must be a plain JSON object (got ${describe(parameters)})`);
  const problem = jsonProblem(parameters, 'parameters');
  if (problem) throw new TypeError(`${owner}: parameters must be plain JSON: ${problem}`);
  return JSON.parse(JSON.stringify(parameters)) as Record<string, unknown>;
}

/** Where a value stops being JSON that survives a round trip unchanged, or null. */
function jsonProblem(value: unknown, path: string): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} is ${value}`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = jsonProblem(item, `${path}[${index}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${path}.${key}`);
      if (problem) return problem;
    }
    return null;
  }
  return `${path} is ${describe(value)}`;
}


function asTypeError<T>(owner: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof FluxoError) throw new TypeError(`${owner}: ${error.message}`, { cause: error });
    throw error;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (value instanceof Date) return 'a Date';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return isPlainObject(value) ? 'an object' : `a ${(value as object).constructor?.name ?? 'non-plain object'}`;
}

/** JSON with object keys sorted, for comparing definitions. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
