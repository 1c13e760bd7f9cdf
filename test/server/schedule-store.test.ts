// Schedules in the store, looped over every adapter: the operator's switch across registrations,
// what a new version's clocks and a pause remove (only the scheduler's untouched runs), the
// scheduler's idempotent fills and fill marks, the due list, known bundles and schedule pages.
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../server/store/postgres/postgres-store.js';
import { openSqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { ClockRecord, FlowRunRecord, FlowVersionRecord, ScheduleState } from '../../server/store/records.js';
import type { NewFlowVersion, NewScheduledRun, RemoteChange, Store } from '../../server/store/store.js';
import { onCleanup, tempDir, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { adapters } from './adapters.js';

const tenant = 'rj-escritorio';
const MINUTE = 60_000;

const clock = (key: string, index = 0): ClockRecord => ({
  key, index, cron: null, timezone: null, everySeconds: 60, anchor: 0, parameters: { clock: key }, labels: null,
});

interface VersionOptions {
  project?: string;
  sha256?: string;
  scheduleState?: ScheduleState;
  missedRuns?: 'SKIP' | 'CATCH_UP';
  defaultLabels?: string[];
  tenant?: string;
}

/** Registers `name` with clocks of the given keys; each distinct (keys, sha256, policy) is a new version. */
async function register(store: Store, name: string, keys: string[], options: VersionOptions = {}): Promise<{ version: FlowVersionRecord; created: boolean }> {
  const sha256 = options.sha256 ?? 'a'.repeat(64);
  const missedRuns = options.missedRuns ?? 'SKIP';
  const defaultLabels = options.defaultLabels ?? [];
  const input: NewFlowVersion = {
    project: options.project ?? 'production',
    name,
    contentHash: `${sha256}:${keys.join(',')}:${missedRuns}:${defaultLabels.join(',')}`,
    storageUri: `file:///bundles/${sha256}.mjs`,
    sha256,
    size: 100,
    entrypoint: 'main',
    parameterSchema: {},
    defaultLabels,
    secrets: [],
    retries: 0,
    retryDelaySeconds: 0,
    timeoutSeconds: null,
    description: null,
    clocks: keys.map((k, i) => clock(k, i)),
    missedRuns,
    catchUpLimit: 10,
    scheduleState: options.scheduleState ?? 'ACTIVE',
  };
  return store.registerFlowVersion(options.tenant ?? tenant, input);
}

/** A run the scheduler would create for `clockKey` at `at`. */
const scheduled = (version: FlowVersionRecord, clockKey: string, at: number, labels: string[] = []): NewScheduledRun => ({
  tenant: version.tenant,
  flowId: version.flowId,
  flowVersionId: version.id,
  parameters: { clock: clockKey },
  labels,
  priority: 0,
  scheduledAt: at,
  idempotencyKey: `schedule:${version.flowId}:${clockKey}:${at}`,
  clockKey,
  actor: 'server:scheduler',
});

const mark = (version: FlowVersionRecord, clockKey: string, filledThrough: number, refillAt: number) => ({
  tenant: version.tenant, flowId: version.flowId, clockKey, filledThrough, refillAt,
});

async function allRuns(store: Store, flowId: string, t = tenant): Promise<FlowRunRecord[]> {
  return (await store.listFlowRuns(t, { flowId }, { first: 500 })).nodes;
}

/** The fill marks of a flow as the scheduler reads them (it must be active and due by `at`). */
async function marksOf(store: Store, flowId: string, at: number): Promise<Map<string, number> | undefined> {
  return (await store.listDueSchedules(at, 500)).find((d) => d.flowId === flowId)?.filledThrough;
}

describe.each(adapters)('schedules in the store on $name', ({ name: adapter, open }) => {
  async function setup(): Promise<Store> {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return store;
  }

  describe('the switch across registrations', () => {
    it('starts as the first registration with clocks says and keeps the operator\'s choice across versions', async () => {
      const store = await setup();
      const first = await register(store, 'hello', ['a'], { scheduleState: 'PAUSED' });
      expect(await store.getFlowSchedule(tenant, first.version.flowId)).toMatchObject({ state: 'PAUSED', stateChangedAt: null, stateChangedBy: null });
      const resumed = await store.setScheduleState(tenant, first.version.flowId, 'ACTIVE', 'ana');
      expect(resumed).toMatchObject({ state: 'ACTIVE', stateChangedBy: 'ana' });
      const second = await register(store, 'hello', ['b'], { scheduleState: 'PAUSED' });
      expect(second.created).toBe(true);
      const schedule = await store.getFlowSchedule(tenant, first.version.flowId);
      expect(schedule).toMatchObject({ state: 'ACTIVE', stateChangedBy: 'ana', stateChangedAt: resumed!.stateChangedAt });
      expect(schedule!.version).toMatchObject({ number: 2, missedRuns: 'SKIP', catchUpLimit: 10 });
      expect(schedule!.version.clocks).toEqual([clock('b')]);
    });

    it('has no schedule until a version declares clocks, then takes that registration\'s state, and keeps it while clocks come and go', async () => {
      const store = await setup();
      const plain = await register(store, 'hello', [], { scheduleState: 'ACTIVE' });
      expect(plain.version.clocks).toEqual([]);
      expect(await store.getFlowSchedule(tenant, plain.version.flowId)).toBeNull();
      expect(await store.setScheduleState(tenant, plain.version.flowId, 'PAUSED', 'ana')).toBeNull();
      await register(store, 'hello', ['a'], { scheduleState: 'PAUSED' });
      expect(await store.getFlowSchedule(tenant, plain.version.flowId)).toMatchObject({ state: 'PAUSED' });
      await register(store, 'hello', ['a', 'b'], { scheduleState: 'ACTIVE' });
      expect(await store.getFlowSchedule(tenant, plain.version.flowId)).toMatchObject({ state: 'PAUSED' });
      await register(store, 'hello', [], { scheduleState: 'ACTIVE', sha256: 'b'.repeat(64) });
      expect(await store.getFlowSchedule(tenant, plain.version.flowId)).toBeNull();
      expect(await store.setScheduleState(tenant, plain.version.flowId, 'ACTIVE', 'ana')).toBeNull();
      await register(store, 'hello', ['c'], { scheduleState: 'ACTIVE' });
      expect(await store.getFlowSchedule(tenant, plain.version.flowId)).toMatchObject({ state: 'PAUSED', version: { number: 5 } });
    });

    it('returns the existing version for the same content without touching runs or the switch', async () => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a']);
      const now = await store.now();
      await store.createScheduledRuns([scheduled(version, 'a', now + MINUTE)], [mark(version, 'a', now + 2 * MINUTE, now + MINUTE)]);
      const again = await register(store, 'hello', ['a'], { scheduleState: 'PAUSED' });
      expect(again).toMatchObject({ created: false, version: { id: version.id } });
      expect(await allRuns(store, version.flowId)).toHaveLength(1);
      expect(await store.getFlowSchedule(tenant, version.flowId)).toMatchObject({ state: 'ACTIVE', nextRunAt: now + MINUTE });
    });
  });

  describe('new clocks', () => {
    it('delete only the unclaimed scheduler runs of removed clocks, with their history and marks', async () => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a', 'b']);
      const now = await store.now();
      const created = await store.createScheduledRuns(
        [
          scheduled(version, 'a', now - 2 * MINUTE, ['gpu']), scheduled(version, 'a', now - MINUTE, ['gpu']),
          scheduled(version, 'a', now + MINUTE, ['gpu']), scheduled(version, 'a', now + 2 * MINUTE),
          scheduled(version, 'a', now - 30_000), scheduled(version, 'b', now + MINUTE),
        ],
        [mark(version, 'a', now + 3 * MINUTE, now + MINUTE), mark(version, 'b', now + 3 * MINUTE, now + 2 * MINUTE)],
      );
      expect(created).toHaveLength(6);
      // An agent claims the two oldest due runs and finishes one; the third due one (no labels) stays SCHEDULED.
      const agent = (await store.upsertAgent(tenant, { name: 'a1', subject: 'agent-1', labels: ['gpu'], concurrency: 5 }))!;
      const claims = await store.claimFlowRuns(tenant, { id: agent.id, subject: 'agent-1' }, ['gpu'], 2, 30_000);
      expect(claims.map((c) => c.run.scheduledAt)).toEqual([now - 2 * MINUTE, now - MINUTE]);
      const [done, held] = claims;
      const running = await store.setFlowRunState(tenant, { flowRunId: done!.run.id, leaseToken: done!.leaseToken, expectedVersion: done!.run.version, state: 'RUNNING', reason: null, message: null, exitCode: null, signal: null, actor: 'agent:agent-1' });
      await store.setFlowRunState(tenant, { flowRunId: done!.run.id, leaseToken: done!.leaseToken, expectedVersion: running.version, state: 'SUCCESS', reason: null, message: null, exitCode: 0, signal: null, actor: 'agent:agent-1' });
      // A user's run of the same flow (no clock key) in the future.
      const user = await store.createFlowRun(tenant, { flowId: version.flowId, flowVersionId: version.id, parameters: {}, labels: ['gpu'], priority: 0, scheduledAt: now + MINUTE, idempotencyKey: null, actor: 'user:ana' });

      const next = await register(store, 'hello', ['b', 'c']);
      const left = await allRuns(store, version.flowId);
      const gone = created.filter((r) => r.clockKey === 'a' && r.id !== done!.run.id && r.id !== held!.run.id);
      expect(gone).toHaveLength(3);
      expect(left.map((r) => r.id).sort()).toEqual([done!.run.id, held!.run.id, created.find((r) => r.clockKey === 'b')!.id, user.run.id].sort());
      expect(left.find((r) => r.id === done!.run.id)).toMatchObject({ state: 'SUCCESS', clockKey: 'a' });
      expect(left.find((r) => r.id === held!.run.id)).toMatchObject({ state: 'SUBMITTED', clockKey: 'a' });
      expect(left.find((r) => r.id === user.run.id)).toMatchObject({ state: 'SCHEDULED', clockKey: null });
      for (const run of gone) expect(await store.listStateTransitions(tenant, run.id, null)).toEqual([]);
      // The label filter's rows went with the runs.
      const gpu = (await store.listFlowRuns(tenant, { label: 'gpu' }, { first: 50 })).nodes.map((r) => r.id).sort();
      expect(gpu).toEqual([done!.run.id, held!.run.id, user.run.id].sort());
      // Clock a's mark is gone; c was never filled, so the schedule is due at once.
      expect(await marksOf(store, version.flowId, now)).toEqual(new Map([['b', now + 3 * MINUTE]]));
      expect((await store.listDueSchedules(now, 10)).map((d) => d.version.id)).toEqual([next.version.id]);
    });

    it('move the untouched scheduler runs of the clocks that stay to the new version, with its labels', async () => {
      const store = await setup();
      const first = (await register(store, 'hello', ['a'], { defaultLabels: ['old'] })).version;
      const now = await store.now();
      const runs = [scheduled(first, 'a', now - MINUTE, ['old']), scheduled(first, 'a', now + MINUTE, ['old']), scheduled(first, 'a', now + 2 * MINUTE, ['old'])];
      await store.createScheduledRuns(runs, [mark(first, 'a', now + 3 * MINUTE, now + MINUTE)]);
      const agent = (await store.upsertAgent(tenant, { name: 'a1', subject: 'agent-1', labels: ['old'], concurrency: 5 }))!;
      const [claim] = await store.claimFlowRuns(tenant, { id: agent.id, subject: 'agent-1' }, ['old'], 1, 30_000);
      const user = await store.createFlowRun(tenant, { flowId: first.flowId, flowVersionId: first.id, parameters: {}, labels: ['old'], priority: 0, scheduledAt: now + MINUTE, idempotencyKey: null, actor: 'user:ana' });

      const second = (await register(store, 'hello', ['a'], { defaultLabels: ['new'] })).version;
      const byId = new Map((await allRuns(store, first.flowId)).map((r) => [r.id, r]));
      expect(byId.size).toBe(4);
      expect(byId.get(claim!.run.id)).toMatchObject({ flowVersionId: first.id, labels: ['old'], state: 'SUBMITTED' });
      expect(byId.get(user.run.id)).toMatchObject({ flowVersionId: first.id, labels: ['old'] });
      const moved = [...byId.values()].filter((r) => r.flowVersionId === second.id);
      expect(moved.map((r) => r.scheduledAt).sort()).toEqual([now + MINUTE, now + 2 * MINUTE]);
      expect(moved.every((r) => r.labels.length === 1 && r.labels[0] === 'new' && r.clockKey === 'a')).toBe(true);
      const labelled = async (label: string) => (await store.listFlowRuns(tenant, { label }, { first: 50 })).nodes.map((r) => r.id).sort();
      expect(await labelled('new')).toEqual(moved.map((r) => r.id).sort());
      expect(await labelled('old')).toEqual([claim!.run.id, user.run.id].sort());
      // Same ids, times and keys: asking again creates nothing.
      expect(await store.createScheduledRuns(runs, [])).toEqual([]);
    });

    it('delete nothing when a new version keeps the same clocks', async () => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a', 'b']);
      const now = await store.now();
      await store.createScheduledRuns([scheduled(version, 'a', now + MINUTE), scheduled(version, 'b', now + MINUTE)], []);
      const next = await register(store, 'hello', ['b', 'a'], { sha256: 'c'.repeat(64) });
      expect(next.created).toBe(true);
      expect(await allRuns(store, version.flowId)).toHaveLength(2);
    });
  });

  describe('filling', () => {
    it('creates each run once per idempotency key, however often it is asked', async () => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a']);
      const now = await store.now();
      const runs = [0, 1, 2].map((i) => scheduled(version, 'a', now + (i + 1) * MINUTE, ['gpu']));
      const first = await store.createScheduledRuns([...runs, runs[0]!], [mark(version, 'a', now + 4 * MINUTE, now + 2 * MINUTE)]);
      expect(first.map((r) => r.scheduledAt)).toEqual(runs.map((r) => r.scheduledAt));
      expect(first[0]).toMatchObject({ state: 'SCHEDULED', clockKey: 'a', attempt: 1, labels: ['gpu'], parameters: { clock: 'a' }, idempotencyKey: runs[0]!.idempotencyKey });
      const second = await store.createScheduledRuns(runs, [mark(version, 'a', now + 4 * MINUTE, now + 2 * MINUTE)]);
      expect(second).toEqual([]);
      const perKey = new Map<string | null, number>();
      for (const run of await allRuns(store, version.flowId)) perKey.set(run.idempotencyKey, (perKey.get(run.idempotencyKey) ?? 0) + 1);
      expect([...perKey.values()]).toEqual([1, 1, 1]);
      expect(await store.listStateTransitions(tenant, first[0]!.id, null)).toMatchObject([
        { fromState: null, toState: 'SCHEDULED', actor: 'server:scheduler', attempt: 1 },
      ]);
      expect(await store.getFlowSchedule(tenant, version.flowId)).toMatchObject({ nextRunAt: now + MINUTE });
    });

    it('drops the runs and marks of a paused schedule and of clocks the latest version no longer has', async () => {
      const store = await setup();
      const paused = (await register(store, 'paused', ['a'], { scheduleState: 'PAUSED' })).version;
      const active = (await register(store, 'active', ['a', 'b'])).version;
      const now = await store.now();
      const created = await store.createScheduledRuns(
        [scheduled(paused, 'a', now + MINUTE), scheduled(active, 'a', now + MINUTE), scheduled(active, 'gone', now + MINUTE)],
        [mark(paused, 'a', now + MINUTE, now + MINUTE), mark(active, 'a', now + 2 * MINUTE, now + MINUTE), mark(active, 'gone', now, now)],
      );
      expect(created.map((r) => [r.flowId, r.clockKey])).toEqual([[active.flowId, 'a']]);
      expect(await allRuns(store, paused.flowId)).toEqual([]);
      await store.setScheduleState(tenant, paused.flowId, 'ACTIVE', 'ana');
      expect(await marksOf(store, paused.flowId, now)).toEqual(new Map());
      expect(await marksOf(store, active.flowId, now)).toEqual(new Map([['a', now + 2 * MINUTE]]));
    });

    it('wakes another replica\'s listener for the runs it creates (PostgreSQL)', async ({ skip }) => {
      if (adapter !== 'postgres') skip();
      const url = await freshPostgresDatabase();
      const writer = openPostgresStore(url);
      const listener = openPostgresStore(url);
      onCleanup(() => writer.close());
      onCleanup(() => listener.close());
      const changes: RemoteChange[] = [];
      const watch = listener.watchChanges((change) => changes.push(change));
      onCleanup(() => watch.close());
      const { version } = await register(writer, 'hello', ['a']);
      // The listener is ready once a probe write reaches it.
      const probe = await writer.createFlowRun(tenant, { flowId: version.flowId, flowVersionId: version.id, parameters: {}, labels: [], priority: 0, scheduledAt: null, idempotencyKey: null, actor: 'user:ana' });
      await waitFor(() => changes.some((c) => c.kind === 'runs' && c.runIds.includes(probe.run.id)), { what: 'the probe run notification' });
      const now = await writer.now();
      const created = await writer.createScheduledRuns([scheduled(version, 'a', now + MINUTE), scheduled(version, 'a', now + 2 * MINUTE)], []);
      const heard = await waitFor(
        () => {
          const ids = new Set(changes.flatMap((c) => (c.kind === 'runs' && c.workAvailable ? c.runIds : [])));
          return created.every((r) => ids.has(r.id));
        },
        { what: 'the scheduled runs notification' },
      );
      expect(heard).toBe(true);
    });
  });

  describe('two replicas at once', () => {
    /** Two stores on one database, as two server processes would open it. */
    async function twoReplicas(): Promise<[Store, Store]> {
      const stores: [Store, Store] = adapter === 'postgres'
        ? await freshPostgresDatabase().then((url) => [openPostgresStore(url), openPostgresStore(url)])
        : await tempDir().then((dir) => [openSqliteStore(`${dir}/fluxo.db`), openSqliteStore(`${dir}/fluxo.db`)]);
      for (const store of stores) onCleanup(() => store.close());
      await stores[0].migrate();
      return stores;
    }

    const countPerKey = (runs: FlowRunRecord[]) => {
      const perKey = new Map<string | null, number>();
      for (const run of runs) perKey.set(run.idempotencyKey, (perKey.get(run.idempotencyKey) ?? 0) + 1);
      return perKey;
    };

    it('create each run once when both fill the same clocks', async () => {
      const [one, two] = await twoReplicas();
      const { version } = await register(one, 'hello', ['a', 'b']);
      const now = await one.now();
      const times = Array.from({ length: 60 }, (_, i) => now + (i + 1) * MINUTE);
      const fill = (keys: string[]) => keys.flatMap((k) => times.map((at) => scheduled(version, k, at)));
      const marks = [mark(version, 'a', now + 61 * MINUTE, now + 30 * MINUTE), mark(version, 'b', now + 61 * MINUTE, now + 30 * MINUTE)];
      const [first, second] = await Promise.all([one.createScheduledRuns(fill(['a', 'b']), marks), two.createScheduledRuns(fill(['b', 'a']), marks)]);
      expect(first.length + second.length).toBe(120);
      const perKey = countPerKey(await allRuns(one, version.flowId));
      expect(perKey.size).toBe(120);
      expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    });

    it('leave no untouched run of a removed clock, nor a future one of a paused schedule, whichever commits first', async () => {
      const [one, two] = await twoReplicas();
      for (let round = 0; round < 5; round++) {
        const name = `flow-${round}`;
        const { version } = await register(one, name, ['a', 'b']);
        const now = await one.now();
        const fill = ['a', 'b'].flatMap((k) => [1, 2, 3].map((i) => scheduled(version, k, now + i * MINUTE)));
        const marks = ['a', 'b'].map((k) => mark(version, k, now + 4 * MINUTE, now + 2 * MINUTE));
        // The scheduler read the old version; a registration drops clock a and an operator pauses, meanwhile.
        await Promise.all([
          two.createScheduledRuns(fill, marks),
          register(one, name, ['b']),
          round % 2 === 0 ? one.setScheduleState(tenant, version.flowId, 'PAUSED', 'ana') : Promise.resolve(null),
        ]);
        const left = await allRuns(one, version.flowId);
        expect(left.filter((r) => r.clockKey === 'a')).toEqual([]);
        if (round % 2 === 0) expect(left.filter((r) => r.scheduledAt > now)).toEqual([]);
        else expect(left.map((r) => r.clockKey)).toEqual(['b', 'b', 'b']);
      }
    });
  });

  describe('pause and resume', () => {
    it('pausing removes future scheduler runs, keeps due ones and other runs, and lowers the marks to now', async () => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a']);
      const now = await store.now();
      const created = await store.createScheduledRuns(
        [scheduled(version, 'a', now - MINUTE), scheduled(version, 'a', now + MINUTE), scheduled(version, 'a', now + 2 * MINUTE)],
        [mark(version, 'a', now + 3 * MINUTE, now + MINUTE)],
      );
      const user = await store.createFlowRun(tenant, { flowId: version.flowId, flowVersionId: version.id, parameters: {}, labels: [], priority: 0, scheduledAt: now + MINUTE, idempotencyKey: null, actor: 'user:ana' });
      expect(await store.getFlowSchedule(tenant, version.flowId)).toMatchObject({ nextRunAt: now + MINUTE });
      const paused = await store.setScheduleState(tenant, version.flowId, 'PAUSED', 'ana');
      expect(paused).toMatchObject({ state: 'PAUSED', stateChangedBy: 'ana', nextRunAt: null });
      expect(paused!.stateChangedAt).toBeGreaterThanOrEqual(now);
      expect((await allRuns(store, version.flowId)).map((r) => r.id).sort()).toEqual([created[0]!.id, user.run.id].sort());
      expect(await store.listStateTransitions(tenant, created[1]!.id, null)).toEqual([]);
      // Paused schedules are never due; resuming (below) shows the lowered mark.
      expect(await marksOf(store, version.flowId, now + 10 * MINUTE)).toBeUndefined();
      const again = await store.setScheduleState(tenant, version.flowId, 'PAUSED', 'bruno');
      expect(again).toMatchObject({ state: 'PAUSED', stateChangedBy: 'ana', stateChangedAt: paused!.stateChangedAt });
      await store.setScheduleState(tenant, version.flowId, 'ACTIVE', 'ana');
      const lowered = (await marksOf(store, version.flowId, await store.now()))!.get('a')!;
      expect(lowered).toBeLessThan(now + 3 * MINUTE);
      expect(lowered).toBeGreaterThanOrEqual(paused!.stateChangedAt!);
    });

    it.each([
      { missedRuns: 'SKIP', what: 'moves the marks up to the resume time' },
      { missedRuns: 'CATCH_UP', what: 'leaves the marks where the pause put them' },
    ] as const)('resuming under $missedRuns $what', async ({ missedRuns }) => {
      const store = await setup();
      const { version } = await register(store, 'hello', ['a', 'b'], { missedRuns });
      const now = await store.now();
      await store.createScheduledRuns([], [mark(version, 'a', now + 3 * MINUTE, now + 2 * MINUTE), mark(version, 'b', now - 5 * MINUTE, now + 2 * MINUTE)]);
      const paused = (await store.setScheduleState(tenant, version.flowId, 'PAUSED', 'ana'))!;
      const pausedAt = paused.stateChangedAt!;
      await waitFor(async () => (await store.now()) > pausedAt, { what: 'the database clock to move past the pause' });
      const resumed = (await store.setScheduleState(tenant, version.flowId, 'ACTIVE', 'ana'))!;
      const resumedAt = resumed.stateChangedAt!;
      expect(resumedAt).toBeGreaterThan(pausedAt);
      // Due at once after a resume, whatever the refill times were.
      const due = (await store.listDueSchedules(resumedAt, 10)).find((d) => d.flowId === version.flowId);
      expect(due?.version.missedRuns).toBe(missedRuns);
      expect(due!.filledThrough).toEqual(
        missedRuns === 'SKIP'
          ? new Map([['a', resumedAt], ['b', resumedAt]])
          : new Map([['a', pausedAt], ['b', now - 5 * MINUTE]]),
      );
    });
  });

  describe('due schedules', () => {
    it('lists active schedules of every tenant whose refill time came or that have a clock never filled, most overdue first', async () => {
      const store = await setup();
      const later = (await register(store, 'later', ['a'])).version;
      const overdue = (await register(store, 'overdue', ['a'], { tenant: 'rj-smtr' })).version;
      const fresh = (await register(store, 'fresh', ['a'])).version;
      const half = (await register(store, 'half', ['x', 'y'])).version;
      const paused = (await register(store, 'paused', ['a'], { scheduleState: 'PAUSED' })).version;
      await register(store, 'plain', []);
      const now = await store.now();
      await store.createScheduledRuns([], [
        mark(later, 'a', now + 20_000, now + 10_000),
        mark(overdue, 'a', now, now - 5_000),
        mark(half, 'x', now + 60_000, now + 50_000),
        mark(paused, 'a', now, now - 60_000),
      ]);
      const ids = async (at: number, limit = 10) => (await store.listDueSchedules(at, limit)).map((d) => d.flowId);
      // A never-filled clock counts as due since forever; ties by flow id.
      const neverFilled = [fresh.flowId, half.flowId].sort();
      expect(await ids(now)).toEqual([...neverFilled, overdue.flowId]);
      expect(await ids(now, 1)).toEqual([neverFilled[0]]);
      const due = (await store.listDueSchedules(now, 10)).find((d) => d.flowId === overdue.flowId)!;
      expect(due).toMatchObject({ tenant: 'rj-smtr', version: { id: overdue.id, clocks: [clock('a')] } });
      expect(due.filledThrough).toEqual(new Map([['a', now]]));
      // Filling the other clock makes the flow's refill time the earliest of its clocks.
      await store.createScheduledRuns([], [mark(half, 'y', now + 40_000, now + 30_000), mark(fresh, 'a', now + 40_000, now + 30_000)]);
      expect(await ids(now)).toEqual([overdue.flowId]);
      expect(await ids(now + 10_000)).toEqual([overdue.flowId, later.flowId]);
      expect(await ids(now + 30_000)).toEqual([overdue.flowId, later.flowId, ...neverFilled]);
      expect(await ids(now + 30_000, 2)).toEqual([overdue.flowId, later.flowId]);
    });
  });

  describe('known bundles', () => {
    it('answers the digests a flow version of the tenant records, not another tenant\'s', async () => {
      const store = await setup();
      await register(store, 'a', [], { sha256: '1'.repeat(64) });
      await register(store, 'b', [], { sha256: '1'.repeat(64), project: 'staging' });
      await register(store, 'c', [], { sha256: '2'.repeat(64), tenant: 'rj-smtr' });
      const known = await store.findKnownBundles(tenant, ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64), '1'.repeat(64)]);
      expect(known).toEqual([{ sha256: '1'.repeat(64), storageUri: `file:///bundles/${'1'.repeat(64)}.mjs` }]);
      expect(await store.findKnownBundles('rj-smtr', ['2'.repeat(64)])).toEqual([{ sha256: '2'.repeat(64), storageUri: `file:///bundles/${'2'.repeat(64)}.mjs` }]);
      expect(await store.findKnownBundles(tenant, [])).toEqual([]);
    });
  });

  describe('schedule pages', () => {
    it('lists the tenant\'s schedules by project then flow name, page by page, filtered by project and state', async () => {
      const store = await setup();
      for (const [project, name] of [['staging', 'b'], ['production', 'z'], ['production', 'a'], ['staging', 'a'], ['production', 'm']] as const) {
        await register(store, name, ['k'], { project, scheduleState: name === 'a' ? 'PAUSED' : 'ACTIVE' });
      }
      await register(store, 'plain', [], { project: 'production' });
      await register(store, 'other-tenant', ['k'], { tenant: 'rj-smtr' });
      const walk = async (filter: Parameters<Store['listFlowSchedules']>[1], first: number) => {
        const names: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.listFlowSchedules(tenant, filter, { first, after });
          for (const s of page.nodes) names.push(`${(await store.getFlow(tenant, s.flowId))!.name}@${(await store.getProject(tenant, (await store.getFlow(tenant, s.flowId))!.projectId))!.name}:${s.state}`);
          if (!page.hasNextPage) return names;
          after = page.endCursor;
        }
      };
      expect(await walk({}, 2)).toEqual(['a@production:PAUSED', 'm@production:ACTIVE', 'z@production:ACTIVE', 'a@staging:PAUSED', 'b@staging:ACTIVE']);
      expect(await walk({ project: 'staging' }, 1)).toEqual(['a@staging:PAUSED', 'b@staging:ACTIVE']);
      expect(await walk({ state: 'PAUSED' }, 1)).toEqual(['a@production:PAUSED', 'a@staging:PAUSED']);
      expect(await walk({ project: 'production', state: 'ACTIVE' }, 10)).toEqual(['m@production:ACTIVE', 'z@production:ACTIVE']);
      expect((await store.listFlowSchedules(tenant, { project: 'nowhere' }, { first: 10 })).nodes).toEqual([]);
    });
  });
});
