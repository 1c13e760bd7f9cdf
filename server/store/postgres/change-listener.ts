// Hearing what the other server replicas committed: LISTEN on a dedicated connection (a pooled
// one would drop its LISTENs when returned), payloads parsed into RemoteChanges, this replica's own
// notifications skipped (its local bus already had them). The connection is watched (errors,
// end, a periodic ping) and reopened with backoff when it drops; after every (re)connect a `gap`
// change tells the receiver that notifications sent meanwhile are lost, so it re-reads what it
// watches instead of waiting for an event that will never come.
import type pg from 'pg';
import type { ChangeWatch, RemoteChange } from '../store.js';
import { channels, type LogsPayload, type RunsPayload } from './change-feed.js';
import { closeClient, destroyClient, type PgDatabase } from './database.js';

/** Settings of {@link ChangeListener}. */
export interface ChangeListenerOptions {
  /** This replica's origin: its own notifications are skipped. */
  origin: string;
  onChange: (change: RemoteChange) => void;
  onError?: (error: Error) => void;
  /** How often an idle connection is checked. @default 10000 */
  pingMs?: number;
  /** First and largest delay before reconnecting. @default [100, 5000] */
  backoffMs?: [number, number];
}

/** Parses one notification; null for anything that is not a well-formed fluxo payload. */
export function parseNotification(channel: string, payload: string | undefined): (RemoteChange & { origin: string }) | null {
  let data: unknown;
  try {
    data = JSON.parse(payload ?? '');
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Partial<RunsPayload & LogsPayload> & { r?: unknown };
  if (typeof d.o !== 'string' || typeof d.t !== 'string') return null;
  if (channel === channels.runs && Array.isArray(d.r) && d.r.every((id) => typeof id === 'string')) {
    return { kind: 'runs', origin: d.o, tenant: d.t, runIds: d.r as string[], workAvailable: d.w === 1 };
  }
  if (channel === channels.logs && typeof d.r === 'string' && Number.isSafeInteger(d.a) && Number.isSafeInteger(d.b)) {
    return { kind: 'logs', origin: d.o, tenant: d.t, flowRunId: d.r, fromId: d.a!, toId: d.b! };
  }
  return null;
}

/** LISTENs for the other replicas' changes until closed, reconnecting by itself; connects at once. */
export class ChangeListener implements ChangeWatch {
  readonly #db: PgDatabase;
  readonly #options: ChangeListenerOptions;
  #client: pg.Client | null = null;
  #closed = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(db: PgDatabase, options: ChangeListenerOptions) {
    this.#db = db;
    this.#options = options;
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = this.#db.dedicatedClient('fluxo-listener');
    this.#client = client;
    let dropped = false;
    const drop = (error?: Error): void => {
      if (dropped) return;
      dropped = true;
      clearInterval(this.#pingTimer);
      if (this.#client === client) this.#client = null;
      client.removeAllListeners('notification');
      // Destroying the socket is enough; end() would wait for a server that may be gone.
      destroyClient(client);
      if (this.#closed) return;
      if (error) this.#options.onError?.(error);
      this.#failures += 1;
      const [first, most] = this.#options.backoffMs ?? [100, 5000];
      const delay = Math.min(most, first * 2 ** Math.min(this.#failures - 1, 16));
      this.#retryTimer = setTimeout(() => void this.#connect(), delay);
      this.#retryTimer.unref();
    };
    client.on('error', (error) => drop(error));
    client.on('end', () => drop(new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      const change = parseNotification(message.channel, message.payload);
      if (!change || change.origin === this.#options.origin) return;
      const { origin: _origin, ...rest } = change;
      this.#options.onChange(rest as RemoteChange);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channels.runs}; LISTEN ${channels.logs}`);
    } catch (error) {
      drop(error as Error);
      return;
    }
    if (this.#closed) {
      await closeClient(client);
      return;
    }
    this.#failures = 0;
    // Whatever was notified while this connection was not listening is lost: say so.
    this.#options.onChange({ kind: 'gap' });
    this.#pingTimer = setInterval(() => {
      // A half-open connection delivers nothing and reports nothing; a ping exposes it.
      const timeout = setTimeout(() => drop(new Error('the LISTEN connection did not answer a ping')), 5_000);
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        (error: Error) => {
          clearTimeout(timeout);
          drop(error);
        },
      );
    }, this.#options.pingMs ?? 10_000);
    this.#pingTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    this.#client = null;
    if (client) await closeClient(client);
  }
}
