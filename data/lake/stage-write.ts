// The first half of a lake write, done locally: load the source into an in-memory DuckDB as
// VARCHAR columns, derive and check the partitions, and let DuckDB's COPY write the files of
// every partition into a private folder. Nothing reaches the lake here, so bad input (names,
// values, unreadable files) fails before a single object is written.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { COLUMN_NAME_PATTERN, DataError, type DataSource, type Row } from '../contract.js';
import { openMemoryDuckDB, sqlIdentifier, sqlString, type MemoryDuckDB } from './duckdb-memory.js';
import { DATE_PARTITION_KEYS, checkName, partitionPath, partitionValueProblem, type LakeFormat } from './lake-paths.js';

/** A write's checked options, as stageWrite needs them. */
export interface StageOptions {
  format: LakeFormat;
  partitionColumns: string[];
  datePartition?: { column: string; granularity: 'year' | 'month' } | undefined;
  /** Rows per file before a partition is split over several files. @default 1_000_000 */
  rowsPerFile?: number;
  signal?: AbortSignal;
}

/** One file DuckDB wrote, by partition and index. */
export interface StagedFile {
  localPath: string;
  /** `k=v/...`, or '' for an unpartitioned table. */
  partition: string;
  /** Index within the partition, from 0. */
  n: number;
  bytes: number;
}

export interface StagedWrite {
  dataColumns: string[];
  partitionKeys: string[];
  /** Every partition the rows fall in, sorted ('' alone for an unpartitioned table with rows). */
  partitions: string[];
  files: StagedFile[];
  rows: number;
}

/** A write touching more partitions than this is refused (BigQuery's per-job limit, and lineage's). */
export const MAX_PARTITIONS = 10_000;
const DEFAULT_ROWS_PER_FILE = 1_000_000;

/**
 * Loads `source` and writes its files under `dir` (which must exist and be empty).
 *
 * @example const staged = await stageWrite({ rows }, { format: 'parquet', partitionColumns: ['uf'] }, dir);
 */
