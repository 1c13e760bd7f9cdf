// One decision for "the database is unavailable, retry later" across both dialects
// (server/store/database-unavailable.ts): real errors from better-sqlite3 and from pg.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { unavailableReason } from '../../server/store/database-unavailable.js';
import { freePort, tempDir } from '../support/harness.js';

describe('unavailableReason', () => {
  it('calls a SQLite file locked by another connection busy', async () => {
    const path = join(await tempDir(), 'busy.db');
    const holder = new Database(path);
    const other = new Database(path, { timeout: 0 });
    holder.exec('create table t (x integer)');
    holder.exec('begin immediate');
    let error: unknown;
    try {
      other.exec('insert into t values (1)');
    } catch (caught) {
      error = caught;
    }
    holder.exec('rollback');
    holder.close();
    other.close();
    expect((error as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(unavailableReason(error)).toBe('the database is busy');
  });

  it('calls a refused PostgreSQL connection refused', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: await freePort(), connectionTimeoutMillis: 2_000 });
    const error = await client.connect().then(() => null, (caught: unknown) => caught);
    expect(unavailableReason(error)).toBe('connection refused');
  });

  it('leaves other errors alone: a SQL syntax error is a bug, not an outage', () => {
    const db = new Database(':memory:');
    let error: unknown;
    try {
      db.exec('selec 1');
    } catch (caught) {
      error = caught;
    }
    db.close();
    expect(unavailableReason(error)).toBeNull();
    expect(unavailableReason('not an error')).toBeNull();
  });
});
