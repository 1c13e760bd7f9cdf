// Rows per second through fluxo/data on the embedded default: N synthetic rows shaped like the
// municipal GDP table (ano 2002-2011, id_municipio, pib and the va_* columns) go through
// data/service.ts in this process (what an agent does for its runs, minus the IPC) with a
// file:// lake and a duckdb:// warehouse in a fresh temp directory per round:
//
//   IPC (rows as JSON)  what handing `{ rows }` to an agent adds: the rows stringified and parsed
//   lake (rows)         writeToLake of JS row objects, Hive partitions by `ano`, overwrite-partitions
//   lake (CSV file)     the same rows as a CSV file, the same write (it replaces the files above)
//   staging             createStagingTable (a DuckDB view over the Parquet files)
//   table replace       materializeTable from the staging view with casts, partitioned by
//                       data_particao (month) and clustered by id_municipio
//   replace-partitions  the same SQL again in mode replace-partitions (every partition replaced)
//   one partition       replace-partitions of one year (N/10 rows) in the full table
//
// After each write the bench counts the rows (lake files and tables): a figure from a write that
// duplicated or lost rows is never printed.
//
//   npm run build && node dist/bench/data-pipeline.js [--rows 1000000] [--rounds 3]
//
// Prints the median seconds and rows/s of each phase over the rounds (and the range), as a table.
// Needs DuckDB's spatial extension (node scripts/ensure-duckdb-spatial.mjs): the warehouse loads it.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { DataRunContext, Materialization, Row } from '../data/contract.js';
import { createDataService, type DataOperations } from '../data/service.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
if (!Number.isSafeInteger(ROWS) || ROWS < 10) throw new TypeError(`--rows must be an integer >= 10, got ${values.rows}`);
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new TypeError(`--rounds must be a positive integer, got ${values.rounds}`);

const YEARS = Array.from({ length: 10 }, (_, i) => 2002 + i);
const COLUMNS = ['ano', 'id_municipio', 'pib', 'impostos_liquidos', 'va', 'va_agropecuaria', 'va_industria', 'va_servicos', 'va_adespss'] as const;

/**
 * N rows, one per (year, municipality): ROWS/10 municipalities with 7-digit IBGE-like codes, each
 * with every year. Deterministic (a fixed LCG), numbers as numbers like a parsed API response.
 */
function generateRows(count: number): Row[] {
  const perYear = Math.ceil(count / YEARS.length);
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed;
  };
  const rows: Row[] = [];
  for (const ano of YEARS) {
    for (let m = 0; m < perYear && rows.length < count; m++) {
      const agro = next() % 50_000_000;
      const industria = next() % 200_000_000;
      const servicos = next() % 400_000_000;
      const adespss = next() % 150_000_000;
      const va = agro + industria + servicos + adespss;
      const impostos = next() % 60_000_000;
      rows.push({
        ano,
        id_municipio: String(1_100_000 + m),
        pib: va + impostos,
        impostos_liquidos: impostos,
        va,
        va_agropecuaria: agro,
        va_industria: industria,
        va_servicos: servicos,
        va_adespss: adespss,
      });
    }
  }
  return rows;
}

/** The rows as a CSV file (the `{ csv }` source: a file the flow wrote). */
async function writeCsv(rows: Row[], path: string): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${COLUMNS.join(',')}\n`);
  let chunk: string[] = [];
  for (const row of rows) {
    chunk.push(COLUMNS.map((column) => String(row[column])).join(','));
    if (chunk.length === 10_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
      chunk = [];
    }
  }
  if (chunk.length > 0) out.write(`${chunk.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
}

/** A run of the benchmark: a fresh id, attempt 1, nothing logged, writes kept for the row checks. */
function benchRun(): DataRunContext & { recorded: Materialization[] } {
  const flowRunId = randomUUID();
  const recorded: Materialization[] = [];
  return {
    flowRunId,
    attempt: 1,
    outputKey: flowRunId,
    taskKey: 'bench#1',
    signal: new AbortController().signal,
    log: () => {},
    record: (materialization) => void recorded.push(materialization),
    recorded,
  };
}

const PRODUCTION_SQL = `
  select cast(ano as integer) as ano, id_municipio,
         cast(pib as bigint) as pib, cast(impostos_liquidos as bigint) as impostos_liquidos,
         cast(va as bigint) as va, cast(va_agropecuaria as bigint) as va_agropecuaria,
         cast(va_industria as bigint) as va_industria, cast(va_servicos as bigint) as va_servicos,
         cast(va_adespss as bigint) as va_adespss,
         make_date(cast(ano as integer), 1, 1) as data_particao
  from br_ibge_pib_staging.municipio`;
const LAYOUT = { partitionBy: { column: 'data_particao', granularity: 'month' as const }, clusterBy: ['id_municipio'] };

interface Phase {
  name: string;
  /** Rows the phase moved (null: it moves none, e.g. a view). */
  rows: number | null;
  seconds: number[];
}

