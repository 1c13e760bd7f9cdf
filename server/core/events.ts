// In-process events: wake long-polling claims when work appears, and feed subscriptions with run
// state changes and log lines. The bus knows no transport. With several replicas on PostgreSQL,
// remote-events.ts feeds it what the other replicas committed (LISTEN/NOTIFY), so a long-poll or a
// subscription on any replica hears of changes made through any other.
import { EventEmitter, on } from 'node:events';
import { mayFreeWork } from '../store/limits-store.js';
import type { FlowRunRecord, LogRecord } from '../store/records.js';

export interface ServerEvents {
  /** A run changed state. */
  'run:changed': [run: FlowRunRecord];
  /** Log lines were stored for a run. */
  'run:logs': [runId: string, lines: LogRecord[]];
  /** A tenant may have claimable work (a run became SCHEDULED, or one ended and freed a concurrency slot). */
  'work:available': [tenant: string];
  /**
   * Events from other replicas may have been missed (the connection that hears them was down):
   * whoever waits for an event should read the store again rather than keep waiting.
   */
  'events:gap': [];
  /** Schedules may need the scheduler (a version with other clocks, a resume): it fills at once instead of at its next interval. */
  'schedules:changed': [];
}

export class EventBus extends EventEmitter<ServerEvents> {
  constructor() {
    super();
    // Every long-poll and subscription listens; there can be many.
    this.setMaxListeners(0);
  }

  runsChanged(runs: FlowRunRecord[]): void {
    const tenants = new Set<string>();
    for (const run of runs) {
      this.emit('run:changed', run);
      if (mayFreeWork(run)) tenants.add(run.tenant);
    }
    for (const tenant of tenants) this.emit('work:available', tenant);
  }

  /** Resolves when work for `tenant` may be available, after `ms`, or when `signal` aborts. */
  waitForWork(tenant: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('work:available', onWork);
        this.off('events:gap', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onWork = (t: string): void => {
        if (t === tenant) done();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.on('work:available', onWork);
      this.on('events:gap', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Async iterator over one event, ended by `signal`. */
  stream<K extends keyof ServerEvents>(event: K, signal: AbortSignal): AsyncIterableIterator<ServerEvents[K]> {
    return on(this as EventEmitter, event, { signal }) as AsyncIterableIterator<ServerEvents[K]>;
  }
}
