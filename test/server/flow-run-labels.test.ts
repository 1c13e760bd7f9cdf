// The label filter of listFlowRuns on every store: it walks flow_run_labels (migration 003), which
// the writers keep in step with flow_runs: written with the run, backfilled for runs created before
// the migration, deleted by retention with the run.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { EventBus } from '../../server/core/events.js';
import { FluxoService } from '../../server/core/service.js';
import { openStore } from '../../server/open-store.js';
import { migrations as postgresMigrations } from '../../server/store/postgres/migrations/index.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { raw, sql } from '../../server/store/postgres/sql.js';
import { migrations as sqliteMigrations } from '../../server/store/sqlite/migrations/index.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { FlowRunRecord } from '../../server/store/records.js';
import type { FlowRunFilter, Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { adapters } from './adapters.js';

const developer: Identity = { subject: 'ana', tenant: 'rj-escritorio', role: 'developer' };
const tenant = developer.tenant;
const DAY = 86_400_000;
const bundle = (name: string) => ({
  project: 'production', name, storageUri: `file:///tmp/bundles/${name}.mjs`, sha256: 'a'.repeat(64), size: 100, entrypoint: 'main',
});

/** Rows of flow_run_labels, as `label run-id` strings in key order. */
async function labelRows(store: Store): Promise<string[]> {
  const text = 'SELECT label, flow_run_id FROM flow_run_labels ORDER BY tenant, label, created_at, flow_run_id';
  if (store instanceof SqliteStore) return (store.db.prepare(text).all() as { label: string; flow_run_id: string }[]).map((r) => `${r.label} ${r.flow_run_id}`);
  if (store instanceof PostgresStore) return (await store.db.rows<{ label: string; flow_run_id: string }>(raw(text))).map((r) => `${r.label} ${r.flow_run_id}`);
  throw new TypeError('unknown store');
}

describe.each(adapters)('label filter on $name', ({ name, open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    return { store, service: new FluxoService(store, new EventBus()) };
  }

  /** Every id `filter` lists, newest first, following cursors `first` at a time. */
  async function walk(store: Store, filter: FlowRunFilter, first: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await store.listFlowRuns(tenant, filter, { first, after });
      ids.push(...page.nodes.map((r) => r.id));
      if (!page.hasNextPage) return ids;
      after = page.endCursor;
    }
  }

  describe('listing', () => {
    it('pages the runs carrying a label newest first, combined with flow, state and time', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      await service.registerFlow(developer, bundle('b'));
      const runs: FlowRunRecord[] = [];
      const plan = [['a', ['gpu']], ['b', ['gpu', 'smtr']], ['a', []], ['b', ['smtr']], ['a', ['gpu', 'smtr']], ['b', ['gpu']], ['a', ['gpu']]] as const;
      for (const [flowName, labels] of plan) runs.push(await service.createFlowRun(developer, { flowName, labels: [...labels] }));
      await service.cancelFlowRun(developer, runs[4]!.id);
      await service.cancelFlowRun(developer, runs[5]!.id);
      const newestFirst = (indexes: number[]) => indexes.map((i) => runs[i]!.id).reverse();
      const gpu = newestFirst([0, 1, 4, 5, 6]);

      for (const first of [1, 2, 10]) expect(await walk(store, { label: 'gpu' }, first)).toEqual(gpu);
      expect(await walk(store, { label: 'smtr' }, 2)).toEqual(newestFirst([1, 3, 4]));
      expect(await walk(store, { label: 'gpu', flowId: runs[0]!.flowId }, 1)).toEqual(newestFirst([0, 4, 6]));
      expect(await walk(store, { label: 'gpu', states: ['CANCELLED'] }, 1)).toEqual(newestFirst([4, 5]));
      expect(await walk(store, { label: 'gpu', states: ['SCHEDULED'], flowId: runs[1]!.flowId }, 1)).toEqual(newestFirst([1]));
      // Runs created within one millisecond tie on created_at; the window is checked against the key's own time.
      const [from, to] = [runs[1]!.createdAt, runs[5]!.createdAt];
      const inWindow = runs.flatMap((r, i) => (r.createdAt >= from && r.createdAt < to && (plan[i]![1] as readonly string[]).includes('gpu') ? [r.id] : []));
      expect(await walk(store, { label: 'gpu', createdAfter: from, createdBefore: to }, 1)).toEqual(inWindow.reverse());
      expect(await walk(store, { label: 'no-such-label' }, 10)).toEqual([]);
      // Labels are case-sensitive, as the claim's routing compares them.
      expect(await walk(store, { label: 'GPU' }, 10)).toEqual([]);
    });

    it('continues a page from a cursor of the unfiltered list', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      const runs: FlowRunRecord[] = [];
      for (let i = 0; i < 6; i++) runs.push(await service.createFlowRun(developer, { flowName: 'a', labels: i % 2 ? ['odd'] : [] }));
      const firstPage = await store.listFlowRuns(tenant, {}, { first: 2 });
      expect(firstPage.nodes.map((r) => r.id)).toEqual([runs[5]!.id, runs[4]!.id]);
      const rest = await store.listFlowRuns(tenant, { label: 'odd' }, { first: 10, after: firstPage.endCursor });
      expect(rest.nodes.map((r) => r.id)).toEqual([runs[3]!.id, runs[1]!.id]);
    });
  });

  describe('the label table', () => {
    it('holds one row per label of each run, written with the run', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      const labelled = await service.createFlowRun(developer, { flowName: 'a', labels: ['smtr', 'gpu'] });
      const plain = await service.createFlowRun(developer, { flowName: 'a', labels: [] });
      // A repeated idempotency key returns the first run and writes nothing more.
      const twice = await service.createFlowRun(developer, { flowName: 'a', labels: ['cor'], idempotencyKey: 'k' });
      await service.createFlowRun(developer, { flowName: 'a', labels: ['cor'], idempotencyKey: 'k' });
      expect(await labelRows(store)).toEqual([`cor ${twice.id}`, `gpu ${labelled.id}`, `smtr ${labelled.id}`]);
      expect(plain.labels).toEqual([]);
    });

    it('is backfilled by migration 3 for runs created before it', async () => {
      // The adapter's PostgreSQL databases come migrated: this test needs an empty one.
      const store = name === 'postgres' ? openStore(await freshPostgresDatabase({ migrated: false })) : await open();
      onCleanup(() => store.close());
      // The schema as version 2 left it, with runs written then (straight to flow_runs: the store's
      // own createFlowRun already writes the label table).
      const labels: Record<string, string[]> = { 'run-1': ['smtr', 'gpu'], 'run-2': [], 'run-3': ['gpu'] };
      if (store instanceof SqliteStore) {
        store.db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
        for (const m of sqliteMigrations.filter((m) => m.version <= 2)) {
          store.db.exec(m.sql);
          store.db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
        }
      } else if (store instanceof PostgresStore) {
        await store.db.exec('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
        for (const m of postgresMigrations.filter((m) => m.version <= 2)) {
          await store.db.exec(m.sql);
          await store.db.rows(sql`INSERT INTO schema_migrations VALUES (${m.version}, ${m.name}, 0)`);
        }
      }
      // The flow and its version straight into the tables too: registerFlowVersion writes columns of later migrations.
      const version = { flowId: 'flow-a', id: 'version-a' };
      const setupRows = [
        `INSERT INTO projects (id, tenant, name, created_at) VALUES ('project-p', '${tenant}', 'production', 0)`,
        `INSERT INTO flows (id, tenant, project_id, name, created_at) VALUES ('flow-a', '${tenant}', 'project-p', 'a', 0)`,
        `INSERT INTO flow_versions (id, tenant, flow_id, number, content_hash, storage_uri, sha256, size, entrypoint, parameter_schema, default_labels,
           retries, retry_delay_seconds, created_at)
         VALUES ('version-a', '${tenant}', 'flow-a', 1, 'h', 'file:///tmp/a.mjs', '${'a'.repeat(64)}', 100, 'main', '{}', ${store instanceof SqliteStore ? `'[]'` : `'{}'`}, 0, 0, 0)`,
      ];
      for (const statement of setupRows) {
        if (store instanceof SqliteStore) store.db.exec(statement);
        else if (store instanceof PostgresStore) await store.db.exec(statement);
      }
      for (const [i, [id, runLabels]] of Object.entries(labels).entries()) {
        const values = [id, tenant, version.flowId, version.id, 1000 + i];
        if (store instanceof SqliteStore) {
          store.db.prepare(`INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority, scheduled_at, created_at)
            VALUES (?, ?, ?, ?, 'SCHEDULED', 1, 1, '{}', ?, 0, ?, ?)`).run(values[0], values[1], values[2], values[3], JSON.stringify(runLabels), values[4], values[4]);
        } else if (store instanceof PostgresStore) {
          await store.db.rows(sql`INSERT INTO flow_runs (id, tenant, flow_id, flow_version_id, state, version, attempt, parameters, labels, priority, scheduled_at, created_at)
            VALUES (${id}, ${tenant}, ${version.flowId}, ${version.id}, 'SCHEDULED', 1, 1, '{}', ${runLabels}::text[], 0, ${1000 + i}::bigint, ${1000 + i}::bigint)`);
        }
      }
      const { applied } = await store.migrate();
      expect(applied[0]).toBe(3);
      expect(await labelRows(store)).toEqual(['gpu run-1', 'gpu run-3', 'smtr run-1']);
      expect(await walk(store, { label: 'gpu' }, 1)).toEqual(['run-3', 'run-1']);
    });

    it('loses the rows of runs retention deletes, and only theirs', async () => {
      const { store, service } = await setup();
      await service.registerFlow(developer, bundle('a'));
      const old = await service.createFlowRun(developer, { flowName: 'a', labels: ['gpu', 'smtr'] });
      const kept = await service.createFlowRun(developer, { flowName: 'a', labels: ['gpu'] });
      await service.cancelFlowRun(developer, old.id);
      const counts = await store.pruneFinishedRuns(tenant, (await store.now()) + DAY, 10);
      expect(counts.runs).toBe(1);
      expect(await labelRows(store)).toEqual([`gpu ${kept.id}`]);
      expect(await walk(store, { label: 'gpu' }, 10)).toEqual([kept.id]);
    });
  });
});
