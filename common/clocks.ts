// Clock math shared by the SDK (definition-time checks), the server (registration, scheduler,
// backfill, nextTimes) and the CLI. Times are epoch ms.
//
// Cron clocks name local wall-clock times in an IANA zone. Each local time the expression names
// runs exactly once, whatever the zone's daylight-saving rules do that day:
//   - a local time that does not exist (spring forward) runs once, at the first instant after the
//     gap: America/New_York 2026-03-08 '30 2 * * *' runs at 03:00 EDT (07:00Z); several names in
//     one gap (every 15 minutes) and the gap's end itself collapse into that one run;
//   - a local time that happens twice (fall back) runs once, at its first occurrence:
//     America/Sao_Paulo 2019-02-16 '30 23 * * *' runs at 23:30 -02 (01:30Z), not again an hour later;
//   - every other local time runs at that local time.
// croner agrees for "fixed-time" expressions (`30 2 * * *`) but runs its "interval" ones (`0 * * * *`,
// `30 1,2 * * *`) on both occurrences of a repeated hour and skips times in a gap (Vixie cron's
// choice). One rule for every expression is easier to explain and to backfill, so croner only
// matches wall-clock times here (read as if in UTC, where no time is missing or repeated) and this
// module maps each wall time to its instant with the zone's offsets from Intl (Node's ICU tzdata,
// which has São Paulo's DST until 2019). A side benefit: croner's own zone conversion costs about
// 90 µs per nextRuns(3); the UTC matcher plus cached offsets is several times cheaper.
//
// Interval clocks are anchor + k × everySeconds for every integer k (negative too), in absolute time.
import { Cron } from 'croner';
import { FluxoError } from './errors.js';

/** A cron clock: croner syntax, read in an IANA zone. */
export interface CronTiming {
  cron: string;
  timezone: string;
}

/** An interval clock: times are anchor + k × everySeconds (absolute time, DST-agnostic). */
export interface IntervalTiming {
  everySeconds: number;
  /** Epoch ms. */
  anchor: number;
}

export type ClockTiming = CronTiming | IntervalTiming;

/** The shortest interval a clock may have, in seconds (the server's `everySeconds` minimum). */
export const MIN_EVERY_SECONDS = 60;
/** The longest interval a clock may have, in seconds: 366 days. */
export const MAX_EVERY_SECONDS = 366 * 86_400;

const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** Checks a cron expression and zone; throws FluxoError BAD_USER_INPUT naming what is wrong. */
export function checkCron(cron: string, timezone: string): void {
  checkTimeZone(timezone);
  const pattern = patternOf(cron);
  // Patterns carry no year, so a pattern with no future time has no time at all ('0 0 30 2 *').
  if (pattern.nextRun(new Date()) === null) throw badInput(`cron ${JSON.stringify(cron)} never runs (no such date)`);
}

/** Checks an IANA zone name; throws FluxoError BAD_USER_INPUT. */
export function checkTimeZone(timezone: string): void {
  zoneOf(timezone);
}

/**
 * The zone's canonical IANA spelling (`america/sao_paulo` → `America/Sao_Paulo`), so one zone
 * written two ways is one clock. Throws FluxoError BAD_USER_INPUT for an unknown zone.
 */
export function canonicalTimeZone(timezone: string): string {
  zoneOf(timezone);
  return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
}

/**
 * '90s', '15m', '1h30m', '2h', '1d' → seconds, between 60 s and 366 days; throws FluxoError
 * BAD_USER_INPUT.
 */
export function parseEvery(every: string): number {
  const match = typeof every === 'string' ? /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(every) : null;
  if (!match || every === '') {
    throw badInput(`every ${JSON.stringify(every)} is not a duration: use days, hours, minutes and seconds in that order, like '15m', '1h30m', '1d' or '90s'`);
  }
  const [days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number];
  return checkEverySeconds(days * 86_400 + hours * 3_600 + minutes * 60 + seconds, every);
}

