// The scheduler: keeps a horizon of future runs for every active schedule, so agents find clock
// runs already SCHEDULED (their claim long-polls start them within milliseconds of being due).
// It runs on the leader replica only (leader-services.ts); on SQLite the one process leads.
//
// Per clock, the store keeps a fill mark (`filledThrough`: runs exist for every clock time before
// it) and a refill time. A pass reads the schedules whose refill time has come, computes each
// clock's missing times, and writes runs and new marks together, in one transaction per batch,
// idempotently on `schedule:<flow>:<clock>:<time>`. A kill -9 between batches loses nothing and
// repeats nothing: the next pass starts from the marks that were committed, and a run written
// twice (a second replica, a repeated batch) is skipped by its key. Time is the database's.
import { EventEmitter } from 'node:events';
import { clockTimesBetween, latestClockTimesBefore, nextClockTimes } from '../../common/clocks.js';
import type { Logger } from '../../common/logger.js';
import { clockTiming } from '../core/schedules.js';
import type { EventBus } from '../core/events.js';
import type { ClockRecord } from '../store/records.js';
import type { DueSchedule, NewScheduledRun, Store } from '../store/store.js';

/** Settings of {@link Scheduler}. */
export interface SchedulerOptions {
  /** How far ahead runs exist (at least 3 runs per clock however long). @default 3600000 (an hour) */
  horizonMs?: number;
  /**
   * How much past the horizon a refill fills, so a clock is refilled once per `refillSlackMs`
   * rather than at every pass, while never less than the horizon stays filled. @default horizonMs / 10
   */
  refillSlackMs?: number;
  /** Time between passes; a registration or a resume wakes it at once. @default 5000 */
  intervalMs?: number;
  /** Runs written per transaction (each a short write transaction; requests run in between). @default 250 */
  batchSize?: number;
  logger: Logger;
}

/** What one pass did. */
export interface FillReport {
  /** The database time the pass filled from (epoch ms). */
  now: number;
  /** Schedules looked at. */
  schedules: number;
  /** Runs created (runs another writer had created already are not counted). */
  created: number;
  ms: number;
}

/** Typed lifecycle events (logging and metrics subscribe to them). */
export interface SchedulerEvents {
  /** A pass found schedules to fill. */
  'fill:started': [info: { now: number; schedules: number }];
  /** A batch of runs and marks was committed. */
  'fill:batch': [info: { runs: number; created: number }];
  /** A pass ended (also when there was nothing to do). */
  'fill:finished': [report: FillReport];
  /** A pass failed; the next interval retries. */
  'fill:failed': [error: unknown];
}

/** A clock's times that need runs, and its new marks. */
interface ClockFill {
  times: number[];
  filledThrough: number;
  refillAt: number;
}

/** Most times one clock gets in one pass (a seconds cron over a long horizon): the rest next pass. */
const MAX_TIMES_PER_CLOCK = 5_000;
/** Future runs each clock keeps, however long its period. */
const MIN_FUTURE_RUNS = 3;
/** A refill is never asked for sooner than this after a pass (so a pass cannot spin). */
const MIN_REFILL_DELAY_MS = 1_000;
const DUE_PAGE = 200;
const ACTOR = 'server:scheduler';

/**
 * Which times of `clock` need runs at `now`, and the clock's next fill mark and refill time.
 *
 * The clock starts at its mark (absent: `now`, so a new schedule starts now). Times before `now`
 * were missed: SKIP drops them, CATCH_UP takes the latest `catchUpLimit` of them. Then every time
 * until `fillEnd`, and at least enough that {@link MIN_FUTURE_RUNS} future runs exist. The refill
 * comes when the mark is about to fall inside the horizon, or when the third-to-last future run is
 * due (so ~3 future runs exist at all times), but never sooner than a second from now.
 */
