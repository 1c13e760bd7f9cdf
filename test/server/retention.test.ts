// Retention on every store: finished runs older than their tenant's setting go with everything
// that belongs to them; runs that are not final stay however old; a dry run only counts.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { pruneHistory } from '../../server/services/retention.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { sql } from '../../server/store/postgres/sql.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { FlowRunRecord } from '../../server/store/records.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';

const DAY = 86_400_000;
const agentOf = (tenant: string): Identity => ({ subject: `agent@${tenant}`, tenant, role: 'agent' });
const developerOf = (tenant: string): Identity => ({ subject: `ana@${tenant}`, tenant, role: 'developer' });
const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/hello.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello' };

/** Moves every time of a run `days` into the past, as if it had happened then. */
async function age(store: Store, runId: string, days: number): Promise<void> {
  const ms = days * DAY;
  if (store instanceof SqliteStore) {
    store.db.prepare(`UPDATE flow_runs SET created_at = created_at - ?, scheduled_at = scheduled_at - ?, started_at = started_at - ?, ended_at = ended_at - ? WHERE id = ?`)
      .run(ms, ms, ms, ms, runId);
  } else if (store instanceof PostgresStore) {
    await store.db.rows(sql`UPDATE flow_runs SET created_at = created_at - ${ms}::bigint, scheduled_at = scheduled_at - ${ms}::bigint,
      started_at = started_at - ${ms}::bigint, ended_at = ended_at - ${ms}::bigint WHERE id = ${runId}`);
  } else {
    throw new TypeError('unknown store');
  }
}

