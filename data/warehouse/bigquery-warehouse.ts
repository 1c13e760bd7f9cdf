// The production warehouse: BigQuery, through the real @google-cloud/bigquery client.
//
// Layout (basedosdados' conventions): `<dataset>_staging.<table>` is an EXTERNAL table over the gs://
// lake's Hive folders, every column STRING; `<dataset>.<table>` is a native table, time-partitioned
// on a DATE column and clustered, written from SQL.
//
// How a materialization writes, and why:
// - The SQL runs once, into a script's TEMP table (`_fluxo_new_<random>`); the write that follows reads it.
//   So non-deterministic SQL cannot write one set of rows and report another, and the partitions a
//   write touches are read from the rows it writes.
// - The production table is created with tables.insert (schema from a dry run of the SQL, plus
//   timePartitioning and clustering) rather than by a query job's destinationTable or a CREATE TABLE
//   ... PARTITION BY: both are correct on BigQuery, but the emulator (bqemulator 1.4.0) ignores a
//   query job's destinationTable and drops the partitioning of DDL-created tables, and tables.insert
//   is the one path both honour.
// - Every mode then writes with DML inside one multi-statement transaction, which BigQuery commits
//   atomically: 'replace' deletes every row and inserts; 'replace-partitions' deletes the rows of
//   the partitions the new rows fall in (DATE_TRUNC on the partition column; NULL is its own
//   partition) and inserts. Partition decorators (`table$201001` with WRITE_TRUNCATE) would do the
//   latter in one job per partition on BigQuery, but not atomically across partitions, and the
//   emulator does not parse them.
// - 'append' is idempotent per (outputKey, dataset, table, writeKey): a ledger table
//   `<dataset>_staging._fluxo_appends` gets its row in the same transaction as the rows, and the
//   insert happens only when the ledger has none. The job id is derived from the same key, so a
//   second submission of a job that already ran is refused by BigQuery (409) before it runs; the
//   ledger is what holds across attempts and on the emulator, which does not enforce job-id
//   uniqueness. The ledger lives in the staging dataset because `<dataset>` may be published.
import { createHash, randomBytes } from 'node:crypto';
import type { BigQuery, Job, TableField, TableMetadata } from '@google-cloud/bigquery';
import {
  COLUMN_NAME_PATTERN,
  DATA_NAME_PATTERN,
  DataError,
  type Cell,
  type DataRunContext,
  type GoogleSettings,
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
import { createBigQueryClient } from '../google-clients.js';

/** The ledger of appends already done (in `<dataset>_staging`). */
export const APPENDS_LEDGER = '_fluxo_appends';
const MODES: readonly MaterializeMode[] = ['replace', 'replace-partitions', 'append'];
/** BigQuery's cap on clustering columns. */
const MAX_CLUSTER_COLUMNS = 4;
/** The access entry `publish` adds. */
const PUBLIC_READER = { role: 'READER', specialGroup: 'allUsers' } as const;

/** `bigquery://project[?location=EU]`, parsed. */
export interface BigQueryLocation {
  projectId: string;
  /** Where datasets are created and jobs run; BigQuery's default (US) when absent. */
  location?: string;
}

/**
 * Parses a `bigquery://project[?location=EU]` warehouse URI.
 * @throws DataError DATA_CONFIG_INVALID when it is not one.
 * @example parseBigQueryUri('bigquery://rj-escritorio?location=US') // { projectId: 'rj-escritorio', location: 'US' }
 */
export function parseBigQueryUri(uri: string): BigQueryLocation {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw new DataError('DATA_CONFIG_INVALID', `warehouse ${JSON.stringify(uri)} is not a URI; expected bigquery://project[?location=EU]`);
  }
  const projectId = url.hostname;
  if (url.protocol !== 'bigquery:' || projectId === '' || (url.pathname !== '' && url.pathname !== '/')) {
    throw new DataError('DATA_CONFIG_INVALID', `warehouse ${JSON.stringify(uri)} is not bigquery://project[?location=EU]`);
  }
  const location = url.searchParams.get('location') ?? undefined;
  return location === undefined || location === '' ? { projectId } : { projectId, location };
}

/** The text of an Sql for BigQuery. */
export function bigQuerySql(sql: Sql): string {
  return typeof sql === 'string' ? sql : sql.bigquery;
}