export function planClock(
  clock: ClockRecord,
  mark: number | undefined,
  now: number,
  policy: { missedRuns: 'SKIP' | 'CATCH_UP'; catchUpLimit: number },
  horizonMs: number,
  slackMs: number,
): ClockFill {
  const timing = clockTiming(clock);
  const start = mark ?? now;
  const times: number[] = [];
  if (start < now && policy.missedRuns === 'CATCH_UP') times.push(...latestClockTimesBefore(timing, now, start, policy.catchUpLimit));
  const from = Math.max(start, now);
  // Future runs earlier passes created, in (now, mark): the last few count towards the minimum.
  const existing = from > now + 1 ? latestClockTimesBefore(timing, from, now + 1, MIN_FUTURE_RUNS) : [];
  const fillEnd = now + horizonMs + slackMs;
  let future = clockTimesBetween(timing, from, fillEnd, MAX_TIMES_PER_CLOCK);
  const needed = MIN_FUTURE_RUNS - existing.length;
  if (future.length < needed) future = nextClockTimes(timing, from - 1, needed);
  times.push(...future);
  const capped = future.length === MAX_TIMES_PER_CLOCK;
  const last = future.at(-1);
  const filledThrough = Math.max(from, last === undefined ? from : last + 1, capped ? 0 : fillEnd);
  const upcoming = [...existing, ...future];
  const thirdToLast = upcoming.length >= MIN_FUTURE_RUNS ? upcoming[upcoming.length - MIN_FUTURE_RUNS]! : Infinity;
  // Capped: the rest of the horizon at the next pass.
  const wanted = capped ? -Infinity : Math.min(filledThrough - horizonMs, thirdToLast);
  const refillAt = Math.max(now + MIN_REFILL_DELAY_MS, wanted);
  return { times, filledThrough, refillAt };
}

