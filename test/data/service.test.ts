// data/service.ts over a real file:// lake and a real DuckDB file: what one run may ask, the
// default write keys that make a retried attempt replace its own writes, the one-call
// createTableAndUpload, and the errors a run gets when the agent lacks a setting.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, type DataRunContext, type Materialization } from '../../data/contract.js';
import { createDataService, dispatchDataRequest, type DataService } from '../../data/service.js';
import { tempDir } from '../support/harness.js';
import { refusalOf } from '../support/refusal.js';

let dir: string;
let service: DataService;

beforeAll(async () => {
  dir = await tempDir('fluxo-data-service-');
  service = createDataService({ lake: pathToFileURL(join(dir, 'lake')).href, warehouse: `duckdb://${join(dir, 'w.duckdb')}` });
});

afterAll(async () => {
  await service?.close();
});

function runContext(overrides: Partial<DataRunContext> = {}): DataRunContext & { records: Materialization[]; lines: string[] } {
  const records: Materialization[] = [];
  const lines: string[] = [];
  return {
    flowRunId: 'run-a',
    attempt: 1,
    outputKey: 'run-a',
    taskKey: 'land#1',
    signal: new AbortController().signal,
    log: (_level, message) => lines.push(message),
    record: (materialization) => records.push(materialization),
    records,
    lines,
    ...overrides,
  };
}

async function files(datasetId: string, tableId: string): Promise<string[]> {
  const root = join(dir, 'lake', 'staging', datasetId, tableId);
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).sort();
}

describe('write keys', () => {
  it('names a run\'s writes to a table w1, w2, … so a later attempt rewrites the same names', async () => {
    const rows = [{ ano: '2010', valor: '1' }];
    for (const attempt of [1, 2]) {
      const run = runContext({ flowRunId: 'run-k', outputKey: 'run-k', attempt });
      const data = service.forRun(run);
      await data.writeToLake('svc', 'chaves', { rows }, { partitionColumns: ['ano'] });
      await data.writeToLake('svc', 'chaves', { rows }, { partitionColumns: ['ano'] });
    }
    // The second attempt's two writes replaced the first's: two files, attempt 2's.
    const names = await files('svc', 'chaves');
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^ano=2010\/run-k_w1_a2_\d+\.parquet$/);
    expect(names[1]).toMatch(/^ano=2010\/run-k_w2_a2_\d+\.parquet$/);
    const [{ n }] = (await service.forRun(runContext()).query('select count(*)::integer as n from read_parquet(\'' + join(dir, 'lake', 'staging', 'svc', 'chaves') + '/**/*.parquet\')')) as [{ n: number }];
    expect(n).toBe(2);
  });

  it('keeps a writeKey the flow gives', async () => {
    await service.forRun(runContext({ flowRunId: 'run-w', outputKey: 'run-w' })).writeToLake('svc', 'chave_propria', { rows: [{ a: '1' }] }, { writeKey: 'diario' });
    expect(await files('svc', 'chave_propria')).toEqual([expect.stringMatching(/^run-w_diario_a1_\d+\.parquet$/)]);
  });
});

describe('createTableAndUpload', () => {
  it('lands with dumpMode and (re)creates the staging table; overwriting twice keeps one copy of the rows', async () => {
    const data = service.forRun(runContext({ flowRunId: 'run-u1', outputKey: 'run-u1', taskKey: 'upload#1' }));
    const first = await data.createTableAndUpload('svc', 'municipio', { rows: [{ id: '1', ano: '2010' }, { id: '2', ano: '2011' }] }, { dumpMode: 'overwrite', partitionColumns: ['ano'] });
    expect(first.staging).toEqual({ table: 'svc_staging.municipio', columns: ['id'], partitionKeys: ['ano'], created: true });
    expect(first.lake).toMatchObject({ rows: 2, partitions: ['ano=2010', 'ano=2011'] });
    const again = service.forRun(runContext({ flowRunId: 'run-u2', outputKey: 'run-u2', taskKey: 'upload#1' }));
    // A new column: 'overwrite' re-creates the staging table rather than failing on drift.
    const second = await again.createTableAndUpload('svc', 'municipio', { rows: [{ id: '3', nome: 'Rio', ano: '2010' }] }, { dumpMode: 'overwrite', partitionColumns: ['ano'] });
    expect(second.staging).toMatchObject({ columns: ['id', 'nome'], partitionKeys: ['ano'] });
    expect(await again.query('select id, nome, ano from svc_staging.municipio')).toEqual([{ id: '3', nome: 'Rio', ano: '2010' }]);
  });

  it('refuses a dumpMode it does not know', async () => {
    const data = service.forRun(runContext());
    expect(await refusalOf(() => data.createTableAndUpload('svc', 't', { rows: [] }, { dumpMode: 'replace' as never }), DataError)).toEqual({
      code: 'DATA_INVALID_ARGUMENT',
      message: "createTableAndUpload: dumpMode must be 'append', 'overwrite' or 'overwrite-partitions', not \"replace\"",
    });
  });
});

