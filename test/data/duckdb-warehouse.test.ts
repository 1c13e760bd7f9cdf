// The embedded warehouse against a real DuckDB file, real Hive-partitioned Parquet files in a
// temporary lake, and DuckDB's real spatial extension (scripts/ensure-duckdb-spatial.mjs).
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, type DataRunContext, type Lake, type LakeWriteOptions, type Materialization, type MaterializeOptions, type Row } from '../../data/contract.js';
import { openLake } from '../../data/lake/open-lake.js';
import { cachedSpatialExtensionPath, spatialExtensionPath } from '../../data/spatial.js';
import { DuckDbWarehouse, parseDuckDbUri } from '../../data/warehouse/duckdb-warehouse.js';
import { onCleanup, repoRoot, tempDir } from '../support/harness.js';

const run = promisify(execFile);

interface TestRun {
  run: DataRunContext;
  recorded: Materialization[];
  abort: AbortController;
}

function testRun(outputKey = 'run-1', attempt = 1): TestRun {
  const recorded: Materialization[] = [];
  const abort = new AbortController();
  return {
    recorded,
    abort,
    run: {
      flowRunId: outputKey,
      attempt,
      outputKey,
      taskKey: 'materialize#1',
      signal: abort.signal,
      log: () => undefined,
      record: (materialization) => recorded.push(materialization),
    },
  };
}