const phases = new Map<string, Phase>();
function record(name: string, rows: number | null, seconds: number): void {
  const phase = phases.get(name) ?? { name, rows, seconds: [] };
  phase.seconds.push(seconds);
  phases.set(name, phase);
}

async function timed<T>(name: string, rows: number | null, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  record(name, rows, (performance.now() - start) / 1000);
  return result;
}

function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: ${actual} rows, expected ${expected} (a write duplicated or lost rows; no figure printed)`);
}

async function tableRows(data: DataOperations, table: string): Promise<number> {
  const [row] = await data.query(`select count(*) as n from ${table}`);
  return Number(row?.n);
}

const loadAtStart = loadavg()[0]!;
let start = performance.now();
const rows = generateRows(ROWS);
const generateSeconds = (performance.now() - start) / 1000;
const oneYear = rows.filter((row) => row.ano === 2011).length;

for (let round = 0; round < ROUNDS; round++) {
  const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-data-'));
  const service = createDataService({ lake: `file://${join(dir, 'lake')}`, warehouse: `duckdb://${join(dir, 'warehouse.duckdb')}` });
  try {
    const csv = join(dir, 'pib.csv');
    await writeCsv(rows, csv);
    const run = benchRun();
    const data = service.forRun(run);
    // Opening the DuckDB file and LOADing spatial (~80 MB) is the warehouse's once-per-agent cost: not a phase.
    await timed('open warehouse (once per agent)', null, () => data.query('select 1 as ok'));

    // Under an agent, `{ rows }` also crosses the child's IPC channel as one JSON message (Node's
    // default serialization); measured apart, since this bench calls the service in-process.
    await timed('(agent IPC) rows as JSON: stringify + parse', ROWS, async () => JSON.parse(JSON.stringify({ type: 'data-request', args: { source: { rows } } })) as unknown);
    const landed = await timed('lake: rows, partitions by ano', ROWS, () =>
      data.writeToLake('br_ibge_pib', 'municipio', { rows }, { mode: 'overwrite-partitions', partitionColumns: ['ano'] }),
    );
    expectCount('lake write (rows)', landed.rows, ROWS);
    const fromCsv = await timed('lake: CSV file, partitions by ano', ROWS, () =>
      data.writeToLake('br_ibge_pib', 'municipio', { csv: { path: csv } }, { mode: 'overwrite-partitions', partitionColumns: ['ano'] }),
    );
    expectCount('lake write (CSV)', fromCsv.rows, ROWS);

    const staging = await timed('staging view', null, () => data.createStagingTable('br_ibge_pib', 'municipio'));
    // The CSV write replaced every partition's files: the lake holds N rows, not 2N.
    expectCount(`${staging.table} after both writes`, await tableRows(data, staging.table), ROWS);

    const replaced = await timed('table: replace', ROWS, () => data.materializeTable('br_ibge_pib', 'municipio', { sql: PRODUCTION_SQL, mode: 'replace', ...LAYOUT }));
    expectCount('replace', replaced.rows, ROWS);
    const again = await timed('table: replace-partitions (all 10)', ROWS, () =>
      data.materializeTable('br_ibge_pib', 'municipio', { sql: PRODUCTION_SQL, mode: 'replace-partitions', ...LAYOUT }),
    );
    expectCount('replace-partitions (all)', again.rows, ROWS);
    const oneYearSql = `${PRODUCTION_SQL} where ano = '2011'`;
    const one = await timed('table: replace-partitions (1 of 10)', oneYear, () =>
      data.materializeTable('br_ibge_pib', 'municipio', { sql: oneYearSql, mode: 'replace-partitions', ...LAYOUT }),
    );
    expectCount('replace-partitions (one year), rows written', one.rowsWritten, oneYear);
    expectCount('replace-partitions (one year), table', await tableRows(data, 'br_ibge_pib.municipio'), ROWS);
  } finally {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (samples: number[]): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const grouped = (value: number): string => Math.round(value).toLocaleString('en-US');

const table = [
  ['phase', 'rows', 'seconds (median)', 'rows/s (median)', 'seconds (range)'],
  ['generate rows in memory (not a phase of fluxo)', grouped(ROWS), generateSeconds.toFixed(2), '', ''],
  ...[...phases.values()].map((phase) => {
    const seconds = median(phase.seconds);
    const range = `${Math.min(...phase.seconds).toFixed(2)}–${Math.max(...phase.seconds).toFixed(2)}`;
    return [phase.name, phase.rows === null ? '-' : grouped(phase.rows), seconds.toFixed(2), phase.rows === null ? '-' : grouped(phase.rows / seconds), range];
  }),
];
const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
console.log(`fluxo/data on the embedded default (file:// lake, DuckDB warehouse): ${grouped(ROWS)} rows, ${ROUNDS} round(s), ${cpus().length} cores, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`);
for (const line of table) console.log(line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
