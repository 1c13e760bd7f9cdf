// Concurrency limits enforced by the server inside the claim, and why a run waits. One suite, every
// adapter: SQLite and a real PostgreSQL. Claims race for real (Promise.all of many claims of
// several agents); after every round the store is the witness: never more runs holding a slot
// than the limit.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { deleteConcurrencyLimit, listConcurrencyLimits, setConcurrencyLimit } from '../../server/core/limits.js';
import { FluxoService, type RegisterFlowArgs } from '../../server/core/service.js';
import { explainWait } from '../../server/core/wait-reason.js';
import type { AgentRecord, FlowRunRecord } from '../../server/store/records.js';
import type { Claim, Store } from '../../server/store/store.js';
import { onCleanup, waitFor } from '../support/harness.js';
import { adapters } from './adapters.js';

const tenant = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant, role: 'developer' };
const tenantAdmin: Identity = { subject: 'tina', tenant, role: 'tenant-admin' };
const viewer: Identity = { subject: 'vera', tenant, role: 'viewer' };
const agentIdentity: Identity = { subject: 'agent-escritorio', tenant, role: 'agent' };
const HOLDING = ['SUBMITTED', 'RUNNING', 'CANCELLING'] as const;

const flow = (name: string, overrides: Partial<RegisterFlowArgs> = {}): RegisterFlowArgs => ({
  project: 'production',
  name,
  storageUri: `file:///tmp/bundles/${name}.mjs`,
  sha256: createHash('sha256').update(name).digest('hex'),
  size: 100,
  entrypoint: 'main',
  ...overrides,
});