/** Runs SQL on a throwaway in-memory DuckDB (writing lake files, reading exports). */
async function scratch<T>(fn: (sql: (text: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    return await fn(async (text) => (await connection.runAndReadAll(text)).getRowObjectsJson() as Record<string, unknown>[]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// pib_municipio-like rows as a flow lands them; the lake keeps every value as text.
const PIB_ROWS: Row[] = [
  { ano: 2010, id_municipio: '3304557', pib: 1000 },
  { ano: 2010, id_municipio: '3550308', pib: 2000 },
  { ano: 2011, id_municipio: '3304557', pib: 1100 },
  { ano: 2011, id_municipio: '3550308', pib: 2200 },
  { ano: 2011, id_municipio: '3106200', pib: 300 },
];
const PIB_PARTITIONS = ['ano_particao', 'mes_particao', 'data_particao'];
const BY_YEAR: LakeWriteOptions = { datePartition: { column: 'ano' } };
// The production SQL: staging is all VARCHAR, so it casts.
const PIB_SQL = `
  SELECT CAST(ano AS INTEGER) AS ano, id_municipio, CAST(pib AS BIGINT) AS pib, CAST(data_particao AS DATE) AS data_particao,
         CASE WHEN id_municipio LIKE '33%' THEN 'RJ' WHEN id_municipio LIKE '35%' THEN 'SP' ELSE 'MG' END AS sigla_uf
  FROM br_ibge_pib_staging.municipio`;
const MONTHLY = { column: 'data_particao', granularity: 'month' } as const;

async function rejection(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

async function setup() {
  const dir = await tempDir('fluxo-duckdb-');
  const lake = openLake(pathToFileURL(join(dir, 'lake')).href, undefined, { tempDir: dir });
  const warehouse = new DuckDbWarehouse(`duckdb://${join(dir, 'warehouse', 'dw.duckdb')}`);
  onCleanup(async () => {
    await warehouse.close();
    // Published exports are read-only folders: make them removable for tempDir's cleanup.
    const publicDir = join(dir, 'warehouse', 'public');
    for (const entry of await readdir(publicDir).catch(() => [])) await chmod(join(publicDir, entry), 0o755);
  });
  return { dir, lake, warehouse };
}

async function withPibStaging() {
  const context = await setup();
  await context.lake.write(testRun('land-1').run, 'br_ibge_pib', 'municipio', { rows: PIB_ROWS }, BY_YEAR);
  await context.warehouse.createStagingTable(testRun().run, context.lake, 'br_ibge_pib', 'municipio', {});
  return context;
}

beforeAll(() => {
  // Fails (DATA_NOT_CONFIGURED) with what to run when the extension is missing: never a silent skip.
  spatialExtensionPath({});
});

describe('the warehouse URI', () => {
  it('names an absolute .duckdb file', () => {
    expect(parseDuckDbUri('duckdb:///srv/fluxo/dw.duckdb')).toBe('/srv/fluxo/dw.duckdb');
  });

  it.each(['duckdb://relative/dw.duckdb', 'duckdb:dw.duckdb', 'bigquery://project', 'duckdb:///srv/dir/', 'not a uri'])('refuses %s', (uri) => {
    expect(() => parseDuckDbUri(uri)).toThrow(expect.objectContaining({ code: 'DATA_CONFIG_INVALID' }));
  });
});

describe('staging tables', () => {
  it('exposes the lake table as a view of VARCHAR columns followed by the Hive partition keys', async () => {
    const { lake, warehouse } = await setup();
    await lake.write(testRun('land-1').run, 'br_ibge_pib', 'municipio', { rows: PIB_ROWS }, BY_YEAR);
    const { run, recorded } = testRun();

    const result = await warehouse.createStagingTable(run, lake, 'br_ibge_pib', 'municipio', {});

    expect(result).toEqual({
      table: 'br_ibge_pib_staging.municipio',
      columns: ['ano', 'id_municipio', 'pib'],
      partitionKeys: PIB_PARTITIONS,
      created: true,
    });
    const types = await warehouse.query(
      run,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'br_ibge_pib_staging' AND table_name = 'municipio' ORDER BY ordinal_position`,
    );
    expect(types).toEqual(['ano', 'id_municipio', 'pib', ...PIB_PARTITIONS].map((column_name) => ({ column_name, data_type: 'VARCHAR' })));
    const rows = await warehouse.query(run, 'SELECT * FROM br_ibge_pib_staging.municipio WHERE ano = $ano ORDER BY id_municipio', { ano: '2010' });
    expect(rows).toEqual([
      { ano: '2010', id_municipio: '3304557', pib: '1000', ano_particao: '2010', mes_particao: '1', data_particao: '2010-01-01' },
      { ano: '2010', id_municipio: '3550308', pib: '2000', ano_particao: '2010', mes_particao: '1', data_particao: '2010-01-01' },
    ]);
    expect(recorded).toEqual([
      {
        kind: 'staging',
        dataset: 'br_ibge_pib',
        table: 'municipio',
        partitions: ['ano_particao=2010/mes_particao=1/data_particao=2010-01-01', 'ano_particao=2011/mes_particao=1/data_particao=2011-01-01'],
        rows: null,
        bytes: null,
        uri: `${warehouse.uri}#br_ibge_pib_staging.municipio`,
        mode: null,
      },
    ]);
  });

  it('sees partitions landed after it was created, and leaves an unchanged view alone', async () => {
    const { lake, warehouse } = await withPibStaging();
    await lake.write(testRun('land-2').run, 'br_ibge_pib', 'municipio', { rows: [{ ano: 2012, id_municipio: '3304557', pib: 1200 }] }, BY_YEAR);
    const { run, recorded } = testRun();

    const again = await warehouse.createStagingTable(run, lake, 'br_ibge_pib', 'municipio', {});

    expect(again.created).toBe(false);
    expect(recorded).toEqual([]);
    expect(await warehouse.query(run, 'SELECT data_particao, count(*) AS n FROM br_ibge_pib_staging.municipio GROUP BY 1 ORDER BY 1')).toEqual([
      { data_particao: '2010-01-01', n: 2 },
      { data_particao: '2011-01-01', n: 3 },
      { data_particao: '2012-01-01', n: 1 },
    ]);
  });

  it('fails DATA_SCHEMA_DRIFT naming the added and missing columns when the lake changed, and re-creates the view on request', async () => {
    const { lake, warehouse } = await withPibStaging();
    const changed = [{ ano: 2012, id_municipio: '3304557', populacao: 6000000 }];
    await lake.write(testRun('land-2').run, 'br_ibge_pib', 'municipio', { rows: changed }, { ...BY_YEAR, mode: 'overwrite' });

    const drift = await rejection(warehouse.createStagingTable(testRun().run, lake, 'br_ibge_pib', 'municipio', {}));
    expect(drift.code).toBe('DATA_SCHEMA_DRIFT');
    expect(drift.message).toContain('added column(s) populacao');
    expect(drift.message).toContain('missing column(s) pib');

    const { run, recorded } = testRun();
    const recreated = await warehouse.createStagingTable(run, lake, 'br_ibge_pib', 'municipio', { onSchemaDrift: 'recreate' });
    expect(recreated).toMatchObject({ created: true, columns: ['ano', 'id_municipio', 'populacao'] });
    expect(recorded).toMatchObject([{ kind: 'staging', mode: 'recreate' }]);
    expect(await warehouse.query(run, 'SELECT id_municipio, populacao FROM br_ibge_pib_staging.municipio')).toEqual([{ id_municipio: '3304557', populacao: '6000000' }]);
  });

  it('reads a CSV lake table the same way, with a null partition value as NULL', async () => {
    const { lake, warehouse } = await setup();
    const rows = [
      { id_municipio: '3304557', nome: 'Rio de Janeiro, RJ', sigla_uf: 'RJ' },
      { id_municipio: '9999999', nome: 'sem UF', sigla_uf: null },
    ];
    await lake.write(testRun('land-1').run, 'br_ibge', 'municipio', { rows }, { format: 'csv', partitionColumns: ['sigla_uf'] });
    const { run } = testRun();

    const result = await warehouse.createStagingTable(run, lake, 'br_ibge', 'municipio', {});

    expect(result).toEqual({ table: 'br_ibge_staging.municipio', columns: ['id_municipio', 'nome'], partitionKeys: ['sigla_uf'], created: true });
    expect(await warehouse.query(run, 'SELECT * FROM br_ibge_staging.municipio ORDER BY id_municipio')).toEqual(rows);
  });

  it('re-creates the view, without a drift error, when the same columns now come in another format', async () => {
    const { lake, warehouse } = await withPibStaging();
    const revised = PIB_ROWS.map((row) => ({ ...row, pib: Number(row.pib) + 1 }));
    await lake.write(testRun('land-2').run, 'br_ibge_pib', 'municipio', { rows: revised }, { ...BY_YEAR, mode: 'overwrite', format: 'csv' });
    const { run } = testRun();

    const result = await warehouse.createStagingTable(run, lake, 'br_ibge_pib', 'municipio', {});

    expect(result.created).toBe(true);
    expect(await warehouse.query(run, 'SELECT sum(CAST(pib AS INTEGER)) AS pib FROM br_ibge_pib_staging.municipio')).toEqual([{ pib: 6605 }]);
  });

  it('fails DATA_NOT_FOUND when the lake has no files for the table', async () => {
    const { lake, warehouse } = await setup();
    const error = await rejection(warehouse.createStagingTable(testRun().run, lake, 'br_ibge_pib', 'nada', {}));
    expect(error.code).toBe('DATA_NOT_FOUND');
    expect(error.message).toContain('staging/br_ibge_pib/nada');
  });

  it('refuses a gs:// lake: DuckDB reads a file:// lake', async () => {
    const { lake, warehouse } = await setup();
    const gsLake: Lake = { ...lake, root: 'gs://bucket/lake' };
    const error = await rejection(warehouse.createStagingTable(testRun().run, gsLake, 'br_ibge_pib', 'municipio', {}));
    expect(error).toMatchObject({ code: 'DATA_INVALID_ARGUMENT' });
    expect(error.message).toContain('file://');
  });
});

describe('materialize', () => {
  it("'replace' builds the table from SQL, partitioned and clustered, and counts its rows", async () => {
    const { warehouse } = await withPibStaging();
    const { run, recorded } = testRun();

    const result = await warehouse.materialize(run, 'br_ibge_pib', 'municipio', { sql: PIB_SQL, partitionBy: MONTHLY, clusterBy: ['sigla_uf'] });

    expect(result).toEqual({ table: 'br_ibge_pib.municipio', rows: 5, rowsWritten: 5, partitions: ['2010-01-01', '2011-01-01'], bytes: null });
    expect(recorded).toEqual([
      {
        kind: 'table',
        dataset: 'br_ibge_pib',
        table: 'municipio',
        partitions: ['2010-01-01', '2011-01-01'],
        rows: 5,
        bytes: null,
        uri: `${warehouse.uri}#br_ibge_pib.municipio`,
        mode: 'replace',
      },
    ]);
    const [described] = await warehouse.query(run, `SELECT comment FROM duckdb_tables() WHERE schema_name = 'br_ibge_pib' AND table_name = 'municipio'`);
    expect(JSON.parse(String(described!.comment))).toEqual({ fluxo: { partitionBy: MONTHLY, clusterBy: ['sigla_uf'] } });
    expect(await warehouse.query(run, 'SELECT * FROM br_ibge_pib.municipio WHERE id_municipio = $id AND ano = $ano', { id: '3304557', ano: 2011 })).toEqual([
      { ano: 2011, id_municipio: '3304557', pib: 1100, data_particao: '2011-01-01', sigla_uf: 'RJ' },
    ]);

    const again = await warehouse.materialize(testRun('run-2').run, 'br_ibge_pib', 'municipio', { sql: PIB_SQL, partitionBy: MONTHLY, clusterBy: ['sigla_uf'] });
    expect(again).toMatchObject({ rows: 5, rowsWritten: 5 });
  });

  it('refuses a partition column that is not a DATE, before writing anything', async () => {
    const { warehouse } = await withPibStaging();
    const sql = 'SELECT ano, data_particao FROM br_ibge_pib_staging.municipio';

    const error = await rejection(warehouse.materialize(testRun().run, 'br_ibge_pib', 'municipio', { sql, partitionBy: MONTHLY }));

    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain('partitionBy column data_particao is VARCHAR, not DATE');
    expect(await warehouse.query(testRun().run, `SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'br_ibge_pib'`)).toEqual([{ n: 0 }]);
  });

  it("'replace-partitions' replaces only the partitions the new rows touch, and a re-run never duplicates them", async () => {
    const { warehouse } = await withPibStaging();
    await warehouse.materialize(testRun().run, 'br_ibge_pib', 'municipio', { sql: PIB_SQL, partitionBy: MONTHLY, clusterBy: ['sigla_uf'] });
    // 2011 again, revised: two municipalities instead of three, doubled values.
    const revised = `SELECT ano, id_municipio, pib * 2 AS pib, data_particao, sigla_uf FROM (${PIB_SQL}) WHERE ano = 2011 AND sigla_uf <> 'MG'`;
    const options: MaterializeOptions = { sql: revised, mode: 'replace-partitions', partitionBy: MONTHLY, clusterBy: ['sigla_uf'] };

    for (const outputKey of ['run-2', 'run-3']) {
      const { run, recorded } = testRun(outputKey);
      const result = await warehouse.materialize(run, 'br_ibge_pib', 'municipio', options);
      expect(result).toEqual({ table: 'br_ibge_pib.municipio', rows: 4, rowsWritten: 2, partitions: ['2011-01-01'], bytes: null });
      expect(recorded).toMatchObject([{ kind: 'table', partitions: ['2011-01-01'], rows: 2, mode: 'replace-partitions' }]);
    }
    expect(await warehouse.query(testRun().run, 'SELECT ano, id_municipio, pib FROM br_ibge_pib.municipio ORDER BY ano, id_municipio')).toEqual([
      { ano: 2010, id_municipio: '3304557', pib: 1000 },
      { ano: 2010, id_municipio: '3550308', pib: 2000 },
      { ano: 2011, id_municipio: '3304557', pib: 2200 },
      { ano: 2011, id_municipio: '3550308', pib: 4400 },
    ]);
  });

  it("'replace-partitions' creates a missing table, and needs partitionBy", async () => {
    const { warehouse } = await withPibStaging();
    const created = await warehouse.materialize(testRun().run, 'br_ibge_pib', 'fresh', { sql: PIB_SQL, mode: 'replace-partitions', partitionBy: MONTHLY });
    expect(created).toMatchObject({ rows: 5, rowsWritten: 5, partitions: ['2010-01-01', '2011-01-01'] });

    const error = await rejection(warehouse.materialize(testRun().run, 'br_ibge_pib', 'fresh', { sql: PIB_SQL, mode: 'replace-partitions' }));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain('partitionBy');
  });

  it("'append' writes once per output key and write key: a retry or a rerun adds nothing", async () => {
    const { warehouse } = await withPibStaging();
    const sql = `SELECT * FROM (${PIB_SQL}) WHERE ano = 2010`;
    const first = testRun('run-1', 1);

    const written = await warehouse.materialize(first.run, 'br_ibge_pib', 'log', { sql, mode: 'append', partitionBy: MONTHLY, writeKey: 'daily' });
    expect(written).toEqual({ table: 'br_ibge_pib.log', rows: 2, rowsWritten: 2, partitions: ['2010-01-01'], bytes: null });
    expect(first.recorded).toMatchObject([{ kind: 'table', rows: 2, mode: 'append', partitions: ['2010-01-01'] }]);

    // The same write again: a retry (attempt 2) of the run, with the same output key.
    const retry = testRun('run-1', 2);
    const repeated = await warehouse.materialize(retry.run, 'br_ibge_pib', 'log', { sql, mode: 'append', partitionBy: MONTHLY, writeKey: 'daily' });
    expect(repeated).toEqual({ table: 'br_ibge_pib.log', rows: 2, rowsWritten: 0, partitions: [], bytes: null });
    expect(retry.recorded).toEqual([]);

    // Another run appends its own rows.
    const other = await warehouse.materialize(testRun('run-2').run, 'br_ibge_pib', 'log', { sql, mode: 'append', partitionBy: MONTHLY, writeKey: 'daily' });
    expect(other).toMatchObject({ rows: 4, rowsWritten: 2 });
    expect(await warehouse.query(first.run, 'SELECT output_key, write_key, rows FROM br_ibge_pib._fluxo_appends ORDER BY output_key')).toEqual([
      { output_key: 'run-1', write_key: 'daily', rows: 2 },
      { output_key: 'run-2', write_key: 'daily', rows: 2 },
    ]);
  });

  it("'append' without a writeKey names a run's writes in order, so two appends in one run both land and its retry repeats neither", async () => {
    const { warehouse } = await withPibStaging();
    const sql = `SELECT * FROM (${PIB_SQL}) WHERE ano = 2011`;
    for (const attempt of [1, 2]) {
      const { run } = testRun('run-1', attempt);
      const a = await warehouse.materialize(run, 'br_ibge_pib', 'log', { sql, mode: 'append' });
      const b = await warehouse.materialize(run, 'br_ibge_pib', 'log', { sql, mode: 'append' });
      expect([a.rowsWritten, b.rowsWritten]).toEqual(attempt === 1 ? [3, 3] : [0, 0]);
      expect(b.rows).toBe(6);
    }
  });

  it('refuses to append with another partitioning than the table has', async () => {
    const { warehouse } = await withPibStaging();
    await warehouse.materialize(testRun().run, 'br_ibge_pib', 'municipio', { sql: PIB_SQL, partitionBy: MONTHLY });
    const error = await rejection(
      warehouse.materialize(testRun('run-2').run, 'br_ibge_pib', 'municipio', { sql: PIB_SQL, mode: 'append', partitionBy: { column: 'data_particao', granularity: 'day' } }),
    );
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain('partitioned by data_particao (month)');
  });
});

describe('query', () => {
  it('returns JSON scalars: ISO dates, safe integers as numbers, larger ones as strings, geometry as WKT', async () => {
    const { warehouse } = await setup();
    const rows = await warehouse.query(
      testRun().run,
      `SELECT DATE '2010-01-01' AS d, TIMESTAMP '2010-01-01 10:30:00' AS ts, 42::BIGINT AS small, 9007199254740993::BIGINT AS big,
              1.25::DECIMAL(10, 2) AS dec, 0.5::DOUBLE AS dbl, true AS flag, NULL AS nothing, 'x' AS text,
              ST_GEOGPOINT(-43.1964, -22.9083) AS ponto, [1, 2] AS list`,
    );
    expect(rows).toEqual([
      {
        d: '2010-01-01',
        ts: '2010-01-01T10:30:00',
        small: 42,
        big: '9007199254740993',
        dec: 1.25,
        dbl: 0.5,
        flag: true,
        nothing: null,
        text: 'x',
        ponto: 'POINT (-43.1964 -22.9083)',
        list: '[1,2]',
      },
    ]);
  });

  it('runs the duckdb text of a two-dialect Sql', async () => {
    const { warehouse } = await setup();
    expect(await warehouse.query(testRun().run, { bigquery: 'SELECT 1 AS one FROM UNNEST([1])', duckdb: 'SELECT 1 AS one' })).toEqual([{ one: 1 }]);
  });

  it("reports DuckDB's own error as DATA_BACKEND_ERROR", async () => {
    const { warehouse } = await setup();
    const error = await rejection(warehouse.query(testRun().run, 'SELECT * FROM nowhere.nothing'));
    expect(error.code).toBe('DATA_BACKEND_ERROR');
    expect(error.message).toMatch(/Catalog Error: Table with name "nowhere.nothing" does not exist/);
  });
});

describe('spatial SQL', () => {
  it('measures Rio to São Paulo (~360 km) with the loaded extension and with the BigQuery macros', async () => {
    const { warehouse } = await setup();
    const [row] = await warehouse.query(
      testRun().run,
      // DuckDB's ST_Distance_Sphere takes [latitude, longitude] points; ST_GEOGPOINT takes BigQuery's (longitude, latitude).
      `SELECT ST_Distance_Sphere(ST_Point(-22.9083, -43.1964), ST_Point(-23.5505, -46.6333)) / 1000 AS sphere_km,
              ST_DISTANCE(ST_GEOGPOINT(-43.1964, -22.9083), ST_GEOGPOINT(-46.6333, -23.5505)) / 1000 AS bigquery_km,
              ST_DWITHIN(ST_GEOGPOINT(-43.1964, -22.9083), ST_GEOGPOINT(-46.6333, -23.5505), 400000) AS within_400_km,
              ST_ASTEXT(ST_GEOGFROMTEXT('POINT(-43.1964 -22.9083)')) AS wkt,
              (SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'spatial' AND loaded) AS spatial_loaded`,
    );
    expect(row!.sphere_km).toBeCloseTo(358.4, 0);
    expect(row!.bigquery_km).toBeCloseTo(row!.sphere_km as number, 6);
    expect(row).toMatchObject({ within_400_km: true, wkt: 'POINT (-43.1964 -22.9083)', spatial_loaded: 1 });
  });

  it('takes the extension from the setting, else FLUXO_DUCKDB_SPATIAL, else the cache the ensure script fills', async () => {
    const dir = await tempDir('fluxo-spatial-');
    const [fromSetting, fromEnv] = [join(dir, 'a.duckdb_extension'), join(dir, 'b.duckdb_extension')];
    await Promise.all([writeFile(fromSetting, ''), writeFile(fromEnv, '')]);
    const cached = cachedSpatialExtensionPath({ FLUXO_CACHE_DIR: dir });
    await mkdir(dirname(cached), { recursive: true });
    await writeFile(cached, '');

    expect(spatialExtensionPath({ duckdbSpatialExtension: fromSetting }, { FLUXO_DUCKDB_SPATIAL: fromEnv, FLUXO_CACHE_DIR: dir })).toBe(fromSetting);
    expect(spatialExtensionPath({}, { FLUXO_DUCKDB_SPATIAL: fromEnv, FLUXO_CACHE_DIR: dir })).toBe(fromEnv);
    expect(spatialExtensionPath({}, { FLUXO_CACHE_DIR: dir })).toBe(join(dir, 'duckdb', 'v1.5.5', 'spatial.duckdb_extension'));
  });

  it('the ensure script prints the cached path the warehouse loads by default', async () => {
    const env = { ...process.env };
    delete env.FLUXO_DUCKDB_SPATIAL;
    const { stdout } = await run(process.execPath, [join(repoRoot, 'scripts', 'ensure-duckdb-spatial.mjs')], { env });
    expect(stdout.trim()).toBe(cachedSpatialExtensionPath(env));
    expect(spatialExtensionPath({}, env)).toBe(stdout.trim());
  });

  it('fails DATA_NOT_CONFIGURED, saying what to run, when the extension file is missing', async () => {
    const dir = await tempDir('fluxo-duckdb-');
    const warehouse = new DuckDbWarehouse(`duckdb://${join(dir, 'dw.duckdb')}`, { duckdbSpatialExtension: join(dir, 'missing.duckdb_extension') });
    onCleanup(() => warehouse.close());
    const error = await rejection(warehouse.query(testRun().run, 'SELECT 1'));
    expect(error.code).toBe('DATA_NOT_CONFIGURED');
    expect(error.message).toContain('node scripts/ensure-duckdb-spatial.mjs');
  });
});

describe('publish', () => {
  it('exports the dataset as read-only Parquet files with a README that a fresh DuckDB reads, and replaces the export when re-published', async () => {
    const { dir, warehouse } = await withPibStaging();
    const spatialSql = `SELECT *, ST_GEOGPOINT(-43.1964, -22.9083) AS ponto FROM (${PIB_SQL})`;
    await warehouse.materialize(testRun().run, 'br_ibge_pib', 'municipio', { sql: spatialSql, partitionBy: MONTHLY, clusterBy: ['sigla_uf'] });
    await warehouse.materialize(testRun().run, 'br_ibge_pib', 'log', { sql: PIB_SQL, mode: 'append', writeKey: 'w' });
    const { run, recorded } = testRun('run-9');

    const result = await warehouse.publish(run, 'br_ibge_pib');

    const exportDir = join(dir, 'warehouse', 'public', 'br_ibge_pib');
    expect(result).toEqual({ dataset: 'br_ibge_pib', uri: pathToFileURL(exportDir).href, tables: ['log', 'municipio'] });
    expect((await readdir(exportDir)).sort()).toEqual(['README.md', 'log.parquet', 'municipio.parquet']);
    expect((await stat(exportDir)).mode & 0o777).toBe(0o555);
    for (const file of ['README.md', 'log.parquet', 'municipio.parquet']) expect((await stat(join(exportDir, file))).mode & 0o777).toBe(0o444);
    const readme = await readFile(join(exportDir, 'README.md'), 'utf8');
    expect(readme).toContain('## municipio');
    expect(readme).toContain('5 rows');
    expect(readme).toContain('| pib | BIGINT |');
    expect(readme).toContain('| data_particao | DATE |');
    expect(readme).toContain('Partitioned by data_particao (month). Clustered by sigla_uf.');
    expect(readme).toContain('flow run run-9');
    expect(readme).not.toContain('_fluxo_appends');
    expect(recorded).toMatchObject([{ kind: 'publish', dataset: 'br_ibge_pib', table: '', rows: 10, uri: result.uri }]);

    const read = await scratch((sql) =>
      sql(`SELECT count(*) AS n, sum(pib) AS pib, min(data_particao) AS first, any_value(ponto IS NOT NULL) AS has_point FROM read_parquet('${join(exportDir, 'municipio.parquet')}')`),
    );
    expect(read).toEqual([{ n: '5', pib: '6600', first: '2010-01-01', has_point: true }]);

    await warehouse.materialize(testRun().run, 'br_ibge_pib', 'municipio', { sql: `${spatialSql} WHERE ano = 2010`, partitionBy: MONTHLY, clusterBy: ['sigla_uf'] });
    await warehouse.publish(testRun('run-10').run, 'br_ibge_pib');
    expect(await readFile(join(exportDir, 'README.md'), 'utf8')).toContain('flow run run-10');
    const reread = await scratch((sql) => sql(`SELECT count(*) AS n FROM read_parquet('${join(exportDir, 'municipio.parquet')}')`));
    expect(reread).toEqual([{ n: '2' }]);
    // No temporary or old export folders are left next to it.
    expect(await readdir(join(dir, 'warehouse', 'public'))).toEqual(['br_ibge_pib']);
  });

  it('fails DATA_NOT_FOUND for a dataset that does not exist', async () => {
    const { warehouse } = await setup();
    const error = await rejection(warehouse.publish(testRun().run, 'nada'));
    expect(error.code).toBe('DATA_NOT_FOUND');
  });
});

describe('the file and its single writer', () => {
  // Another process that opens the warehouse file and inserts a row (as dbt does).
  const writeFromAnotherProcess = (file: string) =>
    run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         const instance = await DuckDBInstance.create(${JSON.stringify(file)});
         const connection = await instance.connect();
         await connection.run("CREATE TABLE IF NOT EXISTS br_ibge_pib.from_dbt AS SELECT 1 AS x");
         connection.closeSync(); instance.closeSync();`,
      ],
      { cwd: repoRoot },
    );

  it('withFileReleased lets another process write the file meanwhile, then reopens it', async () => {
    const { warehouse } = await withPibStaging();
    // While the warehouse holds the file, the other process cannot open it.
    await expect(writeFromAnotherProcess(warehouse.file)).rejects.toThrow(/lock/i);

    const result = await warehouse.withFileReleased(async () => {
      await writeFromAnotherProcess(warehouse.file);
      return 'done';
    });

    expect(result).toBe('done');
    expect(await warehouse.query(testRun().run, 'SELECT x FROM br_ibge_pib.from_dbt')).toEqual([{ x: 1 }]);
  });

  it('serializes concurrent operations on the file', async () => {
    const { warehouse } = await withPibStaging();
    const writes = ['run-1', 'run-2', 'run-3', 'run-4'].map((outputKey) =>
      warehouse.materialize(testRun(outputKey).run, 'br_ibge_pib', 'log', { sql: PIB_SQL, mode: 'append', writeKey: 'w' }),
    );
    const results = await Promise.all(writes);
    expect(results.map((result) => result.rowsWritten)).toEqual([5, 5, 5, 5]);
    expect(results.map((result) => result.rows).sort((a, b) => a - b)).toEqual([5, 10, 15, 20]);
  });

  it('stops a cancelled run with DATA_CANCELLED', async () => {
    const { warehouse } = await setup();
    const { run, abort } = testRun();
    abort.abort();
    const error = await rejection(warehouse.query(run, 'SELECT 1'));
    expect(error.code).toBe('DATA_CANCELLED');
  });

  it('interrupts a running query when its run is cancelled, and keeps serving the others', async () => {
    const { warehouse } = await setup();
    await warehouse.query(testRun().run, 'SELECT 1'); // open the file first: the abort below must meet a running query
    const { run, abort } = testRun();
    // Minutes of work on two cores unless interrupted.
    const running = warehouse.query(run, 'SELECT sum(hash(range)) AS s FROM range(100000000000)');
    setTimeout(() => abort.abort(), 300);

    const error = await rejection(running);

    expect(error.code).toBe('DATA_CANCELLED');
    expect(await warehouse.query(testRun('run-2').run, 'SELECT 2 AS two')).toEqual([{ two: 2 }]);
  });

  it('rolls back a cancelled append whole: no rows, no ledger entry, and the next write works', async () => {
    const { warehouse } = await setup();
    await warehouse.query(testRun().run, 'SELECT 1');
    const { run, abort } = testRun();
    const running = warehouse.materialize(run, 'ds', 'big', { sql: 'SELECT sum(hash(range)) AS s FROM range(100000000000)', mode: 'append', writeKey: 'w' });
    setTimeout(() => abort.abort(), 300);

    expect((await rejection(running)).code).toBe('DATA_CANCELLED');

    const { run: again } = testRun('run-1', 2);
    expect(await warehouse.query(again, `SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'ds'`)).toEqual([{ n: 0 }]);
    const written = await warehouse.materialize(again, 'ds', 'big', { sql: 'SELECT 1 AS s', mode: 'append', writeKey: 'w' });
    expect(written).toMatchObject({ rows: 1, rowsWritten: 1 });
  });
});

describe('names', () => {
  it.each([
    ['dataset_id', (w: DuckDbWarehouse) => w.materialize(testRun().run, 'bad-name', 't', { sql: 'SELECT 1' })],
    ['table_id', (w: DuckDbWarehouse) => w.materialize(testRun().run, 'ds', 'x"; DROP TABLE y; --', { sql: 'SELECT 1' })],
    ['partitionBy.column', (w: DuckDbWarehouse) => w.materialize(testRun().run, 'ds', 't', { sql: 'SELECT 1', partitionBy: { column: '1x', granularity: 'month' } })],
    ['clusterBy column', (w: DuckDbWarehouse) => w.materialize(testRun().run, 'ds', 't', { sql: 'SELECT 1', clusterBy: ['a b'] })],
    ['dataset_id', (w: DuckDbWarehouse) => w.publish(testRun().run, '../etc')],
  ])('refuses a bad %s with DATA_INVALID_ARGUMENT', async (what, call) => {
    const { warehouse } = await setup();
    const error = await rejection(call(warehouse));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toContain(what);
  });
});