/**
 * The scheduler service. `start()` runs a pass every `intervalMs` and at once on the event bus's
 * `schedules:changed`; a pass is never run twice at the same time; `stop()` waits for the pass in
 * progress. Tests call {@link Scheduler.fillOnce} with an injected time.
 *
 * @example const scheduler = new Scheduler(store, events, { logger }); scheduler.start(); … await scheduler.stop();
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly #store: Store;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly horizonMs: number;
  readonly refillSlackMs: number;
  readonly intervalMs: number;
  readonly #batchSize: number;
  #pass: Promise<FillReport> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #wake = (): void => this.#kick();

  constructor(store: Store, events: EventBus, options: SchedulerOptions) {
    super();
    this.#store = store;
    this.#events = events;
    this.#logger = options.logger;
    this.horizonMs = options.horizonMs ?? 3_600_000;
    this.refillSlackMs = options.refillSlackMs ?? Math.floor(this.horizonMs / 10);
    this.intervalMs = options.intervalMs ?? 5_000;
    this.#batchSize = options.batchSize ?? 250;
    if (!(this.horizonMs > 0) || !(this.refillSlackMs >= 0) || !(this.intervalMs > 0) || !(this.#batchSize > 0)) throw new TypeError('scheduler: horizonMs, intervalMs and batchSize must be positive, refillSlackMs not negative');
  }

  /** Starts passes: one now, then every interval and on `schedules:changed`. */
  start(): this {
    this.#stopped = false;
    this.#events.on('schedules:changed', this.#wake);
    this.#timer = setInterval(this.#wake, this.intervalMs);
    this.#timer.unref();
    this.#kick();
    return this;
  }

  /** Stops passes and waits for the one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#events.off('schedules:changed', this.#wake);
    await this.#pass?.catch(() => undefined);
  }

  /** A timer or event pass: errors are logged and retried at the next interval. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#pass) {
      // A wake during a pass may concern what the pass already read: one more pass after it.
      this.#again = true;
      return;
    }
    this.fillOnce().then(
      () => {
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#kick();
        }
      },
      () => undefined,
    );
  }

  /**
   * One pass: fills every due schedule's horizon as of `now` (default: the database's time). Waits
   * for a pass in progress first, so passes never overlap.
   */
  async fillOnce(now?: number): Promise<FillReport> {
    while (this.#pass) await this.#pass.catch(() => undefined);
    const pass = this.#fill(now);
    this.#pass = pass;
    try {
      return await pass;
    } finally {
      if (this.#pass === pass) this.#pass = null;
    }
  }

  async #fill(injectedNow: number | undefined): Promise<FillReport> {
    const began = Date.now();
    const now = injectedNow ?? (await this.#store.now());
    let schedules = 0;
    let created = 0;
    try {
      // A schedule seen in this pass is not filled twice in it: if the store answers it again (its
      // marks were dropped because a pause or a registration won the race), the next pass looks.
      const seen = new Set<string>();
      let pending: { runs: NewScheduledRun[]; marks: Parameters<Store['createScheduledRuns']>[1] } = { runs: [], marks: [] };
      const flush = async (): Promise<void> => {
        if (pending.marks.length === 0) return;
        const batch = pending;
        pending = { runs: [], marks: [] };
        const runs = await this.#store.createScheduledRuns(batch.runs, batch.marks);
        created += runs.length;
        if (runs.length > 0) this.#events.runsChanged(runs);
        this.emit('fill:batch', { runs: batch.runs.length, created: runs.length });
        // SQLite writes synchronously: let requests in between two batches, or a large fill
        // would hold the event loop (and every API call) for its whole length.
        await new Promise((resolve) => setImmediate(resolve));
      };
      // Stopping abandons the pass between schedules: what was written is consistent (marks go
      // with their runs), and the next leader continues from it.
      const stopping = (): boolean => this.#stopped && injectedNow === undefined;
      for (let page = 0; ; page++) {
        if (stopping()) break;
        const due = (await this.#store.listDueSchedules(now, DUE_PAGE)).filter((s) => !seen.has(`${s.tenant}\0${s.flowId}`));
        if (due.length === 0) break;
        if (page === 0) {
          this.emit('fill:started', { now, schedules: due.length });
        }
        for (const schedule of due) {
          if (stopping()) break;
          seen.add(`${schedule.tenant}\0${schedule.flowId}`);
          schedules++;
          for (const piece of this.#plan(schedule, now)) {
            pending.runs.push(...piece.runs);
            pending.marks.push(piece.mark);
            if (pending.runs.length >= this.#batchSize) await flush();
          }
        }
        await flush();
      }
      const report = { now, schedules, created, ms: Date.now() - began };
      this.emit('fill:finished', report);
      return report;
    } catch (error) {
      this.emit('fill:failed', error);
      throw error;
    }
  }

  /**
   * A schedule's runs and marks, in pieces of at most a batch each. A clock with more runs than a
   * batch gets intermediate marks (with a refill due at once): a crash between its batches leaves
   * a mark that is true, and the next pass continues from it.
   */
  *#plan(schedule: DueSchedule, now: number): Generator<{ runs: NewScheduledRun[]; mark: Parameters<Store['createScheduledRuns']>[1][number] }> {
    const { version, tenant, flowId } = schedule;
    for (const clock of version.clocks) {
      const fill = planClock(clock, schedule.filledThrough.get(clock.key), now, version, this.horizonMs, this.refillSlackMs);
      const labels = clock.labels ?? version.defaultLabels;
      const runOf = (at: number): NewScheduledRun => ({
        tenant,
        flowId,
        flowVersionId: version.id,
        parameters: clock.parameters,
        labels,
        priority: 0,
        scheduledAt: at,
        clockKey: clock.key,
        idempotencyKey: `schedule:${flowId}:${clock.key}:${new Date(at).toISOString()}`,
        actor: ACTOR,
      });
      for (let i = 0; i < fill.times.length || i === 0; i += this.#batchSize) {
        const chunk = fill.times.slice(i, i + this.#batchSize);
        const last = i + this.#batchSize >= fill.times.length;
        const mark = last
          ? { tenant, flowId, clockKey: clock.key, filledThrough: fill.filledThrough, refillAt: fill.refillAt }
          : { tenant, flowId, clockKey: clock.key, filledThrough: Math.max(chunk.at(-1)! + 1, schedule.filledThrough.get(clock.key) ?? -Infinity), refillAt: now };
        yield { runs: chunk.map(runOf), mark };
      }
    }
  }
}

/**
 * Starts the scheduler with logging of its lifecycle: a pass that found work is logged at info,
 * a failed pass at warn (it is retried at the next interval).
 */
export function startScheduler(store: Store, events: EventBus, options: SchedulerOptions): Scheduler {
  const { logger } = options;
  const scheduler = new Scheduler(store, events, options);
  scheduler.on('fill:started', ({ now, schedules }) => logger.info({ now: new Date(now).toISOString(), schedules }, 'schedule fill started'));
  scheduler.on('fill:finished', (report) => {
    if (report.schedules > 0) logger.info({ schedules: report.schedules, created: report.created, ms: report.ms }, 'schedule fill finished');
  });
  scheduler.on('fill:failed', (error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'schedule fill failed; retrying at the next interval'));
  return scheduler.start();
}