/** A BigQuery warehouse (kind 'bigquery'). Open with {@link BigQueryWarehouse.open}. */
export class BigQueryWarehouse implements Warehouse {
  readonly kind = 'bigquery' as const;
  readonly projectId: string;
  readonly location: string | undefined;
  /** Datasets known to exist, so a run's many writes ask once. */
  private readonly knownDatasets = new Set<string>();
  /** Appends per (run attempt, dataset, table): the default writeKey. */
  private readonly appendCounts = new Map<string, number>();

  /**
   * Opens `bigquery://project[?location=EU]` with a client built from `google` (data/google-clients.ts).
   * @example const warehouse = await BigQueryWarehouse.open('bigquery://rj-escritorio?location=US');
   */
  static async open(uri: string, google: GoogleSettings = {}): Promise<BigQueryWarehouse> {
    const where = parseBigQueryUri(uri);
    return new BigQueryWarehouse(await createBigQueryClient(where.projectId, google), where);
  }

  constructor(
    readonly bigquery: BigQuery,
    where: BigQueryLocation,
  ) {
    this.projectId = where.projectId;
    this.location = where.location;
  }

  async ensureDatasets(datasetId: string): Promise<void> {
    checkName('dataset_id', datasetId);
    for (const id of [`${datasetId}_staging`, datasetId]) {
      if (this.knownDatasets.has(id)) continue;
      try {
        await this.bigquery.createDataset(id, this.location === undefined ? {} : { location: this.location });
      } catch (error) {
        // 409: it exists already (created earlier, or by a concurrent run): what we wanted.
        if (statusOf(error) !== 409) throw backendError(error, `cannot create dataset ${this.projectId}.${id}`);
      }
      this.knownDatasets.add(id);
    }
  }

  async createStagingTable(run: DataRunContext, lake: Lake, datasetId: string, tableId: string, options: StagingOptions): Promise<StagingResult> {
    checkName('dataset_id', datasetId);
    checkName('table_id', tableId);
    if (!lake.root.startsWith('gs://')) {
      throw new DataError(
        'DATA_INVALID_ARGUMENT',
        `the lake ${lake.root} is not in Google Cloud Storage: BigQuery external tables read gs:// objects only; configure a gs://bucket lake for a bigquery:// warehouse`,
      );
    }
    const onDrift = options.onSchemaDrift ?? 'error';
    if (onDrift !== 'error' && onDrift !== 'recreate') {
      throw new DataError('DATA_INVALID_ARGUMENT', `onSchemaDrift must be 'error' or 'recreate', not ${JSON.stringify(onDrift)}`);
    }
    const columns = await lake.columns(datasetId, tableId);
    if (columns === null) {
      throw new DataError('DATA_NOT_FOUND', `no files under ${lake.tableUri(datasetId, tableId)}: land data in the lake before creating ${datasetId}_staging.${tableId}`);
    }
    for (const column of [...columns.dataColumns, ...columns.partitionKeys]) checkName('column', column);
    await this.ensureDatasets(datasetId);

    const stagingDataset = `${datasetId}_staging`;
    const name = `${stagingDataset}.${tableId}`;
    const resource = externalTableResource(lake.tableUri(datasetId, tableId), columns);
    const table = this.bigquery.dataset(stagingDataset).table(tableId);
    const existing = await this.tableMetadata(stagingDataset, tableId);
    let created = false;
    let recreated = false;
    if (existing === null) {
      created = await this.createTable(stagingDataset, tableId, resource);
    } else {
      const drift = stagingDrift(existing, columns);
      const existingFormat = existingLayout(existing)?.format;
      const formatChanged = existingFormat !== undefined && existingFormat !== columns.format;
      if (drift !== null && onDrift === 'error') {
        throw new DataError('DATA_SCHEMA_DRIFT', `${name} differs from the lake's files at ${lake.tableUri(datasetId, tableId)}: ${drift}; land the data with the table's columns, or pass onSchemaDrift: 'recreate'`);
      }
      // A changed file format is no schema change: the files were re-landed as another format,
      // and the table must read them as such.
      if (drift !== null || formatChanged) {
        run.log('INFO', `re-creating ${name}: ${drift ?? `the lake's files are now ${columns.format}`}`);
        await table.delete({ ignoreNotFound: true }).catch((error: unknown) => {
          throw backendError(error, `cannot delete ${name} to re-create it`);
        });
        await this.createTable(stagingDataset, tableId, resource);
        created = true;
        recreated = true;
      }
    }
    if (created) {
      const partitions = await lake.partitions(datasetId, tableId);
      run.record({ kind: 'staging', dataset: datasetId, table: tableId, partitions, rows: null, bytes: null, uri: this.uri(stagingDataset, tableId), mode: recreated ? 'recreate' : null });
    }
    return { table: name, columns: [...columns.dataColumns], partitionKeys: [...columns.partitionKeys], created };
  }

  async materialize(run: DataRunContext, datasetId: string, tableId: string, options: MaterializeOptions): Promise<MaterializeResult> {
    checkName('dataset_id', datasetId);
    checkName('table_id', tableId);
    const mode = options.mode ?? 'replace';
    if (!MODES.includes(mode)) throw new DataError('DATA_INVALID_ARGUMENT', `mode must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
    const partitionBy = options.partitionBy;
    if (partitionBy !== undefined) {
      checkName('partition column', partitionBy.column);
      if (partitionBy.granularity !== 'month' && partitionBy.granularity !== 'day') {
        throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy.granularity must be 'month' or 'day', not ${JSON.stringify(partitionBy.granularity)}`);
      }
    }
    if (mode === 'replace-partitions' && partitionBy === undefined) {
      throw new DataError('DATA_INVALID_ARGUMENT', `mode 'replace-partitions' needs partitionBy (the DATE column whose partitions the new rows replace)`);
    }
    const clusterBy = options.clusterBy ?? [];
    if (clusterBy.length > MAX_CLUSTER_COLUMNS) throw new DataError('DATA_INVALID_ARGUMENT', `clusterBy takes at most ${MAX_CLUSTER_COLUMNS} columns (BigQuery's limit), not ${clusterBy.length}`);
    for (const column of clusterBy) checkName('cluster column', column);
    const sql = bigQuerySql(options.sql).trim().replace(/;\s*$/, '');
    if (sql === '') throw new DataError('DATA_INVALID_ARGUMENT', 'materialize needs sql');
    const writeKey = options.writeKey ?? this.nextWriteKey(run, datasetId, tableId);
    const name = `${datasetId}.${tableId}`;
    await this.ensureDatasets(datasetId);

