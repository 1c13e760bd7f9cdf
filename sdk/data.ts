// `fluxo/data`: what a flow calls to land data in the lake, expose and materialize warehouse
// tables, run dbt and run commands. It is bundled into every flow that imports it, so it stays
// small and dependency-free: each call is a request to the host (the agent over IPC, or `fluxo run`
// in-process), which owns the lake, the warehouse and their credentials. Where the data goes is the
// agency's configuration (the agent's --data-config), never the flow's: the same code lands in a
// local directory and DuckDB on a laptop and in GCS and BigQuery in production.
import { isAbsolute, resolve } from 'node:path';
import {
  DATA_ERROR_CODES,
  DataError,
  type Cell,
  type DataErrorCode,
  type DbtBuildOptions,
  type DbtBuildResult,
  type LakeWriteMode,
  type LakeWriteOptions,
  type LakeWriteResult,
  type MaterializeOptions,
  type MaterializeResult,
  type PublishResult,
  type Row,
  type RunCommandOptions,
  type RunCommandResult,
  type Sql,
  type StagingOptions,
  type StagingResult,
} from '../data/contract.js';
import { now, runContext, type RunContext } from './context.js';
import type { DataHost, DataOperation } from './runtime/protocol.js';

export { DataError, DATA_ERROR_CODES };
export type {
  Cell,
  DataErrorCode,
  DbtBuildOptions,
  DbtBuildResult,
  LakeWriteMode,
  LakeWriteOptions,
  LakeWriteResult,
  MaterializeOptions,
  MaterializeResult,
  PublishResult,
  Row,
  RunCommandOptions,
  RunCommandResult,
  Sql,
  StagingOptions,
  StagingResult,
};

/**
 * What to land: rows, or a CSV or Parquet file the flow wrote (a path, relative to the flow's
 * working directory or absolute). A file's bytes are streamed to the agent, which never opens the
 * flow's path itself.
 */
export type LakeSource = Row[] | { csv: string; delimiter?: string } | { parquet: string };

/** Options of {@link createTableAndUpload}, after basedosdados' `Table.create`. */
export interface CreateTableAndUploadOptions {
  /** How the lake write treats earlier files: 'append' adds, 'overwrite' replaces the table's files, 'overwrite-partitions' the touched partitions'. */
  dumpMode: LakeWriteMode;
  /** Columns that become Hive partitions (`k=v/` folders), in order. @default [] */
  partitionColumns?: string[];
  /** Derive ano_particao / mes_particao / data_particao from a date column (see LakeWriteOptions). */
  datePartition?: LakeWriteOptions['datePartition'];
  /** @default 'parquet' */
  format?: 'csv' | 'parquet';
  /** @default 'recreate' with dumpMode 'overwrite' (the table is replaced anyway), else 'error' */
  onSchemaDrift?: StagingOptions['onSchemaDrift'];
  /** Names the lake write among the run's writes to the table. @default the calling task's key and its count of writes to the table */
  writeKey?: string;
}

export interface CreateTableAndUploadResult {
  lake: LakeWriteResult;
  staging: StagingResult;
}

/**
 * Writes data to the lake under `staging/<datasetId>/<tableId>/<k=v>/…`, every column as text
 * (null stays null). File names are deterministic per run, write and attempt, so a retried
 * attempt replaces its own files instead of adding to them. Recorded on the run for lineage.
 *
 * @example
 * await writeToLake('br_ibge_pib', 'municipio', rows, { datePartition: { column: 'ano', granularity: 'year' } });
 * await writeToLake('br_ibge_pib', 'municipio', { csv: 'pib.csv' }, { mode: 'overwrite-partitions', partitionColumns: ['ano'] });
 */
