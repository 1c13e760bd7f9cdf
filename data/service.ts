// The data service an agent (or `fluxo run`) keeps for the runs it holds: one lake and one
// warehouse, opened on first use and shared by every run (a DuckDB file has one writer process),
// and per run the operations fluxo/data asks for. The implementations are imported on first use:
// an agent without data settings, or one on a file:// lake, never loads DuckDB or the Google
// clients (an idle agent stays small).
import {
  DATA_ERROR_CODES,
  DATA_NAME_PATTERN,
  DataError,
  type Cell,
  type DataErrorCode,
  type DataRunContext,
  type DataSettings,
  type DataSource,
  type DbtBuildOptions,
  type DbtBuildResult,
  type Lake,
  type LakeWriteMode,
  type LakeWriteOptions,
  type LakeWriteResult,
  type MaterializeOptions,
  type MaterializeResult,
  type PublishResult,
  type Row,
  type Sql,
  type StagingOptions,
  type StagingResult,
  type Warehouse,
} from './contract.js';

/** createTableAndUpload's options (sdk/data.ts documents them for flow authors). */
export interface CreateTableAndUploadOptions {
  dumpMode: LakeWriteMode;
  partitionColumns?: string[];
  datePartition?: LakeWriteOptions['datePartition'];
  format?: 'csv' | 'parquet';
  onSchemaDrift?: StagingOptions['onSchemaDrift'];
  /** Names the lake write (LakeWriteOptions.writeKey); the SDK gives the calling task's. */
  writeKey?: string;
}

/** dbtBuild's answer: dbt's result, and the error the flow throws after reporting the nodes (null on success). */
export type DbtBuildAnswer = DbtBuildResult & { failure: { code: DataErrorCode; message: string } | null };

/** What one run may ask for (the agent answers the child's `data-request`s with these). */
export interface DataOperations {
  writeToLake(datasetId: string, tableId: string, source: DataSource, options?: LakeWriteOptions): Promise<LakeWriteResult>;
  /** Creates the datasets when missing, then the staging table over the lake. */
  createStagingTable(datasetId: string, tableId: string, options?: StagingOptions): Promise<StagingResult>;
  materializeTable(datasetId: string, tableId: string, options: MaterializeOptions): Promise<MaterializeResult>;
  query(sql: Sql, params?: Record<string, Cell>): Promise<Row[]>;
  publishDataset(datasetId: string): Promise<PublishResult>;
  /** A lake write with `dumpMode` as its mode, then the staging table (re-created on drift for 'overwrite'). */
  createTableAndUpload(datasetId: string, tableId: string, source: DataSource, options: CreateTableAndUploadOptions): Promise<{ lake: LakeWriteResult; staging: StagingResult }>;
  /** Runs `dbt build`; model failures and crashes come back as `failure` so the flow can report each node first. */
  dbtBuild(options?: DbtBuildOptions): Promise<DbtBuildAnswer>;
  warehouseKind(): Promise<'duckdb' | 'bigquery'>;
}

export interface DataService {
  readonly settings: Readonly<DataSettings>;
  /** The operations for one request of a run (its task key and signal are in `context`). */
  forRun(context: DataRunContext): DataOperations;
  /** Closes the warehouse (the DuckDB file) and forgets the lake. */
  close(): Promise<void>;
}

/** The part of a DuckDB warehouse the service needs beyond the contract. */
interface FileWarehouse extends Warehouse {
  readonly file: string;
  withFileReleased<T>(fn: () => Promise<T>): Promise<T>;
}

const NOT_CONFIGURED = {
  lake: "no lake is configured: set `lake` in the agent's --data-config file, or FLUXO_LAKE (file:///absolute/dir or gs://bucket/prefix); `fluxo run` takes --lake",
  warehouse:
    "no warehouse is configured: set `warehouse` in the agent's --data-config file, or FLUXO_WAREHOUSE (duckdb:///absolute/file.duckdb or bigquery://project); `fluxo run` takes --warehouse",
  dbt: "no dbt project is configured: set `dbt.project` in the agent's --data-config file, or FLUXO_DBT_PROJECT (the folder with dbt_project.yml); `fluxo run` takes --dbt-project",
} as const;

/**
 * The service over validated settings (data/config.ts). Nothing is opened until a run asks.
 *
 * @example
 * const service = createDataService(readDataSettings({ env: process.env }));
 * const data = service.forRun(context);
 * await data.writeToLake('br_ibge_pib', 'municipio', { rows }, { partitionColumns: ['ano'] });
 */