describe.each(adapters)('concurrency limits on $name', ({ open }) => {
  async function setup(leaseMs = 30_000) {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const events = new EventBus();
    const service = new FluxoService(store, events, { leaseMs });
    return { store, events, service };
  }

  const agentWith = (service: FluxoService, name: string, labels: string[] = [], concurrency = 4) =>
    service.registerAgent(agentIdentity, { name, labels, concurrency });

  const holding = async (store: Store, flowId?: string): Promise<FlowRunRecord[]> =>
    (await store.listFlowRuns(tenant, { states: [...HOLDING], flowId: flowId ?? null }, { first: 500 })).nodes;

  /** Runs the claimed run to SUCCESS, freeing its slot. */
  async function complete(service: FluxoService, claim: Claim): Promise<void> {
    const running = await service.setFlowRunState(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: claim.run.version, state: 'RUNNING' });
    await service.setFlowRunState(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: running.version, state: 'SUCCESS' });
  }

  /**
   * Rounds of concurrent claims (every agent claims `claimsPerAgent` times at once); after each
   * round checks the limit against the store, then completes what was claimed. Returns the claimed
   * runs' ids in claim order.
   */
  async function drain(service: FluxoService, store: Store, agents: AgentRecord[], limit: number, total: number, flowId?: string): Promise<string[]> {
    const order: string[] = [];
    for (let round = 0; order.length < total; round++) {
      expect(round, 'rounds needed to run every run').toBeLessThan(total * 3);
      const claims = (await Promise.all(agents.flatMap((agent) => [1, 2].map(() => service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 }))))).flat();
      expect((await holding(store, flowId)).length).toBeLessThanOrEqual(limit);
      expect(claims.length).toBeLessThanOrEqual(limit);
      order.push(...claims.map((c) => c.run.id));
      await Promise.all(claims.map((claim) => complete(service, claim)));
    }
    return order;
  }

  describe('a flow limit', () => {
    it('never lets two runs of a flow with limit 1 hold a slot, with 10 due and 3 agents claiming at once', async () => {
      const { service, store } = await setup();
      const { version } = await service.registerFlow(developer, flow('once', { concurrencyLimit: 1 }));
      expect(version).toMatchObject({ concurrencyLimit: 1, whenConcurrencyFull: 'QUEUE' });
      const runs: FlowRunRecord[] = [];
      for (let i = 0; i < 10; i++) runs.push(await service.createFlowRun(developer, { flowName: 'once' }));
      const agents = [await agentWith(service, 'a1'), await agentWith(service, 'a2'), await agentWith(service, 'a3')];
      const order = await drain(service, store, agents, 1, 10, version.flowId);
      // Oldest first, each exactly once.
      expect(order).toEqual(runs.map((r) => r.id));
      const finals = await store.getFlowRuns(tenant, order);
      expect(finals.every((r) => r.state === 'SUCCESS')).toBe(true);
    });

    it('ends runs of a SKIP flow CANCELLED with reason concurrency-skip while one runs, and publishes them', async () => {
      const { service, store, events } = await setup();
      await service.registerFlow(developer, flow('skipper', { concurrencyLimit: 1, whenConcurrencyFull: 'SKIP' }));
      const agent = await agentWith(service, 'a1');
      const first = await service.createFlowRun(developer, { flowName: 'skipper' });
      const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 });
      expect(claim?.run.id).toBe(first.id);
      const later = [await service.createFlowRun(developer, { flowName: 'skipper' }), await service.createFlowRun(developer, { flowName: 'skipper' })];
      const published: FlowRunRecord[] = [];
      events.on('run:changed', (run) => published.push(run));
      expect(await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 })).toEqual([]);
      for (const run of await store.getFlowRuns(tenant, later.map((r) => r.id))) {
        expect(run).toMatchObject({ state: 'CANCELLED', stateReason: 'concurrency-skip' });
        expect(run.stateMessage).toMatch(/1 of 1 running/);
        const history = await store.listStateTransitions(tenant, run.id, null);
        expect(history.at(-1)).toMatchObject({ fromState: 'SCHEDULED', toState: 'CANCELLED', reason: 'concurrency-skip' });
      }
      expect(published.filter((r) => r.state === 'CANCELLED').map((r) => r.id).sort()).toEqual(later.map((r) => r.id).sort());
      // Once the running one ends, a new run is claimed again.
      await complete(service, claim!);
      const next = await service.createFlowRun(developer, { flowName: 'skipper' });
      expect((await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 })).map((c) => c.run.id)).toEqual([next.id]);
    });

    it('wakes a claim waiting on a full flow as soon as the running run ends', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, flow('once', { concurrencyLimit: 1 }));
      const first = await service.createFlowRun(developer, { flowName: 'once' });
      const second = await service.createFlowRun(developer, { flowName: 'once' });
      const agent = await agentWith(service, 'a1');
      const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 });
      expect(claim?.run.id).toBe(first.id);
      // A long-poll far longer than the test's timeout: only the freed slot can end it in time.
      const waiting = service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4, waitMs: 30_000 });
      await complete(service, claim!);
      expect((await waiting).map((c) => c.run.id)).toEqual([second.id]);
    }, 20_000);

    it('does not let a blocked run stop a later run of another flow', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, flow('limited', { concurrencyLimit: 1 }));
      await service.registerFlow(developer, flow('free'));
      const urgent = [];
      for (let i = 0; i < 3; i++) urgent.push(await service.createFlowRun(developer, { flowName: 'limited', priority: 10 }));
      const free = await service.createFlowRun(developer, { flowName: 'free' });
      const agent = await agentWith(service, 'a1', [], 10);
      const claimed = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 10 });
      expect(claimed.map((c) => c.run.id)).toEqual([urgent[0]!.id, free.id]);
      expect(await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 10 })).toEqual([]);
    });

    it('passes over a long blocked queue to a run that can go', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('limited', { concurrencyLimit: 1 }));
      await service.registerFlow(developer, flow('free'));
      for (let i = 0; i < 300; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => service.createFlowRun(developer, { flowName: 'limited', priority: 10 })));
      }
      const free = [await service.createFlowRun(developer, { flowName: 'free' }), await service.createFlowRun(developer, { flowName: 'free' })];
      const agent = await agentWith(service, 'a1', [], 10);
      expect(await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 })).toHaveLength(1);
      // One at a time: each claim passes over 299 blocked runs.
      for (const run of free) expect((await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 })).map((c) => c.run.id)).toEqual([run.id]);
      expect(await holding(store)).toHaveLength(3);
    });

    it('hands out higher priority first, then the oldest', async () => {
      const { service } = await setup();
      await service.registerFlow(developer, flow('ordered', { concurrencyLimit: 1 }));
      const old = await service.createFlowRun(developer, { flowName: 'ordered', priority: 1 });
      const newer = await service.createFlowRun(developer, { flowName: 'ordered', priority: 1 });
      const high = await service.createFlowRun(developer, { flowName: 'ordered', priority: 5 });
      const agent = await agentWith(service, 'a1', [], 10);
      const order: string[] = [];
      for (let i = 0; i < 3; i++) {
        const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 10 });
        expect(claims).toHaveLength(1);
        order.push(claims[0]!.run.id);
        await complete(service, claims[0]!);
      }
      expect(order).toEqual([high.id, old.id, newer.id]);
    });
  });

  describe('operator limits', () => {
    it('keeps at most 2 runs carrying a label with limit 2 over 3 agents', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('smtr'));
      await setConcurrencyLimit(store, tenantAdmin, 'label:rj-smtr', 2);
      for (let i = 0; i < 7; i++) await service.createFlowRun(developer, { flowName: 'smtr', labels: ['rj-smtr'] });
      const agents = await Promise.all(['s1', 's2', 's3'].map((name) => agentWith(service, name, ['rj-smtr'])));
      const order = await drain(service, store, agents, 2, 7);
      expect(new Set(order).size).toBe(7);
    });

    it('keeps the tenant under its limit across flows', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('one'));
      await service.registerFlow(developer, flow('two'));
      await setConcurrencyLimit(store, tenantAdmin, 'tenant', 3);
      for (let i = 0; i < 3; i++) {
        await service.createFlowRun(developer, { flowName: 'one' });
        await service.createFlowRun(developer, { flowName: 'two' });
      }
      const agents = [await agentWith(service, 'a1'), await agentWith(service, 'a2')];
      const order = await drain(service, store, agents, 3, 6);
      expect(new Set(order).size).toBe(6);
    });

    it('sets, lists with running counts, replaces and deletes limits', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('smtr'));
      await service.createFlowRun(developer, { flowName: 'smtr', labels: ['rj-smtr'] });
      const agent = await agentWith(service, 's1', ['rj-smtr']);
      await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      expect(await setConcurrencyLimit(store, tenantAdmin, 'label:rj-smtr', 4)).toMatchObject({ scope: 'label:rj-smtr', limit: 4, running: 1, updatedBy: 'user:tina' });
      await setConcurrencyLimit(store, tenantAdmin, 'tenant', 50);
      await setConcurrencyLimit(store, tenantAdmin, 'tenant', 40);
      expect((await listConcurrencyLimits(store, viewer)).map(({ scope, limit, running }) => ({ scope, limit, running }))).toEqual([
        { scope: 'label:rj-smtr', limit: 4, running: 1 },
        { scope: 'tenant', limit: 40, running: 1 },
      ]);
      expect(await deleteConcurrencyLimit(store, tenantAdmin, 'tenant')).toBe(true);
      expect(await deleteConcurrencyLimit(store, tenantAdmin, 'tenant')).toBe(false);
      expect((await listConcurrencyLimits(store, tenantAdmin)).map((l) => l.scope)).toEqual(['label:rj-smtr']);
      // Another tenant sees none of them.
      expect(await listConcurrencyLimits(store, { ...viewer, tenant: 'rj-smtr' })).toEqual([]);
    });

    it.each([
      ['a scope that is neither tenant nor a label', 'flow', 4, /scope "flow" must be/],
      ['an empty label', 'label:', 4, /label ""/],
      ['a label with a space', 'label:has space', 4, /label "has space"/],
      ['a limit of 0', 'tenant', 0, /limit must be an integer from 1 to 10000, got 0/],
      ['a limit above 10,000', 'tenant', 10_001, /from 1 to 10000/],
      ['a fractional limit', 'tenant', 1.5, /from 1 to 10000/],
    ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_, scope, limit, message) => {
      const { store } = await setup();
      await expect(setConcurrencyLimit(store, tenantAdmin, scope, limit)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
      expect(await listConcurrencyLimits(store, tenantAdmin)).toEqual([]);
    });

    it('refuses a developer token with FORBIDDEN', async () => {
      const { store } = await setup();
      await expect(setConcurrencyLimit(store, developer, 'tenant', 4)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(deleteConcurrencyLimit(store, developer, 'tenant')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('registration', () => {
    it('keeps the content hash of a flow without a limit, and hashes a limit when set', async () => {
      const { service } = await setup();
      const args = flow('hashed');
      const first = await service.registerFlow(developer, args);
      const before = {
        sha256: args.sha256, size: args.size, entrypoint: args.entrypoint, parameterSchema: { type: 'object', properties: {}, additionalProperties: false },
        defaultLabels: [], secrets: [], retries: 0, retryDelaySeconds: 10, timeoutSeconds: null, description: null,
      };
      expect(first.version.contentHash).toBe(createHash('sha256').update(JSON.stringify(before)).digest('hex'));
      expect(first.version).toMatchObject({ concurrencyLimit: null, whenConcurrencyFull: 'QUEUE' });
      // A policy without a limit means nothing: no new version.
      expect(await service.registerFlow(developer, { ...args, whenConcurrencyFull: 'SKIP' })).toMatchObject({ created: false });
      const limited = await service.registerFlow(developer, { ...args, concurrencyLimit: 2, whenConcurrencyFull: 'SKIP' });
      expect(limited).toMatchObject({ created: true, version: { number: 2, concurrencyLimit: 2, whenConcurrencyFull: 'SKIP' } });
      expect(await service.registerFlow(developer, { ...args, concurrencyLimit: 2 })).toMatchObject({ created: true, version: { number: 3, whenConcurrencyFull: 'QUEUE' } });
    });

    it.each([0, 1001, 2.5])('refuses a flow limit of %s with BAD_USER_INPUT', async (limit) => {
      const { service } = await setup();
      await expect(service.registerFlow(developer, flow('bad', { concurrencyLimit: limit }))).rejects.toMatchObject({
        code: 'BAD_USER_INPUT', message: expect.stringMatching(/concurrencyLimit must be an integer from 1 to 1000/),
      });
    });
  });

  describe('why a run waits', () => {
    const why = async (service: FluxoService, store: Store, run: FlowRunRecord, leaseMs = service.leaseMs) =>
      explainWait(store, (await store.getFlowRun(tenant, run.id))!, leaseMs);

    it('says a run scheduled later waits for its time', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('later'));
      const run = await service.createFlowRun(developer, { flowName: 'later', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
      expect(await why(service, store, run)).toMatchObject({ kind: 'SCHEDULED_LATER', message: expect.stringMatching(/^scheduled for 20/) });
    });

    it('says a scheduler run of a paused schedule waits for the resume', async () => {
      const { service, store } = await setup();
      const { version } = await service.registerFlow(developer, flow('clocked', { schedules: [{ everySeconds: 3600 }] }));
      const now = await store.now();
      const [run] = await store.createScheduledRuns([{
        tenant, flowId: version.flowId, flowVersionId: version.id, parameters: {}, labels: [], priority: 0, scheduledAt: now - 1000,
        idempotencyKey: 'clocked-1', actor: 'server:scheduler', clockKey: version.clocks[0]!.key,
      }], []);
      await agentWith(service, 'a1');
      await service.schedules.pause(tenantAdmin, { project: 'production', flowName: 'clocked' });
      expect(await why(service, store, run!)).toMatchObject({ kind: 'SCHEDULE_PAUSED', message: expect.stringMatching(/schedule is paused/) });
    });

    it('names every agent and its labels when none matches', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('routed'));
      const run = await service.createFlowRun(developer, { flowName: 'routed', labels: ['gpu'] });
      await agentWith(service, 'a1', ['rj']);
      expect(await why(service, store, run)).toMatchObject({ kind: 'NO_MATCHING_AGENT', message: 'no agent has labels matching {gpu} (agents: a1 {rj})' });
    });

    it('says when matching agents are offline, with when each was last seen', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('offline'));
      const run = await service.createFlowRun(developer, { flowName: 'offline' });
      const agent = await agentWith(service, 'a1');
      // With a 1 ms lease the agent is offline once 3 ms of database time passed since it was seen.
      await waitFor(async () => (await store.now()) - agent.lastSeenAt > 3, { what: 'database time to move past the online window' });
      const cause = await why(service, store, run, 1);
      expect(cause).toMatchObject({ kind: 'AGENTS_OFFLINE', message: expect.stringContaining(`a1 (last seen ${new Date(agent.lastSeenAt).toISOString()})`) });
      expect(cause!.agents.map((a) => a.name)).toEqual(['a1']);
    });

    it.each([
      ['flow', 'FLOW_CONCURRENCY', "the flow's concurrency limit is full (1 of 1 running)"],
      ['label:rj', 'LABEL_CONCURRENCY', 'the concurrency limit label:rj is full (1 of 1 running)'],
      ['tenant', 'TENANT_CONCURRENCY', "the tenant's concurrency limit is full (1 of 1 running)"],
    ])('names the full %s limit with n of m running', async (scope, kind, message) => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('busy', scope === 'flow' ? { concurrencyLimit: 1 } : {}));
      if (scope !== 'flow') await setConcurrencyLimit(store, tenantAdmin, scope, 1);
      await service.createFlowRun(developer, { flowName: 'busy', labels: ['rj'] });
      const waiting = await service.createFlowRun(developer, { flowName: 'busy', labels: ['rj'] });
      const agent = await agentWith(service, 'a1', ['rj']);
      expect(await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 4 })).toHaveLength(1);
      expect(await why(service, store, waiting)).toMatchObject({ kind, message, limitScope: scope, running: 1, limit: 1 });
    });

    it('says every matching agent is busy, then that the run is claimable', async () => {
      const { service, store } = await setup();
      await service.registerFlow(developer, flow('work'));
      await service.createFlowRun(developer, { flowName: 'work' });
      const waiting = await service.createFlowRun(developer, { flowName: 'work' });
      const agent = await agentWith(service, 'a1', [], 1);
      const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      expect(await why(service, store, waiting)).toMatchObject({ kind: 'AGENTS_BUSY', message: 'every agent matching no labels is at its concurrency limit: a1 (1)' });
      await complete(service, claim!);
      expect(await why(service, store, waiting)).toMatchObject({ kind: 'CLAIMABLE', message: 'waiting to be claimed by a1', agents: [expect.objectContaining({ name: 'a1' })] });
    });
  });
});
