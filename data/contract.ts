// The contract of fluxo's data path (issue 11): what the agency configures (DataSettings), what a
// flow asks for (the operations' arguments and results, mirrored for flow authors by sdk/data.ts),
// and what every write reports for lineage (Materialization).
//
// Where the work happens: the agent (or `fluxo run`, locally) owns the data settings and does the
// lake, warehouse and dbt work in its own process, for every run it holds. The flow's child asks
// for it over IPC (sdk/runtime/protocol.ts, `data-request`). Reasons:
// - credentials stay with the agent ("as each namespace held its own dbt server"): the child, which
//   runs hostile code as another user, never sees a key file or a profile;
// - a DuckDB file has one writer process: the agent serializes its runs' work on it;
// - the lake directory needs to be writable by the agent only, not by every run uid.
// `runCommand` is the exception: it runs the flow's own scripts, so it runs in the child.
//
// Nothing here imports anything but the dependency-free contract/: lake, warehouse and dbt
// implementations import this file, and the SDK bundles it.
import { DATA_NAME_PATTERN as CONTRACT_DATA_NAME_PATTERN } from '../contract/names.js';

// ---------------------------------------------------------------------------------------------
// Settings (agent `--data-config FILE`, FLUXO_LAKE / FLUXO_WAREHOUSE / FLUXO_DBT_PROJECT; `fluxo run`
// takes the same flags). The file is JSON; environment variables override its fields.
// ---------------------------------------------------------------------------------------------

/** The data settings as the agent reads them (data/config.ts validates them: DATA_CONFIG_INVALID). */
export interface DataSettings {
  /** `file:///abs/dir` or `gs://bucket[/prefix]`. Absent: lake operations fail DATA_NOT_CONFIGURED. */
  lake?: string;
  /** `duckdb:///abs/path/file.duckdb` or `bigquery://project[?location=EU]`. Absent: warehouse operations fail DATA_NOT_CONFIGURED. */
  warehouse?: string;
  /** The tenant's dbt project. Absent: dbtBuild fails DATA_NOT_CONFIGURED. */
  dbt?: DbtSettings;
  /** Google Cloud access for gs:// lakes and bigquery:// warehouses. */
  google?: GoogleSettings;
  /** DuckDB's spatial extension file (a `.duckdb_extension` matching the DuckDB in use). Default: the one `scripts/ensure-duckdb-spatial.mjs` caches (data/spatial.ts). */
  duckdbSpatialExtension?: string;
}

export interface DbtSettings {
  /** Absolute path of the dbt project (the folder with dbt_project.yml). */
  project: string;
  /** Folder with profiles.yml. @default the project folder */
  profilesDir?: string;
  /** The dbt executable. @default `dbt` on PATH */
  executable?: string;
  /** Default target when the flow names none (profiles.yml's own default otherwise). */
  target?: string;
  /**
   * Host variables dbt may see, by name, beyond its allow-list (PATH, HOME, LANG, LC_*, TZ, TMPDIR,
   * VIRTUAL_ENV, the proxy and CA variables, DBT_*, GOOGLE_APPLICATION_CREDENTIALS; data/dbt.ts
   * `dbtEnvironment`). Nothing else of the agent's environment reaches dbt: a model could read it with
   * env_var() into a table flows query. Never the agent's credentials (FLUXO_TOKEN, FLUXO_TOKEN_FILE).
   * @default []
   * @example ['SNOWFLAKE_ACCOUNT', 'PGPASSWORD']
   */
  env?: string[];
}

export interface GoogleSettings {
  /** Service-account key file (JSON). Absent: Application Default Credentials. */
  credentialsFile?: string;
  /** GCS JSON API endpoint (fake-gcs-server in tests). */
  storageEndpoint?: string;
  /** BigQuery REST endpoint (the BigQuery emulator in tests). */
  bigqueryEndpoint?: string;
  /** With an endpoint: send this bearer token instead of real credentials (emulators only). */
  emulatorToken?: string;
}

