// Names in the lake: the table prefix, Hive partition paths and the data files' names
// (`<outputKey>_<writeKey>_a<attempt>_<n>.<ext>`), with the rules that keep them unambiguous.
import { COLUMN_NAME_PATTERN, DATA_NAME_PATTERN, DataError } from '../contract.js';

/** Hive's folder name for a null partition value (DuckDB, Spark and BigQuery read it back as NULL). */
export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/** The keys `datePartition` derives, in their folder order. */
export const DATE_PARTITION_KEYS = ['ano_particao', 'mes_particao', 'data_particao'] as const;

export type LakeFormat = 'parquet' | 'csv';

// Run ids are UUIDs; no `_`, so the first `_` of a file name ends the outputKey.
const OUTPUT_KEY = /^[A-Za-z0-9-]{1,128}$/;
const WRITE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
// What follows `<outputKey>_<writeKey>_a` in a data file's name. A writeKey that extends another
// (`w1` and `w1_a2`) can never produce this tail for the shorter one: its tail would hold `_a`.
const ATTEMPT_TAIL = /^([1-9][0-9]{0,8})_(0|[1-9][0-9]{0,8})\.(parquet|csv)$/;
const DATA_FILE = /\.(parquet|csv)$/;

/** `staging/<dataset>/<table>` after checking both names (DATA_INVALID_ARGUMENT). */
export function tablePath(datasetId: string, tableId: string): string {
  checkName('dataset_id', datasetId, DATA_NAME_PATTERN);
  checkName('table_id', tableId, DATA_NAME_PATTERN);
  return `staging/${datasetId}/${tableId}`;
}

/** Throws DATA_INVALID_ARGUMENT unless `value` matches `pattern` (COLUMN_NAME_PATTERN / DATA_NAME_PATTERN). */
export function checkName(what: string, value: unknown, pattern: RegExp = COLUMN_NAME_PATTERN): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new DataError(
      'DATA_INVALID_ARGUMENT',
      `${what} ${JSON.stringify(value)} is not a valid name: use letters, digits and underscores, starting with a letter or underscore, at most 128 characters`,
    );
  }
}

/** Checks a run's outputKey and a write's writeKey for use in file names. */
export function checkFileKeys(outputKey: string, writeKey: string): void {
  if (!OUTPUT_KEY.test(outputKey)) {
    throw new DataError('DATA_INVALID_ARGUMENT', `outputKey ${JSON.stringify(outputKey)} cannot name lake files: use letters, digits and '-' (a run id), at most 128 characters`);
  }
  if (!WRITE_KEY.test(writeKey)) {
    throw new DataError('DATA_INVALID_ARGUMENT', `writeKey ${JSON.stringify(writeKey)} cannot name lake files: use letters, digits, '_' and '-', at most 64 characters`);
  }
}

/**
 * Why a partition value cannot be a folder name, or null when it can. Values are written as they
 * are (no percent-encoding), so anything a reader would split, decode or climb out with is refused.
 */
export function partitionValueProblem(value: string): string | null {
  if (value === '') return 'it is empty';
  if (value === HIVE_NULL) return `it is Hive's name for null`;
  if (value.includes('/') || value.includes('\\')) return `it contains a path separator`;
  if (value.includes('=')) return `it contains '='`;
  if (value.includes('..') || value === '.') return `it contains '..' or is '.'`;
  if (value.includes('%')) return `it contains '%' (Hive readers percent-decode partition values)`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'it contains a control character';
  if (Buffer.byteLength(value) > 256) return 'it is longer than 256 bytes';
  return null;
}

/** `k1=v1/k2=v2` for partition values (null → Hive's default partition). */
export function partitionPath(keys: readonly string[], values: readonly (string | null)[]): string {
  return keys.map((key, i) => `${key}=${values[i] ?? HIVE_NULL}`).join('/');
}

/** The data file name of one write's file. */
export function dataFileName(outputKey: string, writeKey: string, attempt: number, n: number, format: LakeFormat): string {
  return `${outputKey}_${writeKey}_a${attempt}_${n}.${format}`;
}

/** The attempt and index of a file written for this outputKey + writeKey, or null when the name is another write's. */
export function parseOwnFileName(name: string, outputKey: string, writeKey: string): { attempt: number; n: number; format: LakeFormat } | null {
  const prefix = `${outputKey}_${writeKey}_a`;
  if (!name.startsWith(prefix)) return null;
  const match = ATTEMPT_TAIL.exec(name.slice(prefix.length));
  if (!match) return null;
  return { attempt: Number(match[1]), n: Number(match[2]), format: match[3] as LakeFormat };
}

/** The format of a data file by its extension, or null for anything else (temp files, markers). */
export function dataFileFormat(name: string): LakeFormat | null {
  const match = DATA_FILE.exec(name);
  return match ? (match[1] as LakeFormat) : null;
}

/**
 * The Hive partition of an object key relative to the table (`ano=2010/x.parquet` → keys ['ano'],
 * path `ano=2010`), or null when its folders are not all `k=v`.
 */
export function partitionOfKey(relativeKey: string): { path: string; keys: string[]; name: string } | null {
  const segments = relativeKey.split('/');
  const name = segments.pop() ?? '';
  const keys: string[] = [];
  for (const segment of segments) {
    const eq = segment.indexOf('=');
    if (eq <= 0) return null;
    keys.push(segment.slice(0, eq));
  }
  return { path: segments.join('/'), keys, name };
}
