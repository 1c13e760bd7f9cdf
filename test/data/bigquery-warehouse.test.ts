// The BigQuery warehouse against a real BigQuery emulator (bqemulator) with the real
// @google-cloud/bigquery client, and a gs:// lake in a real fake-gcs-server. What no emulator
// implements (external tables over GCS, If-Match on datasets) is checked on the wire: a recording
// proxy between the client and the emulator keeps the exact requests the client sends.
import { describe, expect, it } from 'vitest';
import { DataError, type DataRunContext, type Lake, type Materialization, type MaterializeOptions } from '../../data/contract.js';
import { openLake } from '../../data/lake/open-lake.js';
import { APPENDS_LEDGER, BigQueryWarehouse, appendJobId, parseBigQueryUri, stagingDrift } from '../../data/warehouse/bigquery-warehouse.js';
import { EMULATOR_TOKEN, startRecordingProxy, useBigQueryEmulator, type RecordingProxy } from '../support/bigquery-emulator.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { tempDir } from '../support/harness.js';

const emulator = useBigQueryEmulator();
const gcs = useFakeGcs();

interface TestRun {
  run: DataRunContext;
  recorded: Materialization[];
  logs: string[];
  abort: AbortController;
}

function testRun(outputKey = 'run-1', attempt = 1): TestRun {
  const recorded: Materialization[] = [];
  const logs: string[] = [];
  const abort = new AbortController();
  return {
    recorded,
    logs,
    abort,
    run: {
      flowRunId: outputKey,
      attempt,
      outputKey,
      taskKey: 'materialize#1',
      signal: abort.signal,
      log: (level, message) => logs.push(`${level} ${message}`),
      record: (materialization) => recorded.push(materialization),
    },
  };
}

let datasets = 0;
/** A dataset name no other test uses (the emulator lives for the whole file). */
function freshDataset(): string {
  datasets += 1;
  return `br_ibge_pib_${datasets}_${process.pid}`;
}

/** A warehouse on the emulator, through a recording proxy, for `bigquery://fluxo-test[?location=…]`. */
async function setup(location?: string): Promise<{ warehouse: BigQueryWarehouse; proxy: RecordingProxy }> {
  const proxy = await startRecordingProxy(emulator().endpoint);
  const uri = `bigquery://${emulator().projectId}${location ? `?location=${location}` : ''}`;
  const warehouse = await BigQueryWarehouse.open(uri, { bigqueryEndpoint: proxy.endpoint, emulatorToken: EMULATOR_TOKEN });
  return { warehouse, proxy };
}

/** Runs SQL on the emulator behind the warehouse's back. */
async function sql(query: string): Promise<Array<Record<string, unknown>>> {
  const [rows] = await emulator().bigquery.query({ query, useLegacySql: false });
  return rows as Array<Record<string, unknown>>;
}

/** Seeds `<ds>_staging.municipio` as a native table of STRING columns, as a staging table reads the lake. */
async function seedStaging(datasetId: string, rows: Array<[ano: string, id: string, pib: string]>): Promise<void> {
  const values = rows.map(([ano, id, pib]) => `STRUCT('${ano}' AS ano, '${id}' AS id_municipio, '${pib}' AS pib, '${ano}-01-01' AS data_particao)`).join(', ');
  await sql(`CREATE OR REPLACE TABLE \`${emulator().projectId}.${datasetId}_staging.municipio\` AS SELECT * FROM UNNEST([${values}])`);
}

const PIB_ROWS: Array<[string, string, string]> = [
  ['2010', '3304557', '1000'],
  ['2010', '3550308', '2000'],
  ['2011', '3304557', '1100'],
  ['2011', '3550308', '2200'],
  ['2011', '3106200', '300'],
];

/** The production SQL over staging (all STRING, so it casts); `where` narrows the rows. */
function pibSql(datasetId: string, where = 'TRUE'): string {
  return `
    SELECT CAST(ano AS INT64) AS ano, id_municipio, CAST(pib AS INT64) AS pib, CAST(data_particao AS DATE) AS data_particao,
           CASE WHEN STARTS_WITH(id_municipio, '33') THEN 'RJ' WHEN STARTS_WITH(id_municipio, '35') THEN 'SP' ELSE 'MG' END AS sigla_uf
    FROM ${datasetId}_staging.municipio WHERE ${where}`;
}

