// Schedules against real stores (SQLite and PostgreSQL): clocks at registration, the scheduler's
// horizon (with injected time, so daylight-saving days are filled without waiting for them), the
// operator's switch, and backfills. Time passed to fillOnce is "now" as the database would say it.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService, type RegisterFlowArgs } from '../../server/core/service.js';
import { planClock, Scheduler } from '../../server/services/scheduler.js';
import type { ClockRecord, FlowRunRecord } from '../../server/store/records.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup, waitFor } from '../support/harness.js';
import { startTestServer } from '../support/test-server.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const tenant = developer.tenant;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();
const at = (text: string): number => Date.parse(text);

const flow = (overrides: Partial<RegisterFlowArgs> = {}): RegisterFlowArgs => ({
  project: 'production',
  name: 'captura',
  storageUri: 'file:///tmp/bundles/captura.mjs',
  sha256: 'c'.repeat(64),
  size: 100,
  entrypoint: 'captura',
  parameterSchema: { type: 'object', properties: { orgao: { type: 'string' }, ano: { type: 'integer', default: 2020 } }, additionalProperties: false },
  defaultLabels: ['rj'],
  ...overrides,
});

/** Every run of a flow, by time then clock. */
async function runsOf(store: Store, flowId: string): Promise<FlowRunRecord[]> {
  const runs: FlowRunRecord[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await store.listFlowRuns(tenant, { flowId }, { first: 500, after });
    runs.push(...page.nodes);
    if (!page.hasNextPage) break;
    after = page.endCursor;
  }
  return runs.sort((a, b) => a.scheduledAt - b.scheduledAt || String(a.clockKey).localeCompare(String(b.clockKey)));
}