describe('what a run is told', () => {
  it('records every write on the run, with the context it came from', async () => {
    const run = runContext({ flowRunId: 'run-r', outputKey: 'run-r', taskKey: 'stage#1' });
    const data = service.forRun(run);
    await data.writeToLake('svc', 'registro', { rows: [{ a: '1' }] });
    await data.createStagingTable('svc', 'registro');
    await data.materializeTable('svc', 'registro', { sql: 'select cast(a as integer) as a from svc_staging.registro' });
    expect(run.records.map((m) => `${m.kind} ${m.dataset}.${m.table}`)).toEqual(['lake svc.registro', 'staging svc.registro', 'table svc.registro']);
  });

  it('says which setting is missing and how to set it', async () => {
    const bare = createDataService({});
    const data = bare.forRun(runContext());
    expect(await refusalOf(() => data.writeToLake('svc', 't', { rows: [] }), DataError)).toEqual({
      code: 'DATA_NOT_CONFIGURED',
      message: "no lake is configured: set `lake` in the agent's --data-config file, or FLUXO_LAKE (file:///absolute/dir or gs://bucket/prefix); `fluxo run` takes --lake",
    });
    expect(await refusalOf(() => data.query('select 1'), DataError)).toMatchObject({ code: 'DATA_NOT_CONFIGURED', message: expect.stringContaining('FLUXO_WAREHOUSE (duckdb:///absolute/file.duckdb or bigquery://project)') });
    expect(await refusalOf(() => data.warehouseKind(), DataError)).toMatchObject({ code: 'DATA_NOT_CONFIGURED' });
    expect(await refusalOf(() => data.dbtBuild({}), DataError)).toMatchObject({ code: 'DATA_NOT_CONFIGURED', message: expect.stringContaining('FLUXO_DBT_PROJECT') });
    await bare.close();
  });

  it('answers warehouseKind without opening the warehouse', async () => {
    expect(await createDataService({ warehouse: 'bigquery://rj-escritorio-dev' }).forRun(runContext()).warehouseKind()).toBe('bigquery');
    expect(await service.forRun(runContext()).warehouseKind()).toBe('duckdb');
  });

  it('starts nothing for a run that has ended', async () => {
    const abort = new AbortController();
    abort.abort();
    expect(await refusalOf(() => service.forRun(runContext({ signal: abort.signal })).query('select 1'), DataError)).toEqual({ code: 'DATA_CANCELLED', message: 'the run ended before this data operation started' });
  });
});

describe('requests from a child', () => {
  it.each([
    ['arguments that are not an object', 'query', 'x', 'query: the arguments must be an object'],
    ['an unknown operation', 'dropDatabase', {}, 'unknown data operation "dropDatabase"'],
    ['a dataset id that is not a string', 'publishDataset', { datasetId: 42 }, 'publishDataset: datasetId must be a string'],
    ['a bad dataset name', 'writeToLake', { datasetId: 'a-b', tableId: 't', source: { rows: [] } }, 'dataset_id "a-b" is not a valid name (letters, digits, underscores; starting with a letter or underscore; at most 128)'],
    ['a source of no known shape', 'writeToLake', { datasetId: 'a', tableId: 't', source: { json: 'x' } }, 'writeToLake: the source must be { rows }, { csv } or { parquet }'],
    ['sql of no known shape', 'query', { sql: { postgres: 'select 1' } }, 'query: sql must be a string or { bigquery, duckdb } strings'],
    ['options that are not an object', 'materializeTable', { datasetId: 'a', tableId: 't', options: 'replace' }, 'materializeTable: options must be an object'],
  ])('refuses %s with DATA_INVALID_ARGUMENT', async (_what, operation, args, message) => {
    expect(await refusalOf(() => dispatchDataRequest(service.forRun(runContext()), operation, args), DataError)).toEqual({ code: 'DATA_INVALID_ARGUMENT', message });
  });

  it('turns a backend\'s own error into DATA_BACKEND_ERROR with its message', async () => {
    const { code, message } = await refusalOf(() => dispatchDataRequest(service.forRun(runContext()), 'query', { sql: 'select * from nenhuma_tabela' }), DataError);
    expect(code).toMatch(/^(DATA_BACKEND_ERROR|DATA_NOT_FOUND)$/);
    expect(message).toContain('nenhuma_tabela');
  });
});