/** Checks an interval in seconds (an integer, 60 s to 366 days) and returns it; throws FluxoError BAD_USER_INPUT. */
export function checkEverySeconds(seconds: number, shown: string | number = seconds): number {
  const label = `every ${JSON.stringify(shown)}`;
  if (!Number.isSafeInteger(seconds)) throw badInput(`${label} must be a whole number of seconds`);
  if (seconds < MIN_EVERY_SECONDS) throw badInput(`${label} is shorter than the minimum of ${MIN_EVERY_SECONDS} seconds`);
  if (seconds > MAX_EVERY_SECONDS) throw badInput(`${label} is longer than the maximum of 366 days (${MAX_EVERY_SECONDS} seconds)`);
  return seconds;
}

/** Times t with from <= t < to, ascending, at most `limit`. */
export function clockTimesBetween(clock: ClockTiming, from: number, to: number, limit: number): number[] {
  const times: number[] = [];
  if (!(limit > 0) || !(from < to)) return times;
  if ('everySeconds' in clock) {
    const period = clock.everySeconds * SECOND;
    for (let k = Math.ceil((from - clock.anchor) / period); times.length < limit; k += 1) {
      const time = clock.anchor + k * period;
      if (time >= to) break;
      times.push(time);
    }
    return times;
  }
  // Cron times are whole seconds, so "after from - 1 ms" is "at or after from".
  for (const time of cronTimesAfter(clock, Math.ceil(from) - 1)) {
    if (time >= to || times.length >= limit) break;
    times.push(time);
  }
  return times;
}

/** The first `count` times strictly after `after`, ascending. */
export function nextClockTimes(clock: ClockTiming, after: number, count: number): number[] {
  const times: number[] = [];
  if (!(count > 0)) return times;
  if ('everySeconds' in clock) {
    const period = clock.everySeconds * SECOND;
    for (let k = Math.floor((after - clock.anchor) / period) + 1; times.length < count; k += 1) {
      times.push(clock.anchor + k * period);
    }
    return times;
  }
  return memoizedCronTimes(clock, after, count);
}

/** The latest `count` times t with notBefore <= t < before, ascending (catch-up of missed times). */
export function latestClockTimesBefore(clock: ClockTiming, before: number, notBefore: number, count: number): number[] {
  const times: number[] = [];
  if (!(count > 0) || !(notBefore < before)) return times;
  if ('everySeconds' in clock) {
    const period = clock.everySeconds * SECOND;
    const first = Math.ceil((notBefore - clock.anchor) / period);
    for (let k = Math.ceil((before - clock.anchor) / period) - 1; k >= first && times.length < count; k -= 1) {
      times.push(clock.anchor + k * period);
    }
    return times.reverse();
  }
  const pattern = patternOf(clock.cron);
  const zone = zoneOf(clock.timezone);
  // A wall time W lands at W - offset, so every W landing before `before` is below before + the
  // largest offset nearby; walking walls backwards, instants never increase.
  let wall = before + Math.max(zone.offsetAt(before - DAY), zone.offsetAt(before), zone.offsetAt(before + DAY));
  let last = Number.NaN;
  while (times.length < count) {
    const previous = pattern.previousRuns(1, new Date(wall))[0];
    if (previous === undefined) break;
    wall = previous.getTime();
    const time = zone.instantOf(wall);
    if (time < notBefore) break;
    if (time < before && time !== last) times.push(time);
    last = time;
  }
  return times.reverse();
}

/**
 * The scheduler asks for the next few times of thousands of clocks, many sharing an expression and
 * zone ('0 3 * * *' in America/Sao_Paulo) and a fill mark; croner costs about 5 µs per time. So each
 * (cron, zone) remembers one run of consecutive times: every clock time t with from < t <= the last.
 */
const memo = new Map<string, { from: number; times: number[] }>();
const MAX_MEMO = 10_000;
const MAX_MEMO_TIMES = 256;

