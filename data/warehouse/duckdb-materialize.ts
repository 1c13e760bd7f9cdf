// Writing a production table on DuckDB the way BigQuery would: 'replace', 'replace-partitions'
// (DELETE the partitions the new rows touch, INSERT them, in one transaction) and 'append'
// (idempotent per outputKey + writeKey through a ledger written in the same transaction).
//
// DuckDB has no table partitioning or clustering: the layout is kept in the table's COMMENT as
// `{"fluxo": TableLayout}` (so later writes and the published README know it), and rows are
// ORDERed by it, which gives DuckDB's zone maps what BigQuery's partition pruning gives.
import { DuckDBTypeId, type DuckDBConnection } from '@duckdb/node-api';
import { DataError, type MaterializeMode, type MaterializeOptions } from '../contract.js';
import { INTERNAL_TABLE_PREFIX } from './duckdb-publish.js';
import { checkColumn, ident, literal } from './duckdb-sql.js';

/** The append ledger, one per dataset schema. */
export const LEDGER = `${INTERNAL_TABLE_PREFIX}appends`;
/** BigQuery's name for the partition of rows whose partition column is NULL. */
const NULL_PARTITION = '__NULL__';

/** How a production table is laid out (kept in its COMMENT as `{"fluxo": TableLayout}`). */
export interface TableLayout {
  partitionBy: { column: string; granularity: 'month' | 'day' } | null;
  clusterBy: string[];
}

/** One write, checked. */
export interface TableWrite {
  datasetId: string;
  tableId: string;
  /** The DuckDB SELECT. */
  sql: string;
  mode: MaterializeMode;
  layout: TableLayout;
  outputKey: string;
  /** Appends only. */
  writeKey: string | null;
}

export interface TableWriteOutcome {
  rows: number;
  rowsWritten: number;
  partitions: string[];
}