export async function stageWrite(source: DataSource, options: StageOptions, dir: string): Promise<StagedWrite> {
  const dateKeys = options.datePartition ? DATE_PARTITION_KEYS.slice(0, options.datePartition.granularity === 'year' ? 1 : 3) : [];
  if ('rows' in source && Array.isArray(source.rows) && source.rows.length === 0) {
    // No rows, so no columns to check against: nothing to write (stale files are still removed).
    return { dataColumns: [], partitionKeys: [...dateKeys, ...options.partitionColumns], partitions: [], files: [], rows: 0 };
  }
  const db = await openMemoryDuckDB({ tempDirectory: join(dir, 'spill'), signal: options.signal });
  try {
    await loadSource(db, source);
    const sourceColumns = (await db.rows(`select column_name from (describe src)`)).map((row) => String(row.column_name));
    checkColumns(sourceColumns);

    // The table `t`: every source column, the derived date keys, and the source order.
    const derived: string[] = [];
    const datePartition = options.datePartition;
    if (datePartition) {
      const derivedKeys = dateKeys;
      if (!sourceColumns.includes(datePartition.column)) {
        throw new DataError('DATA_INVALID_ARGUMENT', `datePartition.column "${datePartition.column}" is not a column of the source (columns: ${sourceColumns.join(', ')})`);
      }
      const clash = derivedKeys.find((key) => sourceColumns.some((column) => column.toLowerCase() === key));
      if (clash) throw new DataError('DATA_INVALID_ARGUMENT', `the source already has a column "${clash}", which datePartition derives; rename it or drop datePartition`);
      derived.push(...(await deriveDateKeys(db, datePartition.column, derivedKeys.length)));
      await db.rows(`create view t as select *, ${derived.join(', ')}, rowid as __fluxo_row from src`);
    } else {
      await db.rows(`create view t as select *, rowid as __fluxo_row from src`);
    }
    const partitionKeys = [...dateKeys, ...options.partitionColumns];
    checkPartitionKeys(partitionKeys, options.partitionColumns, sourceColumns);
    const dataColumns = sourceColumns.filter((column) => !partitionKeys.includes(column));
    if (dataColumns.length === 0) {
      throw new DataError('DATA_INVALID_ARGUMENT', `every column of the source is a partition column (${partitionKeys.join(', ')}); the files need at least one data column`);
    }

    const rows = Number((await db.rows(`select count(*) as n from t`))[0]?.n ?? 0);
    if (rows === 0) return { dataColumns, partitionKeys, partitions: [], files: [], rows };
    const partitions = await listPartitions(db, partitionKeys);

    const rowsPerFile = options.rowsPerFile ?? DEFAULT_ROWS_PER_FILE;
    const columns = dataColumns.map(sqlIdentifier).map((c) => `t.${c}`).join(', ');
    const join_ = partitionKeys.map((key) => `t.${sqlIdentifier(key)} is not distinct from p.${sqlIdentifier(key)}`).join(' and ');
    const select =
      partitionKeys.length === 0
        ? `select ${columns}, 0 as __fluxo_part, (t.__fluxo_row // ${rowsPerFile}) as __fluxo_chunk from t order by t.__fluxo_row`
        : `select ${columns}, p.idx as __fluxo_part, ((row_number() over (partition by p.idx order by t.__fluxo_row) - 1) // ${rowsPerFile}) as __fluxo_chunk
           from t join parts p on ${join_} order by p.idx, t.__fluxo_row`;
    const out = join(dir, 'out');
    // Partitioning by our own integer index (not the values) keeps DuckDB's path escaping out of
    // it: the folder names are ours, built from the checked values.
    const format = options.format === 'parquet' ? `format parquet, compression zstd` : `format csv, header true`;
    await db.rows(`copy (${select}) to ${sqlString(out)} (${format}, partition_by (__fluxo_part, __fluxo_chunk), filename_pattern 'f_{i}')`);

    const files = await collectFiles(out, partitions, options.format);
    return { dataColumns, partitionKeys, partitions, files, rows };
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError('DATA_BACKEND_ERROR', `DuckDB could not prepare the lake files: ${firstLine(error)}`);
  } finally {
    db.close();
  }
}

async function loadSource(db: MemoryDuckDB, source: DataSource): Promise<void> {
  if ('rows' in source) return loadRows(db, source.rows);
  if ('csv' in source) {
    const delimiter = source.delimiter;
    if (delimiter !== undefined && (typeof delimiter !== 'string' || delimiter.length !== 1)) {
      throw new DataError('DATA_INVALID_ARGUMENT', `delimiter ${JSON.stringify(delimiter)} must be one character`);
    }
    // hive_partitioning off: a `k=v` folder in the flow's temp path must not add a column.
    const options = `header = true, all_varchar = true, hive_partitioning = false${delimiter === undefined ? '' : `, delim = ${sqlString(delimiter)}`}`;
    await readInput(db, `create table src as select * from read_csv(${sqlString(source.csv.path)}, ${options})`, 'CSV');
    return;
  }
  if ('parquet' in source) {
    const path = sqlString(source.parquet.path);
    const types = await readInput(db, `select column_name, column_type from (describe select * from read_parquet(${path}, hive_partitioning = false))`, 'Parquet');
    const casts = types.map(({ column_name: name, column_type: type }) => `${varcharOf(sqlIdentifier(String(name)), String(type))} as ${sqlIdentifier(String(name))}`);
    await readInput(db, `create table src as select ${casts.join(', ')} from read_parquet(${path}, hive_partitioning = false)`, 'Parquet');
    return;
  }
  throw new DataError('DATA_INVALID_ARGUMENT', 'the source must be { rows }, { csv: { path } } or { parquet: { path } }');
}

