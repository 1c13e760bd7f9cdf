// The `schedules` option of flow(): clocks checked when the module loads and normalised into the
// definition `fluxo register` sends.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flow, type ClockOptions } from '../../sdk/index.js';

const noop = async (): Promise<void> => undefined;

describe('declaring clocks', () => {
  it('carries no clocks, skip and a catch-up limit of 10 by default', () => {
    expect(flow('plain', noop).definition).toMatchObject({ schedules: [], missedRuns: 'skip', catchUpLimit: 10 });
  });

  it('normalises cron and interval clocks into the definition register sends', () => {
    const handle = flow(
      'agencies',
      {
        parameters: z.object({ orgao: z.string(), year: z.int().default(2026) }),
        labels: ['rj'],
        schedules: [
          { cron: '0 3 * * *', timezone: 'America/Sao_Paulo', parameters: { orgao: 'smtr' }, labels: ['rj-smtr', 'rj-smtr'] },
          { cron: '  30   0 3 * * 1-5 ', parameters: { orgao: 'escritorio', year: 2025 } },
          { every: '1h30m', anchor: '2026-01-01T00:05:00-03:00', parameters: { orgao: 'sme' } },
          { every: 900, anchor: new Date('2026-01-01T00:00:07.250Z'), parameters: { orgao: 'cor' } },
          { every: '1d', parameters: { orgao: 'iplan' } },
        ],
        missedRuns: 'catch-up',
        catchUpLimit: 3,
      },
      noop,
    );
    expect(handle.definition.schedules).toEqual([
      { cron: '0 3 * * *', timezone: 'America/Sao_Paulo', parameters: { orgao: 'smtr' }, labels: ['rj-smtr'] },
      { cron: '30 0 3 * * 1-5', parameters: { orgao: 'escritorio', year: 2025 } },
      { everySeconds: 5400, anchor: '2026-01-01T03:05:00.000Z', parameters: { orgao: 'sme' } },
      { everySeconds: 900, anchor: '2026-01-01T00:00:07.250Z', parameters: { orgao: 'cor' } },
      { everySeconds: 86_400, parameters: { orgao: 'iplan' } },
    ]);
    expect(handle.definition).toMatchObject({ missedRuns: 'catch-up', catchUpLimit: 3, labels: ['rj'] });
    // A clock without labels leaves the key out: its runs get the version's labels.
    expect('labels' in handle.definition.schedules![1]!).toBe(false);
    // Plain data: the definition travels as JSON and is hashed.
    expect(JSON.parse(JSON.stringify(handle.definition))).toEqual(handle.definition);
  });

  it('copies clock parameters, so later changes to the object change nothing', () => {
    const parameters = { city: 'Niterói', nested: { list: [1, 2] } };
    const handle = flow('copy', { schedules: [{ cron: '0 3 * * *', parameters }] } as never, noop);
    parameters.nested.list.push(3);
    expect(handle.definition.schedules![0]!.parameters).toEqual({ city: 'Niterói', nested: { list: [1, 2] } });
  });

  it('takes up to 50 clocks', () => {
    // Built apart from the flow, typed with the flow's parameters (a flow without parameters takes none).
    const schedules: ClockOptions<Record<string, never>>[] = Array.from({ length: 50 }, (_, minute) => ({ cron: `${minute} * * * *` }));
    expect(flow('many', { schedules }, noop).definition.schedules).toHaveLength(50);
  });
});