/** The layout the options ask for, validated (DATA_INVALID_ARGUMENT). */
export function checkLayout(options: MaterializeOptions): TableLayout {
  let partitionBy: TableLayout['partitionBy'] = null;
  if (options.partitionBy) {
    const { column, granularity } = options.partitionBy;
    checkColumn('partitionBy.column', column);
    if (granularity !== 'month' && granularity !== 'day') {
      throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy.granularity must be 'month' or 'day', not ${JSON.stringify(granularity)}`);
    }
    partitionBy = { column, granularity };
  }
  const clusterBy = options.clusterBy ?? [];
  if (!Array.isArray(clusterBy) || clusterBy.length > 4) throw new DataError('DATA_INVALID_ARGUMENT', 'clusterBy takes at most 4 columns');
  clusterBy.forEach((column) => checkColumn('clusterBy column', column));
  return { partitionBy, clusterBy: [...clusterBy] };
}

/** Writes the table (the dataset's schema exists). Runs its own transaction. */
export async function writeTable(connection: DuckDBConnection, write: TableWrite): Promise<TableWriteOutcome> {
  const { datasetId, tableId, sql, mode, layout, outputKey, writeKey } = write;
  const table = `${ident(datasetId)}.${ident(tableId)}`;
  const ledger = `${ident(datasetId)}.${ident(LEDGER)}`;
  const order = orderBy(layout);
  const comment = `COMMENT ON TABLE ${table} IS ${literal(JSON.stringify({ fluxo: layout }))}`;
  const partitionExpression = layout.partitionBy
    ? `CAST(date_trunc(${literal(layout.partitionBy.granularity)}, ${ident(layout.partitionBy.column)}) AS DATE)`
    : null;
  const count = (relation: string) => scalar(connection, `SELECT count(*) FROM ${relation}`);

  // Describe the query first: a missing or non-DATE partition column fails before any write.
  checkColumns(await describe(connection, sql), layout);
  const existing = await layoutOf(connection, datasetId, tableId);
  if (mode !== 'replace' && existing && !sameLayout(existing, layout)) {
    throw new DataError(
      'DATA_INVALID_ARGUMENT',
      `${datasetId}.${tableId} is ${describeLayout(existing)}, this write asks for ${describeLayout(layout)}: ` +
        `write with the table's layout, or use mode 'replace' to rebuild it`,
    );
  }
  return inTransaction(connection, async () => {
    if (mode === 'append') {
      await connection.run(
        `CREATE TABLE IF NOT EXISTS ${ledger} (table_id VARCHAR NOT NULL, output_key VARCHAR NOT NULL, write_key VARCHAR NOT NULL, ` +
          `rows BIGINT NOT NULL, written_at TIMESTAMP NOT NULL, PRIMARY KEY (table_id, output_key, write_key))`,
      );
      const done = await count(`${ledger} WHERE table_id = ${literal(tableId)} AND output_key = ${literal(outputKey)} AND write_key = ${literal(writeKey!)}`);
      if (done > 0) return { rowsWritten: 0, partitions: [], rows: await count(table) };
    }
    if (mode === 'replace') {
      await connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM (${sql}) AS q ${order}`);
      await connection.run(comment);
      const rows = await count(table);
      return { rowsWritten: rows, partitions: partitionExpression ? await partitionsOf(connection, partitionExpression, table) : [], rows };
    }
    // The new rows first, so the partitions they touch are known before anything is deleted.
    await connection.run(`CREATE OR REPLACE TEMP TABLE _fluxo_new AS SELECT * FROM (${sql}) AS q`);
    const rowsWritten = await count('_fluxo_new');
    const partitions = partitionExpression ? await partitionsOf(connection, partitionExpression, '_fluxo_new') : [];
    if (!existing) {
      await connection.run(`CREATE TABLE ${table} AS SELECT * FROM _fluxo_new ${order}`);
      await connection.run(comment);
    } else {
      if (mode === 'replace-partitions') {
        const column = ident(layout.partitionBy!.column);
        await connection.run(
          `DELETE FROM ${table} WHERE ${partitionExpression} IN (SELECT DISTINCT ${partitionExpression} FROM _fluxo_new) ` +
            `OR (${column} IS NULL AND EXISTS (SELECT 1 FROM _fluxo_new WHERE ${column} IS NULL))`,
        );
      }
      await connection.run(`INSERT INTO ${table} BY NAME SELECT * FROM _fluxo_new ${order}`);
    }
    if (mode === 'append') {
      await connection.run(`INSERT INTO ${ledger} VALUES (${literal(tableId)}, ${literal(outputKey)}, ${literal(writeKey!)}, ${rowsWritten}, current_localtimestamp())`);
    }
    await connection.run('DROP TABLE _fluxo_new');
    return { rowsWritten, partitions, rows: await count(table) };
  });
}

async function inTransaction<T>(connection: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
  await connection.run('BEGIN TRANSACTION');
  try {
    const result = await fn();
    await connection.run('COMMIT');
    return result;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<number> {
  const value = (await connection.runAndReadAll(sql)).getRowsJson()[0]?.[0];
  return Number(value ?? 0);
}

/** The columns a query returns and their types, without running it. */
async function describe(connection: DuckDBConnection, text: string): Promise<Map<string, DuckDBTypeId>> {
  const prepared = await connection.prepare(`SELECT * FROM (${text}) AS q`);
  try {
    const columns = new Map<string, DuckDBTypeId>();
    for (let index = 0; index < prepared.columnCount; index++) columns.set(prepared.columnName(index), prepared.columnTypeId(index));
    return columns;
  } finally {
    prepared.destroySync();
  }
}

function checkColumns(columns: Map<string, DuckDBTypeId>, layout: TableLayout): void {
  const names = [...columns.keys()].join(', ');
  if (layout.partitionBy) {
    const { column } = layout.partitionBy;
    const type = columns.get(column);
    if (type === undefined) throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy column ${column} is not among the query's columns (${names})`);
    if (type !== DuckDBTypeId.DATE) {
      throw new DataError('DATA_INVALID_ARGUMENT', `partitionBy column ${column} is ${DuckDBTypeId[type]}, not DATE: cast it in the SQL (CAST(… AS DATE))`);
    }
  }
  for (const column of layout.clusterBy) {
    if (!columns.has(column)) throw new DataError('DATA_INVALID_ARGUMENT', `clusterBy column ${column} is not among the query's columns (${names})`);
  }
}

/** The layout a table was written with; undefined when the table does not exist. */
async function layoutOf(connection: DuckDBConnection, datasetId: string, tableId: string): Promise<TableLayout | undefined> {
  const rows = (
    await connection.runAndReadAll(
      `SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ${literal(datasetId)} AND table_name = ${literal(tableId)}`,
    )
  ).getRowsJson();
  if (rows.length === 0) return undefined;
  try {
    const { fluxo } = JSON.parse(String(rows[0]![0])) as { fluxo?: TableLayout };
    if (fluxo) return { partitionBy: fluxo.partitionBy ?? null, clusterBy: fluxo.clusterBy ?? [] };
  } catch {
    // a table fluxo did not write (dbt's, a hand-made one): no layout
  }
  return { partitionBy: null, clusterBy: [] };
}

function sameLayout(a: TableLayout, b: TableLayout): boolean {
  return (
    a.partitionBy?.column === b.partitionBy?.column &&
    a.partitionBy?.granularity === b.partitionBy?.granularity &&
    a.clusterBy.length === b.clusterBy.length &&
    a.clusterBy.every((column, index) => column === b.clusterBy[index])
  );
}

function describeLayout(layout: TableLayout): string {
  const partition = layout.partitionBy ? `partitioned by ${layout.partitionBy.column} (${layout.partitionBy.granularity})` : 'not partitioned';
  return layout.clusterBy.length ? `${partition}, clustered by ${layout.clusterBy.join(', ')}` : partition;
}

function orderBy(layout: TableLayout): string {
  const columns = [...(layout.partitionBy ? [layout.partitionBy.column] : []), ...layout.clusterBy];
  return columns.length ? `ORDER BY ${columns.map(ident).join(', ')}` : '';
}

/** The partition dates (`2010-01-01`, `__NULL__`) among a relation's rows, sorted. */
async function partitionsOf(connection: DuckDBConnection, expression: string, relation: string): Promise<string[]> {
  const rows = (await connection.runAndReadAll(`SELECT DISTINCT CAST(${expression} AS VARCHAR) AS p FROM ${relation} ORDER BY p NULLS LAST`)).getRowsJson();
  return rows.map((row) => (row[0] === null ? NULL_PARTITION : String(row[0])));
}
