// fluxo/data end to end (issue 11): a real stack and an agent whose data settings name a file://
// lake, a DuckDB warehouse and a dbt project. The flow's child asks the agent over IPC; the agent
// does the work and records each write for lineage. A flow-level retry after the writes leaves
// no duplicate rows; failures reach the flow as DataError codes; `fluxo run` does the same locally;
// an agent with bad data settings refuses to start.
import { chmod, copyFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { cliPath, repoRoot, tempDir } from '../support/harness.js';
import { agentBinaryPath, startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal, type RunDetails } from './queries.js';

const FLOWS = join(repoRoot, 'test', 'fixtures', 'flows', 'data-pipeline.ts');
const DBT_PROJECT = join(repoRoot, 'test', 'fixtures', 'dbt', 'fx_data');
const SECRET = 's3gr3d0-dos-dados-4821';

const MATERIALIZATIONS = /* GraphQL */ `
  query($id: ID!) {
    flowRun(id: $id) {
      materializations { kind dataset table partitions rows uri mode taskRunKey attempt }
    }
  }
`;

interface Materialization {
  kind: string;
  dataset: string;
  table: string;
  partitions: string[];
  rows: number | null;
  uri: string;
  mode: string | null;
  taskRunKey: string | null;
  attempt: number;
}

/** dbt from the project's virtualenv (scripts/test.sh exports it; the script is a no-op once installed). */
async function dbtExecutable(): Promise<string> {
  if (process.env.FLUXO_DBT_BIN) return process.env.FLUXO_DBT_BIN;
  const { stdout } = await execa('bash', [join(repoRoot, 'scripts', 'ensure-dbt.sh')], { timeout: 600_000 });
  return stdout.trim();
}

/** The JSON a flow logged after `prefix ` (the last such line). */
function logged<T>(run: RunDetails, prefix: string): T {
  const lines = run.logs.nodes.filter((line) => line.message.startsWith(`${prefix} `));
  const last = lines.at(-1);
  if (!last) throw new Error(`no "${prefix}" line in the run's log:\n${run.logs.nodes.map((l) => l.message).join('\n')}`);
  return JSON.parse(last.message.slice(prefix.length + 1)) as T;
}

/** Data files under a lake table, relative to it. */
async function lakeFiles(lakeDir: string, datasetId: string, tableId: string): Promise<string[]> {
  const root = join(lakeDir, 'staging', datasetId, tableId);
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).sort();
}

/** Rows in a lake table's Parquet files, read by a DuckDB of the test's own (the warehouse file stays the agent's). */
async function lakeRows(lakeDir: string, datasetId: string, tableId: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(`select count(*)::integer as n from read_parquet('${join(lakeDir, 'staging', datasetId, tableId)}/**/*.parquet', hive_partitioning = true)`);
    return Number(reader.getRowObjectsJson()[0]?.n);
  } finally {
    instance.closeSync();
  }
}

interface PipelineLog {
  landed: { rows: number; partitions: string[] };
  staging: { table: string; partitionKeys: string[] };
  table: { table: string; rows: number; partitions: string[] };
  counts: { staging: number; production: number; total: number; atLeast50: number };
  command: string;
  transformed: { outcome: string; nodes: string[]; months: number; token: string } | null;
}

