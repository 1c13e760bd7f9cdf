// Clock math: cron clocks in zones across daylight-saving changes (New York now, São Paulo's own
// history), interval clocks on their anchors, ranges and catch-up windows, and refused input.
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import {
  canonicalTimeZone,
  checkCron,
  checkEverySeconds,
  checkTimeZone,
  clockTimesBetween,
  latestClockTimesBefore,
  nextClockTimes,
  parseEvery,
  type ClockTiming,
} from '../../common/clocks.js';
import { refusalOfSync } from '../support/refusal.js';

const at = (iso: string): number => {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) throw new Error(`bad ISO in the test: ${iso}`);
  return time;
};
const iso = (times: number[]): string[] => times.map((time) => new Date(time).toISOString());
const NY = 'America/New_York';
const SP = 'America/Sao_Paulo';

describe('cron clocks across daylight-saving changes', () => {
  it.each([
    // America/New_York 2026: spring forward 2026-03-08 02:00 EST → 03:00 EDT; fall back 2026-11-01 02:00 EDT → 01:00 EST.
    ['New York, a daily time in the spring gap runs at the gap end (03:00 EDT)', '30 2 * * *', NY, '2026-03-07T00:00:00Z', 3,
      ['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']],
    ['New York, a daily time just before the gap is untouched', '59 1 * * *', NY, '2026-03-07T12:00:00Z', 2,
      ['2026-03-08T06:59:00.000Z', '2026-03-09T05:59:00.000Z']],
    ['New York, a daily time repeated on fall back runs once, at 01:30 EDT', '30 1 * * *', NY, '2026-10-31T00:00:00Z', 3,
      ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']],
    ['New York, hourly across spring forward: 02:00 is the gap, 03:00 runs once', '0 * * * *', NY, '2026-03-08T05:00:00Z', 4,
      ['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z', '2026-03-08T09:00:00.000Z']],
    ['New York, half past every hour: 02:30 runs at the gap end', '30 * * * *', NY, '2026-03-08T05:00:00Z', 4,
      ['2026-03-08T05:30:00.000Z', '2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z']],
    ['New York, hourly across fall back: the repeated 01:00 runs once', '0 * * * *', NY, '2026-11-01T04:00:00Z', 4,
      ['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z', '2026-11-01T08:00:00.000Z', '2026-11-01T09:00:00.000Z']],
    ['New York, seconds field: 6 fields in the gap', '15 30 2 * * *', NY, '2026-03-07T12:00:00Z', 2,
      ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:15.000Z']],
    // São Paulo: DST began 2018-11-04 at 00:00 (-03 → -02), ended 2019-02-17 at 00:00 (-02 → -03), none since 2019.
    ['São Paulo 2018-11-04, midnight did not exist: runs at 01:00 -02', '0 0 * * *', SP, '2018-11-02T12:00:00Z', 3,
      ['2018-11-03T03:00:00.000Z', '2018-11-04T03:00:00.000Z', '2018-11-05T02:00:00.000Z']],
    ['São Paulo 2018-11-04, a quarter-hour clock: 00:00-00:45 collapse into 01:00', '*/15 * * * *', SP, '2018-11-04T02:30:00Z', 5,
      ['2018-11-04T02:45:00.000Z', '2018-11-04T03:00:00.000Z', '2018-11-04T03:15:00.000Z', '2018-11-04T03:30:00.000Z', '2018-11-04T03:45:00.000Z']],
    ['São Paulo 2019-02-16, 23:30 happened twice: runs once, at 23:30 -02', '30 23 * * *', SP, '2019-02-15T12:00:00Z', 3,
      ['2019-02-16T01:30:00.000Z', '2019-02-17T01:30:00.000Z', '2019-02-18T02:30:00.000Z']],
    ['São Paulo 2019-02-16, hourly: the second 23:00 is skipped', '0 * * * *', SP, '2019-02-16T23:30:00Z', 4,
      ['2019-02-17T00:00:00.000Z', '2019-02-17T01:00:00.000Z', '2019-02-17T03:00:00.000Z', '2019-02-17T04:00:00.000Z']],
    ['São Paulo 2019-11-03, no change any more: midnight is midnight -03', '0 0 * * *', SP, '2019-11-02T12:00:00Z', 3,
      ['2019-11-03T03:00:00.000Z', '2019-11-04T03:00:00.000Z', '2019-11-05T03:00:00.000Z']],
    ['São Paulo 2019-11-03, hourly through the old change time', '0 * * * *', SP, '2019-11-03T01:30:00Z', 4,
      ['2019-11-03T02:00:00.000Z', '2019-11-03T03:00:00.000Z', '2019-11-03T04:00:00.000Z', '2019-11-03T05:00:00.000Z']],
    ['UTC, daily at 03:00 (the default shape)', '0 3 * * *', 'UTC', '2026-12-04T13:00:00Z', 2,
      ['2026-12-05T03:00:00.000Z', '2026-12-06T03:00:00.000Z']],
  ])('%s', (_, cron, timezone, after, count, expected) => {
    expect(iso(nextClockTimes({ cron, timezone }, at(after), count))).toEqual(expected);
  });

  it('agrees with croner on fixed-time expressions for two years of New York and São Paulo days', () => {
    // croner's own DST rule for a single hour and minute is the one fluxo keeps for every expression.
    for (const [cron, timezone, from] of [
      ['30 2 * * *', NY, '2025-01-01T00:00:00Z'],
      ['30 1 * * *', NY, '2025-01-01T00:00:00Z'],
      ['0 0 * * *', SP, '2017-06-01T00:00:00Z'],
      ['30 23 * * *', SP, '2017-06-01T00:00:00Z'],
    ] as const) {
      const ours = clockTimesBetween({ cron, timezone }, at(from), at(from) + 730 * 86_400_000, 1000);
      const theirs = new Cron(cron, { timezone, paused: true }).nextRuns(ours.length, new Date(at(from) - 1)).map((date) => date.getTime());
      expect(ours).toHaveLength(730);
      expect(iso(ours)).toEqual(iso(theirs));
    }
  });

  it('counts 23 hourly runs on a spring-forward day and 24 on a fall-back day', () => {
    const hourly = { cron: '0 * * * *', timezone: NY };
    // Local midnight to midnight, in UTC: 2026-03-08 has 23 hours, 2026-11-01 has 25.
    expect(clockTimesBetween(hourly, at('2026-03-08T05:00:00Z'), at('2026-03-09T04:00:00Z'), 100)).toHaveLength(23);
    expect(clockTimesBetween(hourly, at('2026-11-01T04:00:00Z'), at('2026-11-02T05:00:00Z'), 100)).toHaveLength(24);
  });

  it('gives the same times whichever way it is asked: next, between and latest-before', () => {
    const clocks: ClockTiming[] = [
      { cron: '*/20 * * * *', timezone: SP },
      { cron: '30 * * * *', timezone: NY },
      { cron: '0 0 * * *', timezone: SP },
      { cron: '15 1 * * 0', timezone: NY },
    ];
    const windows = [
      ['2018-11-03T20:00:00Z', '2018-11-04T08:00:00Z'],
      ['2019-02-16T20:00:00Z', '2019-02-17T08:00:00Z'],
      ['2026-03-07T20:00:00Z', '2026-03-09T08:00:00Z'],
      ['2026-10-31T20:00:00Z', '2026-11-02T08:00:00Z'],
    ];
    for (const clock of clocks) {
      for (const [from, to] of windows) {
        const all = clockTimesBetween(clock, at(from!), at(to!), 1000);
        expect([...all].sort((a, b) => a - b)).toEqual(all);
        expect(new Set(all).size).toBe(all.length);
        expect(latestClockTimesBefore(clock, at(to!), at(from!), 1000)).toEqual(all);
        // From every time in the window (and a second past it), the next few are the window's next few.
        for (const [index, time] of all.entries()) {
          expect(nextClockTimes(clock, time, 3)).toEqual(clockTimesBetween(clock, time + 1, Number.MAX_SAFE_INTEGER, 3));
          expect(nextClockTimes(clock, time - 1, 2)[0]).toBe(time);
          expect(latestClockTimesBefore(clock, time + 1, at(from!), 2)).toEqual(all.slice(Math.max(0, index - 1), index + 1));
        }
      }
    }
  });

  it('answers repeated and overlapping queries of one clock the same as fresh ones', () => {
    const clock = { cron: '*/10 * * * *', timezone: SP };
    const base = at('2018-11-03T22:00:00Z');
    // Many clocks share a cron and zone: forwards, backwards, jumping, asking for more, then fewer.
    const afters = [0, 0, 600_000, 300_000, 7_200_000, 3_600_000, 86_400_000, 1, 0, 12 * 3_600_000, 5 * 3_600_000];
    for (const [index, offset] of afters.entries()) {
      const count = 1 + ((index * 7) % 30);
      const after = base + offset;
      expect(nextClockTimes(clock, after, count)).toEqual(clockTimesBetween(clock, after + 1, Number.MAX_SAFE_INTEGER, count));
    }
  });
});

describe('interval clocks', () => {
  const hourFromOdd = { everySeconds: 3600, anchor: at('2026-01-01T00:00:07.250Z') };

  it.each([
    ['stays on an anchor in the past', hourFromOdd, '2026-06-01T10:30:00Z', 3, ['2026-06-01T11:00:07.250Z', '2026-06-01T12:00:07.250Z', '2026-06-01T13:00:07.250Z']],
    ['counts times before a future anchor (negative k)', { everySeconds: 900, anchor: at('2030-01-01T00:05:00Z') }, '2026-12-04T13:00:00Z', 2,
      ['2026-12-04T13:05:00.000Z', '2026-12-04T13:20:00.000Z']],
    ['runs on the hour with the default anchor (the epoch)', { everySeconds: 3600, anchor: 0 }, '2026-12-04T13:00:00Z', 2, ['2026-12-04T14:00:00.000Z', '2026-12-04T15:00:00.000Z']],
    ['is strictly after a time that is itself a clock time', hourFromOdd, '2026-06-01T11:00:07.250Z', 1, ['2026-06-01T12:00:07.250Z']],
    ['ignores daylight saving: absolute time, 90 minutes apart', { everySeconds: 5400, anchor: at('2026-03-08T05:00:00Z') }, '2026-03-08T05:00:00Z', 3,
      ['2026-03-08T06:30:00.000Z', '2026-03-08T08:00:00.000Z', '2026-03-08T09:30:00.000Z']],
  ])('%s', (_, clock, after, count, expected) => {
    expect(iso(nextClockTimes(clock, at(after), count))).toEqual(expected);
  });

  it('lists a range inclusive of from, exclusive of to, up to a limit', () => {
    const quarter = { everySeconds: 900, anchor: 0 };
    expect(iso(clockTimesBetween(quarter, at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:00Z'), 10))).toEqual([
      '2026-01-01T00:00:00.000Z', '2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z',
    ]);
    expect(iso(clockTimesBetween(quarter, at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:00Z'), 2))).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:15:00.000Z']);
    expect(clockTimesBetween(quarter, at('2026-01-01T00:00:00.001Z'), at('2026-01-01T00:15:00Z'), 10)).toEqual([]);
    expect(clockTimesBetween(quarter, at('2026-01-01T01:00:00Z'), at('2026-01-01T00:00:00Z'), 10)).toEqual([]);
    expect(clockTimesBetween(quarter, at('2026-01-01T00:00:00Z'), at('2026-01-01T01:00:00Z'), 0)).toEqual([]);
  });

  it('takes the latest missed times before a moment, oldest first, not before a floor', () => {
    expect(iso(latestClockTimesBefore(hourFromOdd, at('2026-06-01T12:00:07.250Z'), at('2026-06-01T00:00:00Z'), 3))).toEqual([
      '2026-06-01T09:00:07.250Z', '2026-06-01T10:00:07.250Z', '2026-06-01T11:00:07.250Z',
    ]);
    expect(iso(latestClockTimesBefore(hourFromOdd, at('2026-06-01T12:00:00Z'), at('2026-06-01T10:00:07.250Z'), 10))).toEqual([
      '2026-06-01T10:00:07.250Z', '2026-06-01T11:00:07.250Z',
    ]);
    expect(latestClockTimesBefore(hourFromOdd, at('2026-06-01T12:00:00Z'), at('2026-06-01T11:30:00Z'), 10)).toEqual([]);
  });
});

describe('cron ranges and catch-up', () => {
  const daily = { cron: '0 3 * * *', timezone: SP };

  it('lists a range inclusive of from, exclusive of to, up to a limit', () => {
    expect(iso(clockTimesBetween(daily, at('2026-01-01T06:00:00Z'), at('2026-01-04T06:00:00Z'), 10))).toEqual([
      '2026-01-01T06:00:00.000Z', '2026-01-02T06:00:00.000Z', '2026-01-03T06:00:00.000Z',
    ]);
    expect(iso(clockTimesBetween(daily, at('2026-01-01T06:00:00Z'), at('2026-01-04T06:00:00Z'), 2))).toEqual(['2026-01-01T06:00:00.000Z', '2026-01-02T06:00:00.000Z']);
    expect(clockTimesBetween(daily, at('2026-01-01T06:00:01Z'), at('2026-01-02T06:00:00Z'), 10)).toEqual([]);
  });

  it('takes the latest missed times before a moment, oldest first, not before a floor', () => {
    expect(iso(latestClockTimesBefore(daily, at('2026-01-10T06:00:00Z'), at('2026-01-01T00:00:00Z'), 3))).toEqual([
      '2026-01-07T06:00:00.000Z', '2026-01-08T06:00:00.000Z', '2026-01-09T06:00:00.000Z',
    ]);
    expect(iso(latestClockTimesBefore(daily, at('2026-01-03T12:00:00Z'), at('2026-01-02T06:00:00Z'), 10))).toEqual([
      '2026-01-02T06:00:00.000Z', '2026-01-03T06:00:00.000Z',
    ]);
    // Catching up over São Paulo's 2018 spring gap: midnight of the 4th counts once, at 03:00Z.
    expect(iso(latestClockTimesBefore({ cron: '0 0 * * *', timezone: SP }, at('2018-11-06T00:00:00Z'), at('2018-11-01T00:00:00Z'), 3))).toEqual([
      '2018-11-03T03:00:00.000Z', '2018-11-04T03:00:00.000Z', '2018-11-05T02:00:00.000Z',
    ]);
  });
});

describe('refusing bad clocks', () => {
  it.each([
    ['a 7-field cron (with years)', () => checkCron('0 0 0 * * * 2030', 'UTC'), 'cron "0 0 0 * * * 2030" has 7 fields: use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)'],
    ['a 4-field cron', () => checkCron('0 0 * *', 'UTC'), 'cron "0 0 * *" has 4 fields'],
    ['a cron firing every second', () => checkCron('* * * * * *', 'UTC'), 'cron "* * * * * *" fires more than once a minute: its seconds field must be one second (0-59), e.g. "30 * * * * *"'],
    ['a cron firing every 10 seconds', () => checkCron('*/10 * * * * *', 'UTC'), 'cron "*/10 * * * * *" fires more than once a minute'],
    ['an empty cron', () => checkCron('  ', 'UTC'), 'cron "  " is empty'],
    ['a minute out of range', () => checkCron('61 * * * *', 'UTC'), 'cron "61 * * * *" is not valid: Invalid value for minute: 61'],
    ['letters croner refuses', () => checkCron('0 3 * * FUNDAY', 'UTC'), 'cron "0 3 * * FUNDAY" is not valid'],
    ['a date that never comes', () => checkCron('0 0 30 2 *', 'UTC'), 'cron "0 0 30 2 *" never runs (no such date)'],
    ['@reboot', () => checkCron('@reboot', 'UTC'), 'cron "@reboot" is not valid'],
    ['an unknown zone', () => checkCron('0 3 * * *', 'America/Rio'), 'unknown time zone "America/Rio": use an IANA name like America/Sao_Paulo'],
    ['an offset instead of a zone', () => checkTimeZone('-03:00'), 'unknown time zone "-03:00"'],
    ['an empty zone', () => checkTimeZone(''), 'time zone "" is empty'],
    ['a duration under a minute', () => parseEvery('30s'), 'every "30s" is shorter than the minimum of 60 seconds'],
    ['a zero duration', () => parseEvery('0m'), 'every "0m" is shorter than the minimum of 60 seconds'],
    ['a duration over 366 days', () => parseEvery('367d'), 'every "367d" is longer than the maximum of 366 days (31622400 seconds)'],
    ['units out of order', () => parseEvery('30m1h'), 'every "30m1h" is not a duration'],
    ['an unknown unit', () => parseEvery('2w'), 'every "2w" is not a duration'],
    ['a bare number string', () => parseEvery('900'), 'every "900" is not a duration'],
    ['an empty duration', () => parseEvery(''), 'every "" is not a duration'],
    ['fractional seconds', () => checkEverySeconds(90.5), 'every 90.5 must be a whole number of seconds'],
    ['too few seconds', () => checkEverySeconds(59), 'every 59 is shorter than the minimum of 60 seconds'],
  ])('refuses %s with BAD_USER_INPUT', (_, action, message) => {
    const { code, message: actual } = refusalOfSync(action);
    expect(code).toBe('BAD_USER_INPUT');
    expect(actual.startsWith(message)).toBe(true);
  });

  it.each([
    ['90s', 90], ['15m', 900], ['1h30m', 5400], ['2h', 7200], ['1d', 86_400], ['1d12h', 129_600], ['366d', 31_622_400], ['60s', 60],
  ])('reads every %s as %i seconds', (every, seconds) => {
    expect(parseEvery(every)).toBe(seconds);
  });

  it('accepts 5 and 6 fields, names, nicknames and zones Intl knows', () => {
    for (const cron of ['0 3 * * *', '30 0 3 * * *', '0 9 * * MON-FRI', '0 0 L * *', '0 12 * * FRI#L', '@daily', '*/15 8-18 * JAN,JUL *']) {
      expect(() => checkCron(cron, SP)).not.toThrow();
    }
    for (const zone of ['UTC', 'America/Sao_Paulo', 'Europe/Lisbon', 'Etc/GMT+3']) expect(() => checkTimeZone(zone)).not.toThrow();
  });
});

describe('canonicalTimeZone', () => {
  it.each([
    ['america/sao_paulo', 'America/Sao_Paulo'],
    ['America/Sao_Paulo', 'America/Sao_Paulo'],
    ['utc', 'UTC'],
  ])('spells %s as %s, so one zone written two ways is one clock', (zone, canonical) => {
    expect(canonicalTimeZone(zone)).toBe(canonical);
  });

  it('refuses an unknown zone with BAD_USER_INPUT', () => {
    expect(() => canonicalTimeZone('Mars/Base')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('unknown time zone "Mars/Base"') }));
  });
});
