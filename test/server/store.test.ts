// Store behaviours beyond the service suite, looped over every adapter so PostgreSQL answers
// exactly as SQLite does: page order and cursors, filters, time, leases and the reaper.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { onCleanup, waitFor } from '../support/harness.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const tenant = developer.tenant;

const bundle = (name: string, overrides: Record<string, unknown> = {}) => ({
  project: 'production',
  name,
  storageUri: `file:///tmp/bundles/${name}.mjs`,
  sha256: 'a'.repeat(64),
  size: 100,
  entrypoint: 'main',
  ...overrides,
});

describe.each(adapters)('store on $name', ({ open }) => {
  async function setup(leaseMs = 30_000) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, service: new FluxoService(store, new EventBus(), { leaseMs }) };
  }

  describe('migrations', () => {
    it('reports nothing to apply the second time', async () => {
      const { store } = await setup();
      const again = await store.migrate();
      expect(again.applied).toEqual([]);
      expect(again.current).toBeGreaterThanOrEqual(1);
    });
  });

  describe('pages', () => {
    it('lists flows in byte order of their names, page by page', async () => {
      const { store, service } = await setup();
      for (const name of ['beta', 'Zeta', 'alpha', '0-first', 'B.x']) await service.registerFlow(developer, bundle(name));
      const names: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await store.listFlows(tenant, 'production', { first: 2, after });
        names.push(...page.nodes.map((f) => f.name));
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(names).toEqual(['0-first', 'B.x', 'Zeta', 'alpha', 'beta']);
      expect((await store.listFlows(tenant, 'staging', { first: 10 })).nodes).toEqual([]);
      expect((await store.listProjects(tenant)).map((p) => p.name)).toEqual(['production']);
    });

    it('lists flow versions newest first', async () => {
      const { store, service } = await setup();
      for (const digit of ['1', '2', '3']) await service.registerFlow(developer, bundle('hello', { sha256: digit.repeat(64) }));
      const flow = (await store.findFlow(tenant, 'production', 'hello'))!;
      const first = await store.listFlowVersions(tenant, flow.id, { first: 2 });
      const second = await store.listFlowVersions(tenant, flow.id, { first: 2, after: first.endCursor });
      expect([...first.nodes, ...second.nodes].map((v) => v.number)).toEqual([3, 2, 1]);
      expect([first.hasNextPage, second.hasNextPage]).toEqual([true, false]);
      expect((await store.getLatestFlowVersion(tenant, flow.id))!.number).toBe(3);
    });

    it('lists runs newest first and filters them by flow, state and label', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      await service.registerFlow(developer, bundle('b'));
      const runs = [];
      for (const [flowName, labels] of [['a', ['x']], ['b', []], ['a', ['x', 'y']], ['b', ['y']]] as const) {
        runs.push(await service.createFlowRun(developer, { flowName, labels: [...labels] }));
      }
      await service.cancelFlowRun(developer, runs[1]!.id);
      const all = [];
      let after: string | null = null;
      for (;;) {
        const page = await store.listFlowRuns(tenant, {}, { first: 3, after });
        all.push(...page.nodes.map((r) => r.id));
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      expect(all).toEqual(runs.map((r) => r.id).reverse());
      const ids = async (filter: Parameters<typeof store.listFlowRuns>[1]) => (await store.listFlowRuns(tenant, filter, { first: 10 })).nodes.map((r) => r.id);
      expect(await ids({ flowId: runs[0]!.flowId })).toEqual([runs[2]!.id, runs[0]!.id]);
      expect(await ids({ states: ['CANCELLED'] })).toEqual([runs[1]!.id]);
      expect(await ids({ states: ['SCHEDULED', 'CANCELLED'] })).toHaveLength(4);
      expect(await ids({ label: 'y' })).toEqual([runs[3]!.id, runs[2]!.id]);
      expect(await ids({ createdAfter: runs[3]!.createdAt + 1 })).toEqual([]);
      expect(await ids({ createdBefore: runs[0]!.createdAt + 1, createdAfter: runs[0]!.createdAt })).toContain(runs[0]!.id);
    });

    it.each([
      ['a cursor this API never returned', 'not-a-cursor'],
      ['a cursor of the wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    ])('refuses %s with BAD_USER_INPUT', async (_, after) => {
      const { store } = await setup();
      await expect(store.listFlowRuns(tenant, {}, { first: 10, after })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(store.listFlows(tenant, null, { first: 10, after })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });

    it.each([0, 501, 1.5])('refuses a page size of %s with BAD_USER_INPUT', async (first) => {
      const { store } = await setup();
      await expect(store.listAgents(tenant, { first })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: `"first" must be an integer from 1 to 500, got ${first}` });
    });

    it('pages logs by id and keeps the cursor after the last page', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('hello'));
      const run = await service.createFlowRun(developer, { flowName: 'hello' });
      const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
      const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      const lines = ['one', 'two', 'three'].map((message, i) => ({ taskRunKey: i === 1 ? 'extract#1' : null, level: 'INFO' as const, stream: 'stdout', message, timestamp: 1_700_000_000_000 + i }));
      const stored = await service.writeLogs(agentIdentity, { flowRunId: run.id, leaseToken: claim!.leaseToken, batchId: 'b1', lines });
      expect(stored.map((l) => l.message)).toEqual(['one', 'two', 'three']);
      expect(stored[1]).toMatchObject({ taskRunKey: 'extract#1', timestamp: 1_700_000_000_001, flowRunId: run.id, tenant });
      const first = await store.listLogs(tenant, run.id, { first: 2 });
      const rest = await store.listLogs(tenant, run.id, { first: 2, after: first.endCursor });
      expect([...first.nodes, ...rest.nodes]).toEqual(stored);
      expect(rest).toMatchObject({ hasNextPage: false, endCursor: String(stored[2]!.id) });
      const empty = await store.listLogs(tenant, run.id, { first: 2, after: rest.endCursor });
      expect(empty).toEqual({ nodes: [], hasNextPage: false, endCursor: rest.endCursor });
      await expect(store.listLogs(tenant, run.id, { first: 2, after: 'x' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('runs', () => {
    it('keeps parameters as given: nested values and key order', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle('free', { parameterSchema: { type: 'object' } }));
      const parameters = { zeta: 1, alpha: { b: [1, 'two', null, true], a: 'ç ã 😀' }, mid: 2.5 };
      const run = await service.createFlowRun(developer, { flowName: 'free', parameters });
      const read = (await store.getFlowRun(tenant, run.id))!;
      expect(JSON.stringify(read.parameters)).toBe(JSON.stringify(parameters));
    });

    it('refuses an idempotency key already used for another flow', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      await service.registerFlow(developer, bundle('b'));
      await service.createFlowRun(developer, { flowName: 'a', idempotencyKey: 'k' });
      await expect(service.createFlowRun(developer, { flowName: 'b', idempotencyKey: 'k' })).rejects.toMatchObject({
        code: 'IDEMPOTENCY_CONFLICT',
        message: 'idempotency key "k" was already used for another flow',
      });
    });

    it('creates one run for one idempotency key under concurrent requests', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle('a'));
      const runs = await Promise.all(Array.from({ length: 8 }, () => service.createFlowRun(developer, { flowName: 'a', idempotencyKey: 'same' })));
      expect(new Set(runs.map((r) => r.id)).size).toBe(1);
      expect((await store.listFlowRuns(tenant, {}, { first: 10 })).nodes).toHaveLength(1);
      expect(await store.listStateTransitions(tenant, runs[0]!.id, null)).toHaveLength(1);
    });

    it('registers one version per content under concurrent registrations', async () => {
      const { service, store } = await setup();
      const results = await Promise.all(['1', '2', '1', '2', '3'].map((d) => service.registerFlow(developer, bundle('hello', { sha256: d.repeat(64) }))));
      const flow = (await store.findFlow(tenant, 'production', 'hello'))!;
      const numbers = (await store.listFlowVersions(tenant, flow.id, { first: 10 })).nodes.map((v) => v.number);
      expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(results.filter((r) => r.created).length).toBe(numbers.length);
    });

    it('claims only due runs, in priority order, and says when the next one is due', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle('hello'));
      const now = await store.now();
      const later = new Date(now + 3_600_000).toISOString();
      const future = await service.createFlowRun(developer, { flowName: 'hello', scheduledAt: later });
      const low = await service.createFlowRun(developer, { flowName: 'hello', priority: -1 });
      const high = await service.createFlowRun(developer, { flowName: 'hello', priority: 5 });
      const normal = await service.createFlowRun(developer, { flowName: 'hello' });
      expect(await store.nextScheduledAt(tenant)).toBe(low.scheduledAt);
      const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
      const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 10 });
      expect(claims.map((c) => c.run.id)).toEqual([high.id, normal.id, low.id]);
      expect(await store.nextScheduledAt(tenant)).toBe(future.scheduledAt);
      expect(future.scheduledAt).toBe(Date.parse(later));
      expect(await store.countLeasedRuns(tenant)).toEqual(new Map([[agent.id, 3]]));
      expect(await store.nextScheduledAt('rj-smtr')).toBeNull();
    });

    it('grants leases and records transitions in database time', async () => {
      const { service, store } = await setup(60_000);
      await service.registerFlow(developer, bundle('hello'));
      const run = await service.createFlowRun(developer, { flowName: 'hello' });
      const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
      const before = await store.now();
      const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      const after = await store.now();
      expect(claim!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(claim!.leaseExpiresAt).toBeLessThanOrEqual(after + 60_000);
      const history = await store.listStateTransitions(tenant, run.id, null);
      expect(history.map((h) => [h.fromState, h.toState, h.actor])).toEqual([[null, 'SCHEDULED', 'user:ana'], ['SCHEDULED', 'SUBMITTED', 'agent:agent-escritorio']]);
      expect(history[1]!.at).toBe(claim!.leaseExpiresAt - 60_000);
      const seen = (await store.getAgent(tenant, agent.id))!;
      expect(seen.lastSeenAt).toBe(history[1]!.at);
    });
  });

  describe('leases', () => {
    it('cancels a CANCELLING run whose lease expired, and retries a crashed one', async () => {
      const { service, store } = await setup(100);
      await service.registerFlow(developer, bundle('once'));
      await service.registerFlow(developer, bundle('twice', { retries: 1, retryDelaySeconds: 0 }));
      const once = await service.createFlowRun(developer, { flowName: 'once' });
      const twice = await service.createFlowRun(developer, { flowName: 'twice' });
      const agent = await service.registerAgent(agentIdentity, { name: 'agent', labels: [] });
      const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 2 });
      expect(claims).toHaveLength(2);
      await service.cancelFlowRun(developer, once.id);
      const reaped = await waitFor(async () => {
        const runs = await service.reapExpiredLeases();
        return runs.length ? runs : undefined;
      });
      const byId = new Map(reaped.map((r) => [r.id, r]));
      expect(byId.get(once.id)).toMatchObject({ state: 'CANCELLED', stateReason: 'lease-expired', leaseExpiresAt: null });
      expect(byId.get(twice.id)).toMatchObject({ state: 'SCHEDULED', attempt: 2, leaseToken: null, agentId: null });
      const history = await store.listStateTransitions(tenant, twice.id, null);
      expect(history.map((h) => `${h.toState}:${h.reason ?? ''}@${h.attempt}`)).toEqual(['SCHEDULED:@1', 'SUBMITTED:@1', 'CRASHED:lease-expired@1', 'SCHEDULED:retry@2']);
      expect(await service.reapExpiredLeases()).toEqual([]);
      expect(await store.countLeasedRuns(tenant)).toEqual(new Map());
    });

    it('refuses task states and logs without a live lease', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle('hello'));
      const run = await service.createFlowRun(developer, { flowName: 'hello' });
      const base = { flowRunId: run.id, leaseToken: 'nope' };
      await expect(service.writeLogs(agentIdentity, { ...base, batchId: 'b', lines: [] })).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(service.setTaskRunStates(agentIdentity, { ...base, states: [] })).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(service.writeLogs(agentIdentity, { flowRunId: 'missing', leaseToken: 'x', batchId: 'b', lines: [] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.listTaskRuns(tenant, run.id)).toEqual([]);
    });

    it('upserts an agent by name, keeping its id', async () => {
      const { service, store } = await setup();
      const first = await service.registerAgent(agentIdentity, { name: 'agent', labels: ['a'], concurrency: 2 });
      const again = await service.registerAgent(agentIdentity, { name: 'agent', labels: ['b', 'a'], concurrency: 5 });
      expect(again).toMatchObject({ id: first.id, labels: ['a', 'b'], concurrency: 5, createdAt: first.createdAt });
      expect((await store.listAgents(tenant, { first: 10 })).nodes.map((a) => a.name)).toEqual(['agent']);
      expect(await store.getAgent('rj-smtr', first.id)).toBeNull();
    });
  });
});