    // The SQL's columns, without running it.
    const fields = await this.dryRunSchema(run, sql);
    const fieldNames = new Set(fields.map((field) => field.name));
    if (partitionBy !== undefined) {
      const field = fields.find((candidate) => candidate.name === partitionBy.column);
      if (field === undefined) throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy column ${partitionBy.column} is not among the SQL's columns (${[...fieldNames].join(', ')})`);
      if (field.type !== 'DATE') throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy column ${partitionBy.column} is ${field.type}; it must be a DATE (CAST it in the SQL)`);
    }
    for (const column of clusterBy) {
      if (!fieldNames.has(column)) throw new DataError('DATA_INVALID_ARGUMENT', `clusterBy column ${column} is not among the SQL's columns (${[...fieldNames].join(', ')})`);
    }

    // The dry run's fields as they are (STRUCT columns keep their sub-fields).
    const wanted: TableMetadata = { schema: { fields: fields.map((field) => ({ ...field, mode: field.mode ?? 'NULLABLE' })) } };
    if (partitionBy !== undefined) wanted.timePartitioning = { type: partitionBy.granularity === 'month' ? 'MONTH' : 'DAY', field: partitionBy.column };
    if (clusterBy.length > 0) wanted.clustering = { fields: [...clusterBy] };
    const existing = await this.tableMetadata(datasetId, tableId);
    if (existing === null) {
      await this.createTable(datasetId, tableId, wanted);
    } else if (mode === 'replace' && !sameLayout(existing, wanted)) {
      // A replace may change the table's columns or partitioning, which DML cannot: the table is
      // re-created (readers see it missing for a moment; BigQuery keeps the old one for time travel).
      run.log('INFO', `re-creating ${name}: its columns, partitioning or clustering changed`);
      await this.bigquery.dataset(datasetId).table(tableId).delete({ ignoreNotFound: true }).catch((error: unknown) => {
        throw backendError(error, `cannot delete ${name} to re-create it`);
      });
      await this.createTable(datasetId, tableId, wanted);
    }

