// Choosing the store from the database setting, and reading a PostgreSQL URL. No database needed:
// both stores open lazily (PostgreSQL connects on the first statement).
import { describe, expect, it } from 'vitest';
import { describeDatabase, openStore } from '../../server/open-store.js';
import { parsePostgresUrl, redactPostgresUrl } from '../../server/store/postgres/connection-settings.js';
import { PostgresStore } from '../../server/store/postgres/postgres-store.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { onCleanup, tempDir } from '../support/harness.js';

describe('openStore', () => {
  it.each(['postgres://fluxo@127.0.0.1:1/fluxo', 'postgresql://fluxo@127.0.0.1:1/fluxo', 'POSTGRES://fluxo@127.0.0.1:1/fluxo'])('opens PostgreSQL for %s', async (url) => {
    const store = openStore(url);
    onCleanup(() => store.close());
    expect(store).toBeInstanceOf(PostgresStore);
  });

  it.each(['', 'sqlite:', 'sqlite://'])('opens SQLite for a file path (prefix "%s")', async (prefix) => {
    const store = openStore(`${prefix}${await tempDir()}/fluxo.db`);
    onCleanup(() => store.close());
    expect(store).toBeInstanceOf(SqliteStore);
  });

  it('sizes the pool from ?pool= and keeps other parameters for pg', async () => {
    const store = openStore('postgres://fluxo:secret@db.internal:5433/fluxo?pool=3&sslmode=disable') as PostgresStore;
    onCleanup(() => store.close());
    expect(store.db.pool.options.max).toBe(3);
    expect(store.db.pool.options.connectionString).toBe('postgres://fluxo:secret@db.internal:5433/fluxo?sslmode=disable');
  });

  it('uses 10 connections when the URL does not say', () => {
    expect(parsePostgresUrl('postgres://db/fluxo').poolSize).toBe(10);
  });

  it.each(['0', '-1', '2.5', 'many', '1001'])('refuses pool=%s with BAD_USER_INPUT', (pool) => {
    expect(() => openStore(`postgres://fluxo@db/fluxo?pool=${pool}`)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: `the database URL's pool parameter must be an integer from 1 to 1000, got "${pool}"` }),
    );
  });

  it.each([
    ['postgres://fluxo:s3cr%40t@db:5432/fluxo?pool=5', 'postgres://fluxo:***@db:5432/fluxo?pool=5'],
    ['postgresql://fluxo@db/fluxo', 'postgresql://fluxo@db/fluxo'],
    ['postgres://db/fluxo?user=fluxo&password=hunter2', 'postgres://db/fluxo?user=fluxo&password=***'],
  ])('masks the password of %s in what it logs', (url, redacted) => {
    expect(redactPostgresUrl(url)).toBe(redacted);
    expect(describeDatabase(url)).toBe(redacted);
  });

  it('describes a SQLite path as it is', () => {
    expect(describeDatabase('fluxo-data/fluxo.db')).toBe('fluxo-data/fluxo.db');
  });
});
