// Chooses the store from FLUXO_DATABASE / --database: a SQLite file path (the embedded default).
import { FluxoError } from '../common/errors.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

/** Opens the store a database setting names. `postgres://` URLs arrive with the PostgreSQL store. */
export function openStore(database: string): Store {
  if (/^postgres(ql)?:\/\//.test(database)) {
    throw new FluxoError('BAD_USER_INPUT', 'PostgreSQL is not supported by this build yet; use a SQLite file path');
  }
  return openSqliteStore(database.replace(/^sqlite:(\/\/)?/, ''));
}