describe('fluxo/data under an agent', () => {
  let stack: Stack;
  let developer: GraphQLClient;
  let lakeDir: string;
  let dbtBin: string;

  beforeAll(async () => {
    dbtBin = await dbtExecutable();
    stack = await startStack();
    lakeDir = join(stack.dir, 'lake');
    const dataConfig = join(stack.dir, 'data.json');
    await writeFile(
      dataConfig,
      JSON.stringify({
        lake: pathToFileURL(lakeDir).href,
        warehouse: `duckdb://${join(stack.dir, 'warehouse.duckdb')}`,
        dbt: { project: DBT_PROJECT, executable: dbtBin },
      }),
    );
    const registered = await stack.cli(['register', FLOWS, '--project', 'production', '--storage', stack.storageUri]);
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    const secrets = join(stack.dir, 'secrets.env');
    await writeFile(secrets, `SEGREDO_DADOS=${SECRET}\n`, { mode: 0o600 });
    await stack.startAgent({ name: 'data-agent', concurrency: 1, extraArgs: ['--data-config', dataConfig, '--secrets-file', secrets] });
    developer = await stack.client('developer');
  }, 600_000);

  it('lands rows and a file with date partitions, stages, materializes, queries, runs a command and dbt; a flow-level retry duplicates nothing', async () => {
    const id = await createRun(developer, { flowName: 'data-pipeline', parameters: { failOnceMarker: join(stack.dir, 'failed-once') } });
    const run = await waitForFinal(developer, id, 240_000);
    expect(run, run.stateMessage ?? '').toMatchObject({ state: 'SUCCESS', attempt: 2 });

    const result = logged<PipelineLog>(run, 'resultado');
    expect(result.landed).toEqual({
      rows: 8,
      partitions: [
        'ano_particao=2024/mes_particao=1/data_particao=2024-01-01',
        'ano_particao=2024/mes_particao=2/data_particao=2024-02-01',
        'ano_particao=2024/mes_particao=3/data_particao=2024-03-01',
        'ano_particao=2024/mes_particao=4/data_particao=2024-04-01',
      ],
    });
    expect(result.staging).toMatchObject({ table: 'fx_data_staging.vendas', partitionKeys: ['ano_particao', 'mes_particao', 'data_particao'] });
    expect(result.table).toMatchObject({ table: 'fx_data.vendas', rows: 8 });
    // Both attempts wrote the same two lake writes: the second replaced the first's files.
    expect(result.counts).toEqual({ staging: 8, production: 8, total: 360, atLeast50: 4 });
    // The agent's token is in its environment; dbt's allow-listed one does not have it.
    expect(result.transformed).toEqual({ outcome: 'success', nodes: ['model.fx_data.ambiente', 'model.fx_data.vendas_por_mes'], months: 4, token: 'ausente' });
    expect(await lakeRows(lakeDir, 'fx_data', 'vendas')).toBe(8);
    const files = await lakeFiles(lakeDir, 'fx_data', 'vendas');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatch(new RegExp(`^ano_particao=2024/mes_particao=\\d/data_particao=2024-0\\d-01/${id}_land-1-[12]_a2_\\d+\\.parquet$`));

    // The command's lines, in the run's log under its task.
    expect(run.logs.nodes).toContainEqual(expect.objectContaining({ message: 'linha do script', stream: 'stdout', taskRunKey: 'script#1' }));
    expect(run.logs.nodes).toContainEqual(expect.objectContaining({ message: 'aviso do script', stream: 'stderr', taskRunKey: 'script#1' }));
    // dbt's output in the log; its model a task run of its own.
    expect(run.logs.nodes.some((line) => line.taskRunKey === 'transform#1' && /vendas_por_mes/.test(line.message))).toBe(true);
    expect(run.taskRuns).toContainEqual(expect.objectContaining({ key: 'model.fx_data.vendas_por_mes#1', state: 'SUCCESS' }));

    const { flowRun } = await developer.request<{ flowRun: { materializations: Materialization[] } }>(MATERIALIZATIONS, { id });
    const second = flowRun.materializations.filter((m) => m.attempt === 2);
    expect(second).toContainEqual(expect.objectContaining({ kind: 'LAKE', dataset: 'fx_data', table: 'vendas', rows: 6, mode: 'append', taskRunKey: 'land#1' }));
    expect(second).toContainEqual(expect.objectContaining({ kind: 'LAKE', dataset: 'fx_data', table: 'vendas', rows: 2, mode: 'append', taskRunKey: 'land#1' }));
    expect(second).toContainEqual(expect.objectContaining({ kind: 'TABLE', dataset: 'fx_data', table: 'vendas', rows: 8, taskRunKey: 'materialize#1' }));
    expect(flowRun.materializations.filter((m) => m.attempt === 1 && m.kind === 'LAKE')).toHaveLength(2);
  });

  it('a rerun replaces the output of the run it reruns (its output key) instead of adding rows', async () => {
    const id = await createRun(developer, { flowName: 'data-pipeline', parameters: { dbt: false, table: 'vendas_rerun' } });
    expect(await waitForFinal(developer, id, 240_000)).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    const rerun = await stack.cli(['runs', 'rerun', id, '--json']);
    expect(rerun, rerun.stderr).toMatchObject({ exitCode: 0 });
    const rerunId = (JSON.parse(rerun.stdout) as { id: string }).id;
    const run = await waitForFinal(developer, rerunId, 240_000);
    expect(run, run.stateMessage ?? '').toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(logged<PipelineLog>(run, 'resultado').counts).toEqual({ staging: 8, production: 8, total: 360, atLeast50: 4 });
    expect(await lakeRows(lakeDir, 'fx_data', 'vendas_rerun')).toBe(8);
    // The rerun's files carry the first run's id: they replaced that run's files.
    for (const file of await lakeFiles(lakeDir, 'fx_data', 'vendas_rerun')) expect(file).toMatch(new RegExp(`/${id}_land-1-[12]_a1_\\d+\\.parquet$`));
  });

  it('masks the run\'s secrets in the lines the agent logs for its data work (dbt\'s output)', async () => {
    const id = await createRun(developer, { flowName: 'data-secret', parameters: {} });
    const run = await waitForFinal(developer, id, 240_000);
    expect(run, run.stateMessage ?? '').toMatchObject({ state: 'SUCCESS' });
    expect(run.logs.nodes.some((line) => /segredo: \*\*\*/.test(line.message))).toBe(true);
    expect(run.logs.nodes.filter((line) => line.message.includes(SECRET))).toEqual([]);
  });

  it('hands failures to the flow as DataError codes, and a failing dbt model as a FAILED task run', async () => {
    const id = await createRun(developer, { flowName: 'data-errors', parameters: {} });
    const run = await waitForFinal(developer, id, 240_000);
    expect(run, run.stateMessage ?? '').toMatchObject({ state: 'SUCCESS' });
    const errors = logged<Record<string, { dataError: boolean; code: string; message: string }>>(run, 'erros');
    expect(errors.badName).toMatchObject({ dataError: true, code: 'DATA_INVALID_ARGUMENT', message: expect.stringContaining('fx-data') });
    expect(errors.missingFile).toMatchObject({ dataError: true, code: 'DATA_NOT_FOUND', message: expect.stringContaining('nao-existe.csv') });
    expect(errors.noLakeFiles).toMatchObject({ dataError: true, code: 'DATA_NOT_FOUND' });
    expect(errors.badSql).toMatchObject({ dataError: true, code: expect.stringMatching(/^(DATA_BACKEND_ERROR|DATA_NOT_FOUND)$/), message: expect.stringContaining('tabela_que_nao_existe') });
    expect(errors.commandFailed).toMatchObject({ dataError: true, code: 'COMMAND_FAILED', message: 'sh exited with code 3: antes de falhar' });
    expect(errors.dbtFailed).toMatchObject({ dataError: true, code: 'DBT_MODELS_FAILED', message: expect.stringContaining('model.fx_data.quebrado') });
    expect(run.taskRuns).toContainEqual(expect.objectContaining({ key: 'model.fx_data.quebrado#1', state: 'FAILED' }));
  });
});

