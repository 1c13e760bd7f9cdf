// The core as the only door (docs/architecture.md): reads check the role and scope by the
// identity's tenant themselves, and the run feeds behind the subscriptions end at once when their
// consumer goes, leaving nothing on the event bus. Against a real store, every adapter.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const agent: Identity = { subject: 'agent-escritorio', tenant: 'rj-escritorio', role: 'agent' };
const ci: Identity = { subject: 'github', tenant: 'rj-escritorio', role: 'ci' };
const otherTenant: Identity = { subject: 'otto', tenant: 'rj-smtr', role: 'developer' };

const bundle = {
  project: 'production',
  name: 'hello',
  storageUri: 'file:///tmp/bundles/a.mjs',
  sha256: 'a'.repeat(64),
  size: 100,
  entrypoint: 'hello',
};

describe.each(adapters)('the core door on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const events = new EventBus();
    const service = new FluxoService(store, events);
    const { version } = await service.registerFlow(developer, bundle);
    const run = await service.createFlowRun(developer, { flowName: 'hello' });
    return { service, events, version, run };
  }

  const listeners = (events: EventBus): number[] => (['run:changed', 'run:logs', 'events:gap'] as const).map((e) => events.listenerCount(e));

  describe('reads', () => {
    it.each([
      ['an agent', agent],
      ['CI', ci],
    ])('refuses %s every root read with FORBIDDEN', async (_, identity) => {
      const { service, run, version } = await setup();
      const reads: [string, () => Promise<unknown>][] = [
        ['projects', () => service.flows.projects(identity)],
        ['flows', () => service.flows.list(identity, { first: 10 })],
        ['flow', () => service.flows.get(identity, { name: 'hello' })],
        ['flowVersion', () => service.flows.version(identity, version.id)],
        ['flowRuns', () => service.runs.list(identity, {}, { first: 10 })],
        ['agents', () => service.agents.list(identity, { first: 10 })],
        ['run feed', () => service.runs.states(identity, run.id).next()],
        ['log feed', () => service.runs.logLines(identity, run.id, null).next()],
      ];
      for (const [name, read] of reads) {
        await expect(read(), name).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(`role "${identity.role}" may not read`) });
      }
    });

    it("answers another tenant's flows, versions and runs exactly like ones that do not exist", async () => {
      const { service, run, version } = await setup();
      expect(await service.flows.get(otherTenant, { id: version.flowId })).toBeNull();
      expect(await service.flows.get(otherTenant, { name: 'hello' })).toBeNull();
      expect(await service.flows.version(otherTenant, version.id)).toBeNull();
      expect((await service.runs.list(otherTenant, {}, { first: 10 })).nodes).toEqual([]);
      expect((await service.flows.list(otherTenant, { first: 10 })).nodes).toEqual([]);
      await expect(service.runs.states(otherTenant, run.id).next()).rejects.toMatchObject({ code: 'NOT_FOUND', message: `flow run ${run.id} not found` });
      await expect(service.runs.logLines(otherTenant, run.id, null).next()).rejects.toMatchObject({ code: 'NOT_FOUND', message: `flow run ${run.id} not found` });
      // The owner reads all of it.
      expect((await service.flows.get(developer, { id: version.flowId }))?.name).toBe('hello');
      expect((await service.runs.list(developer, {}, { first: 10 })).nodes.map((r) => r.id)).toEqual([run.id]);
    });

    it('refuses a flow read that names neither id nor name, and a bad time filter, with BAD_USER_INPUT', async () => {
      const { service } = await setup();
      await expect(service.flows.get(developer, {})).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'give id, or name (and project)' });
      await expect(service.runs.list(developer, { createdAfter: 'yesterday' }, { first: 10 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('createdAfter') });
    });
  });

  describe('run feeds', () => {
    it('sends the run, then its next state, and ends after the final one', async () => {
      const { service, run } = await setup();
      const feed = service.runs.states(developer, run.id);
      expect((await feed.next()).value).toMatchObject({ id: run.id, state: 'SCHEDULED' });
      const next = feed.next();
      await service.cancelFlowRun(developer, run.id);
      expect((await next).value).toMatchObject({ id: run.id, state: 'CANCELLED' });
      expect(await feed.next()).toEqual({ done: true, value: undefined });
    });

    it('end at once when their signal aborts, leaving no listener on the event bus', async () => {
      const { service, events, run } = await setup();
      const before = listeners(events);
      const ended = new AbortController();
      const states = service.runs.states(developer, run.id, ended.signal);
      const lines = service.runs.logLines(developer, run.id, null, ended.signal);
      expect((await states.next()).value).toMatchObject({ id: run.id });
      // Both now wait for an event that never comes (the run stays SCHEDULED, nothing is logged).
      const waiting = [states.next(), lines.next()];
      expect(listeners(events)).not.toEqual(before);
      ended.abort();
      expect(await Promise.all(waiting)).toEqual([{ done: true, value: undefined }, { done: true, value: undefined }]);
      expect(listeners(events)).toEqual(before);
    });
  });
});