// ---------------------------------------------------------------------------------------------
// Who is asking: every operation runs for one flow run, and knows which.
// ---------------------------------------------------------------------------------------------

/** The run an operation works for. */
export interface DataRunContext {
  /** The flow run's id. */
  flowRunId: string;
  /** Its attempt (1-based). */
  attempt: number;
  /**
   * The id that names this run's output: the run's own id, or for a rerun (`rerunOf`) the id of
   * the run it reruns (followed to the first). A rerun thus replaces the output of the run it
   * reruns instead of adding to it, and a retry (a later attempt) replaces its earlier attempts'.
   */
  outputKey: string;
  /** The task the call comes from (`land#1`), or null at flow level. */
  taskKey: string | null;
  /** Ends when the run is cancelled, times out or its child dies: long work stops. */
  signal: AbortSignal;
  /** Writes a line to the run's log (attributed to `taskKey`). */
  log(level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR', message: string): void;
  /** Records a write for lineage (relayed to the server: recordMaterializations). */
  record(materialization: Materialization): void;
}

// ---------------------------------------------------------------------------------------------
// Names. BigQuery's rules, so one name works on both backends.
// ---------------------------------------------------------------------------------------------

/** dataset_id and table_id: letters, digits, underscores, starting with a letter or underscore, ≤ 1024 (we cap at 128); defined with the other naming rules in contract/names.ts. */
export const DATA_NAME_PATTERN = CONTRACT_DATA_NAME_PATTERN;
/** Partition and column names: the same rule (Hive keys become column names). */
export const COLUMN_NAME_PATTERN = DATA_NAME_PATTERN;

// ---------------------------------------------------------------------------------------------
// Sources: what a flow hands over.
// ---------------------------------------------------------------------------------------------

/** A scalar cell. Dates travel as ISO strings (`2010-01-01`). */
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/**
 * Data to land: rows, or a CSV / Parquet file the flow wrote (the child streams its bytes to the
 * agent; the agent never opens a path the flow names).
 */
export type DataSource =
  | { rows: Row[] }
  | { csv: FileBytes; delimiter?: string }
  | { parquet: FileBytes };

/** A file's bytes as they arrive at the agent (a temp file it owns). */
export interface FileBytes {
  /** Absolute path of the agent's temp copy. */
  path: string;
}

// ---------------------------------------------------------------------------------------------
// Lake
// ---------------------------------------------------------------------------------------------

export type LakeWriteMode = 'append' | 'overwrite' | 'overwrite-partitions';

export interface LakeWriteOptions {
  /** @default 'append' */
  mode?: LakeWriteMode;
  /** Columns that become Hive partitions (`k=v/` folders), in order; dropped from the files. */
  partitionColumns?: string[];
  /**
   * Derive `ano_particao`, `mes_particao`, `data_particao` (first day of the month: `2010-01-01`)
   * from a date column (`YYYY-MM-DD…`, or a year number: month 1). They are added as the first
   * partition columns: `ano_particao=2010/mes_particao=1/data_particao=2010-01-01/…`.
   * `granularity: 'year'` adds ano_particao only; 'month' (default) adds the three.
   */
  datePartition?: { column: string; granularity?: 'year' | 'month' };
  /** File format in the lake. @default 'parquet' */
  format?: 'csv' | 'parquet';
  /** Names this write among the run's writes to the table (default from fluxo/data: the calling task's key and its count of writes to the table in that task attempt, e.g. `land-1-1`; callers of the service without one get `w1`, `w2`, … per run attempt). */
  writeKey?: string;
}

export interface LakeWriteResult {
  /** `staging/<dataset_id>/<table_id>` under the lake's root, as a URI. */
  uri: string;
  /** The files written, URIs. */
  files: string[];
  /** Partitions touched (`ano_particao=2010/mes_particao=1/…`); [] for an unpartitioned table. */
  partitions: string[];
  /** Stale files deleted (overwrite modes, and earlier attempts' files of this write). */
  deleted: number;
  rows: number;
  bytes: number;
}

/**
 * The lake: objects under `<root>/staging/<dataset_id>/<table_id>/<k=v>/.../<file>`.
 * File names are `<outputKey>_<writeKey>_a<attempt>_<n>.<ext>`: a retry of the same write
 * rewrites its own names; files of the same outputKey + writeKey from other attempts are deleted
 * after the new ones are in place.
 */
export interface Lake {
  /** The lake's root URI (`file:///…` or `gs://bucket/prefix`). */
  readonly root: string;
  write(run: DataRunContext, datasetId: string, tableId: string, source: DataSource, options: LakeWriteOptions): Promise<LakeWriteResult>;
  /** Partition paths present under a table (`k=v/…`), sorted. */
  partitions(datasetId: string, tableId: string): Promise<string[]>;
  /** The Hive column names of a table's files (data columns, then partition keys), read from one file. */
  columns(datasetId: string, tableId: string): Promise<{ dataColumns: string[]; partitionKeys: string[]; format: 'csv' | 'parquet' } | null>;
  /** `staging/<dataset>/<table>` as a URI. */
  tableUri(datasetId: string, tableId: string): string;
}

// ---------------------------------------------------------------------------------------------
// Warehouse
// ---------------------------------------------------------------------------------------------

export type MaterializeMode = 'replace' | 'replace-partitions' | 'append';

/** SQL for both backends, or one text both understand. Table names are written `dataset.table`. */
export type Sql = string | { bigquery: string; duckdb: string };

export interface StagingOptions {
  /** What to do when the lake's columns differ from the staging table's. @default 'error' (DATA_SCHEMA_DRIFT naming the columns) */
  onSchemaDrift?: 'error' | 'recreate';
}

export interface StagingResult {
  /** `<dataset_id>_staging.<table_id>`. */
  table: string;
  columns: string[];
  partitionKeys: string[];
  /** True when it was created (or re-created) by this call. */
  created: boolean;
}

export interface MaterializeOptions {
  sql: Sql;
  /** @default 'replace' */
  mode?: MaterializeMode;
  /** Partition the table by this DATE column (BigQuery time partitioning). */
  partitionBy?: { column: string; granularity: 'month' | 'day' };
  /** Up to 4 clustering columns. */
  clusterBy?: string[];
  /** Names this write among the run's writes to the table (append idempotency). */
  writeKey?: string;
}

export interface MaterializeResult {
  /** `<dataset_id>.<table_id>`. */
  table: string;
  /** Rows the table holds after the write. */
  rows: number;
  /** Rows this write put in (0 for an append already done by this run). */
  rowsWritten: number;
  /** Partitions written (`2010-01-01`), for partitioned tables; [] otherwise. */
  partitions: string[];
  bytes: number | null;
}

export interface PublishResult {
  dataset: string;
  /** Where the public copy is: the BigQuery dataset, or the Parquet export folder on DuckDB. */
  uri: string;
  tables: string[];
}

export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  /** Creates `<dataset_id>_staging` (and `<dataset_id>`) when missing. */
  ensureDatasets(datasetId: string): Promise<void>;
  /** Exposes the lake table as `<dataset_id>_staging.<table_id>` (STRING columns + Hive partition keys). */
  createStagingTable(run: DataRunContext, lake: Lake, datasetId: string, tableId: string, options: StagingOptions): Promise<StagingResult>;
  /** Materializes `<dataset_id>.<table_id>` from SQL. */
  materialize(run: DataRunContext, datasetId: string, tableId: string, options: MaterializeOptions): Promise<MaterializeResult>;
  /** Runs a query and returns its rows (dates and numerics as JSON scalars). */
  query(run: DataRunContext, sql: Sql, params?: Record<string, Cell>): Promise<Row[]>;
  /** Grants public read on `<dataset_id>` (BigQuery: allUsers READER; DuckDB: read-only Parquet export with a README). */
  publish(run: DataRunContext, datasetId: string): Promise<PublishResult>;
  /** Releases connections. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// dbt and commands
// ---------------------------------------------------------------------------------------------

export interface RunCommandOptions {
  cwd?: string;
  /** Extra environment variables (added to the child's own allow-listed environment). */
  env?: Record<string, string>;
  /** Kill the command after this long (SIGTERM, then SIGKILL 5 s later). */
  timeoutSeconds?: number;
  /** Text for the command's stdin. */
  input?: string;
  /** Exit codes that count as success. @default [0] */
  okExitCodes?: number[];
}

