// Lineage through the real GraphQL server, on SQLite and on a real PostgreSQL: an agent records
// what a run wrote under the run's lease (recordMaterializations), readers see each table's latest
// write, each partition's, and the history; the claim names the run's output (outputKey).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../common/identity.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { raw, sql } from '../../server/store/postgres/sql.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { onCleanup } from '../support/harness.js';
import { adapters } from './adapters.js';
import { startTestServer, type GraphQLBody, type TestServer } from '../support/test-server.js';

const tenant = 'rj-escritorio';
const developer: Identity = { subject: 'ana', tenant, role: 'developer' };
const viewer: Identity = { subject: 'vera', tenant, role: 'viewer' };
const agent: Identity = { subject: 'agent-escritorio', tenant, role: 'agent' };
const otherAgent: Identity = { subject: 'agent-intruso', tenant, role: 'agent' };
const foreignViewer: Identity = { subject: 'olga', tenant: 'rj-smtr', role: 'viewer' };
const foreignAgent: Identity = { subject: 'agent-smtr', tenant: 'rj-smtr', role: 'agent' };

interface Item {
  kind: 'LAKE' | 'STAGING' | 'TABLE' | 'PUBLISH';
  dataset: string;
  table: string;
  partitions: string[];
  uri: string;
  rows?: number | null;
  bytes?: number | null;
  mode?: string | null;
  taskRunKey?: string | null;
}

interface Lease {
  flowRunId: string;
  leaseToken: string;
  outputKey: string;
  attempt: number;
  version: number;
}

const table = (dataset: string, name: string, partitions: string[] = [], overrides: Partial<Item> = {}): Item => ({
  kind: 'TABLE', dataset, table: name, partitions, uri: `duckdb:///lake/warehouse.duckdb#${dataset}.${name}`, rows: 10, bytes: null, mode: 'replace-partitions',
  taskRunKey: 'materialize#1', ...overrides,
});