export async function writeToLake(datasetId: string, tableId: string, source: LakeSource, options: LakeWriteOptions = {}): Promise<LakeWriteResult> {
  const checked = objectOf('writeToLake', 'options', options) as LakeWriteOptions;
  const withKey = checked.writeKey === undefined ? { ...checked, writeKey: defaultWriteKey(`lake ${datasetId}.${tableId}`) } : checked;
  return (await call('writeToLake', { datasetId, tableId, source: sourceOf('writeToLake', source), options: withKey })) as LakeWriteResult;
}

/** What each task attempt (or the flow) has written so far, per table: a context is made per attempt (sdk/task.ts). */
const writesSoFar = new WeakMap<RunContext, Map<string, number>>();

/**
 * The name of a write when the flow gives none: the calling task's key and the count of its writes
 * to the table in this attempt (`land-1-2`), so a retry of the task — in the same flow attempt, a
 * later one, or a rerun — names the write as before and replaces it instead of adding to it. Order
 * of calls inside one task counts; parallel tasks cannot collide (their keys differ).
 */
function defaultWriteKey(what: string): string | undefined {
  const context = runContext.getStore();
  if (!context) return undefined;
  let counts = writesSoFar.get(context);
  if (!counts) writesSoFar.set(context, (counts = new Map()));
  const n = (counts.get(what) ?? 0) + 1;
  counts.set(what, n);
  const task = (context.taskKey ?? 'flow').replace(/[^A-Za-z0-9-]/g, '-');
  const key = `${task}-${n}`;
  // Writekeys name files: at most 64 of [A-Za-z0-9_-] (data/lake/lake-paths.ts). Long task names
  // keep their start and a hash of the whole, so two long names still differ.
  return key.length <= 64 ? key : `${task.slice(0, 40)}-${fnv1a(task)}-${n}`;
}

/** A short stable hash (FNV-1a, 32 bits, hex): the SDK stays free of node:crypto for one name. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/**
 * Exposes the lake table as `<datasetId>_staging.<tableId>` (text columns plus the Hive partition
 * keys): a BigQuery external table, or a DuckDB view over the files. Datasets are created on first use.
 *
 * @example
 * const staging = await createStagingTable('br_ibge_pib', 'municipio', { onSchemaDrift: 'recreate' });
 * // { table: 'br_ibge_pib_staging.municipio', columns: [...], partitionKeys: ['ano_particao'], created: true }
 */
export async function createStagingTable(datasetId: string, tableId: string, options: StagingOptions = {}): Promise<StagingResult> {
  return (await call('createStagingTable', { datasetId, tableId, options: objectOf('createStagingTable', 'options', options) })) as StagingResult;
}

/**
 * Materializes the production table `<datasetId>.<tableId>` from SQL (tables named `dataset.table`;
 * give `{ bigquery, duckdb }` when the dialects differ), optionally partitioned on a DATE column
 * and clustered. Modes: 'replace' (default), 'replace-partitions' (only the partitions the query
 * yields), 'append' (idempotent per run and write).
 *
 * @example
 * await materializeTable('br_ibge_pib', 'municipio', {
 *   sql: 'select cast(ano as int64) as ano, id_municipio, cast(data_particao as date) as data_particao from br_ibge_pib_staging.municipio',
 *   mode: 'replace-partitions',
 *   partitionBy: { column: 'data_particao', granularity: 'month' },
 *   clusterBy: ['id_municipio'],
 * });
 */
export async function materializeTable(datasetId: string, tableId: string, options: MaterializeOptions): Promise<MaterializeResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError('materializeTable: options with `sql` are required');
  const appends = options.mode === 'append' && options.writeKey === undefined;
  const withKey = appends ? { ...options, writeKey: defaultWriteKey(`table ${datasetId}.${tableId}`) } : options;
  return (await call('materializeTable', { datasetId, tableId, options: withKey })) as MaterializeResult;
}

