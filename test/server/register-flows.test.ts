// Bulk registration against a real store, SQLite and PostgreSQL: registerFlows (each item alone,
// in order, at most 100) and knownBundles (which digests the caller's tenant records, and where).
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { knownBundles, registerFlows } from '../../server/core/register-flows.js';
import { FluxoService } from '../../server/core/service.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const ci: Identity = { subject: 'ci', tenant: 'rj-escritorio', role: 'ci' };
const viewer: Identity = { subject: 'vera', tenant: 'rj-escritorio', role: 'viewer' };
const otherTenant: Identity = { subject: 'otto', tenant: 'rj-smtr', role: 'developer' };

const digest = (c: string): string => c.repeat(64);

const input = (name: string, overrides: Record<string, unknown> = {}) => ({
  project: 'production',
  name,
  storageUri: `file:///tmp/bundles/${name}.mjs`,
  sha256: digest('a'),
  size: 100,
  entrypoint: 'flow',
  parameterSchema: { type: 'object', properties: { year: { type: 'integer', default: 2010 } }, additionalProperties: false },
  ...overrides,
});

describe.each(adapters)('bulk registration on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, service: new FluxoService(store, new EventBus()) };
  }

  describe('registerFlows', () => {
    it('registers every item in order, and a second identical batch creates nothing', async () => {
      const { service } = await setup();
      const batch = [input('a'), input('b', { sha256: digest('b') }), input('a', { sha256: digest('c') })];
      const first = await registerFlows(service, ci, batch);
      expect(first.map(({ name, created, error, flowVersion }) => ({ name, created, error, number: flowVersion?.number }))).toEqual([
        { name: 'a', created: true, error: null, number: 1 },
        { name: 'b', created: true, error: null, number: 1 },
        { name: 'a', created: true, error: null, number: 2 },
      ]);
      const again = await registerFlows(service, ci, batch.slice(1));
      expect(again.map(({ created, flowVersion }) => [created, flowVersion?.number])).toEqual([
        [false, 1],
        [false, 2],
      ]);
    });

    it('turns a bad item into its coded error and registers the others', async () => {
      const { service, store } = await setup();
      const items = await registerFlows(service, developer, [input('good-1'), input('bad name!'), input('bad-sha', { sha256: 'XYZ' }), input('good-2')]);
      expect(items.map(({ project, name, created, error }) => ({ project, name, created, error }))).toEqual([
        { project: 'production', name: 'good-1', created: true, error: null },
        { project: 'production', name: 'bad name!', created: false, error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('flow name') } },
        { project: 'production', name: 'bad-sha', created: false, error: { code: 'BAD_USER_INPUT', message: 'sha256 must be 64 lowercase hex characters' } },
        { project: 'production', name: 'good-2', created: true, error: null },
      ]);
      expect(items[1]?.flowVersion).toBeNull();
      expect((await store.listFlows(developer.tenant, null, { first: 10 })).nodes.map((flow) => flow.name).sort()).toEqual(['good-1', 'good-2']);
    });

    it('takes 100 items and refuses 101 with BAD_USER_INPUT, registering none of them', async () => {
      const { service, store } = await setup();
      const hundred = Array.from({ length: 100 }, (_, i) => input(`flow-${i}`));
      expect((await registerFlows(service, ci, hundred)).every((item) => item.created)).toBe(true);
      const more = Array.from({ length: 101 }, (_, i) => input(`more-${i}`));
      await expect(registerFlows(service, ci, more)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('at most 100 inputs; got 101') });
      expect((await store.listFlows(developer.tenant, null, { first: 200 })).nodes).toHaveLength(100);
    });

    it('refuses a role that may not register, before any item', async () => {
      const { service } = await setup();
      await expect(registerFlows(service, viewer, [input('a')])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    it('ends the request on an error that is not an item\u2019s fault (the store is gone)', async () => {
      const { service, store } = await setup();
      await store.close();
      const outcome = await registerFlows(service, developer, [input('a')]).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      expect(outcome).toBeInstanceOf(Error);
      expect(outcome).not.toHaveProperty('code', 'BAD_USER_INPUT');
    });
  });

  describe('knownBundles', () => {
    it('answers the digests a version of the tenant records, with their storage URI', async () => {
      const { service } = await setup();
      await registerFlows(service, developer, [input('a'), input('b', { sha256: digest('b'), storageUri: 'file:///tmp/elsewhere/b.mjs' })]);
      const known = await knownBundles(service, ci, [digest('a'), digest('b'), digest('c'), digest('a')]);
      expect(known.sort((x, y) => x.sha256.localeCompare(y.sha256))).toEqual([
        { sha256: digest('a'), storageUri: 'file:///tmp/bundles/a.mjs' },
        { sha256: digest('b'), storageUri: 'file:///tmp/elsewhere/b.mjs' },
      ]);
      expect(await knownBundles(service, ci, [])).toEqual([]);
    });

    it("does not know another tenant's digest", async () => {
      const { service } = await setup();
      await registerFlows(service, otherTenant, [input('theirs', { sha256: digest('d') })]);
      expect(await knownBundles(service, developer, [digest('d')])).toEqual([]);
      expect(await knownBundles(service, otherTenant, [digest('d')])).toEqual([{ sha256: digest('d'), storageUri: 'file:///tmp/bundles/theirs.mjs' }]);
    });

    it.each([
      ['uppercase hex', [digest('A')], 'is not a sha256'],
      ['a short digest', ['abc'], 'is not a sha256'],
      ['65 characters', [`${digest('a')}0`], 'is not a sha256'],
      ['1,001 digests', Array.from({ length: 1001 }, () => digest('a')), 'at most 1000 digests; got 1001'],
    ])('refuses %s with BAD_USER_INPUT', async (_label, digests, message) => {
      const { service } = await setup();
      await expect(knownBundles(service, developer, digests)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(message) });
    });

    it('takes 1,000 digests, and refuses a role that may not register', async () => {
      const { service } = await setup();
      const many = Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0'));
      expect(await knownBundles(service, developer, many)).toEqual([]);
      await expect(knownBundles(service, viewer, [digest('a')])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });
});