    const target = this.ref(datasetId, tableId);
    // A name of its own per call: BigQuery drops a script's TEMP tables when the script ends, the
    // emulator keeps them (in the dataset the SQL names first), so a fixed name would collide.
    const newTable = `_fluxo_new_${randomBytes(6).toString('hex')}`;
    const columnList = fields.map((field) => quoteIdentifier(field.name ?? '')).join(', ');
    const partitionExpr = partitionBy === undefined ? null : partitionBy.granularity === 'month' ? `DATE_TRUNC(${quoteIdentifier(partitionBy.column)}, MONTH)` : quoteIdentifier(partitionBy.column);
    const partitionsOfNew =
      partitionExpr === null ? 'CAST([] AS ARRAY<STRING>)' : `ARRAY(SELECT DISTINCT FORMAT_DATE('%Y-%m-%d', ${partitionExpr}) FROM ${newTable} WHERE ${partitionExpr} IS NOT NULL ORDER BY 1)`;
    const newRows = `CREATE TEMP TABLE ${newTable} AS\n${sql}\n`;
    let rows: Array<Record<string, unknown>>;
    if (mode === 'append') {
      const ledger = this.ref(`${datasetId}_staging`, APPENDS_LEDGER);
      const key = `output_key = ${stringLiteral(run.outputKey)} AND table_id = ${stringLiteral(tableId)} AND write_key = ${stringLiteral(writeKey)}`;
      // The ledger row names the submission that wrote it (its job id and a token of its own, since
      // the emulator runs a second job under the same id): this one wrote the rows only when the
      // row names it.
      const script = (jobId: string): string => {
        const writer = stringLiteral(`${jobId}/${randomBytes(8).toString('hex')}`);
        return [
          newRows,
          `CREATE TABLE IF NOT EXISTS ${ledger} (output_key STRING, table_id STRING, write_key STRING, written_by STRING, rows_written INT64, partitions ARRAY<STRING>, written_at TIMESTAMP)`,
          'BEGIN TRANSACTION',
          `IF NOT EXISTS (SELECT 1 FROM ${ledger} WHERE ${key}) THEN\n` +
            `  INSERT INTO ${target} (${columnList}) SELECT ${columnList} FROM ${newTable};\n` +
            `  INSERT INTO ${ledger} (output_key, table_id, write_key, written_by, rows_written, partitions, written_at) SELECT ${stringLiteral(run.outputKey)}, ${stringLiteral(tableId)}, ${stringLiteral(writeKey)}, ${writer}, (SELECT COUNT(*) FROM ${newTable}), ${partitionsOfNew}, CURRENT_TIMESTAMP();\n` +
            'END IF',
          'COMMIT TRANSACTION',
          `SELECT IF(written_by = ${writer}, rows_written, 0) AS written, IF(written_by = ${writer}, partitions, CAST([] AS ARRAY<STRING>)) AS partitions FROM ${ledger} WHERE ${key} LIMIT 1;`,
        ].join(';\n');
      };
      rows = await this.appendOnce(run, script, appendJobId(run.outputKey, datasetId, tableId, writeKey), name);
    } else {
      const statements = [newRows, 'BEGIN TRANSACTION'];
      if (mode === 'replace') {
        statements.push(`DELETE FROM ${target} WHERE TRUE`);
      } else {
        const expr = partitionExpr!;
        statements.push(`DELETE FROM ${target} WHERE ${expr} IN (SELECT DISTINCT ${expr} FROM ${newTable}) OR (${expr} IS NULL AND EXISTS (SELECT 1 FROM ${newTable} WHERE ${expr} IS NULL))`);
      }
      statements.push(
        `INSERT INTO ${target} (${columnList}) SELECT ${columnList} FROM ${newTable}`,
        'COMMIT TRANSACTION',
        `SELECT (SELECT COUNT(*) FROM ${newTable}) AS written, ${partitionsOfNew} AS partitions;`,
      );
      rows = await this.job(run, statements.join(';\n'), { what: `writing ${name}` });
    }
    const outcome = rows[0] ?? { written: 0, partitions: [] };
    const rowsWritten = Number(outcome.written ?? 0);
    const partitions = Array.isArray(outcome.partitions) ? outcome.partitions.map(String) : [];