describe.each(adapters)('retention on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, service: new FluxoService(store, new EventBus()) };
  }

  /** A run of `tenant` driven to `state`, with a task run, two log lines in one batch, and its transitions. */
  async function runIn(service: FluxoService, tenant: string, state: 'SCHEDULED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLED'): Promise<FlowRunRecord> {
    const [developer, agentIdentity] = [developerOf(tenant), agentOf(tenant)];
    await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    if (state === 'SCHEDULED') return run;
    if (state === 'CANCELLED') return service.cancelFlowRun(developer, run.id);
    const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [], concurrency: 100 });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    const lease = { flowRunId: run.id, leaseToken: claim!.leaseToken };
    let current = await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: claim!.run.version, state: 'RUNNING' });
    await service.setTaskRunStates(agentIdentity, { ...lease, states: [{ key: 'extract', taskName: 'extract', mapIndex: null, attempt: 1, state: 'SUCCESS', message: null }] });
    const line = (message: string) => ({ taskRunKey: null, level: 'INFO' as const, stream: 'stdout', message, timestamp: 1 });
    await service.writeLogs(agentIdentity, { ...lease, batchId: 'b1', lines: [line('one'), line('two')] });
    if (state === 'RUNNING') return current;
    current = await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: current.version, state, reason: state === 'FAILED' ? 'exception' : null });
    return current;
  }

  const exists = async (store: Store, run: FlowRunRecord) => (await store.getFlowRun(run.tenant, run.id)) !== null;

  describe('which runs go', () => {
    it('deletes finished runs that ended before the cutoff, with their task runs, transitions, logs and batches', async () => {
      const { store, service } = await setup();
      const tenant = 'rj-escritorio';
      const old = [await runIn(service, tenant, 'SUCCESS'), await runIn(service, tenant, 'FAILED'), await runIn(service, tenant, 'CANCELLED')];
      const recent = await runIn(service, tenant, 'SUCCESS');
      for (const run of old) await age(store, run.id, 31);
      await age(store, recent.id, 29);
      const [report] = await pruneHistory(store, { defaultDays: 30 });
      // Two of the old runs ran (a task run, 2 lines in 1 batch, 4 run and 1 task transitions each); the cancelled one has 2 transitions.
      expect(report).toMatchObject({ tenant, retentionDays: 30, overridden: false, runs: 3, taskRuns: 2, stateTransitions: 12, logLines: 4, logBatches: 2 });
      for (const run of old) {
        expect(await exists(store, run)).toBe(false);
        expect(await store.listTaskRuns(tenant, run.id)).toEqual([]);
        expect(await store.listStateTransitions(tenant, run.id, null)).toEqual([]);
        expect((await store.listLogs(tenant, run.id, { first: 10 })).nodes).toEqual([]);
      }
      expect(await exists(store, recent)).toBe(true);
      expect(await store.listTaskRuns(tenant, recent.id)).toHaveLength(1);
      expect((await store.listLogs(tenant, recent.id, { first: 10 })).nodes).toHaveLength(2);
    });

    it('never deletes scheduled or running runs, however old', async () => {
      const { store, service } = await setup();
      const tenant = 'rj-escritorio';
      const running = await runIn(service, tenant, 'RUNNING');
      const scheduled = await runIn(service, tenant, 'SCHEDULED');
      for (const run of [scheduled, running]) await age(store, run.id, 400);
      const [report] = await pruneHistory(store, { defaultDays: 1 });
      expect(report).toMatchObject({ runs: 0, taskRuns: 0, logLines: 0 });
      expect(await exists(store, scheduled)).toBe(true);
      expect(await exists(store, running)).toBe(true);
      expect((await store.listLogs(tenant, running.id, { first: 10 })).nodes).toHaveLength(2);
    });

    it('a dry run counts what would go and deletes nothing', async () => {
      const { store, service } = await setup();
      const tenant = 'rj-escritorio';
      const runs = [await runIn(service, tenant, 'SUCCESS'), await runIn(service, tenant, 'SUCCESS')];
      for (const run of runs) await age(store, run.id, 60);
      const [dry] = await pruneHistory(store, { defaultDays: 30, dryRun: true });
      expect(dry).toMatchObject({ runs: 2, taskRuns: 2, stateTransitions: 10, logLines: 4, logBatches: 2 });
      for (const run of runs) expect(await exists(store, run)).toBe(true);
      const [real] = await pruneHistory(store, { defaultDays: 30 });
      expect({ ...real, endedBefore: null }).toEqual({ ...dry, endedBefore: null });
      for (const run of runs) expect(await exists(store, run)).toBe(false);
    });

    it('deletes in batches of the given size until nothing old is left', async () => {
      const { store, service } = await setup();
      const tenant = 'rj-escritorio';
      const runs = [];
      for (let i = 0; i < 5; i++) runs.push(await runIn(service, tenant, 'CANCELLED'));
      for (const run of runs) await age(store, run.id, 31);
      expect(await store.pruneFinishedRuns(tenant, (await store.now()) - 30 * DAY, 2)).toMatchObject({ runs: 2, stateTransitions: 4 });
      const [report] = await pruneHistory(store, { defaultDays: 30, batchSize: 2, pauseMs: 0 });
      expect(report).toMatchObject({ runs: 3, stateTransitions: 6 });
      expect((await store.listFlowRuns(tenant, {}, { first: 10 })).nodes).toEqual([]);
    });
  });

  describe('per-tenant settings', () => {
    it('applies each tenant its own days, 0 keeps forever, and the default to the rest', async () => {
      const { store, service } = await setup();
      const [short, forever, plain] = ['rj-short', 'rj-forever', 'rj-plain'];
      await store.setTenantRetention(short, 7);
      await store.setTenantRetention(forever, 0);
      await store.setTenantRetention('rj-no-runs-yet', 90);
      const runs = { short: await runIn(service, short, 'SUCCESS'), forever: await runIn(service, forever, 'SUCCESS'), plain: await runIn(service, plain, 'SUCCESS') };
      for (const run of Object.values(runs)) await age(store, run.id, 10);
      expect(await store.listTenantRetention()).toEqual([
        { tenant: 'rj-forever', retentionDays: 0 },
        { tenant: 'rj-no-runs-yet', retentionDays: 90 },
        { tenant: 'rj-plain', retentionDays: null },
        { tenant: 'rj-short', retentionDays: 7 },
      ]);
      const reports = await pruneHistory(store, { defaultDays: 30 });
      expect(reports.map((r) => [r.tenant, r.retentionDays, r.overridden, r.runs, r.endedBefore === null])).toEqual([
        ['rj-forever', 0, true, 0, true],
        ['rj-no-runs-yet', 90, true, 0, false],
        ['rj-plain', 30, false, 0, false],
        ['rj-short', 7, true, 1, false],
      ]);
      expect(await exists(store, runs.short)).toBe(false);
      expect(await exists(store, runs.forever)).toBe(true);
      expect(await exists(store, runs.plain)).toBe(true);
      // A default of 0 keeps every tenant without its own setting forever.
      await age(store, runs.plain.id, 1000);
      expect((await pruneHistory(store, { defaultDays: 0 })).find((r) => r.tenant === plain)).toMatchObject({ runs: 0, endedBefore: null });
      // Back to the default.
      await store.setTenantRetention(forever, null);
      expect((await pruneHistory(store, { defaultDays: 5 })).find((r) => r.tenant === forever)).toMatchObject({ runs: 1, retentionDays: 5, overridden: false });
    });

    it.each([[-1], [1.5]])('refuses a default of %s days', async (days) => {
      const { store } = await setup();
      await expect(pruneHistory(store, { defaultDays: days })).rejects.toThrow(TypeError);
    });
  });
});
