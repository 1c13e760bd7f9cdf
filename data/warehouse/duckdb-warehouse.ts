// The embedded warehouse: one DuckDB file (`duckdb:///abs/path/file.duckdb`), BigQuery's layout
// mirrored in schemas. Dataset `<ds>` is schema `<ds>` (production tables) plus schema
// `<ds>_staging` (views over the lake's Hive-partitioned files, every column VARCHAR).
//
// A DuckDB file has one writer process, and within it this object is the only user: every
// operation holds a promise-chain mutex, and `withFileReleased` closes the file so dbt (another
// process) can open it meanwhile. Nothing here downloads: autoinstall/autoload are off and spatial
// is LOADed from the file data/spatial.ts names.
//
// BigQuery features that DuckDB lacks are kept as data: partitioning and clustering are written in
// the table's COMMENT (JSON) and rows are ORDERed by them, so a later replace-partitions or append
// knows the layout; append idempotency is a ledger table in the dataset (`_fluxo_appends`).
// BigQuery's GIS spellings (ST_GEOGPOINT, ST_GEOGFROMTEXT, ST_DISTANCE and ST_DWITHIN in metres)
// are macros on the connection: data/spatial.ts lists them.
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection } from '@duckdb/node-api';
import {
  DataError,
  type Cell,
  type DataRunContext,
  type DataSettings,
  type Lake,
  type MaterializeMode,
  type MaterializeOptions,
  type MaterializeResult,
  type PublishResult,
  type Row,
  type Sql,
  type StagingOptions,
  type StagingResult,
  type Warehouse,
} from '../contract.js';
import { BIGQUERY_GIS_MACROS, spatialExtensionPath } from '../spatial.js';
import { checkLayout, writeTable } from './duckdb-materialize.js';
import { exportDataset, INTERNAL_TABLE_PREFIX } from './duckdb-publish.js';
import { readerRows } from './duckdb-rows.js';
import { checkColumn, checkName, duckDbText, ident, literal } from './duckdb-sql.js';
import { bigQueryParamsToDuckDb } from './named-params.js';

const MODES: readonly MaterializeMode[] = ['replace', 'replace-partitions', 'append'];

/**
 * The database file of a `duckdb:///abs/path/file.duckdb` URI.
 * @example parseDuckDbUri('duckdb:///srv/fluxo/dw.duckdb') // '/srv/fluxo/dw.duckdb'
 */
export function parseDuckDbUri(uri: string): string {
  let url: URL | null = null;
  try {
    url = new URL(uri);
  } catch {
    // reported below
  }
  const path = url?.protocol === 'duckdb:' && !url.host ? decodeURIComponent(url.pathname) : '';
  if (!path || !isAbsolute(path) || path.endsWith('/')) {
    throw new DataError('DATA_CONFIG_INVALID', `warehouse ${JSON.stringify(uri)} is not duckdb:///<absolute path of a .duckdb file>`);
  }
  return path;
}

/** Options of a DuckDbWarehouse. */
export interface DuckDbWarehouseOptions {
  /** Where the spatial extension is (see spatialExtensionPath). */
  duckdbSpatialExtension?: DataSettings['duckdbSpatialExtension'];
  /** Environment for FLUXO_DUCKDB_SPATIAL / the cache path. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * The DuckDB warehouse over one database file.
 * @example
 * const warehouse = new DuckDbWarehouse('duckdb:///srv/fluxo/dw.duckdb');
 * await warehouse.materialize(run, 'br_ibge_pib', 'municipio', { sql: 'SELECT …', partitionBy: { column: 'data_particao', granularity: 'month' } });
 */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  /** Absolute path of the database file. */
  readonly file: string;
  readonly uri: string;
  private instance: DuckDBInstance | null = null;
  private connection: DuckDBConnection | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Appends per run attempt and table, for default write keys (`w1`, `w2`, …). */
  private readonly appendCounts = new Map<string, number>();

  constructor(
    uri: string,
    private readonly options: DuckDbWarehouseOptions = {},
  ) {
    this.file = parseDuckDbUri(uri);
    this.uri = `duckdb://${this.file}`;
  }

