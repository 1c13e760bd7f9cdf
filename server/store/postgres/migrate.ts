// Applies the numbered migrations. Every replica calls this at start (and `fluxo server migrate`
// does once): a session advisory lock makes the others wait, then find nothing left to apply.
// Each migration commits with its `schema_migrations` row, so a failed one leaves the schema at the
// previous version (PostgreSQL DDL is transactional).
import { assertSchemaKnown } from '../cursor.js';
import { advisoryLocks } from './advisory-locks.js';
import type { PgDatabase } from './database.js';
import { migrations } from './migrations/index.js';
import { NOW_MS, sql } from './sql.js';

export async function migrate(db: PgDatabase): Promise<{ applied: number[]; current: number }> {
  return db.withClient(async (client) => {
    await client.rows(sql`SELECT pg_advisory_lock(${advisoryLocks.migrate.toString()}::bigint)`);
    try {
      await client.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const known = migrations.at(-1)?.version ?? 0;
      const current = (await client.row<{ v: number | null }>(sql`SELECT MAX(version) AS v FROM schema_migrations`))?.v ?? 0;
      assertSchemaKnown(current, known);
      const applied: number[] = [];
      for (const migration of migrations) {
        if (migration.version <= current) continue;
        await client.exec('BEGIN');
        try {
          await client.exec(migration.sql);
          await client.rows(sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, ${migration.name}, ${NOW_MS})`);
          await client.exec('COMMIT');
        } catch (error) {
          await client.exec('ROLLBACK').catch(() => undefined);
          throw error;
        }
        applied.push(migration.version);
      }
      return { applied, current: Math.max(current, ...applied) };
    } finally {
      await client.rows(sql`SELECT pg_advisory_unlock(${advisoryLocks.migrate.toString()}::bigint)`).catch(() => undefined);
    }
  });
}
