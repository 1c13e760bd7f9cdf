// The Lake over a LakeStore: the write protocol that makes retries and reruns idempotent, and the
// table reads (partitions, columns).
//
// A write (1) prepares its files locally (stage-write.ts), checking everything it can, (2) lists
// the table once, (3) puts its files under their final names, (4) deletes what they replace. Its
// names are `<outputKey>_<writeKey>_a<attempt>_<n>`, so what it replaces is computable from the
// listing alone: the same write's files from other attempts (or this attempt's that it no longer
// writes), plus, by mode, the table's other files (overwrite) or those of the partitions it wrote
// (overwrite-partitions). New files go in before old ones go out, so a reader never sees the
// table without the data; a crash between (3) and (4) leaves duplicates that the next attempt's
// step (4) removes, and a rerun (same outputKey) replaces the first run's files the same way.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, type DataRunContext, type DataSource, type Lake, type LakeWriteMode, type LakeWriteOptions, type LakeWriteResult } from '../contract.js';
import { withMemoryDuckDB, sqlString } from './duckdb-memory.js';
import {
  checkFileKeys,
  checkName,
  dataFileFormat,
  dataFileName,
  parseOwnFileName,
  partitionOfKey,
  tablePath,
  type LakeFormat,
} from './lake-paths.js';
import type { LakeObject, LakeStore } from './lake-store.js';
import { stageWrite } from './stage-write.js';

const MODES: readonly LakeWriteMode[] = ['append', 'overwrite', 'overwrite-partitions'];
const FORMATS: readonly LakeFormat[] = ['parquet', 'csv'];

export interface StoreLakeOptions {
  /** Where writes prepare their files (needs room for one write's data). @default os.tmpdir() */
  tempDir?: string | undefined;
  /** Rows per file before a partition is split. @default 1_000_000 */
  rowsPerFile?: number | undefined;
}

export class StoreLake implements Lake {
  readonly root: string;
  readonly #store: LakeStore;
  readonly #options: StoreLakeOptions;

  constructor(store: LakeStore, options: StoreLakeOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.root = store.root;
  }

  tableUri(datasetId: string, tableId: string): string {
    return this.#store.uriOf(tablePath(datasetId, tableId));
  }

