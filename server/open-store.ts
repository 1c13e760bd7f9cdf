// Chooses the store from FLUXO_DATABASE / --database: a `postgres://` or `postgresql://` URL opens
// the PostgreSQL store (production, many replicas), anything else is a SQLite file path (the
// embedded default; `sqlite:` prefix optional).
import { openPostgresStore } from './store/postgres/postgres-store.js';
import { redactPostgresUrl } from './store/postgres/connection-settings.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Opens the store a database setting names. PostgreSQL URLs take `?pool=N` (connections per
 * process, default 10). SQLite opens its file at once, PostgreSQL connects on the first statement;
 * neither changes the schema until `migrate()`.
 *
 * @example openStore('postgres://fluxo:secret@db:5432/fluxo?pool=20')
 * @example openStore('fluxo-data/fluxo.db')
 */
export function openStore(database: string): Store {
  if (POSTGRES_URL.test(database)) return openPostgresStore(database);
  return openSqliteStore(database.replace(/^sqlite:(\/\/)?/, ''));
}

/** The database setting as it may be logged: a PostgreSQL URL's password is masked. */
export function describeDatabase(database: string): string {
  return POSTGRES_URL.test(database) ? redactPostgresUrl(database) : database;
}
