// Reads a `postgres://` database setting: the URL `pg` connects with, plus fluxo's own `pool`
// parameter, which PostgreSQL must not see.
import { FluxoError } from '../../../common/errors.js';

/** Connections per server process when the URL does not say. @default 10 */
export const DEFAULT_POOL_SIZE = 10;

export interface PostgresSettings {
  /** The URL without fluxo's parameters, as `pg` takes it. */
  connectionString: string;
  /** Most connections this process opens (`?pool=`). */
  poolSize: number;
}

/**
 * Parses `postgres://user:password@host:port/database?pool=20&sslmode=require`.
 *
 * @example parsePostgresUrl('postgres://fluxo@db/fluxo?pool=20').poolSize // 20
 */
export function parsePostgresUrl(database: string): PostgresSettings {
  let url: URL;
  try {
    url = new URL(database);
  } catch (error) {
    throw new FluxoError('BAD_USER_INPUT', `the database URL is not a URL: ${redactPostgresUrl(database)}`, { cause: error });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new FluxoError('BAD_USER_INPUT', `a PostgreSQL database URL starts with postgres:// or postgresql://, got ${url.protocol}//`);
  }
  const pool = url.searchParams.get('pool');
  let poolSize = DEFAULT_POOL_SIZE;
  if (pool !== null) {
    poolSize = Number(pool);
    if (!/^\d+$/.test(pool) || poolSize < 1 || poolSize > 1000) {
      throw new FluxoError('BAD_USER_INPUT', `the database URL's pool parameter must be an integer from 1 to 1000, got "${pool}"`);
    }
    url.searchParams.delete('pool');
  }
  return { connectionString: url.toString(), poolSize };
}

/** A database setting with any password replaced by `***`, safe to log. */
export function redactPostgresUrl(database: string): string {
  return database.replace(/^(postgres(?:ql)?:\/\/[^:/@?#]*):[^@/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
