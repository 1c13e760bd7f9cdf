// `fluxo schedules list | pause | resume` and `fluxo runs backfill` through the real CLI, proxy and
// server processes: what an operator types, what it prints, and what it refuses.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';

const FLOW = 'daily-extract';

interface ScheduleJson {
  state: string;
  missedRuns: string;
  flow: { name: string; project: { name: string } };
  clocks: { index: number; cron: string | null; timezone: string | null; everySeconds: number | null; parameters: Record<string, unknown>; labels: string[] | null; nextTimes: string[] }[];
}

interface BackfillJson {
  total: number;
  created: number;
  existing: number;
  flowRuns: { id: string; scheduledAt: string; state: string }[];
}

function json<T>(result: { exitCode: number; stdout: string; stderr: string }): T {
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe('fluxo schedules and fluxo runs backfill', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'scheduled.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
  }, 60_000);

  describe('list', () => {
    it('shows the registered clocks with their next times', async () => {
      const [schedule] = json<ScheduleJson[]>(await stack.cli(['schedules', 'list', '--json']));
      expect(schedule).toMatchObject({ state: 'ACTIVE', missedRuns: 'SKIP', flow: { name: FLOW, project: { name: 'production' } } });
      const [cron, interval] = schedule!.clocks;
      expect(cron).toMatchObject({ index: 0, cron: '0 3 * * *', timezone: 'America/Sao_Paulo', everySeconds: null, parameters: { agency: 'smtr', full: false }, labels: ['rj-smtr'] });
      expect(interval).toMatchObject({ index: 1, cron: null, everySeconds: 6 * 3600, parameters: { agency: 'cor', full: false }, labels: ['rj-cor'] });
      // São Paulo has had no daylight saving since 2019: 03:00 there is 06:00Z every day.
      expect(cron!.nextTimes).toHaveLength(3);
      for (const time of cron!.nextTimes) expect(time).toMatch(/T06:00:00\.000Z$/);
      for (const time of interval!.nextTimes) expect(time).toMatch(/T(00|06|12|18):00:00\.000Z$/);
      const times = interval!.nextTimes.map(Date.parse);
      expect(times[1]! - times[0]!).toBe(6 * 3600 * 1000);
    });

    it('prints a table an operator can read', async () => {
      const result = await stack.cli(['schedules', 'list', '--project', 'production']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^FLOW\s+STATE\s+CLOCKS\s+NEXT RUN\s+MISSED RUNS/);
      expect(result.stdout).toContain(`production/${FLOW} v1`);
      expect(result.stdout).toContain('#0 cron "0 3 * * *" America/Sao_Paulo {"agency":"smtr","full":false} [rj-smtr]');
      expect(result.stdout).toContain('#1 every 6h');
    });

    it('never prints FLUXO_TOKEN, in help or after a usage error', async () => {
      const env = { FLUXO_TOKEN: 'token-that-must-not-leak' };
      for (const args of [['schedules', 'list', '--bogus'], ['schedules', 'pause', '--help'], ['register', '--help']]) {
        const result = await stack.cli(args, { env });
        expect(`${result.stdout}${result.stderr}`, args.join(' ')).toContain('--token');
        expect(`${result.stdout}${result.stderr}`, args.join(' ')).not.toContain('token-that-must-not-leak');
      }
    });

    it('says so when a project has no schedules', async () => {
      const result = await stack.cli(['schedules', 'list', '--project', 'staging']);
      expect(result).toMatchObject({ exitCode: 0, stdout: '' });
      expect(result.stderr).toContain('no schedules in project "staging"');
    });
  });

  describe('pause and resume', () => {
    it('pauses: the schedule lists as paused and its future scheduled runs are gone', async () => {
      const paused = await stack.cli(['schedules', 'pause', FLOW]);
      expect(paused.exitCode, paused.stderr).toBe(0);
      expect(paused.stdout.trim()).toBe(`production/${FLOW}: PAUSED`);
      const listed = json<ScheduleJson[]>(await stack.cli(['schedules', 'list', '--state', 'paused', '--json']));
      expect(listed.map((schedule) => schedule.flow.name)).toEqual([FLOW]);
      expect(json<ScheduleJson[]>(await stack.cli(['schedules', 'list', '--state', 'active', '--json']))).toEqual([]);
      const runs = json<{ state: string; scheduledAt: string }[]>(await stack.cli(['runs', 'list', '--flow', FLOW, '--state', 'scheduled', '--json']));
      expect(runs.filter((run) => Date.parse(run.scheduledAt) > Date.now())).toEqual([]);
    });

    it('pausing twice changes nothing', async () => {
      const again = await stack.cli(['schedules', 'pause', FLOW, '--json']);
      expect(json<ScheduleJson>(again).state).toBe('PAUSED');
    });

    it('resumes, showing the next run', async () => {
      const resumed = await stack.cli(['schedules', 'resume', FLOW]);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(resumed.stdout.trim()).toMatch(new RegExp(`^production/${FLOW}: ACTIVE \\(next run \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\)$`));
    });

    it.each([
      [['schedules', 'pause', 'no-such-flow'], 4, 'NOT_FOUND'],
      [['schedules', 'pause', FLOW, '--project', 'staging'], 4, 'NOT_FOUND'],
      [['schedules', 'list', '--state', 'sleeping'], 2, '--state must be active or paused, not "sleeping"'],
    ])('refuses fluxo %j with exit %i', async (args, exitCode, message) => {
      const result = await stack.cli(args);
      expect(result.exitCode).toBe(exitCode);
      expect(result.stderr).toContain(message);
    });

    it.each(['viewer', 'ci'] as const)('refuses a %s token with FORBIDDEN (exit 3) and leaves the schedule as it was', async (role) => {
      const result = await stack.cli(['schedules', 'pause', FLOW], { role });
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('[FORBIDDEN]');
      expect(json<ScheduleJson[]>(await stack.cli(['schedules', 'list', '--json']))[0]!.state).toBe('ACTIVE');
    });
  });

  describe('backfill', () => {
    // 2018-11-04: São Paulo's daylight saving started at midnight, so 03:00 local moved from 06:00Z to 05:00Z.
    const range = ['--from', '2018-11-01T00:00:00-03:00', '--to', '2018-11-08T00:00:00-02:00'];

    it('creates one run per clock time in the clock zone, oldest first', async () => {
      const result = json<BackfillJson>(await stack.cli(['runs', 'backfill', FLOW, ...range, '--clock', '0', '--json']));
      expect(result).toMatchObject({ total: 7, created: 7, existing: 0 });
      expect(result.flowRuns.map((run) => run.scheduledAt)).toEqual([
        '2018-11-01T06:00:00.000Z',
        '2018-11-02T06:00:00.000Z',
        '2018-11-03T06:00:00.000Z',
        '2018-11-04T05:00:00.000Z',
        '2018-11-05T05:00:00.000Z',
        '2018-11-06T05:00:00.000Z',
        '2018-11-07T05:00:00.000Z',
      ]);
    });

    it('creates nothing new when run again, and says so', async () => {
      const again = json<BackfillJson>(await stack.cli(['runs', 'backfill', FLOW, ...range, '--clock', '0', '--json']));
      expect(again).toMatchObject({ total: 7, created: 0, existing: 7 });
      const human = await stack.cli(['runs', 'backfill', FLOW, ...range, '--clock', '0']);
      expect(human.exitCode, human.stderr).toBe(0);
      expect(human.stdout.trim()).toBe(`backfill of production/${FLOW}: 7 run(s) from 2018-11-01 06:00:00Z to 2018-11-07 05:00:00Z: 0 created, 7 already there`);
      // Not a terminal: no progress line.
      expect(human.stderr).toBe('');
    });

    it('passes edited parameters, as new runs of their own', async () => {
      const edited = json<BackfillJson>(await stack.cli(['runs', 'backfill', FLOW, ...range, '--clock', '0', '--param', 'full=true', '--json']));
      expect(edited).toMatchObject({ total: 7, created: 7, existing: 0 });
      const developer = await stack.client('developer');
      const { flowRun } = await developer.request<{ flowRun: { parameters: unknown; labels: string[] } }>('query($id: ID!) { flowRun(id: $id) { parameters labels } }', { id: edited.flowRuns[0]!.id });
      expect(flowRun).toEqual({ parameters: { agency: 'smtr', full: true }, labels: ['rj-smtr'] });
    });

    it('covers every clock when no --clock is given, in time order', async () => {
      const all = json<BackfillJson>(await stack.cli(['runs', 'backfill', FLOW, '--from', '2018-11-04T00:00:00Z', '--to', '2018-11-04T12:00:00Z', '--json']));
      // The interval clock at 00:00Z and 06:00Z, the cron clock at 05:00Z.
      expect(all.flowRuns.map((run) => run.scheduledAt)).toEqual(['2018-11-04T00:00:00.000Z', '2018-11-04T05:00:00.000Z', '2018-11-04T06:00:00.000Z']);
      expect(all).toMatchObject({ total: 3, existing: 1, created: 2 });
    });

    it.each([
      [['--from', '2018-11-01', '--to', '2018-11-08T00:00:00Z'], 2, 'BAD_USER_INPUT'],
      [['--from', '2018-11-08T00:00:00Z', '--to', '2018-11-01T00:00:00Z'], 2, 'BAD_USER_INPUT'],
      [['--from', '2018-11-01T00:00:00Z', '--to', '2018-11-08T00:00:00Z', '--clock', 'x'], 2, '--clock must be a clock index'],
      [['--from', '2018-11-01T00:00:00Z', '--to', '2018-11-08T00:00:00Z', '--clock', '7'], 2, 'clock'],
      [['--from', '2018-11-01T00:00:00Z', '--to', '2018-11-08T00:00:00Z', '--param', 'full=maybe'], 2, 'INVALID_PARAMETERS'],
    ])('refuses %j with exit %i and creates nothing', async (args, exitCode, message) => {
      const before = await backfilledRuns();
      const result = await stack.cli(['runs', 'backfill', FLOW, ...args]);
      expect(result.exitCode, result.stderr).toBe(exitCode);
      expect(result.stderr).toContain(message);
      expect(await backfilledRuns()).toBe(before);
    });

    it('refuses a viewer', async () => {
      const before = await backfilledRuns();
      const result = await stack.cli(['runs', 'backfill', FLOW, ...range, '--param', 'full=true'], { role: 'viewer' });
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toContain('[FORBIDDEN]');
      expect(await backfilledRuns()).toBe(before);
    });

    /** Runs due in 2018: only backfills make those (the scheduler's are in the future). */
    async function backfilledRuns(): Promise<number> {
      const runs = json<{ scheduledAt: string }[]>(await stack.cli(['runs', 'list', '--flow', FLOW, '--limit', '1000', '--json']));
      return runs.filter((run) => run.scheduledAt < '2019').length;
    }
  });
});