  async write(run: DataRunContext, datasetId: string, tableId: string, source: DataSource, options: LakeWriteOptions = {}): Promise<LakeWriteResult> {
    const table = tablePath(datasetId, tableId);
    const checked = checkOptions(options);
    const writeKey = checked.writeKey;
    checkFileKeys(run.outputKey, writeKey);
    if (!Number.isSafeInteger(run.attempt) || run.attempt < 1) throw new DataError('DATA_INVALID_ARGUMENT', `attempt ${run.attempt} is not a positive integer`);
    checkCancelled(run.signal);

    const work = await mkdtemp(join(this.#options.tempDir ?? tmpdir(), 'fluxo-lake-'));
    try {
      const staged = await stageWrite(
        source,
        { format: checked.format, partitionColumns: checked.partitionColumns, datePartition: checked.datePartition, rowsPerFile: this.#options.rowsPerFile, signal: run.signal },
        work,
      );
      checkCancelled(run.signal);

      const prefix = `${table}/`;
      const existing = await this.#store.list(prefix);
      const byKey = new Map(existing.map((object) => [object.key, object]));
      const planned = staged.files.map((file) => ({
        ...file,
        key: `${prefix}${file.partition === '' ? '' : `${file.partition}/`}${dataFileName(run.outputKey, writeKey, run.attempt, file.n, checked.format)}`,
      }));
      const plannedKeys = new Set(planned.map((file) => file.key));
      const touched = new Set(staged.partitions);
      const stale: LakeObject[] = [];
      const kept: LakeObject[] = [];
      for (const object of existing) {
        if (plannedKeys.has(object.key)) continue;
        (this.#isStale(object.key.slice(prefix.length), run.outputKey, writeKey, checked.mode, touched) ? stale : kept).push(object);
      }
      if (planned.length > 0) this.#checkCompatible(kept, prefix, checked.format, staged.partitionKeys);
      const owner = `${run.outputKey}/${writeKey}/a${run.attempt}`;
      if (this.#store.tracksOwners) {
        for (const file of planned) {
          const present = byKey.get(file.key);
          if (present && present.owner !== owner) {
            throw new DataError(
              'DATA_BACKEND_ERROR',
              `${this.#store.uriOf(file.key)} exists but was not written by this output (${present.owner ? `its writer is ${present.owner}` : 'it records no fluxo writer'}); refusing to replace it. Remove it by hand if it is stray`,
            );
          }
        }
      }

      const files: string[] = [];
      let bytes = 0;
      for (const file of planned) {
        checkCancelled(run.signal);
        const put = await this.#store.put(file.localPath, file.key, { replaces: byKey.get(file.key), owner });
        files.push(this.#store.uriOf(file.key));
        bytes += put.bytes;
      }
      let deleted = 0;
      for (const object of stale) {
        checkCancelled(run.signal);
        if (await this.#store.delete(object)) deleted += 1;
      }
      if (deleted > 0) await this.#store.prune(prefix);

      const uri = this.#store.uriOf(table);
      const partitions = staged.partitions.filter((partition) => partition !== '');
      run.record({ kind: 'lake', dataset: datasetId, table: tableId, partitions, rows: staged.rows, bytes, uri, mode: checked.mode });
      run.log('INFO', `lake: wrote ${staged.rows} rows in ${files.length} files (${bytes} bytes) to ${uri}${partitions.length > 0 ? `, ${partitions.length} partitions` : ''}; deleted ${deleted} stale files (${checked.mode})`);
      return { uri, files, partitions, deleted, rows: staged.rows, bytes };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  async partitions(datasetId: string, tableId: string): Promise<string[]> {
    const prefix = `${tablePath(datasetId, tableId)}/`;
    const paths = new Set<string>();
    for (const object of await this.#store.list(prefix)) {
      const relative = object.key.slice(prefix.length);
      const partition = partitionOfKey(relative);
      if (partition && partition.path !== '' && dataFileFormat(partition.name) && !partition.name.startsWith('.')) paths.add(partition.path);
    }
    return [...paths].sort();
  }

  async columns(datasetId: string, tableId: string): Promise<{ dataColumns: string[]; partitionKeys: string[]; format: 'csv' | 'parquet' } | null> {
    const prefix = `${tablePath(datasetId, tableId)}/`;
    const candidates: { key: string; size: number; keys: string[]; format: LakeFormat }[] = [];
    for (const object of await this.#store.list(prefix)) {
      const partition = partitionOfKey(object.key.slice(prefix.length));
      const format = partition && !partition.name.startsWith('.') ? dataFileFormat(partition.name) : null;
      if (partition && format) candidates.push({ key: object.key, size: object.size, keys: partition.keys, format });
    }
    // Writes keep a table's files alike (one format, one set of keys), so any file will do: the
    // smallest is the cheapest to fetch from a bucket.
    candidates.sort((a, b) => a.size - b.size || (a.key < b.key ? -1 : 1));
    const chosen = candidates[0];
    if (!chosen) return null;
    const dataColumns = await this.#store.withLocalCopy(chosen.key, (path) => readColumns(path, chosen.format));
    return { dataColumns, partitionKeys: chosen.keys, format: chosen.format };
  }

  /** Whether an object of the table (key relative to it) is replaced by this write. */
  #isStale(relative: string, outputKey: string, writeKey: string, mode: LakeWriteMode, touched: Set<string>): boolean {
    if (mode === 'overwrite') return true;
    const partition = partitionOfKey(relative);
    const name = partition?.name ?? relative.split('/').pop() ?? '';
    // This write's own files from any attempt (the ones it writes now are excluded by the caller),
    // and the temp files a crash of it left (file://: `.<final name>.<random>.tmp`).
    if (parseOwnFileName(name, outputKey, writeKey)) return true;
    if (name.startsWith(`.${outputKey}_${writeKey}_a`) && name.endsWith('.tmp')) return true;
    return mode === 'overwrite-partitions' && partition !== null && touched.has(partition.path);
  }

  /** The files that stay must agree with the new ones on format and partition keys, or the table becomes unreadable. */
  #checkCompatible(kept: LakeObject[], prefix: string, format: LakeFormat, partitionKeys: string[]): void {
    for (const object of kept) {
      const partition = partitionOfKey(object.key.slice(prefix.length));
      if (!partition || partition.name.startsWith('.')) continue;
      const otherFormat = dataFileFormat(partition.name);
      if (!otherFormat) continue;
      if (otherFormat !== format) {
        throw new DataError(
          'DATA_INVALID_ARGUMENT',
          `the table holds ${otherFormat} files (${this.#store.uriOf(object.key)}) and this write is ${format}: write ${otherFormat}, or use mode 'overwrite' to replace the table`,
        );
      }
      if (partition.keys.join('/') !== partitionKeys.join('/')) {
        throw new DataError(
          'DATA_INVALID_ARGUMENT',
          `the table is partitioned by [${partition.keys.join(', ')}] (${this.#store.uriOf(object.key)}) and this write by [${partitionKeys.join(', ')}]: use the same partitions, or mode 'overwrite' to replace the table`,
        );
      }
    }
  }
}

interface CheckedOptions {
  mode: LakeWriteMode;
  format: LakeFormat;
  partitionColumns: string[];
  datePartition: { column: string; granularity: 'year' | 'month' } | undefined;
  writeKey: string;
}

function checkOptions(options: LakeWriteOptions): CheckedOptions {
  const mode = options.mode ?? 'append';
  if (!MODES.includes(mode)) throw new DataError('DATA_INVALID_ARGUMENT', `mode ${JSON.stringify(mode)} is not one of ${MODES.join(', ')}`);
  const format = options.format ?? 'parquet';
  if (!FORMATS.includes(format)) throw new DataError('DATA_INVALID_ARGUMENT', `format ${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}`);
  const partitionColumns = options.partitionColumns ?? [];
  if (!Array.isArray(partitionColumns)) throw new DataError('DATA_INVALID_ARGUMENT', 'partitionColumns must be an array of column names');
  for (const column of partitionColumns) checkName('partition column', column);
  let datePartition: CheckedOptions['datePartition'];
  if (options.datePartition !== undefined) {
    const { column, granularity = 'month' } = options.datePartition;
    checkName('datePartition.column', column);
    if (granularity !== 'month' && granularity !== 'year') {
      throw new DataError('DATA_INVALID_ARGUMENT', `datePartition.granularity ${JSON.stringify(granularity)} is not 'month' or 'year'`);
    }
    datePartition = { column, granularity };
  }
  return { mode, format, partitionColumns, datePartition, writeKey: options.writeKey ?? 'w1' };
}

function checkCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new DataError('DATA_CANCELLED', 'the run was cancelled during the lake write; files already written stay until the next attempt or rerun replaces them');
}

/** The column names of one lake file, read with DuckDB. */
async function readColumns(path: string, format: LakeFormat): Promise<string[]> {
  // hive_partitioning off: the path's `k=v` folders are partition keys, not the file's columns.
  const reader =
    format === 'parquet'
      ? `read_parquet(${sqlString(path)}, hive_partitioning = false)`
      : `read_csv(${sqlString(path)}, header = true, all_varchar = true, hive_partitioning = false)`;
  try {
    return await withMemoryDuckDB(async (db) => (await db.rows(`select column_name from (describe select * from ${reader})`)).map((row) => String(row.column_name)));
  } catch (error) {
    throw new DataError('DATA_BACKEND_ERROR', `cannot read the columns of ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
