// Lineage that stays fast as history grows: seeds `--writes` runs that each write every one of
// `--tables` tables (replace-partitions over a sliding window of `--partitions` monthly partitions,
// so each table ends with writes + partitions - 1 partitions, most rewritten many times), through
// store.lineage.record under real leases, then measures p50/p99 of the reads the API offers
// (dataTables pages, dataTable, partitions, history, FlowRun.materializations) and of recording.
//
//   npm run build && node dist/bench/lineage.js [--database sqlite|postgres] [--tables 200] [--writes 100] [--partitions 120] [--samples 200]
//
// Target (DESIGN.md): list queries p99 < 100 ms.
import { parseArgs } from 'node:util';
import { EventBus } from '../server/core/events.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import type { DataTableKey, MaterializationWrite } from '../server/store/lineage-store.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { agentIdentity, developer, noopFlow, percentiles } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    tables: { type: 'string', default: '200' },
    writes: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '120' },
    samples: { type: 'string', default: '200' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const TABLES = Number(values.tables);
const WRITES = Number(values.writes);
const PARTITIONS = Number(values.partitions);
const SAMPLES = Number(values.samples);
const TENANT = developer.tenant;

/** `YYYY-MM-01` of month `i` counted from 2000-01. */
const month = (i: number): string => `${2000 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-01`;
const tableKey = (t: number): DataTableKey => ({ dataset: `ds_${String(t % 20).padStart(2, '0')}`, table: `t_${String(t).padStart(4, '0')}`, kind: 'TABLE' });

async function measure(name: string, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 3; i++) await one(i);
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    await one(i);
    times.push(performance.now() - started);
  }
  console.log(JSON.stringify({ query: name, ...percentiles(times) }));
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
const store = await openStore(await backend.fresh('lineage', 8));
try {
  await store.migrate();
  const service = new FluxoService(store, new EventBus(), { leaseMs: 3_600_000 });
  await service.registerFlow(developer, noopFlow);
  const agent = await service.registerAgent(agentIdentity, { name: 'bench-lineage', labels: [], concurrency: 1 });
  const recordTimes: number[] = [];
  const runIds: string[] = [];
  const seedStarted = performance.now();
  for (let w = 0; w < WRITES; w++) {
    const run = await service.createFlowRun(developer, { flowName: noopFlow.name });
    const [claim] = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
    if (!claim || claim.run.id !== run.id) throw new Error('the bench run was not claimed');
    runIds.push(run.id);
    const partitions = Array.from({ length: PARTITIONS }, (_, i) => month(w + i));
    for (let from = 0; from < TABLES; from += 100) {
      const items: MaterializationWrite[] = [];
      for (let t = from; t < Math.min(TABLES, from + 100); t++) {
        items.push({ ...tableKey(t), taskRunKey: 'materialize#1', partitions, rows: 1000 + t, bytes: null, uri: `duckdb:///w.duckdb#${tableKey(t).dataset}.${tableKey(t).table}`, mode: 'replace-partitions' });
      }
      const started = performance.now();
      const leaseToken = service.storeLeaseFor(agentIdentity, claim.leaseToken)!;
      await store.lineage.record(TENANT, run.id, leaseToken, `b${from}`, items);
      recordTimes.push(performance.now() - started);
    }
  }
  const partitionRows = TABLES * WRITES * PARTITIONS;
  console.log(JSON.stringify({ ...backend.describe(), tables: TABLES, writes: TABLES * WRITES, partitionRows, seedSeconds: +((performance.now() - seedStarted) / 1000).toFixed(1) }));
  console.log(JSON.stringify({ query: `record (100 writes x ${PARTITIONS} partitions)`, ...percentiles(recordTimes) }));

  const cursors: (string | null)[] = [null];
  for (;;) {
    const page = await store.lineage.listTables(TENANT, {}, { first: 100, after: cursors.at(-1) });
    if (!page.hasNextPage) break;
    cursors.push(page.endCursor);
  }
  const pick = (i: number): DataTableKey => tableKey((i * 7919) % TABLES);
  await measure('dataTables(first: 100), every page', (i) => store.lineage.listTables(TENANT, {}, { first: 100, after: cursors[i % cursors.length] }));
  await measure('dataTables(dataset, first: 100)', (i) => store.lineage.listTables(TENANT, { dataset: `ds_${String(i % 20).padStart(2, '0')}` }, { first: 100 }));
  await measure('dataTable', (i) => store.lineage.getTable(TENANT, pick(i)));
  await measure('dataTable.partitions(first: 100)', (i) => store.lineage.partitions(TENANT, pick(i), 100));
  await measure('dataTable.partitions(first: 1000)', (i) => store.lineage.partitions(TENANT, pick(i), 1000));
  await measure('dataTable.history(first: 20)', (i) => store.lineage.history(TENANT, pick(i), 20));
  await measure(`FlowRun.materializations (${TABLES} writes)`, (i) => store.lineage.listForRun(TENANT, runIds[i % runIds.length]!));
} finally {
  await store.close();
  await backend.stop();
}
