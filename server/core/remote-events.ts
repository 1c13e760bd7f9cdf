// Feeds the local event bus with what other server replicas committed. The store tells us ids
// (PostgreSQL NOTIFY payloads stay small); the records are read here, and only when some
// subscription on this replica listens, so a replica nobody watches pays nothing but the wake-ups.
// The replica's own changes never come back this way: the store skips them (they were emitted on
// the local bus when they were made).
import type { Logger } from '../../common/logger.js';
import type { ChangeWatch, RemoteChange, Store } from '../store/store.js';
import type { EventBus } from './events.js';

/** Re-emits one remote change on `events`. */
export async function relayRemoteChange(store: Store, events: EventBus, change: RemoteChange): Promise<void> {
  switch (change.kind) {
    case 'runs': {
      if (change.workAvailable) events.emit('work:available', change.tenant);
      if (events.listenerCount('run:changed') === 0) return;
      // Read now, so possibly newer than what was notified: subscribers skip versions they have seen.
      for (const run of await store.getFlowRuns(change.tenant, change.runIds)) events.emit('run:changed', run);
      return;
    }
    case 'logs': {
      if (events.listenerCount('run:logs') === 0) return;
      const first = Math.min(5000, Math.max(1, change.toId - change.fromId + 1));
      const page = await store.listLogs(change.tenant, change.flowRunId, { first, after: String(change.fromId - 1) });
      const lines = page.nodes.filter((line) => line.id <= change.toId);
      if (lines.length > 0) events.emit('run:logs', change.flowRunId, lines);
      return;
    }
    case 'gap':
      events.emit('events:gap');
      return;
  }
}

/** Starts relaying the store's remote changes onto `events` until the returned watch is closed. */
export function relayRemoteChanges(store: Store, events: EventBus, logger: Logger): ChangeWatch {
  let warned = false;
  return store.watchChanges(
    (change) => {
      if (change.kind === 'gap' && warned) {
        logger.info('hearing other replicas again');
        warned = false;
      }
      relayRemoteChange(store, events, change).catch((error: unknown) => logger.warn({ err: error, change: change.kind }, 'could not read a change another replica made'));
    },
    (error) => {
      // Reconnects by itself; one warning per outage is enough.
      if (!warned) logger.warn({ err: error.message }, 'change notifications between replicas failed (the database unreachable?); retrying');
      warned = true;
    },
  );
}
