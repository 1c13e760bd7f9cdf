// A throwaway in-memory DuckDB for one piece of work (a lake write, reading one file's schema).
// One instance per piece of work rather than a shared one: instances are cheap (~5 ms), nothing
// leaks between runs, and closing it frees the memory a big load took. Extensions are never
// installed or loaded behind our back (the agent may run without network; RECIPES.md).
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError } from '../contract.js';

// Imported on first use: a process that opens a lake only to name URIs or list partitions (or the
// agent's single binary, which carries no DuckDB) never loads the native module.
let loading: Promise<typeof import('@duckdb/node-api')> | undefined;
function loadDuckDB(): Promise<typeof import('@duckdb/node-api')> {
  loading ??= import('@duckdb/node-api').catch((error: unknown) => {
    loading = undefined;
    throw new DataError(
      'DATA_NOT_CONFIGURED',
      `DuckDB (@duckdb/node-api) cannot be loaded here (${error instanceof Error ? error.message : String(error)}); lake writes and schema reads need it: run from the npm package`,
    );
  });
  return loading;
}

/** Options of {@link openMemoryDuckDB}. */
export interface MemoryDuckDBOptions {
  /** Where DuckDB spills when a load exceeds memory. @default DuckDB's own (`.tmp` under the cwd) */
  tempDirectory?: string;
  /** Interrupts the running statement when it aborts (the statement then fails DATA_CANCELLED). */
  signal?: AbortSignal;
}

/** An open in-memory database and its one connection. */
export interface MemoryDuckDB {
  connection: DuckDBConnection;
  /** Runs a statement and returns its rows as JSON objects (numbers as JSON scalars, bigints as strings). */
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Disconnects and closes the instance; safe to call twice. */
  close(): void;
}

/**
 * Opens `:memory:` with extension autoinstall and autoload off.
 *
 * @example
 * const db = await openMemoryDuckDB();
 * try { await db.rows(`select 42 as answer`); } finally { db.close(); }
 */
export async function openMemoryDuckDB(options: MemoryDuckDBOptions = {}): Promise<MemoryDuckDB> {
  const settings: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
  if (options.tempDirectory !== undefined) settings.temp_directory = options.tempDirectory;
  const { DuckDBInstance } = await loadDuckDB();
  const instance = await DuckDBInstance.create(':memory:', settings);
  const connection = await instance.connect();
  const signal = options.signal;
  const onAbort = (): void => connection.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  let closed = false;
  return {
    connection,
    async rows(sql) {
      if (signal?.aborted) throw cancelled();
      try {
        return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      } catch (error) {
        // An interrupted statement fails with DuckDB's "INTERRUPT Error"; say why it was interrupted.
        if (signal?.aborted) throw cancelled();
        throw error;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', onAbort);
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * Runs `work` with a fresh in-memory DuckDB and closes it afterwards, whatever happens.
 *
 * @example const n = await withMemoryDuckDB(async (db) => (await db.rows('select 1 as n'))[0]?.n);
 */
export async function withMemoryDuckDB<T>(work: (db: MemoryDuckDB) => Promise<T>, options: MemoryDuckDBOptions = {}): Promise<T> {
  const db = await openMemoryDuckDB(options);
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

/** A SQL string literal: `it's` → `'it''s'`. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier: `a"b` → `"a""b"`. */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function cancelled(): DataError {
  return new DataError('DATA_CANCELLED', 'the run was cancelled while DuckDB was working; nothing more was written');
}