/**
 * Runs a query on the warehouse and returns its rows (dates and numerics as JSON scalars).
 * Parameters are named and spelled BigQuery's way, `@ano`, on both warehouses: on DuckDB the
 * `@name`s of the parameters given become `$name` (not inside string literals, quoted identifiers
 * or comments), so one text runs on either. A `{ bigquery, duckdb }` pair is taken as written
 * (DuckDB's own `$ano` in its text).
 *
 * @example
 * const [{ total }] = await query('select sum(pib) as total from br_ibge_pib.municipio where ano = @ano', { ano: 2010 });
 */
export async function query(sql: Sql, params?: Record<string, Cell>): Promise<Row[]> {
  return (await call('query', params === undefined ? { sql } : { sql, params: objectOf('query', 'params', params) })) as Row[];
}

/**
 * Opens `<datasetId>` for public read: BigQuery grants allUsers READER; DuckDB exports its tables
 * to read-only Parquet files with a README.
 *
 * @example
 * const { uri, tables } = await publishDataset('br_ibge_pib');
 */
export async function publishDataset(datasetId: string): Promise<PublishResult> {
  return (await call('publishDataset', { datasetId })) as PublishResult;
}

/**
 * The basedosdados one-call: lands `source` in the lake with `dumpMode`, then (re)creates the
 * staging table over it.
 *
 * @example
 * await createTableAndUpload('br_ibge_pib', 'municipio', { csv: 'pib_municipio.csv' }, { dumpMode: 'overwrite', partitionColumns: ['ano'] });
 */
export async function createTableAndUpload(
  datasetId: string,
  tableId: string,
  source: LakeSource,
  options: CreateTableAndUploadOptions,
): Promise<CreateTableAndUploadResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError("createTableAndUpload: options with `dumpMode` ('append', 'overwrite' or 'overwrite-partitions') are required");
  const withKey = options.writeKey === undefined ? { ...options, writeKey: defaultWriteKey(`lake ${datasetId}.${tableId}`) } : options;
  return (await call('createTableAndUpload', { datasetId, tableId, source: sourceOf('createTableAndUpload', source), options: withKey })) as CreateTableAndUploadResult;
}

/**
 * Runs a command (a Python or shell script of the flow's) where the flow runs. Its stdout and
 * stderr lines go to the run's log as they come, under the calling task. It stops with the run
 * (cancellation, timeout). Throws DataError COMMAND_FAILED (exit code not in `okExitCodes`, or it
 * could not start) or COMMAND_TIMED_OUT.
 *
 * @example
 * const { stdoutTail } = await runCommand('python3', ['scripts/extract.py', '--year', '2010'], { timeoutSeconds: 600 });
 */