describe.each(adapters)('schedules on $name', ({ open }) => {
  async function setup(options: { horizonMs?: number; refillSlackMs?: number; timezone?: string } = {}) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const events = new EventBus();
    const service = new FluxoService(store, events, { timezone: options.timezone ?? 'UTC' });
    const scheduler = new Scheduler(store, events, { logger: pino({ level: 'silent' }), horizonMs: options.horizonMs ?? HOUR, refillSlackMs: options.refillSlackMs ?? 0, batchSize: 100 });
    onCleanup(() => scheduler.stop());
    const register = async (overrides: Partial<RegisterFlowArgs> = {}) => service.registerFlow(developer, flow(overrides));
    return { store, events, service, scheduler, register };
  }

  describe('registration', () => {
    it('keeps the content hash a flow without clocks had before schedules existed, so re-registering creates no version', async () => {
      const { register } = await setup();
      const args = flow();
      const first = await register();
      // The formula of every version registered before schedules: the settings but the location.
      const before = {
        sha256: args.sha256,
        size: args.size,
        entrypoint: args.entrypoint,
        parameterSchema: args.parameterSchema,
        defaultLabels: ['rj'],
        secrets: [],
        retries: 0,
        retryDelaySeconds: 10,
        timeoutSeconds: null,
        description: null,
      };
      expect(first.version.contentHash).toBe(createHash('sha256').update(JSON.stringify(before)).digest('hex'));
      const again = await register({ schedules: [], missedRuns: 'CATCH_UP', scheduleState: 'PAUSED' });
      expect(again).toMatchObject({ created: false, version: { id: first.version.id, clocks: [], missedRuns: 'SKIP', catchUpLimit: 10 } });
    });

    it('normalises clocks: default zone and anchor, coerced parameters, sorted labels, stable keys by position', async () => {
      const { register } = await setup({ timezone: 'America/Sao_Paulo' });
      const { version } = await register({
        schedules: [
          { cron: '0  3 * * *', parameters: { orgao: 'smtr', ano: '2021' }, labels: ['b', 'a'] },
          { everySeconds: 900 },
          { cron: '0 6 * * 1', timezone: 'America/New_York' },
        ],
        missedRuns: 'CATCH_UP',
        catchUpLimit: 4,
      });
      expect(version.clocks).toMatchObject([
        { index: 0, cron: '0 3 * * *', timezone: 'America/Sao_Paulo', everySeconds: null, anchor: null, parameters: { orgao: 'smtr', ano: 2021 }, labels: ['a', 'b'] },
        { index: 1, cron: null, timezone: null, everySeconds: 900, anchor: 0, parameters: { ano: 2020 }, labels: null },
        { index: 2, cron: '0 6 * * 1', timezone: 'America/New_York' },
      ]);
      expect(version.clocks.every((c) => /^[0-9a-f]{16}$/.test(c.key))).toBe(true);
      expect(new Set(version.clocks.map((c) => c.key)).size).toBe(3);
      expect(version).toMatchObject({ missedRuns: 'CATCH_UP', catchUpLimit: 4 });
      // The same clocks in another order: a new version (positions matter), the same keys.
      const reordered = await register({
        schedules: [{ everySeconds: 900 }, { cron: '0 6 * * 1', timezone: 'America/New_York' }, { cron: '0 3 * * *', parameters: { ano: 2021, orgao: 'smtr' }, labels: ['a', 'b'] }],
        missedRuns: 'CATCH_UP',
        catchUpLimit: 4,
      });
      expect(reordered.created).toBe(true);
      expect(reordered.version.clocks.map((c) => c.key)).toEqual([version.clocks[1]!.key, version.clocks[2]!.key, version.clocks[0]!.key]);
      // A zone spelt in other letters is the same zone: the same clock, the same key.
      const respelt = await register({
        schedules: [{ everySeconds: 900 }, { cron: '0 6 * * 1', timezone: 'america/new_york' }, { cron: '0 3 * * *', parameters: { ano: 2021, orgao: 'smtr' }, labels: ['a', 'b'] }],
        missedRuns: 'CATCH_UP',
        catchUpLimit: 4,
      });
      expect(respelt).toMatchObject({ created: false, version: { id: reordered.version.id } });
      expect(respelt.version.clocks[1]).toMatchObject({ timezone: 'America/New_York' });
    });

    it.each([
      ['both cron and everySeconds', [{ cron: '* * * * *', everySeconds: 60 }], 'BAD_USER_INPUT', /schedules\[0\]: give exactly one of cron and everySeconds/],
      ['neither', [{ parameters: {} }], 'BAD_USER_INPUT', /schedules\[0\]: give exactly one/],
      ['a zone on an interval', [{ everySeconds: 60, timezone: 'UTC' }], 'BAD_USER_INPUT', /schedules\[0\]: timezone belongs to a cron clock/],
      ['an anchor on a cron clock', [{ cron: '* * * * *', anchor: '2026-01-01T00:00:00Z' }], 'BAD_USER_INPUT', /schedules\[0\]: anchor belongs/],
      ['an interval under a minute', [{ everySeconds: 59 }], 'BAD_USER_INPUT', /schedules\[0\]\.everySeconds must be an integer from 60 to 31622400/],
      ['an interval over 366 days', [{ everySeconds: 31_622_401 }], 'BAD_USER_INPUT', /everySeconds/],
      ['an anchor without a zone', [{ everySeconds: 60, anchor: '2026-01-01T00:00:00' }], 'BAD_USER_INPUT', /schedules\[0\]\.anchor/],
      ['a bad cron expression', [{ everySeconds: 60 }, { cron: '61 * * * *' }], 'BAD_USER_INPUT', /schedules\[1\]: cron "61 \* \* \* \*"/],
      ['an unknown zone', [{ cron: '0 3 * * *', timezone: 'America/Atlantis' }], 'BAD_USER_INPUT', /schedules\[0\]: unknown time zone/],
      ['parameters the schema refuses', [{ everySeconds: 60 }, { everySeconds: 120, parameters: { ano: 'dois mil' } }], 'INVALID_PARAMETERS', /^schedules\[1\]: /],
      ['a bad clock label', [{ everySeconds: 60, labels: ['has space'] }], 'BAD_USER_INPUT', /schedules\[0\]\.labels/],
      ['the same clock twice', [{ everySeconds: 60 }, { everySeconds: 60, anchor: '1970-01-01T00:00:00Z' }], 'BAD_USER_INPUT', /schedules\[1\] repeats schedules\[0\]/],
      ['51 clocks', Array.from({ length: 51 }, (_, i) => ({ everySeconds: 60 * (i + 1) })), 'BAD_USER_INPUT', /at most 50 clocks/],
    ])('refuses %s, naming the clock, and records nothing', async (_, schedules, code, message) => {
      const { register, store } = await setup();
      await expect(register({ schedules })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
      expect((await store.listFlows(tenant, null, { first: 10 })).nodes).toEqual([]);
    });

    it.each([
      ['catchUpLimit 0', { catchUpLimit: 0 }, /catchUpLimit must be an integer from 1 to 1000/],
      ['catchUpLimit 1001', { catchUpLimit: 1001 }, /catchUpLimit/],
    ])('refuses %s', async (_, overrides, message) => {
      const { register } = await setup();
      await expect(register({ schedules: [{ everySeconds: 60 }], ...overrides })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
    });

    it('wakes the scheduler when a registration records a version, not when it is a no-op', async () => {
      const { register, events } = await setup();
      let wakes = 0;
      events.on('schedules:changed', () => wakes++);
      await register({ schedules: [{ everySeconds: 60 }] });
      await register({ schedules: [{ everySeconds: 60 }] });
      expect(wakes).toBe(1);
    });
  });

  describe('the horizon', () => {
    it('fills an hour ahead from now, at least 3 runs per clock, and a second pass creates nothing', async () => {
      const { register, scheduler, store } = await setup();
      const { version } = await register({ schedules: [{ everySeconds: 60, parameters: { orgao: 'smtr' } }, { cron: '0 * * * *', labels: ['noturno'] }] });
      const now = at('2030-01-01T00:00:30Z');
      const first = await scheduler.fillOnce(now);
      const runs = await runsOf(store, version.flowId);
      const [everyMinute, hourly] = version.clocks as [(typeof version.clocks)[0], (typeof version.clocks)[0]];
      const minuteRuns = runs.filter((r) => r.clockKey === everyMinute.key);
      const hourlyRuns = runs.filter((r) => r.clockKey === hourly.key);
      // [00:00:30, 01:00:30): 00:01 .. 01:00.
      expect(minuteRuns.map((r) => r.scheduledAt)).toEqual(Array.from({ length: 60 }, (_, i) => at('2030-01-01T00:01:00Z') + i * MINUTE));
      // The hour holds one hourly time; three are kept.
      expect(hourlyRuns.map((r) => iso(r.scheduledAt))).toEqual(['2030-01-01T01:00:00.000Z', '2030-01-01T02:00:00.000Z', '2030-01-01T03:00:00.000Z']);
      expect(first).toMatchObject({ schedules: 1, created: 63 });
      expect(minuteRuns[0]).toMatchObject({
        state: 'SCHEDULED',
        parameters: { orgao: 'smtr', ano: 2020 },
        labels: ['rj'],
        priority: 0,
        idempotencyKey: `schedule:${version.flowId}:${everyMinute.key}:2030-01-01T00:01:00.000Z`,
        flowVersionId: version.id,
      });
      expect(hourlyRuns[0]!.labels).toEqual(['noturno']);
      expect(await store.listStateTransitions(tenant, minuteRuns[0]!.id, null)).toMatchObject([{ fromState: null, toState: 'SCHEDULED', actor: 'server:scheduler' }]);

      expect(await scheduler.fillOnce(now)).toMatchObject({ created: 0 });
      expect(await scheduler.fillOnce(now + 1_000)).toMatchObject({ created: 0 });
      expect(await runsOf(store, version.flowId)).toHaveLength(63);
      // Ten minutes on, the horizon moved ten minutes: ten more minute runs, no more hourly ones.
      expect(await scheduler.fillOnce(now + 10 * MINUTE)).toMatchObject({ created: 10 });
    });

    it('started, fills when a registration wakes it, runs one pass at a time, and stops listening on stop()', async () => {
      const { register, store, events } = await setup();
      const scheduler = new Scheduler(store, events, { logger: pino({ level: 'silent' }), intervalMs: 600_000 });
      let active = 0;
      let most = 0;
      scheduler.on('fill:started', () => (most = Math.max(most, ++active)));
      scheduler.on('fill:finished', (report) => {
        if (report.schedules > 0) active--;
      });
      scheduler.start();
      onCleanup(() => scheduler.stop());
      const { version } = await register({ schedules: [{ everySeconds: 300 }] });
      // Not the interval (ten minutes): the registration's wake.
      await waitFor(async () => (await runsOf(store, version.flowId)).length >= 12, { what: 'the woken fill' });
      const now = (await store.now()) + 2 * HOUR;
      const reports = await Promise.all([scheduler.fillOnce(now), scheduler.fillOnce(now), scheduler.fillOnce(now)]);
      expect(reports[0]!.created).toBeGreaterThanOrEqual(13);
      expect(reports.slice(1).map((r) => r.created)).toEqual([0, 0]);
      expect(most).toBe(1);
      await scheduler.stop();
      expect(events.listenerCount('schedules:changed')).toBe(0);
    });

    it('fills past the horizon by the refill slack, and refills only when the slack is used up', async () => {
      const { register, scheduler, store } = await setup({ refillSlackMs: 6 * MINUTE });
      const { version } = await register({ schedules: [{ everySeconds: 60 }] });
      const now = at('2030-01-01T00:00:00Z');
      expect(await scheduler.fillOnce(now)).toMatchObject({ created: 66 });
      expect(await scheduler.fillOnce(now + 5 * MINUTE)).toMatchObject({ schedules: 0, created: 0 });
      expect(await scheduler.fillOnce(now + 6 * MINUTE)).toMatchObject({ schedules: 1, created: 6 });
      const times = (await runsOf(store, version.flowId)).map((r) => r.scheduledAt);
      expect(times).toEqual(Array.from({ length: 72 }, (_, i) => now + i * MINUTE));
    });

    it('re-registering the same clocks creates no version and no runs; a new version with the same clocks keeps a paused switch', async () => {
      const { register, scheduler, store, service } = await setup();
      const schedules = [{ everySeconds: 600 }];
      const { version } = await register({ schedules });
      const now = await store.now();
      await scheduler.fillOnce(now);
      const before = await runsOf(store, version.flowId);
      expect(before.length).toBeGreaterThanOrEqual(6);
      expect((await register({ schedules })).created).toBe(false);
      await scheduler.fillOnce(now);
      expect((await runsOf(store, version.flowId)).map((r) => r.id)).toEqual(before.map((r) => r.id));

      await service.schedules.pause(developer, { flowName: 'captura' });
      const next = await register({ schedules, sha256: 'd'.repeat(64), scheduleState: 'ACTIVE' });
      expect(next.created).toBe(true);
      expect(await store.getFlowSchedule(tenant, version.flowId)).toMatchObject({ state: 'PAUSED', version: { id: next.version.id } });
    });

    it('a new version with a changed clock replaces only the scheduler runs of the old clock that no agent took', async () => {
      const { register, scheduler, store, service } = await setup();
      const kept = { everySeconds: 600 };
      const dropped = { everySeconds: 900, labels: ['b'] };
      const { version } = await register({ schedules: [kept, dropped] });
      const [keptKey, droppedKey] = version.clocks.map((c) => c.key) as [string, string];
      const now = await store.now();
      // Filled from half an hour ago, as if the server had been filling all along: some runs are due.
      await scheduler.fillOnce(now - 30 * MINUTE);
      const agent = await service.registerAgent(agentIdentity, { name: 'b', labels: ['b'], concurrency: 5 });
      const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      expect(claims).toHaveLength(1);
      expect(claims[0]!.run.clockKey).toBe(droppedKey);
      const backfilled = await service.schedules.backfill(developer, { flowName: 'captura', from: iso(now + 2 * HOUR), to: iso(now + 3 * HOUR), clock: 1 });
      expect(backfilled.created).toBe(4);
      const keptRuns = (await runsOf(store, version.flowId)).filter((r) => r.clockKey === keptKey).map((r) => r.id);

      const changed = await register({ schedules: [kept, { everySeconds: 1200 }] });
      const newKey = changed.version.clocks[1]!.key;
      const after = await runsOf(store, version.flowId);
      expect(after.filter((r) => r.clockKey === keptKey).map((r) => r.id)).toEqual(keptRuns);
      // Of the dropped clock, only the run an agent holds is left; the backfill's runs are the user's.
      expect(after.filter((r) => r.clockKey === droppedKey).map((r) => r.id)).toEqual([claims[0]!.run.id]);
      expect(after.filter((r) => r.clockKey === null)).toHaveLength(4);

      const refill = await scheduler.fillOnce(await store.now());
      const refilled = await runsOf(store, version.flowId);
      expect(refilled.filter((r) => r.clockKey === newKey).length).toBeGreaterThanOrEqual(3);
      // The kept clock only moves on with the horizon (it was filled from half an hour ago).
      expect(refilled.filter((r) => r.clockKey === keptKey).slice(0, keptRuns.length).map((r) => r.id)).toEqual(keptRuns);
      expect(refill.created).toBe(refilled.length - after.length);
    });
  });

  describe('the switch', () => {
    it('a paused schedule gets nothing; resuming under SKIP after a long pause creates no burst of missed runs', async () => {
      const { register, scheduler, store, service } = await setup();
      const { version } = await register({ schedules: [{ everySeconds: 60 }] });
      const now = await store.now();
      await scheduler.fillOnce(now);
      const paused = await service.schedules.pause(developer, { flowName: 'captura' });
      expect(paused).toMatchObject({ state: 'PAUSED', stateChangedBy: 'user:ana', nextRunAt: null });
      const pausedAt = await store.now();
      // Only runs already due stay.
      expect((await runsOf(store, version.flowId)).every((r) => r.scheduledAt <= pausedAt)).toBe(true);
      const left = (await runsOf(store, version.flowId)).length;
      expect(await scheduler.fillOnce(now + 2 * HOUR)).toMatchObject({ schedules: 0, created: 0 });
      expect(await runsOf(store, version.flowId)).toHaveLength(left);

      await service.schedules.resume(developer, { flowName: 'captura' });
      // Three hours of pause, as the scheduler sees it: nothing for the paused stretch.
      const resumedAt = now + 3 * HOUR;
      const resumed = await scheduler.fillOnce(resumedAt);
      const added = (await runsOf(store, version.flowId)).slice(left);
      expect(resumed.created).toBe(60);
      expect(added).toHaveLength(60);
      expect(added[0]!.scheduledAt).toBeGreaterThanOrEqual(resumedAt);
      expect(added[0]!.scheduledAt - resumedAt).toBeLessThan(MINUTE);
    });

    it('pausing and resuming need manageSchedules, name the flow when it has no schedule, and repeat harmlessly', async () => {
      const { register, service } = await setup();
      await register({ name: 'sem-relogio' });
      await register({ schedules: [{ everySeconds: 60 }] });
      const viewer: Identity = { subject: 'vera', tenant, role: 'viewer' };
      const ci: Identity = { subject: 'ci', tenant, role: 'ci' };
      await expect(service.schedules.pause(viewer, { flowName: 'captura' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.schedules.pause(ci, { flowName: 'captura' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.schedules.pause(developer, { flowName: 'sem-relogio' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/has no schedule/) });
      await expect(service.schedules.pause(developer, { flowName: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.schedules.pause({ ...developer, tenant: 'rj-smtr' }, { flowName: 'captura' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const first = await service.schedules.pause(developer, { flowName: 'captura' });
      const again = await service.schedules.pause(developer, { flowName: 'captura' });
      expect(again.stateChangedAt).toBe(first.stateChangedAt);
      expect((await service.schedules.list(viewer, {}, {})).nodes.map((s) => [s.flowId, s.state])).toEqual([[first.flowId, 'PAUSED']]);
    });

    it('CATCH_UP after an outage creates at most catchUpLimit missed runs per clock, the latest ones, before the future ones', async () => {
      const { register, scheduler, store } = await setup({ horizonMs: 10 * MINUTE });
      const { version } = await register({ schedules: [{ everySeconds: 60 }], missedRuns: 'CATCH_UP', catchUpLimit: 5 });
      const start = at('2030-01-01T00:00:00Z');
      expect(await scheduler.fillOnce(start)).toMatchObject({ created: 10 });
      // Down for three hours.
      const back = start + 3 * HOUR;
      await scheduler.fillOnce(back);
      const runs = await runsOf(store, version.flowId);
      const missed = runs.filter((r) => r.scheduledAt >= start + 10 * MINUTE && r.scheduledAt < back);
      expect(missed.map((r) => iso(r.scheduledAt))).toEqual(['02:55', '02:56', '02:57', '02:58', '02:59'].map((t) => `2030-01-01T${t}:00.000Z`));
      // Created oldest first: the missed times before the horizon's.
      const missedIds = missed.map((r) => r.id);
      const created = runs.filter((r) => r.scheduledAt >= start + 10 * MINUTE).sort((a, b) => a.createdAt - b.createdAt || 0);
      expect(created.slice(0, 5).map((r) => r.id).sort()).toEqual([...missedIds].sort());
      expect(runs.filter((r) => r.scheduledAt >= back)).toHaveLength(10);
    });
  });

  describe('daylight saving', () => {
    /** Fills every 6 hours from `from` to `to` (as a running scheduler would) and returns the runs' times. */
    async function scheduled(schedules: RegisterFlowArgs['schedules'], from: string, to: string, horizonMs = DAY): Promise<string[]> {
      const { register, scheduler, store } = await setup({ horizonMs });
      const { version } = await register({ schedules });
      for (let now = at(from); now <= at(to); now += 6 * HOUR) await scheduler.fillOnce(now);
      const runs = await runsOf(store, version.flowId);
      expect(new Set(runs.map((r) => r.idempotencyKey)).size).toBe(runs.length);
      return runs.map((r) => iso(r.scheduledAt));
    }

    it('São Paulo 2018-11-04: daylight saving started at midnight, so that day runs at 01:00 -02', async () => {
      const times = await scheduled([{ cron: '0 0 * * *', timezone: 'America/Sao_Paulo' }], '2018-11-02T12:00:00Z', '2018-11-05T12:00:00Z');
      expect(times.slice(0, 5)).toEqual([
        '2018-11-03T03:00:00.000Z', // 00:00 -03
        '2018-11-04T03:00:00.000Z', // 00:00 does not exist: 01:00 -02
        '2018-11-05T02:00:00.000Z', // 00:00 -02
        '2018-11-06T02:00:00.000Z',
        '2018-11-07T02:00:00.000Z',
      ]);
    });

    it('São Paulo 2026: no daylight saving any more, 03:00 is 06:00Z on 2026-03-08 and 2026-11-01 alike', async () => {
      const times = await scheduled([{ cron: '0 3 * * *', timezone: 'America/Sao_Paulo' }], '2026-03-07T00:00:00Z', '2026-03-09T00:00:00Z');
      expect(times.slice(0, 3)).toEqual(['2026-03-07T06:00:00.000Z', '2026-03-08T06:00:00.000Z', '2026-03-09T06:00:00.000Z']);
      const november = await scheduled([{ cron: '0 3 * * *', timezone: 'America/Sao_Paulo' }], '2026-10-31T00:00:00Z', '2026-11-02T00:00:00Z');
      expect(november.slice(0, 3)).toEqual(['2026-10-31T06:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-02T06:00:00.000Z']);
    });

    it('New York 2026-03-08: 02:30 does not exist and runs once at 03:00 EDT', async () => {
      const times = await scheduled([{ cron: '30 2 * * *', timezone: 'America/New_York' }], '2026-03-06T12:00:00Z', '2026-03-09T12:00:00Z');
      expect(times.slice(0, 4)).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    });

    it('New York 2026-11-01: 01:30 happens twice and runs once, at its first occurrence', async () => {
      const times = await scheduled([{ cron: '30 1 * * *', timezone: 'America/New_York' }], '2026-10-30T12:00:00Z', '2026-11-02T12:00:00Z');
      expect(times.slice(0, 4)).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z']);
    });

    it('an interval clock stays on its anchor across a daylight-saving change', async () => {
      const anchor = at('2026-03-01T00:17:00Z');
      const times = await scheduled([{ everySeconds: 5400, anchor: '2026-02-28T21:17:00-03:00' }], '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z', 6 * HOUR);
      expect(times.length).toBeGreaterThan(30);
      for (const time of times) expect((at(time) - anchor) % (5400 * 1000)).toBe(0);
      const gaps = times.slice(1).map((t, i) => at(t) - at(times[i]!));
      expect(new Set(gaps)).toEqual(new Set([5400 * 1000]));
    });
  });

  describe('backfill', () => {
    it('creates one run per São Paulo clock time of 2018-11-02..07, and the same backfill again creates nothing', async () => {
      const { register, service, store } = await setup();
      const { version } = await register({ schedules: [{ cron: '0 0 * * *', timezone: 'America/Sao_Paulo', parameters: { orgao: 'sme' } }] });
      const input = { flowName: 'captura', from: '2018-11-02T00:00:00-03:00', to: '2018-11-07T00:00:00-02:00', parameters: { ano: 2018 } };
      const first = await service.schedules.backfill(developer, input);
      expect(first).toMatchObject({ total: 5, created: 5, existing: 0, nextFrom: null });
      expect(first.flowRuns.map((r) => iso(r.scheduledAt))).toEqual([
        '2018-11-02T03:00:00.000Z',
        '2018-11-03T03:00:00.000Z',
        '2018-11-04T03:00:00.000Z',
        '2018-11-05T02:00:00.000Z',
        '2018-11-06T02:00:00.000Z',
      ]);
      expect(first.flowRuns[0]).toMatchObject({ parameters: { orgao: 'sme', ano: 2018 }, labels: ['rj'], clockKey: null, state: 'SCHEDULED' });
      expect(first.flowRuns[0]!.idempotencyKey).toMatch(new RegExp(`^backfill:${version.flowId}:${version.clocks[0]!.key}:[0-9a-f]{8}:2018-11-02T03:00:00.000Z$`));
      const second = await service.schedules.backfill(developer, input);
      expect(second).toMatchObject({ total: 5, created: 0, existing: 5, nextFrom: null });
      expect(second.flowRuns.map((r) => r.id)).toEqual(first.flowRuns.map((r) => r.id));
      // Another override is another backfill.
      expect(await service.schedules.backfill(developer, { ...input, parameters: { ano: 2019 } })).toMatchObject({ created: 5 });
      expect(await runsOf(store, version.flowId)).toHaveLength(10);
    });

    it('pages with nextFrom, in time order with ties by clock, never splitting an instant', async () => {
      const { register, service, store } = await setup();
      const { version } = await register({ schedules: [{ everySeconds: 60 }, { everySeconds: 120, labels: ['b'] }] });
      const to = '2026-01-01T00:10:00Z';
      let from: string | null = '2026-01-01T00:00:00Z';
      const pages: FlowRunRecord[][] = [];
      const totals: number[] = [];
      while (from) {
        const page = await service.schedules.backfill(developer, { flowName: 'captura', from, to, limit: 4 });
        expect(page.flowRuns.length).toBeLessThanOrEqual(4);
        expect(page.created).toBe(page.flowRuns.length);
        pages.push(page.flowRuns);
        totals.push(page.total);
        from = page.nextFrom === null ? null : iso(page.nextFrom);
      }
      expect(totals[0]).toBe(15);
      const all = pages.flat();
      expect(all).toHaveLength(15);
      expect(new Set(all.map((r) => r.id)).size).toBe(15);
      const order = all.map((r) => [r.scheduledAt, r.labels.includes('b') ? 1 : 0]);
      expect(order).toEqual([...order].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
      for (let i = 1; i < pages.length; i++) expect(pages[i]![0]!.scheduledAt).not.toBe(pages[i - 1]!.at(-1)!.scheduledAt);
      expect(await runsOf(store, version.flowId)).toHaveLength(15);
    });

    it('pages a long range of an interval and a cron clock: every time once, in order, each total what is left', async () => {
      const { register, service } = await setup();
      const { version } = await register({ schedules: [{ everySeconds: 420, anchor: '2026-01-01T00:03:00Z' }, { cron: '*/5 * * * *', timezone: 'America/New_York' }] });
      const indexOf = new Map(version.clocks.map((c) => [c.key, c.index]));
      const from = at('2026-03-08T05:00:00Z');
      const to = at('2026-03-08T09:00:00Z');
      // 7-minute times from 00:03Z, and every 5 minutes; the range starts on a 7-minute time, ends on both (exclusive).
      const expected = [
        ...Array.from({ length: 240 }, (_, i) => from + i * MINUTE).filter((t) => (t - at('2026-01-01T00:03:00Z')) % (7 * MINUTE) === 0).map((t) => [t, 0]),
        ...Array.from({ length: 48 }, (_, i) => [from + i * 5 * MINUTE, 1]),
      ].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
      let cursor: number | null = from;
      const seen: number[][] = [];
      while (cursor !== null) {
        const page = await service.schedules.backfill(developer, { flowName: 'captura', from: iso(cursor), to: iso(to), limit: 7 });
        expect(page.total).toBe(expected.filter(([t]) => t! >= cursor!).length);
        seen.push(...page.flowRuns.map((r) => [r.scheduledAt, indexOf.get(r.idempotencyKey!.split(':')[2]!)!]));
        cursor = page.nextFrom;
      }
      expect(seen).toEqual(expected);
    });

    it('the runs of a backfill are claimed oldest first', async () => {
      const { register, service } = await setup();
      await register({ schedules: [{ everySeconds: 3600 }] });
      await service.schedules.backfill(developer, { flowName: 'captura', from: '2025-01-01T00:00:00Z', to: '2025-01-01T12:00:00Z' });
      const agent = await service.registerAgent(agentIdentity, { name: 'rj', labels: ['rj'], concurrency: 20 });
      const claimed: number[] = [];
      for (let i = 0; i < 4; i++) claimed.push(...(await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 3 })).map((c) => c.run.scheduledAt));
      expect(claimed).toEqual(Array.from({ length: 12 }, (_, i) => at('2025-01-01T00:00:00Z') + i * HOUR));
    });

    it.each([
      ['a clock index the flow does not have', { clock: 2 }, 'BAD_USER_INPUT', /clock 2 does not exist: flow "captura" has clocks 0 to 0/],
      ['from after to', { from: '2026-01-02T00:00:00Z' }, 'BAD_USER_INPUT', /must be before to/],
      ['more than 100,000 times', { from: '2000-01-01T00:00:00Z' }, 'BAD_USER_INPUT', /more than 100,000 clock times/],
      ['a limit over 1000', { limit: 1001 }, 'BAD_USER_INPUT', /limit must be an integer from 1 to 1000/],
      ['parameters the schema refuses', { parameters: { ano: 'x' } }, 'INVALID_PARAMETERS', /clock 0/],
      ['a flow that does not exist', { flowName: 'nope' }, 'NOT_FOUND', /flow "nope" not found in project "production"/],
    ])('refuses %s and creates nothing', async (_, overrides, code, message) => {
      const { register, service, store } = await setup();
      const { version } = await register({ schedules: [{ everySeconds: 60 }] });
      await expect(service.schedules.backfill(developer, { flowName: 'captura', from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z', ...overrides })).rejects.toMatchObject({
        code,
        message: expect.stringMatching(message),
      });
      expect(await runsOf(store, version.flowId)).toEqual([]);
    });

    it('refuses a flow without clocks and a viewer', async () => {
      const { register, service } = await setup();
      await register();
      const input = { flowName: 'captura', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };
      await expect(service.schedules.backfill(developer, input)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/declares no clocks/) });
      await expect(service.schedules.backfill({ subject: 'v', tenant, role: 'viewer' }, input)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });
});

describe('planning one clock', () => {
  const clock = (over: Partial<ClockRecord>): ClockRecord => ({ key: 'k', index: 0, cron: null, timezone: null, everySeconds: null, anchor: null, parameters: {}, labels: null, ...over });
  const skip = { missedRuns: 'SKIP' as const, catchUpLimit: 10 };

  it('caps a clock at 5,000 times a pass and continues from its mark at the next pass (every minute over four days)', () => {
    const everyMinute = clock({ cron: '* * * * *', timezone: 'UTC' });
    const now = at('2030-01-01T00:00:00Z');
    const first = planClock(everyMinute, undefined, now, skip, 4 * DAY, 0);
    expect(first.times).toHaveLength(5_000);
    expect(first.filledThrough).toBe(now + 4_999 * MINUTE + 1);
    expect(first.refillAt).toBe(now + 1_000);
    const second = planClock(everyMinute, first.filledThrough, now + 1_000, skip, 4 * DAY, 0);
    expect(second.times[0]).toBe(now + 5_000 * MINUTE);
    expect(second.times.at(-1)).toBe(now + 4 * DAY);
    expect(second.filledThrough).toBe(now + 1_000 + 4 * DAY);
  });

  it('keeps three future times of a daily clock, refilling when the third-to-last is due', () => {
    const daily = clock({ everySeconds: 86_400, anchor: 0 });
    const now = at('2030-01-01T12:00:00Z');
    const first = planClock(daily, undefined, now, skip, HOUR, 0);
    expect(first.times.map(iso)).toEqual(['2030-01-02T00:00:00.000Z', '2030-01-03T00:00:00.000Z', '2030-01-04T00:00:00.000Z']);
    expect(iso(first.refillAt)).toBe('2030-01-02T00:00:00.000Z');
    const next = planClock(daily, first.filledThrough, first.refillAt, skip, HOUR, 0);
    expect(next.times.map(iso)).toEqual(['2030-01-05T00:00:00.000Z']);
  });
});

describe('schedules over GraphQL', () => {
  it('shows a flow\'s schedule with its clocks and next times, pauses, resumes and backfills', async () => {
    const { post, server } = await startTestServer({ timezone: 'America/Sao_Paulo', schedulerIntervalMs: 60_000 });
    const registered = await post(developer, `mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created flowVersion { clocks { index cron timezone anchor } missedRuns catchUpLimit } } }`, {
      input: { ...flow(), schedules: [{ cron: '0 3 * * *' }, { everySeconds: 3600, anchor: '2026-01-01T00:30:00Z', labels: ['hora'] }], missedRuns: 'CATCH_UP', catchUpLimit: 3 },
    });
    expect(registered.errors).toBeUndefined();
    expect(registered.data).toMatchObject({
      registerFlow: {
        created: true,
        flowVersion: { clocks: [{ index: 0, cron: '0 3 * * *', timezone: 'America/Sao_Paulo', anchor: null }, { index: 1, cron: null, timezone: null, anchor: '2026-01-01T00:30:00.000Z' }], missedRuns: 'CATCH_UP', catchUpLimit: 3 },
      },
    });
    // The registration woke the scheduler: the horizon fills without waiting for its interval.
    const query = `{ flow(name: "captura") { schedule { state nextRunAt stateChangedBy missedRuns catchUpLimit flow { name } clocks { key index labels nextTimes(count: 3) } } } }`;
    const shown = await waitForAnswer(() => post(developer, query), (data) => (data as { flow: { schedule: { nextRunAt: string | null } } }).flow.schedule.nextRunAt !== null);
    const schedule = (shown as { flow: { schedule: { state: string; flow: { name: string }; clocks: { index: number; labels: string[] | null; nextTimes: string[] }[] } } }).flow.schedule;
    expect(schedule).toMatchObject({ state: 'ACTIVE', flow: { name: 'captura' }, missedRuns: 'CATCH_UP', catchUpLimit: 3 });
    const [daily, hourly] = schedule.clocks as [(typeof schedule.clocks)[0], (typeof schedule.clocks)[0]];
    expect(daily.nextTimes).toHaveLength(3);
    for (const time of daily.nextTimes) expect(time).toMatch(/T06:00:00\.000Z$/);
    for (const time of hourly.nextTimes) expect(time).toMatch(/:30:00\.000Z$/);
    expect(hourly.labels).toEqual(['hora']);

    const tooMany = await post(developer, `{ flow(name: "captura") { schedule { clocks { nextTimes(count: 101) } } } }`);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const paused = await post(developer, `mutation { pauseSchedule(flowName: "captura") { state stateChangedBy stateChangedAt nextRunAt } }`);
    expect(paused.data).toMatchObject({ pauseSchedule: { state: 'PAUSED', stateChangedBy: 'user:ana', nextRunAt: null } });
    const list = await post(developer, `{ schedules(state: PAUSED) { nodes { flow { name } state } pageInfo { hasNextPage } } }`);
    expect(list.data).toMatchObject({ schedules: { nodes: [{ flow: { name: 'captura' }, state: 'PAUSED' }], pageInfo: { hasNextPage: false } } });
    const resumed = await post(developer, `mutation { resumeSchedule(project: "production", flowName: "captura") { state } }`);
    expect(resumed.data).toMatchObject({ resumeSchedule: { state: 'ACTIVE' } });
    await waitForAnswer(() => post(developer, query), (data) => (data as { flow: { schedule: { nextRunAt: string | null } } }).flow.schedule.nextRunAt !== null);

    const backfill = `mutation($input: BackfillInput!) { backfillFlowRuns(input: $input) { total created existing nextFrom flowRuns { scheduledAt parameters labels } } }`;
    const input = { flowName: 'captura', from: '2026-01-01T00:00:00Z', to: '2026-01-01T03:00:00Z', clock: 1, limit: 2 };
    const page = await post(developer, backfill, { input });
    expect(page.data).toMatchObject({
      backfillFlowRuns: { total: 3, created: 2, existing: 0, nextFrom: '2026-01-01T02:30:00.000Z', flowRuns: [{ scheduledAt: '2026-01-01T00:30:00.000Z', labels: ['hora'] }, { scheduledAt: '2026-01-01T01:30:00.000Z' }] },
    });
    const viewer = await post({ subject: 'v', tenant, role: 'viewer' }, backfill, { input });
    expect(viewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(server.leader.scheduler).not.toBeNull();
  });
});

async function waitForAnswer(ask: () => Promise<{ data?: unknown; errors?: unknown }>, done: (data: unknown) => boolean): Promise<unknown> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await ask();
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    if (done(answer.data)) return answer.data;
    if (Date.now() > deadline) throw new Error(`no such answer in 15 s: ${JSON.stringify(answer.data)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