function memoizedCronTimes(clock: CronTiming, after: number, count: number): number[] {
  const key = `${clock.cron}\u0000${clock.timezone}`;
  const entry = memo.get(key);
  const last = entry?.times[entry.times.length - 1];
  if (entry && last !== undefined && entry.from <= after && after < last) {
    let low = 0;
    let high = entry.times.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (entry.times[middle]! > after) high = middle;
      else low = middle + 1;
    }
    const missing = low + count - entry.times.length;
    if (missing > 0) {
      for (const time of cronTimesAfter(clock, last)) {
        entry.times.push(time);
        if (entry.times.length - low >= count) break;
      }
    }
    const times = entry.times.slice(low, low + count);
    if (entry.times.length > MAX_MEMO_TIMES && low > 0) {
      entry.from = entry.times[low - 1]!;
      entry.times = entry.times.slice(low);
    }
    return times;
  }
  const times: number[] = [];
  for (const time of cronTimesAfter(clock, after)) {
    times.push(time);
    if (times.length >= count) break;
  }
  if (times.length > 0 && count <= MAX_MEMO_TIMES) {
    if (memo.size >= MAX_MEMO) memo.delete(memo.keys().next().value as string);
    memo.set(key, { from: after, times: times.slice() });
  }
  return times;
}

/** Cron times strictly after `after`, ascending, each once. */
function* cronTimesAfter(clock: CronTiming, after: number): Generator<number> {
  const pattern = patternOf(clock.cron);
  const zone = zoneOf(clock.timezone);
  // Every wall time W that lands after `after` is above after + the smallest offset nearby.
  let wall = after + Math.min(zone.offsetAt(after - DAY), zone.offsetAt(after), zone.offsetAt(after + DAY));
  let last = Number.NaN;
  for (;;) {
    const next = pattern.nextRun(new Date(wall));
    if (next === null) return;
    wall = next.getTime();
    const time = zone.instantOf(wall);
    // Mapping walls to instants never goes backwards, so equal instants (a gap's names and its end) are neighbours.
    if (time > after && time !== last) yield time;
    last = time;
  }
}

// --- Parsed patterns -------------------------------------------------------------------------

/** Parsed patterns by expression. They match wall times in UTC, so one serves every zone. */
const patterns = new Map<string, Cron>();
// croner keeps an 80 KB year table in every parsed pattern, so the cache is bounded by memory:
// 500 patterns hold ~40 MB. An office has far fewer distinct expressions than clocks; a pattern
// evicted is parsed again (microseconds).
const MAX_PATTERNS = 500;

function patternOf(cron: string): Cron {
  const cached = patterns.get(cron);
  if (cached) {
    // Least recently used first out: re-insert on a hit.
    patterns.delete(cron);
    patterns.set(cron, cached);
    return cached;
  }
  if (typeof cron !== 'string' || cron.trim() === '') throw badInput(`cron ${JSON.stringify(cron)} is empty`);
  const fields = cron.trim().split(/\s+/);
  if (!cron.trim().startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    throw badInput(`cron ${JSON.stringify(cron)} has ${fields.length} fields: use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`);
  }
  // At most one run a minute, like interval clocks (60 s minimum): a seconds field names one second.
  if (fields.length === 6 && !/^\d{1,2}$/.test(fields[0]!)) {
    throw badInput(`cron ${JSON.stringify(cron)} fires more than once a minute: its seconds field must be one second (0-59), e.g. "30 ${fields.slice(1).join(' ')}"`);
  }
  let pattern: Cron;
  try {
    // No function: croner starts no timer. utcOffset 0 is plain UTC, without Intl (see the top).
    pattern = new Cron(cron, { utcOffset: 0, mode: '5-or-6-parts', paused: true });
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern:\s*/, '');
    throw badInput(`cron ${JSON.stringify(cron)} is not valid: ${reason}`, error);
  }
  if (patterns.size >= MAX_PATTERNS) patterns.delete(patterns.keys().next().value as string);
  patterns.set(cron, pattern);
  return pattern;
}

// --- Zones -----------------------------------------------------------------------------------

