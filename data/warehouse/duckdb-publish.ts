// DuckDB's answer to BigQuery's "allUsers READER": a read-only export of a dataset next to the
// warehouse file, `<dir>/public/<dataset>/<table>.parquet` plus a README.md, that anyone with read
// access to the folder (a web server, a shared drive) can hand out without touching the .duckdb file.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError, type DataRunContext } from '../contract.js';
import { ident, literal } from './duckdb-sql.js';

/** Tables of this prefix are the warehouse's own bookkeeping (the append ledger): never published. */
export const INTERNAL_TABLE_PREFIX = '_fluxo_';

export interface ExportedTable {
  name: string;
  rows: number;
  bytes: number;
  columns: { name: string; type: string }[];
  /** The table's COMMENT (partitioning and clustering as JSON), if any. */
  comment: string | null;
}

export interface DatasetExport {
  dir: string;
  tables: ExportedTable[];
}

/** `<dir of the .duckdb file>/public/<dataset>`. */
export function publicDir(databaseFile: string, datasetId: string): string {
  return join(dirname(databaseFile), 'public', datasetId);
}

async function readRows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

/**
 * Exports every table and view of schema `datasetId` to Parquet under publicDir, files 0444 and
 * folder 0555. The export is written to a temporary sibling folder first and then renamed over the
 * old one, so a reader sees the old export or the new one, never half of one (between the two
 * renames the folder is briefly absent: rename(2) cannot replace a non-empty directory).
 */
export async function exportDataset(
  connection: DuckDBConnection,
  run: DataRunContext,
  databaseFile: string,
  warehouseUri: string,
  datasetId: string,
): Promise<DatasetExport> {
  const schemas = await readRows(connection, `SELECT 1 FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ${literal(datasetId)}`);
  if (schemas.length === 0) throw new DataError('DATA_NOT_FOUND', `dataset ${datasetId} does not exist in ${warehouseUri}: materialize a table into it first`);
  const relations = await readRows(
    connection,
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_catalog = current_database() AND table_schema = ${literal(datasetId)} AND NOT starts_with(table_name, ${literal(INTERNAL_TABLE_PREFIX)})
     ORDER BY table_name`,
  );
  const target = publicDir(databaseFile, datasetId);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const staging = join(parent, `.${datasetId}.${randomBytes(6).toString('hex')}.tmp`);
  await mkdir(staging);
  try {
    const tables: ExportedTable[] = [];
    for (const { name } of relations as { name: string }[]) {
      const qualified = `${ident(datasetId)}.${ident(name)}`;
      const file = join(staging, `${name}.parquet`);
      await connection.run(`COPY (SELECT * FROM ${qualified}) TO ${literal(file)} (FORMAT parquet)`);
      const [count] = await readRows(connection, `SELECT count(*) AS n FROM ${qualified}`);
      const columns = (await readRows(
        connection,
        `SELECT column_name AS name, data_type AS type FROM information_schema.columns
         WHERE table_catalog = current_database() AND table_schema = ${literal(datasetId)} AND table_name = ${literal(name)}
         ORDER BY ordinal_position`,
      )) as { name: string; type: string }[];
      const [described] = await readRows(
        connection,
        `SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ${literal(datasetId)} AND table_name = ${literal(name)}`,
      );
      tables.push({
        name,
        rows: Number(count?.n ?? 0),
        bytes: (await stat(file)).size,
        columns,
        comment: typeof described?.comment === 'string' ? described.comment : null,
      });
    }
    await writeFile(join(staging, 'README.md'), readme(run, warehouseUri, datasetId, tables));
    for (const entry of await readdir(staging)) await chmod(join(staging, entry), 0o444);
    await chmod(staging, 0o555);
    await replaceDir(staging, target);
    return { dir: target, tables };
  } catch (error) {
    await removeDir(staging);
    throw error;
  }
}

/** Renames `from` to `to`, moving an existing `to` aside first and deleting it afterwards. */
async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${from}.old`;
  let moved = false;
  try {
    await rename(to, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await rename(from, to);
  if (moved) await removeDir(old);
}

/** rm -rf of a read-only export: its folder is 0555, so it must be made writable before its files can go. */
async function removeDir(dir: string): Promise<void> {
  await chmod(dir, 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

function readme(run: DataRunContext, warehouseUri: string, datasetId: string, tables: ExportedTable[]): string {
  const lines = [
    `# ${datasetId}`,
    '',
    `Public, read-only export of the dataset \`${datasetId}\` of ${warehouseUri}, written ${new Date().toISOString()}`,
    `by flow run ${run.flowRunId} (attempt ${run.attempt}, output ${run.outputKey}).`,
    'Each table is one Parquet file; re-publishing replaces the whole folder.',
    '',
  ];
  if (tables.length === 0) lines.push('The dataset has no tables.', '');
  for (const table of tables) {
    lines.push(`## ${table.name}`, '', `\`${table.name}.parquet\`: ${table.rows} rows, ${table.bytes} bytes.`);
    const layout = layoutOf(table.comment);
    if (layout) lines.push(layout);
    lines.push('', '| column | type |', '| --- | --- |');
    for (const column of table.columns) lines.push(`| ${column.name} | ${column.type} |`);
    lines.push('');
  }
  return lines.join('\n');
}

function layoutOf(comment: string | null): string | null {
  if (!comment) return null;
  try {
    const { fluxo } = JSON.parse(comment) as { fluxo?: { partitionBy?: { column: string; granularity: string } | null; clusterBy?: string[] } };
    const parts: string[] = [];
    if (fluxo?.partitionBy) parts.push(`Partitioned by ${fluxo.partitionBy.column} (${fluxo.partitionBy.granularity}).`);
    if (fluxo?.clusterBy?.length) parts.push(`Clustered by ${fluxo.clusterBy.join(', ')}.`);
    return parts.length ? parts.join(' ') : null;
  } catch {
    return null;
  }
}