export function createDataService(settings: Readonly<DataSettings>): DataService {
  let lake: Promise<Lake> | null = null;
  let warehouse: Promise<Warehouse> | null = null;
  /** Default write keys: writes per run attempt and table, so a deterministic flow names its writes alike on every attempt. */
  const writeCounts = new Map<string, Map<string, number>>();

  const openOnce = <T>(get: () => Promise<T> | null, set: (value: Promise<T> | null) => void, open: () => Promise<T>): Promise<T> => {
    let pending = get();
    if (!pending) {
      pending = open();
      set(pending);
      // A failed open (a bucket not reachable yet) is tried again by the next request.
      pending.catch(() => set(null));
    }
    return pending;
  };
  const getLake = (): Promise<Lake> => {
    const root = settings.lake;
    if (root === undefined) return Promise.reject(new DataError('DATA_NOT_CONFIGURED', NOT_CONFIGURED.lake));
    return openOnce(() => lake, (value) => (lake = value), () => openLakeAt(root, settings));
  };
  const getWarehouse = (): Promise<Warehouse> => {
    const uri = settings.warehouse;
    if (uri === undefined) return Promise.reject(new DataError('DATA_NOT_CONFIGURED', NOT_CONFIGURED.warehouse));
    return openOnce(() => warehouse, (value) => (warehouse = value), () => openWarehouseAt(uri, settings));
  };

  const nextWriteKey = (run: DataRunContext, what: string): string => {
    const runKey = `${run.flowRunId} ${run.attempt}`;
    let counts = writeCounts.get(runKey);
    if (!counts) {
      counts = new Map();
      writeCounts.set(runKey, counts);
      const forget = (): void => void writeCounts.delete(runKey);
      if (run.signal.aborted) queueMicrotask(forget);
      else run.signal.addEventListener('abort', forget, { once: true });
    }
    const n = (counts.get(what) ?? 0) + 1;
    counts.set(what, n);
    return `w${n}`;
  };

  return {
    settings,
    forRun(run: DataRunContext): DataOperations {
      const guard = async <T>(work: () => Promise<T>): Promise<T> => {
        if (run.signal.aborted) throw new DataError('DATA_CANCELLED', 'the run ended before this data operation started');
        try {
          return await work();
        } catch (error) {
          throw asDataError(error);
        }
      };
      const writeToLake = async (datasetId: string, tableId: string, source: DataSource, options: LakeWriteOptions = {}): Promise<LakeWriteResult> => {
        checkNames(datasetId, tableId);
        const store = await getLake();
        const writeKey = options.writeKey ?? nextWriteKey(run, `lake ${datasetId}.${tableId}`);
        return store.write(run, datasetId, tableId, source, { ...options, writeKey });
      };
      const createStagingTable = async (datasetId: string, tableId: string, options: StagingOptions = {}): Promise<StagingResult> => {
        checkNames(datasetId, tableId);
        const [store, target] = await Promise.all([getLake(), getWarehouse()]);
        await target.ensureDatasets(datasetId);
        return target.createStagingTable(run, store, datasetId, tableId, options);
      };
      return {
        writeToLake: (datasetId, tableId, source, options) => guard(() => writeToLake(datasetId, tableId, source, options)),
        createStagingTable: (datasetId, tableId, options) => guard(() => createStagingTable(datasetId, tableId, options)),
        materializeTable: (datasetId, tableId, options) =>
          guard(async () => {
            checkNames(datasetId, tableId);
            const target = await getWarehouse();
            const writeKey = options.writeKey ?? ((options.mode ?? 'replace') === 'append' ? nextWriteKey(run, `table ${datasetId}.${tableId}`) : undefined);
            return target.materialize(run, datasetId, tableId, writeKey === undefined ? options : { ...options, writeKey });
          }),
        query: (sql, params) => guard(async () => (await getWarehouse()).query(run, sql, params)),
        publishDataset: (datasetId) =>
          guard(async () => {
            checkNames(datasetId);
            return (await getWarehouse()).publish(run, datasetId);
          }),
        createTableAndUpload: (datasetId, tableId, source, options) =>
          guard(async () => {
            const { dumpMode, partitionColumns, datePartition, format, onSchemaDrift, writeKey } = options;
            if (!['append', 'overwrite', 'overwrite-partitions'].includes(dumpMode)) {
              throw new DataError('DATA_INVALID_ARGUMENT', `createTableAndUpload: dumpMode must be 'append', 'overwrite' or 'overwrite-partitions', not ${JSON.stringify(dumpMode)}`);
            }
            const written = await writeToLake(datasetId, tableId, source, {
              mode: dumpMode,
              ...(partitionColumns === undefined ? {} : { partitionColumns }),
              ...(datePartition === undefined ? {} : { datePartition }),
              ...(format === undefined ? {} : { format }),
              ...(writeKey === undefined ? {} : { writeKey }),
            });
            const staging = await createStagingTable(datasetId, tableId, { onSchemaDrift: onSchemaDrift ?? (dumpMode === 'overwrite' ? 'recreate' : 'error') });
            return { lake: written, staging };
          }),
        dbtBuild: (options = {}) => guard(() => dbtBuild(run, settings, options, getWarehouse)),
        warehouseKind: () =>
          guard(async () => {
            if (settings.warehouse === undefined) throw new DataError('DATA_NOT_CONFIGURED', NOT_CONFIGURED.warehouse);
            return settings.warehouse.startsWith('bigquery:') ? 'bigquery' : 'duckdb';
          }),
      };
    },
    async close(): Promise<void> {
      const open = warehouse;
      warehouse = null;
      lake = null;
      if (open) await open.then((w) => w.close()).catch(() => undefined);
    },
  };
}

