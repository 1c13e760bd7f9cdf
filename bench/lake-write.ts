// A lake write of the example PIB table (examples/data/pib_municipio.csv, 51,511 rows, 2002-2011):
// load into DuckDB, derive the monthly date partitions, write Parquet per partition into a file://
// lake, then the same write again as a retry (attempt 2: new files, then the old ones deleted).
//
//   npm run build && node dist/bench/lake-write.js [--rounds 5] [--rows-source csv|rows]
//
// Prints p50/max per step. `--rows-source rows` hands the CSV over as JS row objects instead
// (the `{ rows }` path: appender instead of DuckDB's CSV reader).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DataRunContext, DataSource, Row } from '../data/contract.js';
import { openLake } from '../data/lake/open-lake.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, 'rows-source': { type: 'string', default: 'csv' } } });
const ROUNDS = Number(values.rounds);
const csvPath = join(import.meta.dirname, '..', '..', 'examples', 'data', 'pib_municipio.csv');

async function sourceOf(kind: string): Promise<DataSource> {
  if (kind === 'csv') return { csv: { path: csvPath } };
  const [header, ...lines] = (await readFile(csvPath, 'utf8')).trim().split('\n');
  const names = header!.split(',');
  const rows: Row[] = lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i]!, i === 1 ? cell : Number(cell)])));
  return { rows };
}

function run(attempt: number): DataRunContext {
  return { flowRunId: 'bench', attempt, outputKey: 'bench', taskKey: null, signal: new AbortController().signal, log: () => {}, record: () => {} };
}

const source = await sourceOf(values['rows-source']);
const first: number[] = [];
const retry: number[] = [];
let files = 0;
for (let round = 0; round < ROUNDS; round++) {
  const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-lake-'));
  try {
    const lake = openLake(`file://${dir}`);
    let start = performance.now();
    const result = await lake.write(run(1), 'br_ibge_pib', 'municipio', source, { datePartition: { column: 'ano' } });
    first.push(performance.now() - start);
    files = result.files.length;
    start = performance.now();
    await lake.write(run(2), 'br_ibge_pib', 'municipio', source, { datePartition: { column: 'ano' } });
    retry.push(performance.now() - start);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const stat = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
};
console.log(JSON.stringify({ source: values['rows-source'], rows: 51_511, files, rounds: ROUNDS, firstWrite: stat(first), retryWrite: stat(retry) }));
