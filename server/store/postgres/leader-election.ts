// Leader election among server replicas with a session-level advisory lock held on a dedicated
// connection. The replica whose `pg_try_advisory_lock` succeeds leads; the others try again every
// `retryMs`. The lock lives as long as the leader's session: when the leader process dies its
// connection closes, PostgreSQL frees the lock, and the next follower to try takes over (within
// one retry interval). The leader checks its session every `retryMs` too and steps down as soon as
// the connection fails, before PostgreSQL could hand the lock to someone else.
//
// What leaders do (reaping expired leases, retention) is safe to run twice at once (row locks with
// SKIP LOCKED), so the short overlap a network partition can cause — the old leader has not noticed
// yet, PostgreSQL already freed its lock — costs duplicate effort, never a wrong result.
import type pg from 'pg';
import type { LeaderElection, LeaderElectionOptions } from '../store.js';
import { closeClient, destroyClient, type PgDatabase } from './database.js';

/** Campaigns for the advisory lock `key` until closed; starts at once. */
export class AdvisoryLockElection implements LeaderElection {
  readonly #db: PgDatabase;
  readonly #key: bigint;
  readonly #options: LeaderElectionOptions;
  #client: pg.Client | null = null;
  #leader = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | null = null;

  constructor(db: PgDatabase, key: bigint, options: LeaderElectionOptions) {
    if (!Number.isInteger(options.retryMs) || options.retryMs < 10) throw new TypeError('retryMs must be an integer of at least 10');
    this.#db = db;
    this.#key = key;
    this.#options = options;
    this.#run();
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  #run(): void {
    if (this.#closed) return;
    this.#attempt = this.#campaign().finally(() => {
      this.#attempt = null;
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#run(), this.#options.retryMs);
      this.#timer.unref();
    });
  }

  /** One round: connect if needed, then take the lock (follower) or prove the session lives (leader). */
  async #campaign(): Promise<void> {
    try {
      const client = this.#client ?? (await this.#open());
      if (this.#leader) {
        await this.#query(client, 'SELECT 1');
        return;
      }
      const { rows } = await this.#query(client, 'SELECT pg_try_advisory_lock($1::bigint) AS got', [this.#key.toString()]);
      if ((rows[0] as { got?: boolean } | undefined)?.got && !this.#closed) this.#setLeader(true);
    } catch (error) {
      this.#drop(error as Error);
    }
  }

  async #open(): Promise<pg.Client> {
    const client = this.#db.dedicatedClient('fluxo-leader');
    // A connection that breaks between rounds: step down at once, not at the next round.
    client.on('error', (error) => this.#drop(error, client));
    client.on('end', () => this.#drop(new Error('the leader-election connection ended'), client));
    this.#client = client;
    try {
      await client.connect();
    } catch (error) {
      this.#drop(error as Error, client);
      throw error;
    }
    return client;
  }

  /** A query that fails if the session does not answer within one retry interval (a half-open connection). */
  async #query(client: pg.Client, text: string, values?: unknown[]): Promise<pg.QueryResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the leader-election connection did not answer within ${this.#options.retryMs} ms`)), Math.max(1_000, this.#options.retryMs));
    });
    try {
      return await Promise.race([client.query(text, values), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Forgets the connection (its session, and any lock it held, ends with it) and steps down. */
  #drop(error: Error, which: pg.Client | null = this.#client): void {
    if (which === null || which !== this.#client) return;
    this.#client = null;
    destroyClient(which);
    if (this.#leader) this.#setLeader(false);
    if (!this.#closed) this.#options.onError?.(error);
  }

  #setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    this.#options.onChange(leader);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#attempt?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    if (this.#leader) this.#setLeader(false);
    // Ending the session frees the lock for a follower at once (its next round).
    if (client) await closeClient(client);
  }
}