/** Rows left in a lineage table, read with the store's own connection. */
async function rowsIn(store: Store, table: 'materializations' | 'materialization_partitions' | 'materialization_batches'): Promise<number> {
  if (store instanceof SqliteStore) return (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  if (store instanceof PostgresStore) return (await store.db.row<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${raw(table)}`))!.n;
  throw new Error('unknown store');
}

const MATERIALIZATION = 'id attempt taskRunKey kind dataset table partitions rows bytes uri mode recordedAt flowRun { id }';

describe.each(adapters)('lineage on $name', ({ open }) => {
  async function setup() {
    const store = await open();
    await store.migrate();
    onCleanup(() => store.close());
    const api = await startTestServer({ store: store });
    const call = async (identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLBody> => (await api.graphql(identity, query, variables)).body;
    const data = <T,>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> => api.data<T>(identity, query, variables);
    await data(developer, `mutation ($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }`, {
      input: { project: 'production', name: 'pib', storageUri: 'file:///bundles/pib.mjs', sha256: createHash('sha256').update('pib').digest('hex'), size: 100, entrypoint: 'flow', retries: 1, retryDelaySeconds: 0 },
    });
    const agentIds = new Map<string, string>();
    const agentIdOf = async (who: Identity): Promise<string> => {
      if (!agentIds.has(who.subject)) {
        const { registerAgent } = await data<{ registerAgent: { id: string } }>(who, `mutation ($name: String!) { registerAgent(input: { name: $name, labels: [] }) { id } }`, { name: who.subject });
        agentIds.set(who.subject, registerAgent.id);
      }
      return agentIds.get(who.subject)!;
    };
    const createRun = async (): Promise<string> =>
      (await data<{ createFlowRun: { id: string } }>(developer, `mutation { createFlowRun(input: { project: "production", flowName: "pib" }) { id } }`)).createFlowRun.id;
    const claimAll = async (who: Identity = agent): Promise<Lease[]> => {
      const { claimFlowRuns } = await data<{ claimFlowRuns: { leaseToken: string; outputKey: string; flowRun: { id: string; attempt: number; version: number } }[] }>(who,
        `mutation ($id: ID!) { claimFlowRuns(input: { agentId: $id, max: 10 }) { leaseToken outputKey flowRun { id attempt version } } }`, { id: await agentIdOf(who) });
      return claimFlowRuns.map((c) => ({ flowRunId: c.flowRun.id, leaseToken: c.leaseToken, outputKey: c.outputKey, attempt: c.flowRun.attempt, version: c.flowRun.version }));
    };
    /** A new run, claimed: its lease. */
    const leased = async (): Promise<Lease> => {
      const id = await createRun();
      const lease = (await claimAll()).find((l) => l.flowRunId === id);
      if (!lease) throw new Error(`run ${id} was not claimed`);
      return lease;
    };
    const record = (lease: Pick<Lease, 'flowRunId' | 'leaseToken'>, batchId: string, items: Item[], who: Identity = agent) =>
      call(who, `mutation ($input: RecordMaterializationsInput!) { recordMaterializations(input: $input) }`,
        { input: { flowRunId: lease.flowRunId, leaseToken: lease.leaseToken, batchId, items } });
    const setState = async (lease: Lease, state: string, expectedVersion: number): Promise<number> =>
      (await data<{ setFlowRunState: { version: number } }>(agent, `mutation ($input: SetFlowRunStateInput!) { setFlowRunState(input: $input) { version } }`,
        { input: { flowRunId: lease.flowRunId, leaseToken: lease.leaseToken, expectedVersion, state } })).setFlowRunState.version;
    const writesOf = async (runId: string, who: Identity = viewer): Promise<Record<string, unknown>[] | null> =>
      (await data<{ flowRun: { materializations: Record<string, unknown>[] } | null }>(who, `query ($id: ID!) { flowRun(id: $id) { materializations { ${MATERIALIZATION} } } }`, { id: runId }))
        .flowRun?.materializations ?? null;
    return { store, api, call, data, createRun, claimAll, leased, record, setState, writesOf };
  }

  describe('recording', () => {
    it('records a batch under the lease with the run\'s attempt, the task and database time, and shows it on the run', async () => {
      const { record, leased, writesOf, store } = await setup();
      const lease = await leased();
      const before = await store.now();
      const answer = await record(lease, 'batch-1', [
        { kind: 'LAKE', dataset: 'br_ibge_pib', table: 'municipio', partitions: ['ano=2010', 'ano=2011', 'ano=2010'], uri: 'file:///lake/staging/br_ibge_pib/municipio', rows: 11, bytes: 2048, mode: 'overwrite-partitions', taskRunKey: 'land#1' },
        { kind: 'PUBLISH', dataset: 'br_ibge_pib', table: '', partitions: [], uri: 'file:///lake/public/br_ibge_pib' },
      ]);
      expect(answer).toEqual({ data: { recordMaterializations: 2 } });
      const writes = await writesOf(lease.flowRunId);
      expect(writes).toEqual([
        {
          id: expect.any(String), attempt: 1, taskRunKey: 'land#1', kind: 'LAKE', dataset: 'br_ibge_pib', table: 'municipio', partitions: ['ano=2010', 'ano=2011'], rows: 11, bytes: 2048,
          uri: 'file:///lake/staging/br_ibge_pib/municipio', mode: 'overwrite-partitions', recordedAt: expect.any(String), flowRun: { id: lease.flowRunId },
        },
        {
          id: expect.any(String), attempt: 1, taskRunKey: null, kind: 'PUBLISH', dataset: 'br_ibge_pib', table: '', partitions: [], rows: null, bytes: null,
          uri: 'file:///lake/public/br_ibge_pib', mode: null, recordedAt: expect.any(String), flowRun: { id: lease.flowRunId },
        },
      ]);
      expect(Date.parse(writes![0]!.recordedAt as string)).toBeGreaterThanOrEqual(before);
    });

    it('records a retried batch once (same batch id: 0 recorded, nothing added)', async () => {
      const { record, leased, writesOf } = await setup();
      const lease = await leased();
      const items = [table('br_ibge_pib', 'municipio', ['2010-01-01'])];
      expect(await record(lease, 'batch-1', items)).toEqual({ data: { recordMaterializations: 1 } });
      expect(await record(lease, 'batch-1', items)).toEqual({ data: { recordMaterializations: 0 } });
      expect(await record(lease, 'batch-2', items)).toEqual({ data: { recordMaterializations: 1 } });
      expect(await writesOf(lease.flowRunId)).toHaveLength(2);
    });

    it('records the attempt that wrote: a retry\'s writes carry attempt 2', async () => {
      const { record, leased, claimAll, setState, writesOf } = await setup();
      const first = await leased();
      expect(await record(first, 'a1', [table('br_ibge_pib', 'municipio')])).toEqual({ data: { recordMaterializations: 1 } });
      const running = await setState(first, 'RUNNING', first.version);
      await setState(first, 'FAILED', running);
      const [retry] = await claimAll();
      expect(retry).toMatchObject({ flowRunId: first.flowRunId, attempt: 2 });
      // The first attempt's lease is gone; the second's records.
      expect((await record(first, 'a1-late', [table('br_ibge_pib', 'municipio')])).errors?.[0]?.extensions?.code).toBe('LEASE_LOST');
      expect(await record(retry!, 'a2', [table('br_ibge_pib', 'municipio')])).toEqual({ data: { recordMaterializations: 1 } });
      expect((await writesOf(first.flowRunId))!.map((w) => w.attempt)).toEqual([1, 2]);
    });
  });

  describe('refusals change nothing', () => {
    it('refuses a lease token of another agent, a made-up token and a run that ended (LEASE_LOST)', async () => {
      const { record, leased, setState, writesOf, claimAll } = await setup();
      await claimAll(otherAgent);
      const lease = await leased();
      const items = [table('br_ibge_pib', 'municipio', ['2010-01-01'])];
      expect((await record(lease, 'b', items, otherAgent)).errors?.map((e) => e.extensions?.code)).toEqual(['LEASE_LOST']);
      const forged = await record({ ...lease, leaseToken: `${lease.leaseToken.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA` }, 'b', items);
      expect(forged.errors?.map((e) => e.extensions?.code)).toEqual(['LEASE_LOST']);
      const running = await setState(lease, 'RUNNING', lease.version);
      await setState(lease, 'SUCCESS', running);
      const late = await record(lease, 'b', items);
      expect(late.errors?.map((e) => e.extensions?.code)).toEqual(['LEASE_LOST']);
      expect(late.errors?.[0]?.message).toMatch(/no live lease on flow run .* stop its process/);
      expect(await writesOf(lease.flowRunId)).toEqual([]);
    });

    it('answers NOT_FOUND for a run that does not exist', async () => {
      const { record, leased } = await setup();
      const lease = await leased();
      const answer = await record({ ...lease, flowRunId: '0190d7a0-0000-7000-8000-000000000000' }, 'b', [table('d', 't')]);
      expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    });

    it('refuses callers that are not agents (FORBIDDEN)', async () => {
      const { record, leased } = await setup();
      const lease = await leased();
      const answer = await record(lease, 'b', [table('d', 't')], developer);
      expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    });

    const long = (n: number): string => 'x'.repeat(n);
    it.each([
      ['no items', [], /items: 1 to 100 writes per batch, got 0/],
      ['101 items', Array.from({ length: 101 }, () => table('d', 't')), /items: 1 to 100 writes per batch, got 101/],
      ['a dataset with a dash', [table('br-ibge', 't')], /items\[0\]\.dataset "br-ibge" must be 1-128 letters/],
      ['a dataset starting with a digit', [table('1br', 't')], /items\[0\]\.dataset/],
      ['a 129-character table', [table('d', `t${long(128)}`)], /items\[0\]\.table "t.* must be 1-128 letters/],
      ['an empty table for TABLE', [table('d', '')], /items\[0\]\.table may be empty only for PUBLISH/],
      ['an empty dataset', [table('', 't')], /items\[0\]\.dataset "" must be/],
      ['10,001 partitions', [table('d', 't', Array.from({ length: 10_001 }, (_, i) => `p=${i}`))], /items\[0\]\.partitions: at most 10,000 partitions per write, got 10001/],
      ['a 513-character partition', [table('d', 't', ['ok', long(513)])], /items\[0\]\.partitions\[1\] must be 1-512 characters, got 513/],
      ['an empty partition', [table('d', 't', [''])], /items\[0\]\.partitions\[0\] must be 1-512 characters, got 0/],
      ['negative rows', [table('d', 't', [], { rows: -1 })], /items\[0\]\.rows must be a finite number >= 0 or null, got -1/],
      ['negative bytes', [table('d', 't'), table('d', 't', [], { bytes: -5 })], /items\[1\]\.bytes must be a finite number >= 0/],
      ['a 2,049-character uri', [table('d', 't', [], { uri: `file:///${long(2041)}` })], /items\[0\]\.uri must be 1-2048 characters, got 2049/],
      ['an empty uri', [table('d', 't', [], { uri: '' })], /items\[0\]\.uri must be 1-2048 characters, got 0/],
      ['a 33-character mode', [table('d', 't', [], { mode: long(33) })], /items\[0\]\.mode must be 1-32 characters or null, got 33/],
    ] as [string, Item[], RegExp][])('refuses %s (BAD_USER_INPUT naming the field) and records nothing of the batch', async (_, items, message) => {
      const { record, leased, writesOf } = await setup();
      const lease = await leased();
      const answer = await record(lease, 'bad', items);
      expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors?.[0]?.message).toMatch(message);
      expect(await writesOf(lease.flowRunId)).toEqual([]);
      // The batch id was not spent: the corrected batch records.
      expect(await record(lease, 'bad', [table('ok', 'first')])).toEqual({ data: { recordMaterializations: 1 } });
    });

    it('refuses rows that are not finite (a literal that overflows to Infinity)', async () => {
      const { call, leased } = await setup();
      const lease = await leased();
      const answer = await call(agent, `mutation ($l: String!, $id: ID!) { recordMaterializations(input: { flowRunId: $id, leaseToken: $l, batchId: "x", items: [
        { kind: TABLE, dataset: "d", table: "t", partitions: [], uri: "file:///x", rows: 1e400 } ] }) }`, { l: lease.leaseToken, id: lease.flowRunId });
      expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(answer.errors?.[0]?.message).toBe('items[0].rows must be a finite number >= 0 or null, got Infinity');
    });
  });

  describe('tables', () => {
    it('lists each (dataset, table, kind) once with its latest write, and shows each partition\'s latest write and the history', async () => {
      const { record, leased, data } = await setup();
      const first = await leased();
      const second = await leased();
      await record(first, 'b', [
        table('br_ibge_pib', 'municipio', ['2010-01-01', '2011-01-01'], { rows: 100 }),
        { kind: 'STAGING', dataset: 'br_ibge_pib', table: 'municipio', partitions: [], uri: 'duckdb:///w.duckdb#br_ibge_pib_staging.municipio' },
      ]);
      await record(second, 'b', [table('br_ibge_pib', 'municipio', ['2011-01-01', '2012-01-01'], { rows: 150 })]);
      const { dataTables } = await data<{ dataTables: { nodes: { dataset: string; table: string; kind: string; lastWrite: { rows: number; flowRun: { id: string } } }[] } }>(viewer,
        `{ dataTables { nodes { dataset table kind lastWrite { rows flowRun { id } } } } }`);
      expect(dataTables.nodes).toEqual([
        { dataset: 'br_ibge_pib', table: 'municipio', kind: 'STAGING', lastWrite: { rows: null, flowRun: { id: first.flowRunId } } },
        { dataset: 'br_ibge_pib', table: 'municipio', kind: 'TABLE', lastWrite: { rows: 150, flowRun: { id: second.flowRunId } } },
      ]);
      const { dataTable } = await data<{ dataTable: unknown }>(viewer, `{ dataTable(dataset: "br_ibge_pib", table: "municipio", kind: TABLE) {
        dataset table kind lastWrite { flowRun { id } }
        partitions { partition lastWrite { flowRun { id } rows } }
        history { flowRun { id } partitions }
      } }`);
      expect(dataTable).toEqual({
        dataset: 'br_ibge_pib', table: 'municipio', kind: 'TABLE', lastWrite: { flowRun: { id: second.flowRunId } },
        partitions: [
          { partition: '2012-01-01', lastWrite: { flowRun: { id: second.flowRunId }, rows: 150 } },
          { partition: '2011-01-01', lastWrite: { flowRun: { id: second.flowRunId }, rows: 150 } },
          { partition: '2010-01-01', lastWrite: { flowRun: { id: first.flowRunId }, rows: 100 } },
        ],
        history: [
          { flowRun: { id: second.flowRunId }, partitions: ['2011-01-01', '2012-01-01'] },
          { flowRun: { id: first.flowRunId }, partitions: ['2010-01-01', '2011-01-01'] },
        ],
      });
      const few = await data<{ dataTable: { partitions: { partition: string }[]; history: unknown[] } }>(viewer,
        `{ dataTable(dataset: "br_ibge_pib", table: "municipio", kind: TABLE) { partitions(first: 1) { partition } history(first: 1) { id } } }`);
      expect(few.dataTable).toEqual({ partitions: [{ partition: '2012-01-01' }], history: [expect.any(Object)] });
      expect((await data<{ dataTable: unknown }>(viewer, `{ dataTable(dataset: "br_ibge_pib", table: "municipio", kind: LAKE) { kind } }`)).dataTable).toBeNull();
      expect((await data<{ dataTable: unknown }>(viewer, `{ dataTable(dataset: "br-ibge", table: "municipio", kind: TABLE) { kind } }`)).dataTable).toBeNull();
    });

    it('pages through the tables in (dataset, table, kind) order, filtered by dataset and kind', async () => {
      const { record, leased, data, call } = await setup();
      const lease = await leased();
      const names = ['a_ds.t1', 'a_ds.t2', 'b_ds.t1', 'b_ds.t3', 'c_ds.t0'];
      await record(lease, 'b', names.flatMap((n) => {
        const [ds, t] = n.split('.') as [string, string];
        return [table(ds, t), { kind: 'LAKE' as const, dataset: ds, table: t, partitions: ['x=1'], uri: `file:///lake/${ds}/${t}` }];
      }));
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const { dataTables }: { dataTables: { nodes: { dataset: string; table: string; kind: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } } =
          await data(viewer, `query ($after: String) { dataTables(first: 3, after: $after) { nodes { dataset table kind } pageInfo { endCursor hasNextPage } } }`, { after });
        seen.push(...dataTables.nodes.map((n) => `${n.dataset}.${n.table}:${n.kind}`));
        if (!dataTables.pageInfo.hasNextPage) break;
        after = dataTables.pageInfo.endCursor;
      }
      expect(seen).toEqual(names.flatMap((n) => [`${n}:LAKE`, `${n}:TABLE`]));
      const filtered = await data<{ dataTables: { nodes: { dataset: string; table: string; kind: string }[] } }>(viewer, `{ dataTables(dataset: "b_ds", kind: LAKE) { nodes { dataset table kind } } }`);
      expect(filtered.dataTables.nodes).toEqual([{ dataset: 'b_ds', table: 't1', kind: 'LAKE' }, { dataset: 'b_ds', table: 't3', kind: 'LAKE' }]);
      const badCursor = await call(viewer, `{ dataTables(after: "nonsense") { nodes { table } } }`);
      expect(badCursor.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      const tooMany = await call(viewer, `{ dataTables(first: 501) { nodes { table } } }`);
      expect(tooMany.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });

    it('keeps tenants apart: another tenant sees no tables, no run, and cannot record on the run', async () => {
      const { record, leased, data, writesOf, claimAll } = await setup();
      const lease = await leased();
      await record(lease, 'b', [table('br_ibge_pib', 'municipio', ['2010-01-01'])]);
      const foreign = await data<{ dataTables: { nodes: unknown[] }; dataTable: unknown }>(foreignViewer,
        `{ dataTables { nodes { table } } dataTable(dataset: "br_ibge_pib", table: "municipio", kind: TABLE) { table } }`);
      expect(foreign).toEqual({ dataTables: { nodes: [] }, dataTable: null });
      expect(await writesOf(lease.flowRunId, foreignViewer)).toBeNull();
      await claimAll(foreignAgent);
      const intrusion = await record(lease, 'x', [table('br_ibge_pib', 'municipio', ['2099-01-01'])], foreignAgent);
      expect(intrusion.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(await writesOf(lease.flowRunId)).toHaveLength(1);
    });

    it('forgets a run\'s writes when retention deletes the run', async () => {
      const { record, leased, data, setState, store } = await setup();
      const lease = await leased();
      await record(lease, 'b', [table('br_ibge_pib', 'municipio', ['2010-01-01', '2011-01-01'])]);
      await setState(lease, 'SUCCESS', await setState(lease, 'RUNNING', lease.version));
      const later = (await store.now()) + 1000;
      expect(await store.countPrunableRuns(tenant, later)).toMatchObject({ runs: 1, materializations: 1 });
      expect(await store.pruneFinishedRuns(tenant, later, 100)).toMatchObject({ runs: 1, materializations: 1 });
      const after = await data<{ dataTables: { nodes: unknown[] }; dataTable: unknown }>(viewer,
        `{ dataTables { nodes { table } } dataTable(dataset: "br_ibge_pib", table: "municipio", kind: TABLE) { table } }`);
      expect(after).toEqual({ dataTables: { nodes: [] }, dataTable: null });
      expect(await store.lineage.partitions(tenant, { dataset: 'br_ibge_pib', table: 'municipio', kind: 'TABLE' }, 10)).toEqual([]);
      for (const table of ['materializations', 'materialization_partitions', 'materialization_batches'] as const) expect(await rowsIn(store, table), table).toBe(0);
    });
  });

  describe('outputKey', () => {
    it('names a run\'s output by its own id, and a rerun\'s (of a rerun) by the first run of the chain', async () => {
      const { data, createRun, claimAll } = await setup();
      const original = await createRun();
      const rerun = (id: string) => data<{ rerunFlowRun: { id: string } }>(developer, `mutation ($id: ID!) { rerunFlowRun(id: $id) { id } }`, { id }).then((d) => d.rerunFlowRun.id);
      const second = await rerun(original);
      const third = await rerun(second);
      const keys = new Map((await claimAll()).map((l) => [l.flowRunId, l.outputKey]));
      expect(Object.fromEntries(keys)).toEqual({ [original]: original, [second]: original, [third]: original });
    });

    it('keeps a chain\'s key when its first run was pruned (the gone link is still the key)', async () => {
      const { data, createRun, claimAll, setState, store } = await setup();
      const original = await createRun();
      const [lease] = await claimAll();
      await setState(lease!, 'SUCCESS', await setState(lease!, 'RUNNING', lease!.version));
      const second = (await data<{ rerunFlowRun: { id: string } }>(developer, `mutation ($id: ID!) { rerunFlowRun(id: $id) { id } }`, { id: original })).rerunFlowRun.id;
      const third = (await data<{ rerunFlowRun: { id: string } }>(developer, `mutation ($id: ID!) { rerunFlowRun(id: $id) { id } }`, { id: second })).rerunFlowRun.id;
      expect(await store.pruneFinishedRuns(tenant, (await store.now()) + 1000, 100)).toMatchObject({ runs: 1 });
      const keys = new Map((await claimAll()).map((l) => [l.flowRunId, l.outputKey]));
      expect(Object.fromEntries(keys)).toEqual({ [second]: original, [third]: original });
    });
  });
});