function partitioned(datasetId: string, mode: MaterializeOptions['mode'], where?: string, writeKey?: string): MaterializeOptions {
  const options: MaterializeOptions = { sql: pibSql(datasetId, where), mode, partitionBy: { column: 'data_particao', granularity: 'month' }, clusterBy: ['sigla_uf'] };
  if (writeKey !== undefined) options.writeKey = writeKey;
  return options;
}

/** A request's path without its query (the client adds `?prettyPrint=false`). */
function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}

async function rejection(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

async function count(datasetId: string, where = 'TRUE'): Promise<number> {
  const [row] = await sql(`SELECT COUNT(*) AS n FROM \`${emulator().projectId}.${datasetId}.municipio\` WHERE ${where}`);
  return Number(row?.n);
}

describe('warehouse URI', () => {
  it.each([
    ['bigquery://rj-escritorio', { projectId: 'rj-escritorio' }],
    ['bigquery://rj-escritorio?location=EU', { projectId: 'rj-escritorio', location: 'EU' }],
  ])('parses %s', (uri, expected) => {
    expect(parseBigQueryUri(uri)).toEqual(expected);
  });

  it.each(['duckdb:///tmp/x.duckdb', 'bigquery://', 'bigquery://project/dataset', 'not a uri'])('rejects %s with DATA_CONFIG_INVALID', (uri) => {
    expect(() => parseBigQueryUri(uri)).toThrow(expect.objectContaining({ code: 'DATA_CONFIG_INVALID', message: expect.stringContaining('bigquery://project[?location=EU]') }));
  });
});

describe('datasets', () => {
  it('creates <ds>_staging and <ds> in the configured location once, and again without error from another warehouse', async () => {
    const { warehouse, proxy } = await setup('EU');
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await warehouse.ensureDatasets(datasetId);
    const creations = proxy.requests.filter((request) => request.method === 'POST' && pathOf(request.url).endsWith('/datasets'));
    expect(creations.map((request) => JSON.parse(request.body))).toEqual([
      expect.objectContaining({ datasetReference: { datasetId: `${datasetId}_staging` }, location: 'EU' }),
      expect.objectContaining({ datasetReference: { datasetId }, location: 'EU' }),
    ]);

    // A second agent process (no memory of the first) meets 409s: still fine.
    const { warehouse: other, proxy: otherProxy } = await setup('EU');
    await other.ensureDatasets(datasetId);
    expect(otherProxy.requests.filter((request) => pathOf(request.url).endsWith('/datasets')).map((request) => request.status)).toEqual([409, 409]);

    for (const id of [datasetId, `${datasetId}_staging`]) {
      const [metadata] = await emulator().bigquery.dataset(id).getMetadata();
      expect(metadata.location).toBe('EU');
    }
  });

  it.each(['1starts_with_digit', 'has-dash', ''])('refuses dataset name %j with DATA_INVALID_ARGUMENT', async (name) => {
    const { warehouse } = await setup();
    const error = await rejection(warehouse.ensureDatasets(name));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain(JSON.stringify(name));
  });
});

describe('materialize', () => {
  it("'replace' builds a month-partitioned table clustered by sigla_uf, and a second replace leaves only its rows", async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const { run, recorded } = testRun();

    const result = await warehouse.materialize(run, datasetId, 'municipio', partitioned(datasetId, 'replace'));
    expect(result).toMatchObject({ table: `${datasetId}.municipio`, rows: 5, rowsWritten: 5, partitions: ['2010-01-01', '2011-01-01'] });
    const [metadata] = await emulator().bigquery.dataset(datasetId).table('municipio').getMetadata();
    expect(metadata.timePartitioning).toEqual({ type: 'MONTH', field: 'data_particao' });
    expect(metadata.clustering).toEqual({ fields: ['sigla_uf'] });
    expect(metadata.schema.fields.map((field: { name: string; type: string }) => `${field.name}:${field.type}`)).toEqual([
      'ano:INTEGER',
      'id_municipio:STRING',
      'pib:INTEGER',
      'data_particao:DATE',
      'sigla_uf:STRING',
    ]);
    expect(recorded).toEqual([
      {
        kind: 'table',
        dataset: datasetId,
        table: 'municipio',
        partitions: ['2010-01-01', '2011-01-01'],
        rows: 5,
        bytes: result.bytes,
        uri: `bigquery://${emulator().projectId}/${datasetId}.municipio`,
        mode: 'replace',
      },
    ]);

    const again = await warehouse.materialize(run, datasetId, 'municipio', partitioned(datasetId, 'replace', "ano = '2011'"));
    expect(again).toMatchObject({ rows: 3, rowsWritten: 3, partitions: ['2011-01-01'] });
    expect(await count(datasetId)).toBe(3);
  });

  it("'replace' re-creates the table when its columns change", async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const { run, logs } = testRun();
    await warehouse.materialize(run, datasetId, 'municipio', partitioned(datasetId, 'replace'));
    const narrower = `SELECT id_municipio, CAST(data_particao AS DATE) AS data_particao FROM ${datasetId}_staging.municipio`;
    const result = await warehouse.materialize(run, datasetId, 'municipio', { sql: narrower, partitionBy: { column: 'data_particao', granularity: 'day' } });
    expect(result).toMatchObject({ rows: 5, rowsWritten: 5, partitions: ['2010-01-01', '2011-01-01'] });
    const [metadata] = await emulator().bigquery.dataset(datasetId).table('municipio').getMetadata();
    expect(metadata.schema.fields.map((field: { name: string }) => field.name)).toEqual(['id_municipio', 'data_particao']);
    expect(metadata.timePartitioning).toEqual({ type: 'DAY', field: 'data_particao' });
    expect(metadata.clustering ?? null).toBeNull();
    expect(logs.join('\n')).toContain('re-creating');
  });

  it("'replace-partitions' replaces only the partitions its rows fall in, and a re-run never duplicates", async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const { run, recorded } = testRun();
    await warehouse.materialize(run, datasetId, 'municipio', partitioned(datasetId, 'replace'));

    // 2011 now has two rows with new values; 2010 must stay as it was.
    await seedStaging(datasetId, [
      ['2011', '3304557', '1111'],
      ['2011', '3550308', '2222'],
    ]);
    for (let pass = 0; pass < 2; pass++) {
      const result = await warehouse.materialize(run, datasetId, 'municipio', partitioned(datasetId, 'replace-partitions'));
      expect(result).toMatchObject({ rows: 4, rowsWritten: 2, partitions: ['2011-01-01'] });
    }
    expect(await count(datasetId, 'ano = 2010')).toBe(2);
    expect(await count(datasetId, 'ano = 2011')).toBe(2);
    const [sum] = await sql(`SELECT SUM(pib) AS total FROM \`${emulator().projectId}.${datasetId}.municipio\` WHERE ano = 2011`);
    expect(Number(sum?.total)).toBe(3333);
    expect(recorded.map((write) => [write.mode, write.partitions, write.rows])).toEqual([
      ['replace', ['2010-01-01', '2011-01-01'], 5],
      ['replace-partitions', ['2011-01-01'], 2],
      ['replace-partitions', ['2011-01-01'], 2],
    ]);
  });

  it("'replace-partitions' on a missing table creates it partitioned", async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const result = await warehouse.materialize(testRun().run, datasetId, 'municipio', partitioned(datasetId, 'replace-partitions', "ano = '2010'"));
    expect(result).toMatchObject({ rows: 2, rowsWritten: 2, partitions: ['2010-01-01'] });
    const [metadata] = await emulator().bigquery.dataset(datasetId).table('municipio').getMetadata();
    expect(metadata.timePartitioning).toEqual({ type: 'MONTH', field: 'data_particao' });
  });

  it("'append' twice with the same run and writeKey writes once; another writeKey or run appends", async () => {
    const { warehouse, proxy } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const first = testRun('run-a');

    const once = await warehouse.materialize(first.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2010'", 'w1'));
    expect(once).toMatchObject({ rows: 2, rowsWritten: 2, partitions: ['2010-01-01'] });
    // A retry of the run (a later attempt, same outputKey) repeats the call: nothing more is written.
    const retry = testRun('run-a', 2);
    const twice = await warehouse.materialize(retry.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2010'", 'w1'));
    expect(twice).toMatchObject({ rows: 2, rowsWritten: 0, partitions: [] });
    expect(await count(datasetId)).toBe(2);
    expect(first.recorded).toHaveLength(1);
    expect(retry.recorded).toHaveLength(0);

    // The job id is the same for the same key, so real BigQuery refuses the second job itself (409).
    const appendJobs = proxy.requests
      .filter((request) => request.method === 'POST' && request.url.includes('/jobs') && request.body.includes(APPENDS_LEDGER))
      .map((request) => JSON.parse(request.body).jobReference.jobId);
    expect(appendJobs).toEqual([appendJobId('run-a', datasetId, 'municipio', 'w1'), appendJobId('run-a', datasetId, 'municipio', 'w1')]);

    expect(await warehouse.materialize(first.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2011'", 'w2'))).toMatchObject({ rows: 5, rowsWritten: 3 });
    expect(await warehouse.materialize(testRun('run-b').run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2011'", 'w2'))).toMatchObject({ rows: 8, rowsWritten: 3 });
    const ledger = await sql(`SELECT output_key, write_key, rows_written FROM \`${emulator().projectId}.${datasetId}_staging.${APPENDS_LEDGER}\` ORDER BY output_key, write_key`);
    expect(ledger.map((row) => [row.output_key, row.write_key, Number(row.rows_written)])).toEqual([
      ['run-a', 'w1', 2],
      ['run-a', 'w2', 3],
      ['run-b', 'w2', 3],
    ]);
  });

  it("'append' without a writeKey numbers the run's appends to the table: a retry repeats them without duplicates", async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    const attempt1 = testRun('run-a', 1);
    await warehouse.materialize(attempt1.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2010'"));
    await warehouse.materialize(attempt1.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2011'"));
    expect(await count(datasetId)).toBe(5);
    const attempt2 = testRun('run-a', 2);
    expect(await warehouse.materialize(attempt2.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2010'"))).toMatchObject({ rowsWritten: 0 });
    expect(await warehouse.materialize(attempt2.run, datasetId, 'municipio', partitioned(datasetId, 'append', "ano = '2011'"))).toMatchObject({ rowsWritten: 0 });
    expect(await count(datasetId)).toBe(5);
  });

  // The example table's distancia_capital_km: BigQuery GIS inside the materializing SQL. (A
  // GEOGRAPHY column itself cannot be tested here: the emulator's dry run calls it BYTES.)
  it('materializes distances computed with BigQuery GIS', async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    const distances = `
      SELECT nome, ST_DISTANCE(ST_GEOGPOINT(longitude, latitude), ST_GEOGPOINT(-46.6333, -23.5505)) / 1000 AS distancia_capital_km, DATE '2010-01-01' AS data_particao
      FROM UNNEST([STRUCT('Rio de Janeiro' AS nome, -43.1964 AS longitude, -22.9083 AS latitude), STRUCT('São Paulo', -46.6333, -23.5505)])`;
    await warehouse.materialize(testRun().run, datasetId, 'distancias', { sql: distances, partitionBy: { column: 'data_particao', granularity: 'month' } });
    const rows = await warehouse.query(testRun().run, `SELECT nome, distancia_capital_km FROM ${datasetId}.distancias WHERE nome = @nome`, { nome: 'Rio de Janeiro' });
    expect(rows).toHaveLength(1);
    expect(rows[0]?.distancia_capital_km).toBeGreaterThan(355);
    expect(rows[0]?.distancia_capital_km).toBeLessThan(365);
  });

  it.each([
    ['replace-partitions without partitionBy', { sql: 'SELECT 1 AS x', mode: 'replace-partitions' }, "'replace-partitions' needs partitionBy"],
    ['an unknown mode', { sql: 'SELECT 1 AS x', mode: 'upsert' }, 'mode must be one of'],
    ['five clustering columns', { sql: 'SELECT 1 AS x', clusterBy: ['a', 'b', 'c', 'd', 'e'] }, 'at most 4'],
    ['a partition column the SQL lacks', { sql: 'SELECT 1 AS x', partitionBy: { column: 'data_particao', granularity: 'month' } }, 'not among the SQL'],
    ['a partition column that is not a DATE', { sql: "SELECT '2010-01-01' AS data_particao", partitionBy: { column: 'data_particao', granularity: 'month' } }, 'must be a DATE'],
    ['a clustering column the SQL lacks', { sql: 'SELECT 1 AS x', clusterBy: ['sigla_uf'] }, 'clusterBy column sigla_uf'],
  ])('refuses %s with DATA_INVALID_ARGUMENT', async (_what, options, message) => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    const error = await rejection(warehouse.materialize(testRun().run, datasetId, 'municipio', options as MaterializeOptions));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain(message);
  });

  it('reports SQL that BigQuery refuses as DATA_BACKEND_ERROR with its message, and a missing table as DATA_NOT_FOUND', async () => {
    const { warehouse } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    const missing = await rejection(warehouse.materialize(testRun().run, datasetId, 'municipio', { sql: `SELECT * FROM ${datasetId}_staging.nao_existe` }));
    expect(missing.code).toBe('DATA_NOT_FOUND');
    expect(missing.message).toContain('nao_existe');
    const broken = await rejection(warehouse.query(testRun().run, 'SELECT FROM WHERE'));
    expect(broken.code).toBe('DATA_BACKEND_ERROR');
    expect(broken.message.length).toBeGreaterThan('query: '.length);
  });

  it('stops with DATA_CANCELLED when the run is cancelled', async () => {
    const { warehouse } = await setup();
    const { run, abort } = testRun();
    abort.abort();
    const error = await rejection(warehouse.query(run, 'SELECT 1 AS x'));
    expect(error.code).toBe('DATA_CANCELLED');
  });
});

describe('query', () => {
  it('binds named parameters and returns JSON scalars (dates, integers, numerics, geographies, arrays)', async () => {
    const { warehouse } = await setup();
    const rows = await warehouse.query(
      testRun().run,
      {
        bigquery: `SELECT @uf AS uf, @ano + 1 AS proximo, @nada IS NULL AS vazio, DATE '2010-01-01' AS data, NUMERIC '1.5' AS taxa,
                          ST_ASTEXT(ST_GEOGPOINT(-43.1964, -22.9083)) AS ponto, [1, 2] AS lista, TRUE AS sim`,
        duckdb: 'SELECT 1 AS never_used',
      },
      { uf: 'RJ', ano: 2010, nada: null },
    );
    expect(rows).toEqual([{ uf: 'RJ', proximo: 2011, vazio: true, data: '2010-01-01', taxa: 1.5, ponto: expect.stringMatching(/^POINT ?\(-43\.1964 -22\.9083\)$/), lista: '[1,2]', sim: true }]);
  });

  it('computes the distance Rio de Janeiro – São Paulo with BigQuery GIS (about 360 km)', async () => {
    const { warehouse } = await setup();
    const [row] = await warehouse.query(testRun().run, 'SELECT ST_DISTANCE(ST_GEOGPOINT(-43.1964,-22.9083), ST_GEOGPOINT(-46.6333,-23.5505)) AS metros');
    expect(row?.metros).toBeGreaterThan(355_000);
    expect(row?.metros).toBeLessThan(365_000);
  });
});

describe('publish', () => {
  it('adds allUsers READER to the dataset access, keeps the other entries, sends the etag, and is idempotent', async () => {
    const { warehouse, proxy } = await setup();
    const datasetId = freshDataset();
    await warehouse.ensureDatasets(datasetId);
    await seedStaging(datasetId, PIB_ROWS);
    await warehouse.materialize(testRun().run, datasetId, 'municipio', partitioned(datasetId, 'replace'));
    const owner = { role: 'OWNER', userByEmail: 'dados@rio.rj.gov.br' };
    await emulator().bigquery.dataset(datasetId).setMetadata({ access: [owner] });

    const { run, recorded } = testRun();
    const result = await warehouse.publish(run, datasetId);
    expect(result).toEqual({ dataset: datasetId, uri: `bigquery://${emulator().projectId}/${datasetId}`, tables: ['municipio'] });
    await warehouse.publish(run, datasetId);

    const [metadata] = await emulator().bigquery.dataset(datasetId).getMetadata();
    expect(metadata.access).toEqual([owner, { role: 'READER', specialGroup: 'allUsers' }]);
    const patches = proxy.requests.filter((request) => request.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0]?.headers['if-match']).toEqual(expect.any(String));
    expect(JSON.parse(patches[0]!.body)).toMatchObject({ access: [owner, { role: 'READER', specialGroup: 'allUsers' }] });
    expect(recorded).toEqual([
      { kind: 'publish', dataset: datasetId, table: '', partitions: [], rows: null, bytes: null, uri: `bigquery://${emulator().projectId}/${datasetId}`, mode: null },
      { kind: 'publish', dataset: datasetId, table: '', partitions: [], rows: null, bytes: null, uri: `bigquery://${emulator().projectId}/${datasetId}`, mode: null },
    ]);
  });

  it('fails DATA_NOT_FOUND for a dataset that does not exist', async () => {
    const { warehouse } = await setup();
    const error = await rejection(warehouse.publish(testRun().run, freshDataset()));
    expect(error.code).toBe('DATA_NOT_FOUND');
  });
});

describe('staging tables', () => {
  async function gsLake(): Promise<Lake> {
    const bucket = await gcs().createBucket();
    return openLake(`gs://${bucket}/lake`, { storageEndpoint: gcs().endpoint }, { tempDir: await tempDir() });
  }

  function tableCreations(proxy: RecordingProxy, datasetId: string) {
    return proxy.requests.filter((request) => request.method === 'POST' && pathOf(request.url).endsWith(`/datasets/${datasetId}_staging/tables`)).map((request) => JSON.parse(request.body));
  }

  it('creates an EXTERNAL table over the Hive-partitioned Parquet files with STRINGS partition keys, once', async () => {
    const { warehouse, proxy } = await setup();
    const lake = await gsLake();
    const datasetId = freshDataset();
    const { run, recorded } = testRun();
    await lake.write(run, datasetId, 'municipio', { rows: [{ ano: 2010, id_municipio: '3304557', pib: 1000 }] }, { datePartition: { column: 'ano' } });

    const result = await warehouse.createStagingTable(run, lake, datasetId, 'municipio', {});
    expect(result).toEqual({ table: `${datasetId}_staging.municipio`, columns: ['ano', 'id_municipio', 'pib'], partitionKeys: ['ano_particao', 'mes_particao', 'data_particao'], created: true });
    const base = `${lake.root}/staging/${datasetId}/municipio`;
    expect(tableCreations(proxy, datasetId)).toEqual([
      {
        tableReference: { projectId: emulator().projectId, datasetId: `${datasetId}_staging`, tableId: 'municipio' },
        description:
          `Staging table over the lake files under ${base}/ (every column STRING; made by fluxo).\n` +
          'fluxo-lake-layout: {"dataColumns":["ano","id_municipio","pib"],"partitionKeys":["ano_particao","mes_particao","data_particao"],"format":"parquet"}',
        externalDataConfiguration: {
          sourceFormat: 'PARQUET',
          sourceUris: [`${base}/*`],
          hivePartitioningOptions: { mode: 'STRINGS', sourceUriPrefix: `${base}/`, requirePartitionFilter: false },
        },
      },
    ]);
    expect(recorded.filter((write) => write.kind === 'staging')).toEqual([
      {
        kind: 'staging',
        dataset: datasetId,
        table: 'municipio',
        partitions: ['ano_particao=2010/mes_particao=1/data_particao=2010-01-01'],
        rows: null,
        bytes: null,
        uri: `bigquery://${emulator().projectId}/${datasetId}_staging.municipio`,
        mode: null,
      },
    ]);

    // Same columns again: nothing to do.
    expect(await warehouse.createStagingTable(run, lake, datasetId, 'municipio', {})).toMatchObject({ created: false });
    expect(tableCreations(proxy, datasetId)).toHaveLength(1);
  });

  it('creates a CSV external table with STRING columns that skips the header row', async () => {
    const { warehouse, proxy } = await setup();
    const lake = await gsLake();
    const datasetId = freshDataset();
    const { run } = testRun();
    await lake.write(run, datasetId, 'municipio', { rows: [{ id_municipio: '3304557', sigla_uf: 'RJ' }] }, { format: 'csv', partitionColumns: ['sigla_uf'] });
    await warehouse.createStagingTable(run, lake, datasetId, 'municipio', {});
    const base = `${lake.root}/staging/${datasetId}/municipio`;
    expect(tableCreations(proxy, datasetId)[0]).toEqual({
      tableReference: { projectId: emulator().projectId, datasetId: `${datasetId}_staging`, tableId: 'municipio' },
      description:
        `Staging table over the lake files under ${base}/ (every column STRING; made by fluxo).\n` +
        'fluxo-lake-layout: {"dataColumns":["id_municipio"],"partitionKeys":["sigla_uf"],"format":"csv"}',
      externalDataConfiguration: {
        sourceFormat: 'CSV',
        sourceUris: [`${base}/*`],
        autodetect: false,
        schema: { fields: [{ name: 'id_municipio', type: 'STRING', mode: 'NULLABLE' }] },
        csvOptions: { skipLeadingRows: '1', allowQuotedNewlines: true },
        hivePartitioningOptions: { mode: 'STRINGS', sourceUriPrefix: `${base}/`, requirePartitionFilter: false },
      },
    });
  });

  it("names the added and missing columns on schema drift, and re-creates the table with onSchemaDrift: 'recreate'", async () => {
    const { warehouse, proxy } = await setup();
    const lake = await gsLake();
    const datasetId = freshDataset();
    const { run, recorded } = testRun();
    await lake.write(run, datasetId, 'municipio', { rows: [{ id_municipio: '3304557', pib: '1' }] }, {});
    await warehouse.createStagingTable(run, lake, datasetId, 'municipio', {});
    await lake.write(testRun('run-2').run, datasetId, 'municipio', { rows: [{ id_municipio: '3304557', nome: 'Rio de Janeiro' }] }, { mode: 'overwrite' });

    const error = await rejection(warehouse.createStagingTable(run, lake, datasetId, 'municipio', {}));
    expect(error.code).toBe('DATA_SCHEMA_DRIFT');
    expect(error.message).toContain('the lake has column nome that the table lacks');
    expect(error.message).toContain('the table has column pib that the lake lacks');

    expect(await warehouse.createStagingTable(run, lake, datasetId, 'municipio', { onSchemaDrift: 'recreate' })).toMatchObject({ columns: ['id_municipio', 'nome'], created: true });
    const creations = tableCreations(proxy, datasetId);
    expect(creations).toHaveLength(2);
    expect(creations[1].description).toContain('"dataColumns":["id_municipio","nome"]');
    expect(proxy.requests.some((request) => request.method === 'DELETE' && request.url.includes(`/datasets/${datasetId}_staging/tables/municipio`))).toBe(true);
    expect(recorded.filter((write) => write.kind === 'staging').map((write) => write.mode)).toEqual([null, 'recreate']);
  });

  // What tables.get answers on BigQuery for a STRINGS-partitioned external table (the emulator
  // keeps no external configuration): the Hive keys appended to the schema and listed apart.
  describe('drift against the metadata BigQuery reports', () => {
    const reported = {
      schema: { fields: ['ano', 'pib', 'ano_particao', 'data_particao'].map((name) => ({ name, type: 'STRING', mode: 'NULLABLE' })) },
      externalDataConfiguration: { sourceFormat: 'PARQUET', hivePartitioningOptions: { mode: 'STRINGS', fields: ['ano_particao', 'data_particao'] } },
    };
    it.each([
      ['the same columns and keys', ['ano', 'pib'], ['ano_particao', 'data_particao'], null],
      ['an added column', ['ano', 'pib', 'nome'], ['ano_particao', 'data_particao'], 'the lake has column nome that the table lacks'],
      ['a missing column', ['ano'], ['ano_particao', 'data_particao'], 'the table has column pib that the lake lacks'],
      ['other partition keys', ['ano', 'pib'], ['ano_particao'], "the table's partition keys are ano_particao/data_particao, the lake's ano_particao"],
    ])('%s', (_what, dataColumns, partitionKeys, expected) => {
      expect(stagingDrift(reported, { dataColumns, partitionKeys, format: 'parquet' })).toBe(expected);
    });
  });

  it('refuses a file:// lake: BigQuery external tables read Cloud Storage', async () => {
    const { warehouse } = await setup();
    const lake = openLake(`file://${await tempDir()}`);
    const error = await rejection(warehouse.createStagingTable(testRun().run, lake, freshDataset(), 'municipio', {}));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain('BigQuery external tables read gs://');
  });

  it('fails DATA_NOT_FOUND when the lake has no files for the table', async () => {
    const { warehouse } = await setup();
    const error = await rejection(warehouse.createStagingTable(testRun().run, await gsLake(), freshDataset(), 'municipio', {}));
    expect(error.code).toBe('DATA_NOT_FOUND');
    expect(error.message).toContain('land data in the lake');
  });
});
