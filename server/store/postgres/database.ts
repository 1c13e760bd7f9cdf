// The connection side of the PostgreSQL store: a `pg` Pool, statements and transactions over it,
// and the one place that turns "the database is unreachable" into SERVICE_UNAVAILABLE. Callers
// never see a `pg` connection error: a client gets a coded 503 with a short reason, the server log
// keeps the cause.
import pg from 'pg';
import { FluxoError } from '../../../common/errors.js';
import { unavailableReason } from '../database-unavailable.js';
import type { Sql } from './sql.js';

/** Runs statements: the pool (each statement on its own) or one transaction's connection. */
export interface Executor {
  rows<R>(query: Sql): Promise<R[]>;
  /** The first row, or undefined. */
  row<R>(query: Sql): Promise<R | undefined>;
  /** Runs SQL text without parameters, possibly several statements (migrations). */
  exec(text: string): Promise<void>;
}

export interface PgDatabaseOptions {
  /** A `postgres://` URL as `pg` reads it (without fluxo's own `pool` parameter). */
  connectionString: string;
  /** Most connections this process opens. @default 10 */
  max?: number;
  /** How long a statement waits for a free connection or a new one before giving up. @default 5000 */
  connectionTimeoutMs?: number;
  /** Told about errors of idle connections (PostgreSQL restarted, network cut); they are dropped either way. */
  onIdleError?: (error: Error) => void;
}

// int8 (bigint: epoch ms, counts, log ids) as a JS number rather than pg's default string: every
// value fluxo stores fits in 2^53 (epoch ms until year 287,396). Scoped to this pool, not global.
const INT8 = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

// SQLSTATEs after which the statement may succeed if the whole transaction runs again.
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/** The error a caller sees: SERVICE_UNAVAILABLE for connection trouble, the error itself otherwise. */
export function mapError(error: unknown): unknown {
  if (error instanceof FluxoError) return error;
  const reason = unavailableReason(error);
  if (reason === null) return error;
  return new FluxoError('SERVICE_UNAVAILABLE', `the database is unavailable (${reason}); retry shortly`, { cause: error });
}

/**
 * Ends a dedicated connection politely, or cuts it when the server does not answer within
 * `timeoutMs` (it may be gone: a shutdown must not wait for a database that is down).
 */
export async function closeClient(client: pg.Client, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  destroyClient(client);
}

/** Cuts a dedicated connection at once (its session, and any advisory lock, ends with it on the server). */
export function destroyClient(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

class ClientExecutor implements Executor {
  readonly client: pg.PoolClient;

  constructor(client: pg.PoolClient) {
    this.client = client;
  }

  async rows<R>(query: Sql): Promise<R[]> {
    return (await this.client.query({ ...query.compile(), types })).rows as R[];
  }

  async row<R>(query: Sql): Promise<R | undefined> {
    return (await this.rows<R>(query))[0];
  }

  async exec(text: string): Promise<void> {
    await this.client.query(text);
  }
}

/** A pool of connections to one PostgreSQL database. */
export class PgDatabase implements Executor {
  readonly pool: pg.Pool;
  readonly #connectionString: string;
  readonly #connectionTimeoutMs: number;

  constructor(options: PgDatabaseOptions) {
    this.#connectionString = options.connectionString;
    this.#connectionTimeoutMs = options.connectionTimeoutMs ?? 5000;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'fluxo',
      types,
    });
    // An idle connection that breaks (PostgreSQL restarted) emits 'error' on the pool; without a
    // listener that would end the process. The pool drops the connection and opens a new one later.
    this.pool.on('error', (error) => options.onIdleError?.(error));
  }

  async rows<R>(query: Sql): Promise<R[]> {
    try {
      return (await this.pool.query({ ...query.compile(), types })).rows as R[];
    } catch (error) {
      throw mapError(error);
    }
  }

  async row<R>(query: Sql): Promise<R | undefined> {
    return (await this.rows<R>(query))[0];
  }

  async exec(text: string): Promise<void> {
    try {
      await this.pool.query(text);
    } catch (error) {
      throw mapError(error);
    }
  }

  /**
   * A new connection outside the pool, for session state that must outlive any one request: the
   * LISTEN connection and the leader's advisory lock. Not connected yet; the caller owns it (and
   * must listen for its 'error' events).
   */
  dedicatedClient(applicationName: string): pg.Client {
    return new pg.Client({
      connectionString: this.#connectionString,
      connectionTimeoutMillis: this.#connectionTimeoutMs,
      keepAlive: true,
      application_name: applicationName,
      types,
    });
  }

  /**
   * Runs `work` on one connection checked out of the pool (for session state such as advisory
   * locks). A connection that failed is destroyed rather than returned to the pool.
   */
  async withClient<T>(work: (executor: ClientExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw mapError(error);
    }
    // A checked-out connection has no listener of its own: one that breaks between two statements
    // would otherwise crash the process. The next statement on it fails and is mapped below.
    const ignore = (): void => {};
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      return await work(new ClientExecutor(client));
    } catch (error) {
      if (unavailableReason(error) !== null) broken = error as Error;
      throw mapError(error);
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  /**
   * Runs `work` in one READ COMMITTED transaction: committed when it resolves, rolled back when it
   * throws. Row locks (`FOR UPDATE`) inside give the compare-and-set its atomicity. A transaction
   * that loses a deadlock or serialization race runs again from the start (at most `attempts` times).
   */
  async transaction<T>(work: (tx: Executor) => Promise<T>, attempts = 3): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withClient(async (tx) => {
          await tx.exec('BEGIN');
          try {
            const result = await work(tx);
            await tx.exec('COMMIT');
            return result;
          } catch (error) {
            // After a broken connection ROLLBACK fails too; the connection is destroyed anyway.
            await tx.exec('ROLLBACK').catch(() => undefined);
            throw error;
          }
        });
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (attempt < attempts && typeof code === 'string' && RETRYABLE.has(code)) continue;
        throw error;
      }
    }
  }

  /** Closes every connection; later calls do nothing. */
  async close(): Promise<void> {
    if (this.pool.ended || this.pool.ending) return;
    await this.pool.end();
  }
}

export type { ClientExecutor };