  async ensureDatasets(datasetId: string): Promise<void> {
    checkName('dataset_id', datasetId);
    await this.exclusive(null, (connection) => ensureSchemas(connection, datasetId));
  }

  async createStagingTable(run: DataRunContext, lake: Lake, datasetId: string, tableId: string, options: StagingOptions = {}): Promise<StagingResult> {
    checkName('dataset_id', datasetId);
    checkName('table_id', tableId);
    const onSchemaDrift = options.onSchemaDrift ?? 'error';
    if (onSchemaDrift !== 'error' && onSchemaDrift !== 'recreate') {
      throw new DataError('DATA_INVALID_ARGUMENT', `onSchemaDrift must be 'error' or 'recreate', not ${JSON.stringify(onSchemaDrift)}`);
    }
    if (!lake.root.startsWith('file://')) {
      throw new DataError(
        'DATA_INVALID_ARGUMENT',
        `the DuckDB warehouse reads a file:// lake, and this lake is ${lake.root}: use a file:/// lake with duckdb://, or a bigquery:// warehouse with a gs:// lake`,
      );
    }
    const layout = await lake.columns(datasetId, tableId);
    if (!layout) throw new DataError('DATA_NOT_FOUND', `no files in the lake at ${lake.tableUri(datasetId, tableId)}: land data into ${datasetId}.${tableId} first`);
    const wanted = [...layout.dataColumns, ...layout.partitionKeys];
    const staging = `${datasetId}_staging`;
    const view = `${ident(staging)}.${ident(tableId)}`;
    const pattern = `${fileURLToPath(lake.tableUri(datasetId, tableId))}/**/*.${layout.format}`;
    // Hive keys stay VARCHAR (hive_types_autocast) like every lake column; union_by_name because
    // files of different writes may order their columns differently.
    const source =
      layout.format === 'parquet'
        ? `read_parquet(${literal(pattern)}, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)`
        : `read_csv(${literal(pattern)}, all_varchar = true, header = true, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)`;
    const select = wanted.map((column) => `CAST(${ident(column)} AS VARCHAR) AS ${ident(column)}`).join(', ');

    const created = await this.exclusive(run, async (connection) => {
      await ensureSchemas(connection, datasetId);
      const existing = await columnsOf(connection, staging, tableId);
      // Same columns over the same files (the lake's root and format unchanged): nothing to do.
      if (existing && sameList(existing, wanted) && (await viewSql(connection, staging, tableId))?.includes(literal(pattern))) return false;
      if (existing && onSchemaDrift === 'error' && !sameSet(existing, wanted)) {
        const added = wanted.filter((column) => !existing.includes(column));
        const missing = existing.filter((column) => !wanted.includes(column));
        throw new DataError(
          'DATA_SCHEMA_DRIFT',
          `the lake's ${datasetId}.${tableId} no longer matches ${staging}.${tableId}: ` +
            [added.length ? `added column(s) ${added.join(', ')}` : '', missing.length ? `missing column(s) ${missing.join(', ')}` : '']
              .filter(Boolean)
              .join('; ') +
            `. Re-create the staging table with onSchemaDrift: 'recreate' (and adapt the SQL that reads it), or land files with the old columns`,
        );
      }
      await connection.run(`CREATE OR REPLACE VIEW ${view} AS SELECT ${select} FROM ${source}`);
      return true;
    });
    if (created) {
      run.record({
        kind: 'staging',
        dataset: datasetId,
        table: tableId,
        partitions: await lake.partitions(datasetId, tableId),
        rows: null,
        bytes: null,
        uri: `${this.uri}#${staging}.${tableId}`,
        mode: onSchemaDrift === 'recreate' ? 'recreate' : null,
      });
    }
    return { table: `${staging}.${tableId}`, columns: layout.dataColumns, partitionKeys: layout.partitionKeys, created };
  }