async function readInput(db: MemoryDuckDB, sql: string, what: string): Promise<Record<string, unknown>[]> {
  try {
    return await db.rows(sql);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError('DATA_INVALID_ARGUMENT', `the ${what} source cannot be read: ${firstLine(error)}`);
  }
}

/**
 * A column's text. Whole floating-point numbers lose their `.0` (a year read as DOUBLE is `2002`,
 * as a JS number would print it); everything else is DuckDB's own text of the value.
 */
function varcharOf(column: string, type: string): string {
  if (type === 'DOUBLE' || type === 'FLOAT') {
    return `case when isfinite(${column}) and ${column} = trunc(${column}) and abs(${column}) < 1e15 then cast(cast(${column} as bigint) as varchar) else cast(${column} as varchar) end`;
  }
  return `cast(${column} as varchar)`;
}

async function loadRows(db: MemoryDuckDB, rows: Row[]): Promise<void> {
  if (!Array.isArray(rows)) throw new DataError('DATA_INVALID_ARGUMENT', '`rows` must be an array of objects');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const [i, row] of rows.entries()) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new DataError('DATA_INVALID_ARGUMENT', `row ${i} is not an object`);
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  checkColumns(columns);
  if (columns.length === 0) {
    // No column at all: an empty table with one placeholder column keeps the rest uniform (0 rows, no files).
    await db.rows(`create table src (_ varchar)`);
    return;
  }
  await db.rows(`create table src (${columns.map((c) => `${sqlIdentifier(c)} varchar`).join(', ')})`);
  const appender = await db.connection.createAppender('src');
  try {
    for (const [i, row] of rows.entries()) {
      for (const column of columns) {
        const text = cellText(row[column], i, column);
        if (text === null) appender.appendNull();
        else appender.appendVarchar(text);
      }
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
}

/** A cell as lake text: numbers as JS prints them (2002, 0.1), booleans true/false, null stays null. */
function cellText(value: unknown, row: number, column: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  throw new DataError('DATA_INVALID_ARGUMENT', `row ${row}, column "${column}": ${JSON.stringify(value)} is not a string, number, boolean or null`);
}

function checkColumns(columns: string[]): void {
  const lower = new Set<string>();
  for (const column of columns) {
    checkName('column', column, COLUMN_NAME_PATTERN);
    // DuckDB's row-id pseudo-column and our own helper columns would shadow the staging query's.
    if (/^(rowid|__fluxo_.*)$/i.test(column)) throw new DataError('DATA_INVALID_ARGUMENT', `column "${column}" has a reserved name (rowid and __fluxo_*); rename it`);
    // BigQuery and DuckDB compare column names without case.
    if (lower.has(column.toLowerCase())) throw new DataError('DATA_INVALID_ARGUMENT', `column "${column}" appears twice (names are compared without case)`);
    lower.add(column.toLowerCase());
  }
}

function checkPartitionKeys(keys: string[], partitionColumns: string[], sourceColumns: string[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new DataError('DATA_INVALID_ARGUMENT', `partition column "${key}" is named twice (datePartition already adds ${DATE_PARTITION_KEYS.join(', ')})`);
    seen.add(key);
  }
  for (const column of partitionColumns) {
    if (!sourceColumns.includes(column)) {
      throw new DataError('DATA_INVALID_ARGUMENT', `partition column "${column}" is not a column of the source (columns: ${sourceColumns.join(', ')})`);
    }
  }
}

/** SQL expressions for ano_particao[, mes_particao, data_particao] from a date or year column, after checking every value. */
async function deriveDateKeys(db: MemoryDuckDB, column: string, count: number): Promise<string[]> {
  const c = sqlIdentifier(column);
  const isYear = `regexp_full_match(${c}, '[0-9]{4}')`;
  const isDate = `regexp_matches(${c}, '^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}')`;
  const bad = await db.rows(`select ${c} as v from src where ${c} is not null and not (${isYear} or ${isDate}) limit 1`);
  if (bad.length > 0) {
    throw new DataError(
      'DATA_INVALID_ARGUMENT',
      `datePartition.column "${column}" has the value ${JSON.stringify(bad[0]?.v)}, which is neither a date (YYYY-MM-DD…) nor a year (YYYY)`,
    );
  }
  const ano = `left(${c}, 4)`;
  const mes = `case when ${isYear} then '1' else cast(cast(substr(${c}, 6, 2) as integer) as varchar) end`;
  const data = `case when ${isYear} then ${c} || '-01-01' else left(${c}, 7) || '-01' end`;
  return [`${ano} as ano_particao`, `${mes} as mes_particao`, `${data} as data_particao`].slice(0, count);
}

/** Checks every partition's values, numbers the partitions in path order into table `parts`, and returns their paths. */
async function listPartitions(db: MemoryDuckDB, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [''];
  const list = keys.map(sqlIdentifier).join(', ');
  const tuples = await db.rows(`select distinct ${list} from t limit ${MAX_PARTITIONS + 1}`);
  if (tuples.length > MAX_PARTITIONS) {
    throw new DataError('DATA_INVALID_ARGUMENT', `the write touches more than ${MAX_PARTITIONS} partitions (${keys.join(', ')}); partition by coarser columns`);
  }
  const entries = tuples.map((tuple) => {
    const values = keys.map((key) => {
      const value = tuple[key];
      if (value === null || value === undefined) return null;
      const text = String(value);
      const problem = partitionValueProblem(text);
      if (problem) throw new DataError('DATA_INVALID_ARGUMENT', `partition column "${key}" has the value ${JSON.stringify(text)}, which cannot be a partition: ${problem}`);
      return text;
    });
    const path = partitionPath(keys, values);
    // Lineage records each partition path (recordMaterializations takes at most 512 characters).
    if (path.length > 512) throw new DataError('DATA_INVALID_ARGUMENT', `the partition path ${JSON.stringify(path.slice(0, 80))}… is longer than 512 characters; partition by shorter values`);
    return { values, path };
  });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await db.rows(`create table parts (idx integer, ${keys.map((k) => `${sqlIdentifier(k)} varchar`).join(', ')})`);
  const appender = await db.connection.createAppender('parts');
  try {
    for (const [idx, entry] of entries.entries()) {
      appender.appendInteger(idx);
      for (const value of entry.values) {
        if (value === null) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
  return entries.map((entry) => entry.path);
}

/** DuckDB's `__fluxo_part=I/__fluxo_chunk=C/f_K.ext` files, numbered per partition by (chunk, K). */
async function collectFiles(out: string, partitions: string[], format: LakeFormat): Promise<StagedFile[]> {
  const found: { part: number; chunk: number; k: number; path: string }[] = [];
  for (const partDir of await readdir(out)) {
    const part = /^__fluxo_part=(\d+)$/.exec(partDir);
    if (!part) continue;
    for (const chunkDir of await readdir(join(out, partDir))) {
      const chunk = /^__fluxo_chunk=(\d+)$/.exec(chunkDir);
      if (!chunk) continue;
      for (const name of await readdir(join(out, partDir, chunkDir))) {
        const file = new RegExp(`^f_(\\d+)\\.${format}$`).exec(name);
        if (file) found.push({ part: Number(part[1]), chunk: Number(chunk[1]), k: Number(file[1]), path: join(out, partDir, chunkDir, name) });
      }
    }
  }
  found.sort((a, b) => a.part - b.part || a.chunk - b.chunk || a.k - b.k);
  const next = new Map<number, number>();
  const files: StagedFile[] = [];
  for (const file of found) {
    const n = next.get(file.part) ?? 0;
    next.set(file.part, n + 1);
    const partition = partitions[file.part];
    if (partition === undefined) throw new Error(`DuckDB wrote a file for unknown partition index ${file.part}`);
    files.push({ localPath: file.path, partition, n, bytes: (await stat(file.path)).size });
  }
  return files;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}