    const [countRows] = await this.job(run, `SELECT COUNT(*) AS n FROM ${target}`, { what: `counting ${name}` });
    const metadata = await this.tableMetadata(datasetId, tableId);
    const bytes = metadata?.numBytes === undefined ? null : Number(metadata.numBytes);
    const result: MaterializeResult = { table: name, rows: Number(countRows?.n ?? 0), rowsWritten, partitions, bytes };
    // An append this run had already done wrote nothing now: nothing to record.
    if (mode !== 'append' || rowsWritten > 0) {
      run.record({ kind: 'table', dataset: datasetId, table: tableId, partitions, rows: rowsWritten, bytes, uri: this.uri(datasetId, tableId), mode });
    }
    return result;
  }

  async query(run: DataRunContext, sql: Sql, params: Record<string, Cell> = {}): Promise<Row[]> {
    const text = bigQuerySql(sql);
    if (text.trim() === '') throw new DataError('DATA_INVALID_ARGUMENT', 'query needs sql');
    for (const name of Object.keys(params)) checkName('query parameter', name);
    const rows = await this.job(run, text, { params, what: 'query' });
    // A Row holds scalars: an ARRAY or STRUCT column arrives as its JSON text.
    return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Array.isArray(value) ? JSON.stringify(value) : (value as Cell)])));
  }

  async publish(run: DataRunContext, datasetId: string): Promise<PublishResult> {
    checkName('dataset_id', datasetId);
    const dataset = this.bigquery.dataset(datasetId);
    // Read-modify-write with the etag (the client sends it as If-Match): a concurrent change to the
    // access list makes ours fail with 412 instead of overwriting it; read again and retry.
    for (let tries = 1; ; tries++) {
      let metadata;
      try {
        [metadata] = await dataset.getMetadata();
      } catch (error) {
        throw backendError(error, `cannot read dataset ${this.projectId}.${datasetId}`);
      }
      const access: Array<Record<string, unknown>> = metadata.access ?? [];
      if (access.some((entry) => entry.role === PUBLIC_READER.role && entry.specialGroup === PUBLIC_READER.specialGroup)) break;
      try {
        await dataset.setMetadata({ access: [...access, { ...PUBLIC_READER }], etag: metadata.etag });
        break;
      } catch (error) {
        if (statusOf(error) === 412 && tries < 5) continue;
        throw backendError(error, `cannot grant public read on ${this.projectId}.${datasetId}`);
      }
    }
    let tables: string[];
    try {
      const [list] = await dataset.getTables();
      tables = list.map((table) => table.id ?? '').filter((id) => id !== '' && !id.startsWith('_fluxo')).sort();
    } catch (error) {
      throw backendError(error, `cannot list the tables of ${this.projectId}.${datasetId}`);
    }
    const uri = `bigquery://${this.projectId}/${datasetId}`;
    run.record({ kind: 'publish', dataset: datasetId, table: '', partitions: [], rows: null, bytes: null, uri, mode: null });
    return { dataset: datasetId, uri, tables };
  }

  async close(): Promise<void> {
    // The client holds no connections of its own beyond keep-alive sockets, which close when idle.
  }

  /** `bigquery://project/dataset.table`, the lineage URI. */
  private uri(datasetId: string, tableId: string): string {
    return `bigquery://${this.projectId}/${datasetId}.${tableId}`;
  }

  /** A table reference for SQL: `` `project.dataset.table` ``. */
  private ref(datasetId: string, tableId: string): string {
    return `\`${this.projectId}.${datasetId}.${tableId}\``;
  }

  private nextWriteKey(run: DataRunContext, datasetId: string, tableId: string): string {
    const key = `${run.flowRunId}\u0000${run.attempt}\u0000${datasetId}\u0000${tableId}`;
    const count = (this.appendCounts.get(key) ?? 0) + 1;
    this.appendCounts.set(key, count);
    return String(count);
  }

  private async tableMetadata(datasetId: string, tableId: string): Promise<TableMetadata | null> {
    try {
      const [metadata] = await this.bigquery.dataset(datasetId).table(tableId).getMetadata();
      return metadata as TableMetadata;
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw backendError(error, `cannot read table ${this.projectId}.${datasetId}.${tableId}`);
    }
  }

  /** Creates a table; false when it appeared meanwhile (a concurrent run created it: same resource). */
  private async createTable(datasetId: string, tableId: string, resource: TableMetadata): Promise<boolean> {
    try {
      await this.bigquery.dataset(datasetId).createTable(tableId, resource);
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw backendError(error, `cannot create table ${this.projectId}.${datasetId}.${tableId}`);
    }
  }

  private async dryRunSchema(run: DataRunContext, sql: string): Promise<TableField[]> {
    try {
      const [job] = await this.bigquery.createQueryJob({ query: sql, dryRun: true, useLegacySql: false, ...this.jobLocation() });
      const fields = job.metadata?.statistics?.query?.schema?.fields as TableField[] | undefined;
      if (!fields || fields.length === 0) throw new DataError('DATA_INVALID_ARGUMENT', 'the SQL returns no columns: materialize needs a SELECT');
      return fields;
    } catch (error) {
      if (error instanceof DataError) throw error;
      throw backendError(error, 'BigQuery refused the SQL');
    } finally {
      checkCancelled(run);
    }
  }

  private jobLocation(): { location?: string } {
    return this.location === undefined ? {} : { location: this.location };
  }

  /**
   * Runs an append's script under its deterministic job id. A 409 means a job of that id exists:
   * done already when it succeeded (no rows written by this call); else (it failed) the script is
   * submitted again under a fresh id, and the ledger decides whether the rows go in.
   */
  private async appendOnce(run: DataRunContext, script: (jobId: string) => string, jobId: string, name: string): Promise<Array<Record<string, unknown>>> {
    try {
      return await this.job(run, script(jobId), { what: `appending to ${name}`, jobId });
    } catch (error) {
      if (!(error instanceof DataError) || statusOf((error as { cause?: unknown }).cause) !== 409) throw error;
    }
    try {
      const previous = this.bigquery.job(jobId, this.jobLocation());
      let [metadata] = await previous.getMetadata();
      if (metadata.status?.state !== 'DONE') {
        // Still running (the earlier call was cut off, not the job): its outcome decides.
        await previous.promise().catch(() => undefined);
        [metadata] = await previous.getMetadata();
      }
      if (metadata.status?.state === 'DONE' && metadata.status.errorResult == null) {
        run.log('INFO', `append to ${name} already done by job ${jobId}`);
        return [{ written: 0, partitions: [] }];
      }
    } catch (error) {
      throw backendError(error, `cannot read job ${jobId}`);
    }
    const retryId = `${jobId}_${randomBytes(6).toString('hex')}`;
    return this.job(run, script(retryId), { what: `appending to ${name}`, jobId: retryId });
  }

  /** Runs a query job to its end and returns its (last statement's) rows as JSON scalars. */
  private async job(run: DataRunContext, query: string, { params, what, jobId }: { params?: Record<string, Cell>; what: string; jobId?: string }): Promise<Array<Record<string, Cell | Cell[]>>> {
    checkCancelled(run);
    let job: Job;
    try {
      const options: Parameters<BigQuery['createQueryJob']>[0] & object = { query, useLegacySql: false, ...this.jobLocation() };
      if (jobId !== undefined) options.jobId = jobId;
      if (params !== undefined && Object.keys(params).length > 0) {
        options.params = params;
        // A null says nothing of its type, which BigQuery needs: nulls travel as STRING.
        const types = Object.fromEntries(Object.entries(params).filter(([, value]) => value === null).map(([name]) => [name, 'STRING']));
        if (Object.keys(types).length > 0) options.types = types;
      }
      [job] = await this.bigquery.createQueryJob(options);
    } catch (error) {
      throw backendError(error, what);
    }
    const cancel = (): void => {
      job.cancel().catch(() => undefined);
    };
    run.signal.addEventListener('abort', cancel, { once: true });
    try {
      const [rows] = await job.getQueryResults({ wrapIntegers: { integerTypeCastFunction: integerCell } });
      checkCancelled(run);
      return (rows as Array<Record<string, unknown>>).map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, toCell(value)])));
    } catch (error) {
      checkCancelled(run);
      throw backendError(error, what);
    } finally {
      run.signal.removeEventListener('abort', cancel);
    }
  }
}