describe('fluxo/data under the fluxo-agent single binary', () => {
  it('runs commands, and fails DuckDB work with DATA_NOT_CONFIGURED saying the binary carries no DuckDB', async () => {
    const built = await execa(process.execPath, [join(repoRoot, 'scripts', 'build-agent-binary.mjs')], { cwd: repoRoot, reject: false, timeout: 170_000 });
    expect(built.exitCode, `${built.stdout}\n${built.stderr}`).toBe(0);
    // A copy away from the repository, as on an agency host: next to node_modules/, its require()
    // would find the package's own DuckDB.
    const binary = join(await tempDir('fluxo-binary-'), 'fluxo-agent');
    await copyFile(agentBinaryPath, binary);
    await chmod(binary, 0o755);
    const stack = await startStack();
    const dataConfig = join(stack.dir, 'data.json');
    await writeFile(dataConfig, JSON.stringify({ lake: pathToFileURL(join(stack.dir, 'lake')).href, warehouse: `duckdb://${join(stack.dir, 'w.duckdb')}` }));
    const registered = await stack.cli(['register', FLOWS, '--project', 'production', '--storage', stack.storageUri]);
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    await stack.startAgent({ name: 'binary-data-agent', labels: ['binary'], binary, extraArgs: ['--data-config', dataConfig] });
    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'data-binary-probe', parameters: {}, labels: ['binary'] });
    const run = await waitForFinal(developer, id, 120_000);
    expect(run, run.stateMessage ?? '').toMatchObject({ state: 'SUCCESS' });
    expect(run.logs.nodes).toContainEqual(expect.objectContaining({ message: 'comando no binario', stream: 'stdout' }));
    const probe = logged<{ command: number; lake: { code: string; message: string }; warehouse: { code: string; message: string } }>(run, 'binario');
    expect(probe.command).toBe(0);
    expect(probe.lake).toMatchObject({ code: 'DATA_NOT_CONFIGURED', message: expect.stringContaining('DuckDB') });
    expect(probe.warehouse).toMatchObject({ code: 'DATA_NOT_CONFIGURED', message: expect.stringContaining('single binary carries no DuckDB') });
  }, 300_000);
});