/**
 * Calls `operation` with a child's arguments, checked for shape first (the child runs the flow's
 * code: nothing it sends is trusted). File sources must already be the agent's own temp files.
 */
export async function dispatchDataRequest(data: DataOperations, operation: string, args: unknown): Promise<unknown> {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw invalidArgument(`${operation}: the arguments must be an object`);
  const a = args as Record<string, unknown>;
  const options = <T>(name = 'options'): T => {
    const value = a[name];
    if (value === undefined) return {} as T;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`${operation}: ${name} must be an object`);
    return value as T;
  };
  const text = (name: string): string => {
    const value = a[name];
    if (typeof value !== 'string') throw invalidArgument(`${operation}: ${name} must be a string`);
    return value;
  };
  switch (operation) {
    case 'writeToLake':
      return data.writeToLake(text('datasetId'), text('tableId'), sourceOf(operation, a.source), options<LakeWriteOptions>());
    case 'createStagingTable':
      return data.createStagingTable(text('datasetId'), text('tableId'), options<StagingOptions>());
    case 'materializeTable':
      return data.materializeTable(text('datasetId'), text('tableId'), options<MaterializeOptions>());
    case 'query': {
      const sql = a.sql;
      const dialects = sql as { bigquery?: unknown; duckdb?: unknown } | null;
      if (typeof sql !== 'string' && !(typeof dialects?.bigquery === 'string' && typeof dialects.duckdb === 'string')) {
        throw invalidArgument('query: sql must be a string or { bigquery, duckdb } strings');
      }
      return data.query(sql as Sql, a.params === undefined ? undefined : options<Record<string, Cell>>('params'));
    }
    case 'publishDataset':
      return data.publishDataset(text('datasetId'));
    case 'createTableAndUpload':
      return data.createTableAndUpload(text('datasetId'), text('tableId'), sourceOf(operation, a.source), options<CreateTableAndUploadOptions>());
    case 'dbtBuild':
      return data.dbtBuild(options<DbtBuildOptions>());
    case 'warehouseKind':
      return data.warehouseKind();
    default:
      throw invalidArgument(`unknown data operation ${JSON.stringify(operation).slice(0, 100)}`);
  }
}

/** Any failure as a DataError: the backends' own errors become DATA_BACKEND_ERROR with their message. */
export function asDataError(error: unknown): DataError {
  if (error instanceof DataError) return error;
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'DataError' && typeof code === 'string' && (DATA_ERROR_CODES as readonly string[]).includes(code)) {
    return new DataError(code as DataErrorCode, String(message));
  }
  return new DataError('DATA_BACKEND_ERROR', typeof message === 'string' && message ? message : String(error));
}

function sourceOf(operation: string, source: unknown): DataSource {
  const value = source as Record<string, unknown> | null;
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray(value.rows)) return { rows: value.rows as Row[] };
    const file = (value.csv ?? value.parquet) as { path?: unknown } | undefined;
    if (typeof file?.path === 'string') {
      if (value.csv !== undefined) return { csv: { path: file.path }, ...(typeof value.delimiter === 'string' ? { delimiter: value.delimiter } : {}) };
      return { parquet: { path: file.path } };
    }
  }
  throw invalidArgument(`${operation}: the source must be { rows }, { csv } or { parquet }`);
}