export interface RunCommandResult {
  exitCode: number;
  /** The last 64 KiB of each stream. */
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
}

export interface DbtBuildOptions {
  select?: string;
  exclude?: string;
  vars?: Record<string, unknown>;
  target?: string;
  fullRefresh?: boolean;
}

export interface DbtNodeResult {
  /** `model.project.name`. */
  uniqueId: string;
  /** `success` | `error` | `skipped` | `pass` | `fail` | `warn` | … as dbt says it. */
  status: string;
  /** Rows affected when the adapter reports them. */
  rows: number | null;
  /** Seconds. */
  executionTime: number;
  message: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

export interface DbtBuildResult {
  /** 'success' (exit 0), 'failed' (exit 1: some nodes failed), 'crashed' (exit 2 or no run_results.json). */
  outcome: 'success' | 'failed' | 'crashed';
  exitCode: number;
  nodes: DbtNodeResult[];
  /** Unique ids of the nodes with status error/fail. */
  failed: string[];
}

// ---------------------------------------------------------------------------------------------
// Lineage
// ---------------------------------------------------------------------------------------------

/** One write, as the run records it (GraphQL `Materialization`). */
export interface Materialization {
  /** lake: files landed; staging: staging table (re)created; table: production table written; publish: public read granted. */
  kind: 'lake' | 'staging' | 'table' | 'publish';
  /** dataset_id as the flow named it (without `_staging`). */
  dataset: string;
  /** table_id (empty for `publish`). */
  table: string;
  /** Partitions touched (`ano_particao=2010/mes_particao=1/data_particao=2010-01-01`, or a partition date). */
  partitions: string[];
  rows: number | null;
  bytes: number | null;
  /** Where it is: `gs://…`, `file://…`, `bigquery://project/dataset.table`, `duckdb:///file#dataset.table`. */
  uri: string;
  /** The write mode. */
  mode: string | null;
}

// ---------------------------------------------------------------------------------------------
// Errors: every failure of the data path is a DataError with a stable code and a message a person
// can act on. They reach the flow as thrown errors (name DataError, `code` property).
// ---------------------------------------------------------------------------------------------

export const DATA_ERROR_CODES = [
  /** The agent has no lake / warehouse / dbt setting for what the flow asked. */
  'DATA_NOT_CONFIGURED',
  /** The data settings are malformed (at agent start; never at run time). */
  'DATA_CONFIG_INVALID',
  /** A dataset, table or column name, a mode or an option is not acceptable. */
  'DATA_INVALID_ARGUMENT',
  /** The lake's columns differ from the staging table's (message names added and missing columns). */
  'DATA_SCHEMA_DRIFT',
  /** A table, dataset or lake path the operation needs does not exist. */
  'DATA_NOT_FOUND',
  /** The warehouse or lake refused or failed the operation (its message included). */
  'DATA_BACKEND_ERROR',
  /** dbt build ended with failing models (named in the message). */
  'DBT_MODELS_FAILED',
  /** dbt crashed (exit 2, or no run_results.json). */
  'DBT_CRASHED',
  /** runCommand's command exited with a code not in okExitCodes, or could not start. */
  'COMMAND_FAILED',
  /** runCommand's command ran past timeoutSeconds. */
  'COMMAND_TIMED_OUT',
  /** The run was cancelled while the operation ran. */
  'DATA_CANCELLED',
] as const;
export type DataErrorCode = (typeof DATA_ERROR_CODES)[number];

export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly code: DataErrorCode,
    message: string,
  ) {
    super(message);
  }
}