export async function runCommand(command: string, args: readonly string[] = [], options: RunCommandOptions = {}): Promise<RunCommandResult> {
  if (typeof command !== 'string' || command === '') throw new TypeError('runCommand: the command must be a non-empty string');
  if (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string')) throw new TypeError('runCommand: args must be an array of strings');
  const { data, context } = dataHost('runCommand');
  try {
    return await data.runCommand(command, args, objectOf('runCommand', 'options', options), context.taskKey);
  } catch (error) {
    throw asDataError(error);
  }
}

/**
 * Runs `dbt build` in the agent's dbt project (its profile and credentials stay with the agent).
 * dbt's output goes to the run's log; each model, test, seed or snapshot becomes a task run of its
 * own (`model.project.name#1`) with its status, rows and timing. Throws DataError
 * DBT_MODELS_FAILED naming the failing nodes, or DBT_CRASHED.
 *
 * @example
 * const result = await dbtBuild({ select: 'pib_rio', vars: { ano: 2010 } });
 * // { outcome: 'success', nodes: [{ uniqueId: 'model.fluxo_example.pib_rio', status: 'success', rows: 10, ... }] }
 */
export async function dbtBuild(options: DbtBuildOptions = {}): Promise<DbtBuildResult> {
  const { context } = dataHost('dbtBuild');
  const answer = (await call('dbtBuild', { options: objectOf('dbtBuild', 'options', options) })) as DbtBuildResult & { failure?: { code: string; message: string } | null };
  const { failure, ...result } = answer;
  reportDbtNodes(context, result);
  if (failure) throw asDataError(Object.assign(new Error(failure.message), { name: 'DataError', code: failure.code }));
  return result;
}

/**
 * Which warehouse the agent writes to, for the rare SQL that must differ (prefer `{ bigquery, duckdb }` SQL).
 *
 * @example
 * if ((await warehouseKind()) === 'bigquery') { ... }
 */
export async function warehouseKind(): Promise<'duckdb' | 'bigquery'> {
  return (await call('warehouseKind', {})) as 'duckdb' | 'bigquery';
}

async function call(operation: DataOperation, args: Record<string, unknown>): Promise<unknown> {
  const { data, context } = dataHost(operation);
  try {
    return await data.request(operation, args, context.taskKey);
  } catch (error) {
    throw asDataError(error);
  }
}

function dataHost(operation: string): { data: DataHost; context: RunContext } {
  const context = runContext.getStore();
  if (!context) {
    throw new Error(`fluxo/data ${operation}() works inside a flow run: run the flow with \`fluxo run\` (with --lake / --warehouse) or under an agent`);
  }
  const data = context.host.data;
  if (!data) throw new Error(`fluxo/data ${operation}(): this host has no data service (run the flow with \`fluxo run\` or under an agent)`);
  return { data, context };
}

/** The bundle's own DataError for a failure from the host (another copy of the class, or another process). */
function asDataError(error: unknown): unknown {
  if (error instanceof DataError) return error;
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'DataError' && typeof code === 'string' && (DATA_ERROR_CODES as readonly string[]).includes(code)) {
    return new DataError(code as DataErrorCode, typeof message === 'string' ? message : code);
  }
  return error;
}

function sourceOf(operation: string, source: LakeSource): Record<string, unknown> {
  if (Array.isArray(source)) return { rows: source };
  if (typeof source === 'object' && source !== null) {
    if ('csv' in source && typeof source.csv === 'string') {
      return { csv: { path: absolute(source.csv) }, ...(source.delimiter === undefined ? {} : { delimiter: source.delimiter }) };
    }
    if ('parquet' in source && typeof source.parquet === 'string') return { parquet: { path: absolute(source.parquet) } };
  }
  throw new TypeError(`${operation}: the source must be an array of rows, { csv: 'file.csv' } or { parquet: 'file.parquet' }`);
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

function objectOf<T>(operation: string, name: string, value: T): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${operation}: ${name} must be an object`);
  return value;
}

/** One task run per dbt node, RUNNING then its outcome, with dbt's own times and counts. */
function reportDbtNodes(context: RunContext, result: DbtBuildResult): void {
  for (const node of result.nodes) {
    if (node.status === 'skipped') {
      context.host.log({ level: 'WARNING', stream: 'logger', message: `dbt skipped ${node.uniqueId}${node.message ? `: ${node.message}` : ''}`, taskRunKey: context.taskKey, timestamp: now() });
      continue;
    }
    const name = node.uniqueId.slice(0, 200);
    const count = (context.taskCalls.get(name) ?? 0) + 1;
    context.taskCalls.set(name, count);
    const key = `${name}#${count}`;
    const failed = node.status === 'error' || node.status === 'fail' || node.status === 'runtime error';
    const parts = [`dbt ${node.status}`, node.rows === null ? null : `${node.rows} rows`, `${node.executionTime.toFixed(2)} s`, node.message];
    const message = parts.filter(Boolean).join(', ');
    const report = (state: 'RUNNING' | 'SUCCESS' | 'FAILED', timestamp: string, text: string | null): void =>
      context.host.taskState({ key, taskName: name, mapIndex: null, attempt: 1, state, message: text, timestamp });
    report('RUNNING', node.startedAt ?? now(), null);
    report(failed ? 'FAILED' : 'SUCCESS', node.completedAt ?? now(), message);
  }
}