/**
 * One zone's UTC offsets, from Intl, cached per UTC day: each day's offset at its start and end,
 * and when they differ, the transition instant (found by bisection to the second). A zone that
 * changed offset and back within one day would be missed; tzdb has no such day that matters here.
 */
class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;
  private readonly days = new Map<number, { start: number; end: number; at: number }>();

  constructor(readonly name: string) {
    // Throws RangeError for an unknown zone.
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Local time minus UTC, in ms, at an instant. */
  offsetAt(time: number): number {
    const day = Math.floor(time / DAY);
    let entry = this.days.get(day);
    if (!entry) {
      const start = this.days.get(day - 1)?.end ?? this.exactOffsetAt(day * DAY);
      const end = this.days.get(day + 1)?.start ?? this.exactOffsetAt((day + 1) * DAY);
      let at = Number.POSITIVE_INFINITY;
      if (start !== end) {
        let low = day * DAY;
        let high = (day + 1) * DAY;
        while (high - low > SECOND) {
          const middle = low + Math.floor((high - low) / 2 / SECOND) * SECOND;
          if (this.exactOffsetAt(middle) === start) low = middle;
          else high = middle;
        }
        at = high;
      }
      entry = { start, end, at };
      // Bounded: the scheduler reads a few days per zone; a long backfill may read thousands.
      if (this.days.size >= 20_000) this.days.clear();
      this.days.set(day, entry);
    }
    return time < entry.at ? entry.start : entry.end;
  }

  /**
   * The instant a local wall time (ms, read as UTC fields) runs at: its only occurrence; the first
   * of two (fall back); or, for a time in a gap (spring forward), the first instant after the gap.
   */
  instantOf(wall: number): number {
    const a = this.offsetAt(wall - DAY);
    const b = this.offsetAt(wall + DAY);
    const larger = Math.max(a, b);
    const smaller = Math.min(a, b);
    // The larger offset gives the earlier instant: try it first.
    if (this.offsetAt(wall - larger) === larger) return wall - larger;
    if (this.offsetAt(wall - smaller) === smaller) return wall - smaller;
    // In the gap: local time jumps over `wall` at the transition, the first instant whose local time is past it.
    let low = wall - larger;
    let high = wall - smaller;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (middle + this.offsetAt(middle) > wall) high = middle;
      else low = middle;
    }
    return high;
  }

  private exactOffsetAt(time: number): number {
    const whole = time - (((time % SECOND) + SECOND) % SECOND);
    const fields: Record<string, number> = {};
    let bc = false;
    for (const part of this.format.formatToParts(whole)) {
      if (part.type === 'era') bc = part.value === 'BC';
      else if (part.type !== 'literal') fields[part.type] = Number(part.value);
    }
    const local = new Date(0);
    local.setUTCFullYear(bc ? 1 - fields.year! : fields.year!, fields.month! - 1, fields.day!);
    local.setUTCHours(fields.hour!, fields.minute!, fields.second!, 0);
    return local.getTime() - whole;
  }
}

const zones = new Map<string, ZoneOffsets>();

function zoneOf(timezone: string): ZoneOffsets {
  const cached = zones.get(timezone);
  if (cached) return cached;
  if (typeof timezone !== 'string' || timezone === '') throw badInput(`time zone ${JSON.stringify(timezone)} is empty: use an IANA name like America/Sao_Paulo`);
  let zone: ZoneOffsets;
  try {
    zone = new ZoneOffsets(timezone);
  } catch (error) {
    throw badInput(`unknown time zone ${JSON.stringify(timezone)}: use an IANA name like America/Sao_Paulo`, error);
  }
  // Bounded against a stream of distinct (valid) names; tzdb has under 600.
  if (zones.size >= 1_000) zones.clear();
  zones.set(timezone, zone);
  return zone;
}

function badInput(message: string, cause?: unknown): FluxoError {
  return new FluxoError('BAD_USER_INPUT', message, cause === undefined ? {} : { cause });
}