  async materialize(run: DataRunContext, datasetId: string, tableId: string, options: MaterializeOptions): Promise<MaterializeResult> {
    checkName('dataset_id', datasetId);
    checkName('table_id', tableId);
    if (tableId.startsWith(INTERNAL_TABLE_PREFIX)) throw new DataError('DATA_INVALID_ARGUMENT', `table names starting with ${INTERNAL_TABLE_PREFIX} are the warehouse's own`);
    const mode = options.mode ?? 'replace';
    if (!MODES.includes(mode)) throw new DataError('DATA_INVALID_ARGUMENT', `mode must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
    const text = duckDbText(options.sql);
    const layout = checkLayout(options);
    if (mode === 'replace-partitions' && !layout.partitionBy) {
      throw new DataError('DATA_INVALID_ARGUMENT', `mode 'replace-partitions' needs partitionBy: which DATE column names the partitions to replace`);
    }
    const writeKey = mode === 'append' ? (options.writeKey ?? this.nextWriteKey(run, datasetId, tableId)) : null;
    if (writeKey !== null && (typeof writeKey !== 'string' || writeKey === '' || writeKey.length > 256)) {
      throw new DataError('DATA_INVALID_ARGUMENT', 'writeKey must be a non-empty string of at most 256 characters');
    }
    const outcome = await this.exclusive(run, async (connection) => {
      await ensureSchemas(connection, datasetId);
      return writeTable(connection, { datasetId, tableId, sql: text, mode, layout, outputKey: run.outputKey, writeKey });
    });
    if (mode !== 'append' || outcome.rowsWritten > 0) {
      run.record({
        kind: 'table',
        dataset: datasetId,
        table: tableId,
        partitions: outcome.partitions,
        rows: outcome.rowsWritten,
        bytes: null,
        uri: `${this.uri}#${datasetId}.${tableId}`,
        mode,
      });
    }
    return { table: `${datasetId}.${tableId}`, rows: outcome.rows, rowsWritten: outcome.rowsWritten, partitions: outcome.partitions, bytes: null };
  }

  async query(run: DataRunContext, sql: Sql, params: Record<string, Cell> = {}): Promise<Row[]> {
    // One text for both warehouses spells its parameters BigQuery's way (@ano); a DuckDB text is DuckDB's own.
    const text = typeof sql === 'string' ? bigQueryParamsToDuckDb(duckDbText(sql), Object.keys(params)) : duckDbText(sql);
    for (const [name, value] of Object.entries(params)) {
      checkColumn('parameter', name);
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        throw new DataError('DATA_INVALID_ARGUMENT', `parameter ${name} must be a string, number, boolean or null`);
      }
    }
    return this.exclusive(run, async (connection) => {
      let prepared = await connection.prepare(text);
      try {
        // GEOMETRY comes out as WKB bytes; WKT is what BigQuery's client gives for GEOGRAPHY.
        const geometry: string[] = [];
        for (let index = 0; index < prepared.columnCount; index++) {
          if (prepared.columnTypeId(index) === DuckDBTypeId.GEOMETRY) geometry.push(prepared.columnName(index));
        }
        if (geometry.length > 0) {
          prepared.destroySync();
          const replace = geometry.map((column) => `ST_AsText(${ident(column)}) AS ${ident(column)}`).join(', ');
          prepared = await connection.prepare(`SELECT * REPLACE (${replace}) FROM (${text}) AS q`);
        }
        if (Object.keys(params).length > 0) prepared.bind(params);
        return readerRows(await prepared.runAndReadAll());
      } finally {
        prepared.destroySync();
      }
    });
  }

  async publish(run: DataRunContext, datasetId: string): Promise<PublishResult> {
    checkName('dataset_id', datasetId);
    const exported = await this.exclusive(run, (connection) => exportDataset(connection, run, this.file, this.uri, datasetId));
    const uri = pathToFileURL(exported.dir).href;
    run.record({
      kind: 'publish',
      dataset: datasetId,
      table: '',
      partitions: [],
      rows: exported.tables.reduce((sum, table) => sum + table.rows, 0),
      bytes: exported.tables.reduce((sum, table) => sum + table.bytes, 0),
      uri,
      mode: null,
    });
    return { dataset: datasetId, uri, tables: exported.tables.map((table) => table.name) };
  }

  /**
   * Closes the database file, runs `fn` (dbt, another process, opens the file meanwhile) and lets
   * the next operation reopen it. Operations queued meanwhile wait for `fn`.
   */
  async withFileReleased<T>(fn: () => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      this.release();
      return fn();
    });
  }

  async close(): Promise<void> {
    await this.serialized(async () => this.release());
  }

  /** Runs `fn` after every operation queued before it (the file's single-writer rule, in process). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `fn` on the open connection, in turn. A cancelled run interrupts the statement running
   * and refuses the next ones (an operation is several statements); whatever fails leaves no
   * transaction open. DuckDB's errors become DataErrors.
   */
  private exclusive<T>(run: DataRunContext | null, fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      if (run?.signal.aborted) throw new DataError('DATA_CANCELLED', 'the run was cancelled');
      let connection: DuckDBConnection | null = null;
      const interrupt = () => connection?.interrupt();
      run?.signal.addEventListener('abort', interrupt);
      try {
        connection = await this.open();
        return await fn(run ? refuseAfterAbort(connection, run.signal) : connection);
      } catch (error) {
        // Rolls back what an operation left open (an error between BEGIN and COMMIT); an error without a transaction is expected.
        await connection?.run('ROLLBACK').catch(() => undefined);
        if (error instanceof DataError) throw error;
        if (run?.signal.aborted) throw new DataError('DATA_CANCELLED', 'the run was cancelled while DuckDB worked');
        throw new DataError('DATA_BACKEND_ERROR', `DuckDB (${this.file}): ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        run?.signal.removeEventListener('abort', interrupt);
      }
    });
  }

  private async open(): Promise<DuckDBConnection> {
    if (this.connection) return this.connection;
    const extension = spatialExtensionPath(this.options, this.options.env);
    await mkdir(dirname(this.file), { recursive: true });
    const instance = await DuckDBInstance.create(this.file, { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    try {
      const connection = await instance.connect();
      await connection.run(`LOAD ${literal(extension)}`);
      for (const macro of BIGQUERY_GIS_MACROS) await connection.run(macro);
      this.instance = instance;
      this.connection = connection;
      return connection;
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  private release(): void {
    this.connection?.closeSync();
    this.instance?.closeSync();
    this.connection = null;
    this.instance = null;
  }

  private nextWriteKey(run: DataRunContext, datasetId: string, tableId: string): string {
    const key = `${run.flowRunId}\u0000${run.attempt}\u0000${datasetId}.${tableId}`;
    const count = (this.appendCounts.get(key) ?? 0) + 1;
    this.appendCounts.set(key, count);
    return `w${count}`;
  }
}

/** The connection, with every statement started after `signal` aborted refused (DATA_CANCELLED). */
function refuseAfterAbort(connection: DuckDBConnection, signal: AbortSignal): DuckDBConnection {
  const guarded = new Set<PropertyKey>(['run', 'runAndReadAll', 'prepare']);
  return new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!guarded.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        if (signal.aborted) return Promise.reject(new DataError('DATA_CANCELLED', 'the run was cancelled'));
        return value.apply(target, args);
      };
    },
  });
}

async function ensureSchemas(connection: DuckDBConnection, datasetId: string): Promise<void> {
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${ident(`${datasetId}_staging`)}`);
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${ident(datasetId)}`);
}

/** The columns of a table or view, in order; null when there is none. */
async function columnsOf(connection: DuckDBConnection, schema: string, table: string): Promise<string[] | null> {
  const rows = (
    await connection.runAndReadAll(
      `SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() AND table_schema = ${literal(schema)} ` +
        `AND table_name = ${literal(table)} ORDER BY ordinal_position`,
    )
  ).getRowsJson();
  return rows.length ? rows.map((row) => String(row[0])) : null;
}

/** The SQL of a view, as DuckDB keeps it; null when there is no such view. */
async function viewSql(connection: DuckDBConnection, schema: string, view: string): Promise<string | null> {
  const rows = (
    await connection.runAndReadAll(
      `SELECT sql FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ${literal(schema)} AND view_name = ${literal(view)}`,
    )
  ).getRowsJson();
  return rows.length ? String(rows[0]![0]) : null;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}