function checkNames(datasetId: string, tableId?: string): void {
  if (!DATA_NAME_PATTERN.test(datasetId)) throw invalidArgument(`dataset_id ${JSON.stringify(datasetId).slice(0, 140)} is not a valid name (letters, digits, underscores; starting with a letter or underscore; at most 128)`);
  if (tableId !== undefined && !DATA_NAME_PATTERN.test(tableId)) throw invalidArgument(`table_id ${JSON.stringify(tableId).slice(0, 140)} is not a valid name (letters, digits, underscores; starting with a letter or underscore; at most 128)`);
}

function invalidArgument(message: string): DataError {
  return new DataError('DATA_INVALID_ARGUMENT', message);
}

/**
 * Imports an implementation; a module that cannot load (the single binary carries no DuckDB
 * native addon) is a configuration problem of this agent, said as such.
 */
async function load<T>(what: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    throw new DataError(
      'DATA_NOT_CONFIGURED',
      `this agent cannot load ${what} (${(error as Error).message}). The fluxo-agent single binary carries no DuckDB: run the agent from the npm package (\`fluxo agent start\`) for a file:// lake or a duckdb:// warehouse`,
    );
  }
}

async function openLakeAt(root: string, settings: Readonly<DataSettings>): Promise<Lake> {
  const { openLake } = await load('the lake (data/lake)', () => import('./lake/open-lake.js'));
  return openLake(root, settings.google ?? {});
}

async function openWarehouseAt(uri: string, settings: Readonly<DataSettings>): Promise<Warehouse> {
  if (uri.startsWith('bigquery:')) {
    const { BigQueryWarehouse } = await load('the BigQuery warehouse', () => import('./warehouse/bigquery-warehouse.js'));
    return BigQueryWarehouse.open(uri, settings.google ?? {});
  }
  const { DuckDbWarehouse } = await load('DuckDB (@duckdb/node-api)', () => import('./warehouse/duckdb-warehouse.js'));
  return new DuckDbWarehouse(uri, settings.duckdbSpatialExtension === undefined ? {} : { duckdbSpatialExtension: settings.duckdbSpatialExtension });
}

async function dbtBuild(run: DataRunContext, settings: Readonly<DataSettings>, options: DbtBuildOptions, getWarehouse: () => Promise<Warehouse>): Promise<DbtBuildAnswer> {
  if (!settings.dbt) throw new DataError('DATA_NOT_CONFIGURED', NOT_CONFIGURED.dbt);
  const dbt = settings.dbt;
  const { runDbtBuild, throwUnlessSuccess } = await load('dbt support (data/dbt)', () => import('./dbt.js'));
  // What the profile reads, added to dbt's allow-listed host variables (data/dbt.ts dbtEnvironment):
  // never the rest of the agent's environment, which a model could read with env_var() into a table.
  const env: Record<string, string> = {};
  if (settings.google?.credentialsFile) env.GOOGLE_APPLICATION_CREDENTIALS = settings.google.credentialsFile;
  const target = settings.warehouse === undefined ? null : await getWarehouse();
  const build = (): Promise<DbtBuildResult> =>
    runDbtBuild(dbt, options, {
      env,
      signal: run.signal,
      onLine: (stream: 'stdout' | 'stderr', line: string) => run.log(stream === 'stderr' ? 'WARNING' : 'INFO', line),
    });
  let result: DbtBuildResult;
  if (target && target.kind === 'duckdb') {
    const file = target as FileWarehouse;
    // The profile reads the file and the extension from the environment; dbt (another process)
    // opens the file while this process has it closed.
    env.FLUXO_DUCKDB_PATH = file.file;
    const { spatialExtensionPath } = await import('./spatial.js');
    try {
      env.FLUXO_DUCKDB_SPATIAL = spatialExtensionPath(settings);
    } catch {
      // A project that loads no spatial extension does not need it; one that does says so itself.
    }
    result = await file.withFileReleased(build);
  } else {
    result = await build();
  }
  try {
    throwUnlessSuccess(result);
    return { ...result, failure: null };
  } catch (error) {
    const failure = asDataError(error);
    return { ...result, failure: { code: failure.code, message: failure.message } };
  }
}