/** Marks the line of a staging table's description that records the lake layout it was made for. */
const LAYOUT_MARKER = 'fluxo-lake-layout: ';

/** The lake layout a staging table is made for. */
export interface LakeLayout {
  dataColumns: string[];
  partitionKeys: string[];
  format: 'csv' | 'parquet';
}

/**
 * The EXTERNAL table resource for a lake table (what tables.insert receives), as basedosdados
 * creates its staging tables: Hive partition keys inferred as STRING from the `k=v/` folders
 * (STRINGS mode; BigQuery appends them to the schema), no partition filter required.
 * - CSV: the data columns declared STRING, no autodetection, the header row skipped, quoted
 *   newlines allowed (the lake writes RFC 4180 CSV).
 * - Parquet: no schema (BigQuery refuses externalDataConfiguration.schema for Parquet: the files
 *   describe themselves, and the lake writes every column as a string).
 * The description records the layout (BigQuery reports the schema back; the emulator does not, and
 * the description tells a reader what made the table).
 */
export function externalTableResource(tableUri: string, layout: LakeLayout) {
  const base = tableUri.replace(/\/+$/, '');
  const externalDataConfiguration: Record<string, unknown> & { sourceFormat: 'PARQUET' | 'CSV' } =
    layout.format === 'csv'
      ? {
          sourceFormat: 'CSV',
          sourceUris: [`${base}/*`],
          autodetect: false,
          schema: { fields: layout.dataColumns.map((name) => ({ name, type: 'STRING', mode: 'NULLABLE' })) },
          csvOptions: { skipLeadingRows: '1', allowQuotedNewlines: true },
        }
      : { sourceFormat: 'PARQUET', sourceUris: [`${base}/*`] };
  externalDataConfiguration.hivePartitioningOptions = { mode: 'STRINGS', sourceUriPrefix: `${base}/`, requirePartitionFilter: false };
  const recorded: LakeLayout = { dataColumns: [...layout.dataColumns], partitionKeys: [...layout.partitionKeys], format: layout.format };
  return {
    description: `Staging table over the lake files under ${base}/ (every column STRING; made by fluxo).\n${LAYOUT_MARKER}${JSON.stringify(recorded)}`,
    externalDataConfiguration,
  };
}