describe('fluxo/data elsewhere', () => {
  it('runs the same flow locally with fluxo run --lake --warehouse --dbt-project, printing each write', async () => {
    const dir = await tempDir('fluxo-data-local-');
    const result = await execa(
      process.execPath,
      [cliPath, 'run', FLOWS, '--flow', 'data-pipeline', '--lake', pathToFileURL(join(dir, 'lake')).href, '--warehouse', `duckdb://${join(dir, 'w.duckdb')}`, '--dbt-project', DBT_PROJECT],
      { cwd: dir, env: { FLUXO_DBT_BIN: await dbtExecutable() }, reject: false, timeout: 240_000 },
    );
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/wrote lake fx_data\.vendas \(append\) in land#1: 6 rows, 3 partitions, file:\/\//);
    expect(result.stdout).toMatch(/wrote staging fx_data\.vendas in stage#1/);
    expect(result.stdout).toMatch(/wrote table fx_data\.vendas .*in materialize#1: 8 rows/);
    expect(result.stdout).toMatch(/script#1 linha do script/);
    expect(result.stdout).toMatch(/model\.fx_data\.vendas_por_mes#1 SUCCESS \(attempt 1\): dbt success/);
    expect(result.stdout).toMatch(/succeeded in .* s: \{ staging: 8, production: 8, total: 360, atLeast50: 4 \}/);
    expect(await lakeRows(join(dir, 'lake'), 'fx_data', 'vendas')).toBe(8);
  });

  it('refuses bad --data-config for fluxo run with the DATA_CONFIG_INVALID message', async () => {
    const result = await execa(process.execPath, [cliPath, 'run', FLOWS, '--flow', 'data-errors', '--warehouse', 'postgres://db/x'], { reject: false, timeout: 60_000 });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('DATA_CONFIG_INVALID: warehouse (FLUXO_WAREHOUSE, --warehouse) "postgres://db/x" has scheme postgres:');
  });

  it('keeps an agent with a bad --data-config from starting, saying which field and which forms', async () => {
    const dir = await tempDir('fluxo-data-bad-');
    const file = join(dir, 'data.json');
    await writeFile(file, JSON.stringify({ lake: 's3://bucket/x' }));
    const result = await execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', '--data-config', file, '--work-dir', dir], {
      env: { FLUXO_TOKEN: 'not-used-before-the-settings-are-checked' },
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('DATA_CONFIG_INVALID: lake (FLUXO_LAKE, --lake) "s3://bucket/x" has scheme s3:; use file:///absolute/dir or gs://bucket[/prefix]');
  });
});
