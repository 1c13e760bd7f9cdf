// dbtBuild (data/dbt.ts) with the real dbt (dbt-core 1.10 + dbt-duckdb, scripts/ensure-dbt.sh) over
// the example project examples/dbt/br_ibge_pib, against temp DuckDB files holding a small
// br_ibge_pib.municipio with real GEOMETRY points (DuckDB's spatial extension, loaded from a file).
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { dbtBuild, dbtBuildArgs, parseRunResults, throwUnlessSuccess, type DbtBuildIo, type DbtBuildReport } from '../../data/dbt.js';
import type { DbtBuildOptions, DbtSettings } from '../../data/contract.js';
import { dbtExecutable, spatialExtensionFile } from '../support/dbt.js';
import { repoRoot, tempDir } from '../support/harness.js';

const EXAMPLE = join(repoRoot, 'examples', 'dbt', 'br_ibge_pib');
const MODEL = 'model.br_ibge_pib.pib_perto_do_rio';

// Seats (latitude, longitude) and PIB in 2010 and 2011. Distances to Rio's point: Niterói ~10 km,
// Petrópolis ~45 km, Campos dos Goytacazes ~231 km, São Paulo ~360 km.
const MUNICIPIOS = [
  { id: '3304557', nome: 'Rio de Janeiro', uf: 'RJ', lat: -22.9083, lon: -43.1964, pib: [1000, 1100] },
  { id: '3303302', nome: 'Niterói', uf: 'RJ', lat: -22.8832, lon: -43.1036, pib: [100, 110] },
  { id: '3303906', nome: 'Petrópolis', uf: 'RJ', lat: -22.505, lon: -43.1786, pib: [50, 55] },
  { id: '3301009', nome: 'Campos dos Goytacazes', uf: 'RJ', lat: -21.7545, lon: -41.3244, pib: [7, 8] },
  { id: '3550308', nome: 'São Paulo', uf: 'SP', lat: -23.5329, lon: -46.6395, pib: [5000, 5500] },
];

let executable: string;
let spatial: string;

beforeAll(async () => {
  [executable, spatial] = await Promise.all([dbtExecutable(), spatialExtensionFile()]);
}, 300_000);

