// Telling the other server replicas what this one committed, with PostgreSQL NOTIFY, so their
// long-polls and subscriptions wake up for work and events that appear anywhere.
//
// The store's writers hand their results here once the write has committed; the publisher
// coalesces what piles up while one NOTIFY statement is in flight and sends it with the next one.
// NOTIFY serialises committing transactions database-wide (a global queue lock held until commit),
// so one small notifying statement per burst costs far less than a NOTIFY inside every write.
// Payloads are small (tenant and ids; PostgreSQL's limit is 8,000 bytes): receivers read the records.
// Every payload carries this replica's `origin`, so its own listener can skip what it already
// emitted on its local bus.
import { mayFreeWork } from '../limits-store.js';
import type { FlowRunRecord, LogRecord } from '../records.js';
import type { PgDatabase } from './database.js';
import { sql } from './sql.js';

/** The channels fluxo notifies on (per database). */
export const channels = {
  /** `{"o": origin, "t": tenant, "w": 1 when a run became SCHEDULED, "r": [run ids]}` */
  runs: 'fluxo_runs',
  /** `{"o": origin, "t": tenant, "r": run id, "a": first log id, "b": last log id}` */
  logs: 'fluxo_logs',
} as const;

/** A run-changes payload on the wire. */
export interface RunsPayload {
  o: string;
  t: string;
  w?: 1;
  r: string[];
}

/** A log-lines payload on the wire. */
export interface LogsPayload {
  o: string;
  t: string;
  r: string;
  a: number;
  b: number;
}

/** Bytes a payload may take; PostgreSQL refuses more than 8,000. */
const MAX_PAYLOAD_BYTES = 7_000;

/**
 * Sends NOTIFYs for committed changes, coalesced: at most one statement in flight, and what
 * arrives meanwhile goes with the next.
 *
 * @example publisher.runs([run]); publisher.logs(tenant, runId, storedLines)
 */
export class ChangePublisher {
  readonly origin: string;
  readonly #db: PgDatabase;
  readonly #onError: (error: Error) => void;
  /** Pending run ids by tenant. */
  #runs = new Map<string, { ids: Set<string>; work: boolean }>();
  /** Pending log id ranges by run. */
  #logs = new Map<string, { tenant: string; from: number; to: number }>();
  #scheduled = false;
  #inFlight: Promise<void> | null = null;

  constructor(db: PgDatabase, origin: string, onError: (error: Error) => void = () => {}) {
    this.#db = db;
    this.origin = origin;
    this.#onError = onError;
  }

  /** Runs that changed (committed). */
  runs(runs: readonly FlowRunRecord[]): void {
    for (const run of runs) {
      let pending = this.#runs.get(run.tenant);
      if (!pending) this.#runs.set(run.tenant, (pending = { ids: new Set(), work: false }));
      pending.ids.add(run.id);
      if (mayFreeWork(run)) pending.work = true;
    }
    if (runs.length > 0) this.#schedule();
  }

  /** Log lines stored for a run (committed). */
  logs(tenant: string, flowRunId: string, lines: readonly LogRecord[]): void {
    if (lines.length === 0) return;
    let from = Infinity;
    let to = -Infinity;
    for (const line of lines) {
      from = Math.min(from, line.id);
      to = Math.max(to, line.id);
    }
    const pending = this.#logs.get(flowRunId);
    if (pending) {
      pending.from = Math.min(pending.from, from);
      pending.to = Math.max(pending.to, to);
    } else {
      this.#logs.set(flowRunId, { tenant, from, to });
    }
    this.#schedule();
  }

  /** Sends what is pending and waits for it (before the pool closes). */
  async flush(): Promise<void> {
    while (this.#inFlight || this.#runs.size > 0 || this.#logs.size > 0) {
      if (this.#inFlight) await this.#inFlight;
      else await this.#send();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // Next turn of the event loop: writes that complete together share one NOTIFY statement.
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#inFlight) void this.#send();
    });
  }

  #send(): Promise<void> {
    const payloads = this.#drain();
    if (payloads.length === 0) return Promise.resolve();
    this.#inFlight = this.#db
      .rows(sql`SELECT pg_notify(n.channel, n.payload) FROM unnest(${payloads.map((p) => p[0])}::text[], ${payloads.map((p) => p[1])}::text[]) AS n(channel, payload)`)
      .then(
        () => undefined,
        // The write itself committed; only the wake-up is lost. Other replicas' long-polls still
        // end within their wait and re-check, so this is logged, not retried.
        (error: unknown) => this.#onError(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        this.#inFlight = null;
        if (this.#runs.size > 0 || this.#logs.size > 0) this.#schedule();
      });
    return this.#inFlight;
  }

  /** Takes everything pending as [channel, payload] pairs, each payload under the size limit. */
  #drain(): [string, string][] {
    const out: [string, string][] = [];
    for (const [tenant, { ids, work }] of this.#runs) {
      const base = JSON.stringify({ o: this.origin, t: tenant, ...(work ? { w: 1 } : {}), r: [] } satisfies RunsPayload);
      let chunk: string[] = [];
      let size = base.length;
      const emit = (): void => {
        out.push([channels.runs, JSON.stringify({ o: this.origin, t: tenant, ...(work ? { w: 1 as const } : {}), r: chunk } satisfies RunsPayload)]);
        chunk = [];
        size = base.length;
      };
      for (const id of ids) {
        const cost = Buffer.byteLength(JSON.stringify(id)) + 1;
        if (chunk.length > 0 && size + cost > MAX_PAYLOAD_BYTES) emit();
        chunk.push(id);
        size += cost;
      }
      if (chunk.length > 0) emit();
    }
    for (const [runId, { tenant, from, to }] of this.#logs) {
      out.push([channels.logs, JSON.stringify({ o: this.origin, t: tenant, r: runId, a: from, b: to } satisfies LogsPayload)]);
    }
    this.#runs = new Map();
    this.#logs = new Map();
    return out;
  }
}