/** The layout an existing staging table reads: its schema as BigQuery reports it, else what its description records. */
function existingLayout(existing: TableMetadata): { dataColumns: string[]; partitionKeys: string[] | null; format?: string } | null {
  const inferredKeys = existing.externalDataConfiguration?.hivePartitioningOptions?.fields as string[] | undefined;
  const fields = (existing.schema?.fields ?? []).map((field) => field.name ?? '');
  if (fields.length > 0) {
    const keys = inferredKeys ?? [];
    const format = existing.externalDataConfiguration?.sourceFormat?.toLowerCase();
    return { dataColumns: fields.filter((name) => !keys.includes(name)), partitionKeys: inferredKeys ?? null, ...(format ? { format } : {}) };
  }
  const line = (existing.description ?? '').split('\n').find((candidate) => candidate.startsWith(LAYOUT_MARKER));
  if (line === undefined) return null;
  try {
    const recorded = JSON.parse(line.slice(LAYOUT_MARKER.length)) as LakeLayout;
    return { dataColumns: recorded.dataColumns, partitionKeys: recorded.partitionKeys, format: recorded.format };
  } catch {
    return null;
  }
}

/**
 * How an existing staging table's columns differ from the lake's, or null. BigQuery appends the Hive
 * keys it inferred to the schema (and lists them in hivePartitioningOptions.fields); a key the lake
 * has but the table's schema lacks as a data column is such a key, not drift.
 */
export function stagingDrift(existing: TableMetadata, lake: LakeLayout): string | null {
  const layout = existingLayout(existing);
  if (layout === null) return 'its columns cannot be read';
  const tableColumns = layout.dataColumns.filter((name) => !lake.partitionKeys.includes(name) || layout.partitionKeys !== null);
  const problems: string[] = [];
  const added = lake.dataColumns.filter((name) => !tableColumns.includes(name));
  const missing = tableColumns.filter((name) => !lake.dataColumns.includes(name));
  if (added.length > 0) problems.push(`the lake has column${added.length > 1 ? 's' : ''} ${added.join(', ')} that the table lacks`);
  if (missing.length > 0) problems.push(`the table has column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that the lake lacks`);
  if (layout.partitionKeys !== null && layout.partitionKeys.join('/') !== lake.partitionKeys.join('/')) {
    problems.push(`the table's partition keys are ${layout.partitionKeys.join('/') || '(none)'}, the lake's ${lake.partitionKeys.join('/') || '(none)'}`);
  }
  return problems.length === 0 ? null : problems.join('; ');
}