describe('refusing misused clocks when the module loads', () => {
  const define = (options: Record<string, unknown>) => () => flow('f', options as never, noop);

  it.each([
    ['schedules that are not an array', { schedules: { cron: '0 3 * * *' } }, 'flow "f": schedules must be an array of clocks ({ cron } or { every })'],
    ['51 clocks', { schedules: Array.from({ length: 51 }, (_, minute) => ({ cron: `${minute % 60} ${Math.floor(minute / 60)} * * *` })) }, 'flow "f": schedules has 51 clocks, at most 50 are allowed'],
    ['a clock that is a string', { schedules: ['0 3 * * *'] }, 'flow "f": schedules[0]: a clock must be an object ({ cron } or { every })'],
    ['both cron and every', { schedules: [{ cron: '0 3 * * *', every: '1h' }] }, 'flow "f": schedules[0]: a clock takes exactly one of cron and every'],
    ['neither cron nor every', { schedules: [{ parameters: {} }] }, 'flow "f": schedules[0]: a clock takes exactly one of cron and every'],
    ['a zone on an interval', { schedules: [{ every: '1h', timezone: 'America/Sao_Paulo' }] }, 'flow "f": schedules[0]: timezone goes with cron, not every'],
    ['an anchor on a cron', { schedules: [{ cron: '0 3 * * *', anchor: '2026-01-01T00:00:00Z' }] }, 'flow "f": schedules[0]: anchor goes with every, not cron'],
    ['a misspelt option', { schedules: [{ cron: '0 3 * * *', timeZone: 'America/Sao_Paulo' }] }, 'flow "f": schedules[0]: unknown option "timeZone" (a cron clock takes cron, timezone, parameters, labels)'],
    ['a cron that is not a string', { schedules: [{ cron: 3 }] }, "flow \"f\": schedules[0]: cron must be a string like '0 3 * * *' (got 3)"],
    ['a 7-field cron', { schedules: [{ cron: '0 3 * * *' }, { cron: '0 0 3 * * * 2030' }] }, 'flow "f": schedules[1]: cron "0 0 3 * * * 2030" has 7 fields'],
    ['an invalid cron', { schedules: [{ cron: '0 25 * * *' }] }, 'flow "f": schedules[0]: cron "0 25 * * *" is not valid: Invalid value for hour: 25'],
    ['a cron that never runs', { schedules: [{ cron: '0 0 31 4 *' }] }, 'flow "f": schedules[0]: cron "0 0 31 4 *" never runs'],
    ['an unknown zone', { schedules: [{ cron: '0 3 * * *', timezone: 'Brazil/Rio' }] }, 'flow "f": schedules[0]: unknown time zone "Brazil/Rio": use an IANA name like America/Sao_Paulo'],
    ['a zone that is not a string', { schedules: [{ cron: '0 3 * * *', timezone: -3 }] }, "flow \"f\": schedules[0]: timezone must be an IANA name like 'America/Sao_Paulo' (got -3)"],
    ['a duration under a minute', { schedules: [{ every: '30s' }] }, 'flow "f": schedules[0]: every "30s" is shorter than the minimum of 60 seconds'],
    ['seconds under a minute', { schedules: [{ every: 59 }] }, 'flow "f": schedules[0]: every 59 is shorter than the minimum of 60 seconds'],
    ['fractional seconds', { schedules: [{ every: 90.5 }] }, 'flow "f": schedules[0]: every 90.5 must be a whole number of seconds'],
    ['a duration over 366 days', { schedules: [{ every: '400d' }] }, 'flow "f": schedules[0]: every "400d" is longer than the maximum of 366 days'],
    ['a duration in words', { schedules: [{ every: '15 minutes' }] }, 'flow "f": schedules[0]: every "15 minutes" is not a duration'],
    ['every as an object', { schedules: [{ every: { minutes: 15 } }] }, "flow \"f\": schedules[0]: every must be a duration like '15m' or a number of seconds (got an object)"],
    ['an anchor without a zone', { schedules: [{ every: '1h', anchor: '2026-01-01T00:05:00' }] }, "flow \"f\": schedules[0]: anchor must be a Date or an ISO instant with a zone like '2026-01-01T00:05:00-03:00' (got \"2026-01-01T00:05:00\")"],
    ['an anchor that is a date only', { schedules: [{ every: '1h', anchor: '2026-01-01' }] }, 'flow "f": schedules[0]: anchor must be a Date or an ISO instant'],
    ['an anchor on no real day', { schedules: [{ every: '1h', anchor: '2026-02-30T00:00:00Z' }] }, 'flow "f": schedules[0]: anchor "2026-02-30T00:00:00Z" is not a valid date'],
    ['an invalid Date anchor', { schedules: [{ every: '1h', anchor: new Date('nope') }] }, 'flow "f": schedules[0]: anchor a Date is not a valid date'],
    ['an anchor as epoch ms', { schedules: [{ every: '1h', anchor: 0 }] }, 'flow "f": schedules[0]: anchor must be a Date or an ISO instant with a zone'],
    ['parameters that are an array', { schedules: [{ cron: '0 3 * * *', parameters: ['smtr'] }] }, 'flow "f": schedules[0]: parameters must be a plain JSON object (got an array)'],
    ['parameters holding a Date', { schedules: [{ cron: '0 3 * * *', parameters: { day: new Date(0) } }] }, 'flow "f": schedules[0]: parameters must be plain JSON: parameters.day is a Date'],
    ['parameters holding undefined', { schedules: [{ cron: '0 3 * * *', parameters: { list: [1, undefined] } }] }, 'flow "f": schedules[0]: parameters must be plain JSON: parameters.list[1] is undefined'],
    ['parameters holding NaN', { schedules: [{ cron: '0 3 * * *', parameters: { n: Number.NaN } }] }, 'flow "f": schedules[0]: parameters must be plain JSON: parameters.n is NaN'],
    ['parameters that are a Map', { schedules: [{ cron: '0 3 * * *', parameters: new Map() }] }, 'flow "f": schedules[0]: parameters must be a plain JSON object (got a Map)'],
    ['labels with a comma', { schedules: [{ cron: '0 3 * * *', labels: ['rj,smtr'] }] }, 'flow "f": schedules[0]: label "rj,smtr" must be 1-100 letters, digits, "-", "_", ".", ":" or "/", starting with a letter or digit'],
    ['labels as a string', { schedules: [{ every: '1h', labels: 'rj' }] }, 'flow "f": schedules[0]: labels must be an array of strings'],
    ['the same clock twice', { schedules: [{ cron: '0 3 * * *', parameters: { a: 1, b: 2 } }, { cron: '0  3 * * *', parameters: { b: 2, a: 1 } }] }, 'flow "f": schedules[1] repeats schedules[0]'],
    ['an unknown missed-runs policy', { missedRuns: 'CATCH_UP' }, 'flow "f": missedRuns must be \'skip\' or \'catch-up\' (got "CATCH_UP")'],
    ['a zero catch-up limit', { catchUpLimit: 0 }, 'flow "f": catchUpLimit must be an integer from 1 to 1000 (got 0)'],
    ['a catch-up limit over 1000', { catchUpLimit: 1001 }, 'flow "f": catchUpLimit must be an integer from 1 to 1000 (got 1001)'],
    ['a fractional catch-up limit', { catchUpLimit: 2.5 }, 'flow "f": catchUpLimit must be an integer from 1 to 1000 (got 2.5)'],
  ])('throws TypeError for %s', (_, options, message) => {
    expect(define(options)).toThrow(TypeError);
    expect(define(options)).toThrow(message);
  });

  it('keeps the clock-math error as the cause', () => {
    let caught: unknown;
    try {
      flow('f', { schedules: [{ every: '1x' }] }, noop);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).cause).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('every "1x" is not a duration') });
  });

  it('types clock parameters after the flow parameters', () => {
    flow(
      'typed',
      {
        parameters: z.object({ orgao: z.string(), year: z.int().default(2026) }),
        schedules: [
          { cron: '0 3 * * *', parameters: { orgao: 'smtr' } },
          // @ts-expect-error: `ano` is not a parameter of the flow
          { cron: '0 4 * * *', parameters: { orgao: 'smtr', ano: 2020 } },
        ],
      },
      noop,
    );
    // @ts-expect-error: a flow without parameters takes no clock parameters
    expect(() => flow('bare', { schedules: [{ every: '1h', parameters: { x: 1 } }] }, noop)).not.toThrow();
  });
});