/** A DuckDB file holding br_ibge_pib.municipio as the glue's flow builds it (a few rows). */
async function warehouseFile(dir: string, name = 'warehouse'): Promise<string> {
  const path = join(dir, `${name}.duckdb`);
  const instance = await DuckDBInstance.create(path, { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run(`LOAD '${spatial}'`);
    await connection.run('CREATE SCHEMA br_ibge_pib');
    await connection.run(`CREATE TABLE br_ibge_pib.municipio (
      ano BIGINT, id_municipio VARCHAR, nome VARCHAR, sigla_uf VARCHAR, pib BIGINT, impostos_liquidos BIGINT,
      va BIGINT, va_agropecuaria BIGINT, va_industria BIGINT, va_servicos BIGINT, va_adespss BIGINT,
      latitude DOUBLE, longitude DOUBLE, distancia_capital_km DOUBLE, ponto GEOMETRY, data_particao DATE)`);
    for (const [index, ano] of [2010, 2011].entries()) {
      for (const m of MUNICIPIOS) {
        await connection.run(
          `INSERT INTO br_ibge_pib.municipio (ano, id_municipio, nome, sigla_uf, pib, latitude, longitude, ponto, data_particao)
           VALUES ($ano, $id, $nome, $uf, $pib, $lat, $lon, ST_Point($lon, $lat), make_date($ano, 1, 1))`,
          { ano, id: m.id, nome: m.nome, uf: m.uf, pib: m.pib[index]!, lat: m.lat, lon: m.lon },
        );
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return path;
}

/** The model's rows, read back from the file dbt wrote. */
async function modelRows(path: string): Promise<{ ano: number; pib: number; quantidade_municipios: number }[]> {
  const instance = await DuckDBInstance.create(path, { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll('SELECT ano, pib, quantidade_municipios FROM br_ibge_pib.pib_perto_do_rio ORDER BY ano');
    return reader.getRowObjectsJson().map((row) => ({ ano: Number(row.ano), pib: Number(row.pib), quantidade_municipios: Number(row.quantidade_municipios) }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** An io that keeps dbt's lines and points the profile at `file`. */
function io(file: string, signal: AbortSignal = new AbortController().signal, react?: (line: string) => void): DbtBuildIo & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    signal,
    env: { FLUXO_DUCKDB_PATH: file, FLUXO_DUCKDB_SPATIAL: spatial },
    onLine(_stream, line) {
      lines.push(line);
      react?.(line);
    },
  };
}

function settings(project = EXAMPLE, extra: Partial<DbtSettings> = {}): DbtSettings {
  return { project, executable, ...extra };
}

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<{ name: string; code: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error as { name: string; code: string; message: string };
  }
  throw new Error('expected a failure, it succeeded');
}

/** The example project plus a model that fails (an unknown column) and one that depends on it. */
async function projectWithBrokenModel(dir: string): Promise<string> {
  const project = join(dir, 'project');
  await cp(EXAMPLE, project, { recursive: true });
  await writeFile(join(project, 'models', 'pib_quebrado.sql'), "select nada from {{ source('br_ibge_pib', 'municipio') }}\n");
  await writeFile(join(project, 'models', 'depende_do_quebrado.sql'), "select * from {{ ref('pib_quebrado') }}\n");
  return project;
}

describe('a successful build', () => {
  it('builds the example model with spatial SQL and reports each node with its timing', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    const result = await dbtBuild(settings(), {}, io(file));

    expect(result).toMatchObject({ outcome: 'success', exitCode: 0, failed: [] });
    expect(result.nodes.map((node) => [node.uniqueId.replace(/\.[0-9a-f]{10}$/, ''), node.status])).toEqual([
      ['operation.br_ibge_pib.br_ibge_pib-on-run-start-0', 'success'],
      [MODEL, 'success'],
      ['test.br_ibge_pib.not_null_pib_perto_do_rio_ano', 'pass'],
      ['test.br_ibge_pib.unique_pib_perto_do_rio_ano', 'pass'],
    ]);
    const model = result.nodes.find((node) => node.uniqueId === MODEL)!;
    // dbt-duckdb reports no row counts (rows stays null); dbt-bigquery does (see parseRunResults below).
    expect(model).toMatchObject({ rows: null, message: 'OK' });
    expect(model.executionTime).toBeGreaterThan(0);
    expect(Date.parse(model.startedAt!)).toBeLessThanOrEqual(Date.parse(model.completedAt!));
    expect(model.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(() => throwUnlessSuccess(result)).not.toThrow();

    // Within 100 km: Rio, Niterói, Petrópolis; not Campos (231 km) nor São Paulo.
    expect(await modelRows(file)).toEqual([
      { ano: 2010, pib: 1150, quantidade_municipios: 3 },
      { ano: 2011, pib: 1265, quantidade_municipios: 3 },
    ]);
  }, 120_000);

  it('passes vars, select and exclude to dbt', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    // The broken model is left out by the selection (the build succeeds), one test by the exclusion.
    const options = { select: 'pib_perto_do_rio', exclude: 'unique_pib_perto_do_rio_ano', vars: { raio_km: 20 } };
    const result = await dbtBuild(settings(await projectWithBrokenModel(dir)), options, io(file));
    expect(result.outcome).toBe('success');
    expect(result.nodes.map((node) => node.uniqueId.replace(/\.[0-9a-f]{10}$/, ''))).toEqual([
      'operation.br_ibge_pib.br_ibge_pib-on-run-start-0',
      MODEL,
      'test.br_ibge_pib.not_null_pib_perto_do_rio_ano',
    ]);
    // Within 20 km: Rio and Niterói.
    expect(await modelRows(file)).toEqual([
      { ano: 2010, pib: 1100, quantidade_municipios: 2 },
      { ano: 2011, pib: 1210, quantidade_municipios: 2 },
    ]);
  }, 120_000);

  it('counts a selection that matches nothing as a success with no nodes', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    const run = io(file);
    const result = await dbtBuild(settings(), { select: 'no_such_model' }, run);
    expect(result).toMatchObject({ outcome: 'success', exitCode: 0, nodes: [], failed: [] });
    expect(run.lines.some((line) => line.includes('Nothing to do'))).toBe(true);
  }, 120_000);

  it('runs two builds of the same project at once without their target folders clashing', async () => {
    const dir = await tempDir();
    const [near, far] = await Promise.all([warehouseFile(dir, 'near'), warehouseFile(dir, 'far')]);
    const [nearResult, farResult] = await Promise.all([
      dbtBuild(settings(), { vars: { raio_km: 20 } }, io(near)),
      dbtBuild(settings(), { vars: { raio_km: 400 } }, io(far)),
    ]);
    expect(nearResult.outcome).toBe('success');
    expect(farResult.outcome).toBe('success');
    expect(nearResult.nodes).toHaveLength(4);
    expect(farResult.nodes).toHaveLength(4);
    expect((await modelRows(near)).map((row) => row.quantidade_municipios)).toEqual([2, 2]);
    // Within 400 km: all five.
    expect((await modelRows(far)).map((row) => row.quantidade_municipios)).toEqual([5, 5]);
    // Nothing was written into the project folder (target/ and logs/ are per build, in a temp dir).
    expect((await readdir(EXAMPLE)).sort()).toEqual(['README.md', 'dbt_project.yml', 'models', 'profiles.yml']);
  }, 180_000);
});

describe('a failing build', () => {
  it('returns outcome failed naming the failed model; throwUnlessSuccess throws DBT_MODELS_FAILED with its error', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    const run = io(file);
    const result = await dbtBuild(settings(await projectWithBrokenModel(dir)), {}, run);

    expect(result).toMatchObject({ outcome: 'failed', exitCode: 1, failed: ['model.br_ibge_pib.pib_quebrado'] });
    const status = Object.fromEntries(result.nodes.map((node) => [node.uniqueId.replace(/\.[0-9a-f]{10}$/, ''), node.status]));
    expect(status).toMatchObject({ [MODEL]: 'success', 'model.br_ibge_pib.pib_quebrado': 'error', 'model.br_ibge_pib.depende_do_quebrado': 'skipped' });
    expect(result.nodes.find((node) => node.uniqueId === 'model.br_ibge_pib.pib_quebrado')?.message).toContain('Referenced column "nada" not found');

    const error = await rejection(() => throwUnlessSuccess(result));
    expect(error.code).toBe('DBT_MODELS_FAILED');
    expect(error.message).toMatch(/^dbt build failed: 1 of 6 nodes failed: model\.br_ibge_pib\.pib_quebrado \(Runtime Error in model pib_quebrado .* Binder Error: Referenced column "nada" not found in FROM clause!\); 1 skipped$/);

    // The per-build target folder dbt named in its output is gone.
    const compiledAt = run.lines.map((line) => /compiled code at (\S+)\/target\//.exec(line)?.[1]).find(Boolean);
    expect(compiledAt).toMatch(/fluxo-dbt-/);
    expect(existsSync(compiledAt!)).toBe(false);
  }, 120_000);

  it('returns outcome crashed for a broken profile; throwUnlessSuccess throws DBT_CRASHED with dbt\'s error', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    const profiles = join(dir, 'profiles');
    await mkdir(profiles);
    await writeFile(join(profiles, 'profiles.yml'), 'br_ibge_pib:\n  target: dev\n  outputs:\n    dev:\n      type: nosuchadapter\n');
    const result = await dbtBuild(settings(EXAMPLE, { profilesDir: profiles }), {}, io(file));

    expect(result).toMatchObject({ outcome: 'crashed', exitCode: 2, nodes: [], failed: [] });
    const error = await rejection(() => throwUnlessSuccess(result));
    expect(error.code).toBe('DBT_CRASHED');
    expect(error.message).toMatch(/^dbt build crashed \(exit code 2\): Runtime Error Credentials in profile "br_ibge_pib", target "dev" invalid: .*Could not find adapter type nosuchadapter!$/);
  }, 120_000);

  it('fails DBT_CRASHED when the dbt executable does not exist', async () => {
    const error = await rejection(dbtBuild(settings(EXAMPLE, { executable: '/nonexistent/dbt' }), {}, io('/nonexistent.duckdb')));
    expect(error).toMatchObject({ code: 'DBT_CRASHED', message: 'dbt build did not finish: could not start /nonexistent/dbt: command not found (is it installed?)' });
  });

  it('kills dbt and fails DATA_CANCELLED when the signal aborts', async () => {
    const dir = await tempDir();
    const file = await warehouseFile(dir);
    const controller = new AbortController();
    const run = io(file, controller.signal, (line) => {
      if (line.includes('Running with dbt')) controller.abort();
    });
    const error = await rejection(dbtBuild(settings(), {}, run));
    expect(error.code).toBe('DATA_CANCELLED');
    // dbt stopped before building anything.
    expect(run.lines.some((line) => line.includes('START sql table model'))).toBe(false);
  }, 120_000);
});

describe('arguments', () => {
  it('builds dbt\'s command line with per-build paths, the target and full refresh', () => {
    const paths = { targetPath: '/tmp/b/target', logPath: '/tmp/b/logs' };
    expect(dbtBuildArgs({ project: '/p', target: 'dev' }, { fullRefresh: true, vars: { a: [1, 'x'] } }, paths)).toEqual([
      'build', '--project-dir', '/p', '--profiles-dir', '/p', '--target-path', '/tmp/b/target', '--log-path', '/tmp/b/logs',
      '--no-use-colors', '--no-partial-parse', '--target', 'dev', '--vars', '{"a":[1,"x"]}', '--full-refresh',
    ]);
    // The flow's target wins over the settings' default; profilesDir is used when set.
    expect(dbtBuildArgs({ project: '/p', profilesDir: '/profiles', target: 'dev' }, { target: 'prod', select: 'a+ b' }, paths)).toEqual([
      'build', '--project-dir', '/p', '--profiles-dir', '/profiles', '--target-path', '/tmp/b/target', '--log-path', '/tmp/b/logs',
      '--no-use-colors', '--no-partial-parse', '--target', 'prod', '--select', 'a+ b',
    ]);
  });

  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  it.each<[string, DbtBuildOptions, RegExp]>([
    ['a select with a line break', { select: 'a\nb' }, /select must be one line/],
    ['an empty exclude', { exclude: ' ' }, /exclude must be a non-empty string/],
    ['a select that reads as a flag', { select: '--full-refresh' }, /select must not start with "-"/],
    ['a target that is not a string', { target: 3 as unknown as string }, /target must be a non-empty string/],
    ['vars that are an array', { vars: [1] as unknown as Record<string, unknown> }, /vars must be an object of JSON values/],
    ['vars holding a function', { vars: { f: () => 1 } }, /vars\.f is a function, which JSON cannot hold/],
    ['vars holding a bigint', { vars: { n: 1n } }, /vars\.n is a bigint/],
    ['vars holding NaN', { vars: { deep: [{ x: NaN }] } }, /vars\.deep\[0\]\.x is NaN/],
    ['vars holding a Date', { vars: { when: new Date(0) } }, /vars\.when is a Date, not a JSON value/],
    ['vars that refer to themselves', { vars: cyclic }, /vars\.self refers to itself/],
    ['a non-boolean fullRefresh', { fullRefresh: 'yes' as unknown as boolean }, /fullRefresh must be true or false/],
  ])('rejects %s with DATA_INVALID_ARGUMENT before starting dbt', async (_what, options, message) => {
    const error = await rejection(dbtBuild(settings(), options, io('/nonexistent.duckdb')));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toMatch(message);
  });

  it('fails DATA_NOT_FOUND for a folder without dbt_project.yml, DATA_NOT_CONFIGURED for a relative path', async () => {
    const dir = await tempDir();
    expect(await rejection(dbtBuild(settings(dir), {}, io('/nonexistent.duckdb')))).toMatchObject({
      code: 'DATA_NOT_FOUND',
      message: `dbt: the project ${dir} has no dbt_project.yml (is the dbt project setting, FLUXO_DBT_PROJECT, its folder?)`,
    });
    expect(await rejection(dbtBuild(settings('examples/dbt/br_ibge_pib'), {}, io('/nonexistent.duckdb')))).toMatchObject({ code: 'DATA_NOT_CONFIGURED' });
  });
});

describe('run_results.json', () => {
  it('reads rows affected, timing and messages as adapters that count rows write them', () => {
    const nodes: DbtBuildReport['nodes'] = parseRunResults({
      results: [
        {
          unique_id: 'model.p.m',
          status: 'success',
          execution_time: 2.5,
          message: 'CREATE TABLE (42.0 rows, 1.2 KiB processed)',
          adapter_response: { _message: 'CREATE TABLE (42.0 rows, 1.2 KiB processed)', code: 'CREATE TABLE', rows_affected: 42, bytes_processed: 1200 },
          timing: [
            { name: 'compile', started_at: '2026-12-04T10:00:00.000000Z', completed_at: '2026-12-04T10:00:00.100000Z' },
            { name: 'execute', started_at: '2026-12-04T10:00:00.200000Z', completed_at: '2026-12-04T10:00:02.700000Z' },
          ],
        },
        { unique_id: 'model.p.skipped', status: 'skipped', execution_time: 0, message: null, adapter_response: {}, timing: [] },
        { unique_id: 'model.p.negative', status: 'success', execution_time: 1, message: 'OK', adapter_response: { rows_affected: -1 }, timing: [] },
      ],
    });
    expect(nodes).toEqual([
      { uniqueId: 'model.p.m', status: 'success', rows: 42, executionTime: 2.5, message: 'CREATE TABLE (42.0 rows, 1.2 KiB processed)', startedAt: '2026-12-04T10:00:00.000000Z', completedAt: '2026-12-04T10:00:02.700000Z' },
      { uniqueId: 'model.p.skipped', status: 'skipped', rows: null, executionTime: 0, message: null, startedAt: null, completedAt: null },
      { uniqueId: 'model.p.negative', status: 'success', rows: null, executionTime: 1, message: 'OK', startedAt: null, completedAt: null },
    ]);
  });
});
