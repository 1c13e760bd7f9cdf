// An agent name belongs to the token subject that registered it (server/core/agent-names.ts): the
// takeover an outside probe made (another subject re-registering the name, then reading the held
// run, while the displaced subject still wrote with its old lease) is refused, and a tenant-admin's
// move ends the agent's leases. One suite, every store.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { onCleanup } from '../support/harness.js';
import { refusalOf } from '../support/refusal.js';
import { adapters } from './adapters.js';

const TENANT = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant: TENANT, role: 'developer' };
const tenantAdmin: Identity = { subject: 'tania', tenant: TENANT, role: 'tenant-admin' };
const holder: Identity = { subject: 'service:agent-escritorio-01', tenant: TENANT, role: 'agent' };
const intruder: Identity = { subject: 'service:agent-intruder', tenant: TENANT, role: 'agent' };
const rotated: Identity = { subject: 'service:agent-escritorio-02', tenant: TENANT, role: 'agent' };

const bundle = { project: 'production', name: 'hello', storageUri: 'file:///tmp/bundles/a.mjs', sha256: 'a'.repeat(64), size: 100, entrypoint: 'hello', secrets: ['DB_PASSWORD'] };

describe.each(adapters)('agent names on $name', ({ open }) => {
  /** A service, the holder's agent "escritorio", and a run it claimed and started. */
  async function heldRun() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const service = new FluxoService(store, new EventBus());
    await service.registerFlow(developer, bundle);
    const agent = await service.registerAgent(holder, { name: 'escritorio', labels: [] });
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    const [claim] = await service.claimFlowRuns(holder, { agentId: agent.id, max: 1 });
    const running = await service.setFlowRunState(holder, { flowRunId: run.id, leaseToken: claim!.leaseToken, expectedVersion: 2, state: 'RUNNING' });
    return { store, service, agent, run: running, lease: { flowRunId: run.id, leaseToken: claim!.leaseToken } };
  }

  describe('registering a name another subject holds', () => {
    it('is refused with AGENT_NAME_TAKEN, saying how to move it, and changes nothing', async () => {
      const { service, store, agent } = await heldRun();
      expect(await refusalOf(service.registerAgent(intruder, { name: 'escritorio', labels: ['gpu'], concurrency: 9 }))).toEqual({
        code: 'AGENT_NAME_TAKEN',
        message: 'agent name "escritorio" is registered by another token of this tenant; start this agent with another --name, or have a tenant-admin move the name to this token: fluxo agents move escritorio --to-subject service:agent-intruder',
      });
      expect(await store.getAgent(TENANT, agent.id)).toMatchObject({ subject: holder.subject, labels: [], concurrency: 1 });
    });

    it('leaves the holder working: its heartbeats renew, and the intruder reads nothing of its run', async () => {
      const { service, agent, run, lease } = await heldRun();
      await refusalOf(service.registerAgent(intruder, { name: 'escritorio', labels: [] }));
      expect(await service.heartbeat(holder, { agentId: agent.id, leases: [lease] })).toMatchObject({ renewed: [run.id], lost: [] });
      expect(await service.readFlowRun(intruder, run.id)).toBeNull();
      expect(await refusalOf(service.heartbeat(intruder, { agentId: agent.id, leases: [lease] }))).toMatchObject({ code: 'NOT_FOUND' });
      expect(await refusalOf(service.claimFlowRuns(intruder, { agentId: agent.id, max: 1 }))).toMatchObject({ code: 'NOT_FOUND' });
    });

    it('lets the holder register again with other labels (a restart)', async () => {
      const { service, agent } = await heldRun();
      expect(await service.registerAgent(holder, { name: 'escritorio', labels: ['gpu'], concurrency: 4 })).toMatchObject({ id: agent.id, labels: ['gpu'], concurrency: 4 });
    });
  });

  describe('a tenant-admin moving a name (a rotated token)', () => {
    it('hands the agent to the new subject, which registers it under the same id', async () => {
      const { service, agent } = await heldRun();
      expect(await service.moveAgent(tenantAdmin, { name: 'escritorio', toSubject: rotated.subject })).toMatchObject({ id: agent.id, name: 'escritorio' });
      expect(await service.registerAgent(rotated, { name: 'escritorio', labels: [] })).toMatchObject({ id: agent.id });
      expect(await refusalOf(service.registerAgent(holder, { name: 'escritorio', labels: [] }))).toMatchObject({ code: 'AGENT_NAME_TAKEN' });
    });

    it('refuses the displaced subject: NOT_FOUND as the agent, LEASE_LOST for every write under its old lease, nothing written', async () => {
      const { service, store, agent, run, lease } = await heldRun();
      await service.moveAgent(tenantAdmin, { name: 'escritorio', toSubject: rotated.subject });
      const notHeld = { code: 'NOT_FOUND', message: `agent ${agent.id} not found for this token; register it first (a tenant-admin may have moved it to another token)` };
      expect(await refusalOf(service.heartbeat(holder, { agentId: agent.id, leases: [lease] }))).toEqual(notHeld);
      expect(await refusalOf(service.claimFlowRuns(holder, { agentId: agent.id, max: 1 }))).toEqual(notHeld);
      const writes = {
        state: await refusalOf(service.setFlowRunState(holder, { ...lease, expectedVersion: run.version, state: 'FAILED', message: 'forged' })),
        taskStates: await refusalOf(service.setTaskRunStates(holder, { ...lease, states: [{ key: 't#1', taskName: 't', mapIndex: null, attempt: 1, state: 'FAILED', message: 'forged' }] })),
        logs: await refusalOf(service.writeLogs(holder, { ...lease, batchId: 'late', lines: [{ taskRunKey: null, level: 'INFO', stream: 'logger', message: 'forged', timestamp: 0 }] })),
      };
      expect(Object.values(writes).map((w) => w.code)).toEqual(['LEASE_LOST', 'LEASE_LOST', 'LEASE_LOST']);
      expect(await store.listTaskRuns(TENANT, run.id)).toEqual([]);
      expect((await store.listLogs(TENANT, run.id, { first: 10 })).nodes).toEqual([]);
      expect((await store.getFlowRun(TENANT, run.id))!.state).toBe('RUNNING');
    });

    it('does not let the new holder read, renew or write the runs leased before the move; the reaper ends them', async () => {
      const { service, agent, run, lease } = await heldRun();
      await service.moveAgent(tenantAdmin, { name: 'escritorio', toSubject: rotated.subject });
      await service.registerAgent(rotated, { name: 'escritorio', labels: [] });
      expect(await service.readFlowRun(rotated, run.id)).toBeNull();
      expect(await service.heartbeat(rotated, { agentId: agent.id, leases: [lease] })).toMatchObject({ renewed: [], lost: [run.id] });
      expect(await refusalOf(service.setFlowRunState(rotated, { ...lease, expectedVersion: run.version, state: 'SUCCESS' }))).toMatchObject({ code: 'LEASE_LOST' });
      const reaped = await service.reapExpiredLeases();
      expect(reaped.map((r) => [r.id, r.state, r.stateReason])).toEqual([[run.id, 'CRASHED', 'lease-expired']]);
    });

    it('claims nothing for a subject that no longer holds the agent, even straight through the store (a claim racing the move)', async () => {
      const { service, store, agent } = await heldRun();
      await service.createFlowRun(developer, { flowName: 'hello' });
      await service.moveAgent(tenantAdmin, { name: 'escritorio', toSubject: rotated.subject });
      expect(await refusalOf(store.claimFlowRuns(TENANT, { id: agent.id, subject: holder.subject }, [], 10, 30_000))).toMatchObject({ code: 'NOT_FOUND' });
      expect((await store.listFlowRuns(TENANT, { states: ['SCHEDULED'] }, { first: 10 })).nodes).toHaveLength(1);
      expect(await store.claimFlowRuns(TENANT, { id: agent.id, subject: rotated.subject }, [], 10, 30_000)).toHaveLength(1);
    });

    it('changes nothing when moved to the subject that holds it', async () => {
      const { service, agent, lease, run } = await heldRun();
      expect(await service.moveAgent(tenantAdmin, { name: 'escritorio', toSubject: holder.subject })).toMatchObject({ id: agent.id });
      expect(await service.heartbeat(holder, { agentId: agent.id, leases: [lease] })).toMatchObject({ renewed: [run.id] });
    });

    it.each([
      ['a developer', developer, { name: 'escritorio', toSubject: 'x' }, { code: 'FORBIDDEN', message: 'role "developer" may not manage agents (allowed: admin, tenant-admin)' }],
      ['the agent itself', holder, { name: 'escritorio', toSubject: 'x' }, { code: 'FORBIDDEN', message: 'role "agent" may not manage agents (allowed: admin, tenant-admin)' }],
      ['a name nobody registered', tenantAdmin, { name: 'nobody', toSubject: 'x' }, { code: 'NOT_FOUND', message: 'agent "nobody" not found' }],
      ['a blank subject', tenantAdmin, { name: 'escritorio', toSubject: '  ' }, { code: 'BAD_USER_INPUT', message: 'toSubject must be a token subject: 1 to 256 characters, not blank, no control characters' }],
      ['a subject with a newline', tenantAdmin, { name: 'escritorio', toSubject: 'a\nb' }, { code: 'BAD_USER_INPUT', message: 'toSubject must be a token subject: 1 to 256 characters, not blank, no control characters' }],
    ] as const)('refuses %s and moves nothing', async (_, who, input, expected) => {
      const { service, store, agent } = await heldRun();
      expect(await refusalOf(service.moveAgent(who, input))).toEqual(expected);
      expect((await store.getAgent(TENANT, agent.id))!.subject).toBe(holder.subject);
    });
  });
});
