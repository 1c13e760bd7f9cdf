// CONTRACT STUB (helper A implements): clock math shared by the SDK (definition-time checks), the
// server (registration, scheduler, backfill, nextTimes) and the CLI. Times are epoch ms.

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

/** Checks a cron expression and zone; throws FluxoError BAD_USER_INPUT naming what is wrong. */
export declare function checkCron(cron: string, timezone: string): void;
/** Checks an IANA zone name; throws FluxoError BAD_USER_INPUT. */
export declare function checkTimeZone(timezone: string): void;
/** '90s', '15m', '1h30m', '1d' → seconds; throws FluxoError BAD_USER_INPUT. */
export declare function parseEvery(every: string): number;
/** Times t with from <= t < to, ascending, at most `limit`. */
export declare function clockTimesBetween(clock: ClockTiming, from: number, to: number, limit: number): number[];
/** The first `count` times strictly after `after`, ascending. */
export declare function nextClockTimes(clock: ClockTiming, after: number, count: number): number[];
/** The latest `count` times t with notBefore <= t < before, ascending (catch-up of missed times). */
export declare function latestClockTimesBefore(clock: ClockTiming, before: number, notBefore: number, count: number): number[];