/** Whether an existing table already has the columns (names, types, order), partitioning and clustering wanted. */
function sameLayout(existing: TableMetadata, wanted: TableMetadata): boolean {
  const shape = (fields: TableField[] | undefined): string => (fields ?? []).map((field) => `${field.name}:${normaliseType(field.type)}`).join(',');
  const partitioning = (metadata: TableMetadata): string => (metadata.timePartitioning ? `${metadata.timePartitioning.type}:${metadata.timePartitioning.field ?? ''}` : '');
  const clustering = (metadata: TableMetadata): string => (metadata.clustering?.fields ?? []).join(',');
  return shape(existing.schema?.fields) === shape(wanted.schema?.fields) && partitioning(existing) === partitioning(wanted) && clustering(existing) === clustering(wanted);
}

/** Legacy and standard names of the same types (tables.get answers INTEGER for INT64). */
function normaliseType(type: string | undefined): string {
  switch (type) {
    case 'INT64':
      return 'INTEGER';
    case 'FLOAT64':
      return 'FLOAT';
    case 'BOOL':
      return 'BOOLEAN';
    default:
      return type ?? '';
  }
}

/**
 * The job id of an append: the same for the same (outputKey, dataset, table, writeKey), so BigQuery
 * refuses a second submission of it.
 */
export function appendJobId(outputKey: string, datasetId: string, tableId: string, writeKey: string): string {
  const digest = createHash('sha256').update([outputKey, datasetId, tableId, writeKey].join('\u0000')).digest('hex').slice(0, 40);
  return `fluxo_append_${digest}`;
}

function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !(what.includes('column') ? COLUMN_NAME_PATTERN : DATA_NAME_PATTERN).test(name)) {
    throw new DataError('DATA_INVALID_ARGUMENT', `${what} ${JSON.stringify(name)} is not a valid name: letters, digits and underscores, starting with a letter or underscore, at most 128`);
  }
}

function checkCancelled(run: DataRunContext): void {
  if (run.signal.aborted) throw new DataError('DATA_CANCELLED', 'the run was cancelled while its BigQuery job ran (the job was asked to stop)');
}

function quoteIdentifier(name: string): string {
  return `\`${name}\``;
}

/** A GoogleSQL string literal (names here are validated; keys such as outputKey are arbitrary text). */
function stringLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** INT64 as a number when exact, else its decimal text. */
function integerCell(value: string): number | string {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value;
}

/** The client's typed values (BigQueryDate, Big, Buffer, …) as JSON scalars. */
function toCell(value: unknown): Cell | Cell[] {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map((item) => toCell(item)) as Cell[];
  if (typeof value === 'object') {
    // BigQueryDate, BigQueryDatetime, BigQueryTime, BigQueryTimestamp, Geography: { value }.
    const inner = (value as { value?: unknown }).value;
    if (typeof inner === 'string') return inner;
    // NUMERIC / BIGNUMERIC arrive as Big: a number when it survives the trip, else its text.
    if (value.constructor?.name === 'Big') {
      const text = String(value);
      return String(Number(text)) === text ? Number(text) : text;
    }
    return JSON.stringify(value);
  }
  return String(value);
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** BigQuery's failure as a DataError: 404 (or reason notFound) → DATA_NOT_FOUND, else DATA_BACKEND_ERROR with BigQuery's message. */
function backendError(error: unknown, what: string): DataError {
  if (error instanceof DataError) return error;
  const errors = (error as { errors?: Array<{ reason?: string; message?: string }> } | null)?.errors ?? [];
  const message = (error as Error | null)?.message || errors.map((item) => item.message).join('; ') || String(error);
  const notFound = statusOf(error) === 404 || errors.some((item) => item.reason === 'notFound');
  const dataError = new DataError(notFound ? 'DATA_NOT_FOUND' : 'DATA_BACKEND_ERROR', `${what}: ${message}`);
  Object.defineProperty(dataError, 'cause', { value: error, enumerable: false });
  return dataError;
}
