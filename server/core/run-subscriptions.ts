// What a reader follows of one run, free of transports: its state changes and its log lines, as
// async iterators over the event bus (which other replicas feed through remote-events.ts) and the
// store, like lease-signals.ts. The GraphQL subscriptions `flowRunStateChanged` and `flowRunLogs`
// are thin adapters over them.
//
// Both check the `read` role and find the run under the identity's tenant before the first event
// (NOT_FOUND otherwise, exactly like a run that does not exist), listen before their first read
// so nothing falls between the two, and end after the run's final state. `signal` ends them at
// once (the consumer hung up), so no listener waits on the bus for an event that may never come.
import type { Identity } from '../../common/identity.js';
import { finalStates, type FlowRunRecord, type LogRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { authorize } from './authorize.js';
import type { EventBus } from './events.js';
import { must } from './flow-reads.js';
import type { LogIds } from './log-ids.js';

/** What the run iterators read and listen to. */
export interface RunFeedDeps {
  store: Store;
  events: EventBus;
  logIds: LogIds;
}

const isFinal = (run: FlowRunRecord): boolean => finalStates.has(run.state);

/** Resolves at the next `wake()` or when `signal` aborts, whichever comes first. */
class Waker {
  #wake: (() => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.wake();

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort);
  }

  get ended(): boolean {
    return this.#signal?.aborted ?? false;
  }

  wake(): void {
    this.#wake?.();
  }

  async sleep(): Promise<void> {
    if (this.ended) return;
    await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = undefined;
  }

  close(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * The run as it is now, then each change of it, until its final state. Events come from this
 * replica (in order) and from others (read when notified, so possibly repeated or newer than the
 * change notified): each version is sent once, in increasing order. After a gap (the connection
 * hearing other replicas was down) the run is read again.
 *
 * @example for await (const run of flowRunStates(service, identity, id)) show(run.state)
 */
export async function* flowRunStates(deps: RunFeedDeps, identity: Identity, id: string, signal?: AbortSignal): AsyncGenerator<FlowRunRecord> {
  authorize(identity, 'read');
  const { tenant } = identity;
  const { events, store } = deps;
  const pending: FlowRunRecord[] = [];
  let reread = false;
  const waker = new Waker(signal);
  const onRun = (run: FlowRunRecord): void => {
    if (run.id !== id || run.tenant !== tenant) return;
    pending.push(run);
    waker.wake();
  };
  const onGap = (): void => {
    reread = true;
    waker.wake();
  };
  events.on('run:changed', onRun);
  events.on('events:gap', onGap);
  try {
    const current = await must(store.getFlowRun(tenant, id), `flow run ${id}`);
    yield current;
    if (isFinal(current)) return;
    let sent = current.version;
    while (!waker.ended) {
      if (reread) {
        reread = false;
        const fresh = await store.getFlowRun(tenant, id);
        if (fresh) pending.push(fresh);
      }
      while (pending.length) {
        const run = pending.shift()!;
        if (run.version <= sent) continue;
        sent = run.version;
        yield run;
        if (isFinal(run)) return;
      }
      if (reread) continue;
      await waker.sleep();
    }
  } finally {
    events.off('run:changed', onRun);
    events.off('events:gap', onGap);
    waker.close();
  }
}

/**
 * The run's log lines after `after` (a cursor or a line's id as the API shows them), then each
 * line stored later, until the run's final state. Lines are read from the store after the cursor
 * whenever lines of the run are stored (here or on another replica) or events may have been
 * missed: notifications only wake the iterator, so their order across replicas cannot make it
 * skip a line.
 *
 * @example for await (const line of flowRunLogLines(service, identity, id, null)) print(line.message)
 */
export async function* flowRunLogLines(
  deps: RunFeedDeps,
  identity: Identity,
  id: string,
  after: string | null | undefined,
  signal?: AbortSignal,
): AsyncGenerator<LogRecord> {
  authorize(identity, 'read');
  const { tenant } = identity;
  const { events, store } = deps;
  await must(store.getFlowRun(tenant, id), `flow run ${id}`);
  // Listen before reading the backlog so no line falls between the two.
  let dirty = true;
  let ended = false;
  const waker = new Waker(signal);
  const onLogs = (runId: string): void => {
    if (runId !== id) return;
    dirty = true;
    waker.wake();
  };
  const onRun = (run: FlowRunRecord): void => {
    if (run.id === id && isFinal(run)) {
      ended = true;
      dirty = true;
      waker.wake();
    }
  };
  const onGap = (): void => {
    dirty = true;
    waker.wake();
  };
  events.on('run:logs', onLogs);
  events.on('run:changed', onRun);
  events.on('events:gap', onGap);
  try {
    let cursor = Number(deps.logIds.after(after) ?? 0);
    const run = await store.getFlowRun(tenant, id);
    if (run && isFinal(run)) ended = true;
    while (!waker.ended) {
      while (dirty) {
        dirty = false;
        for (;;) {
          const page = await store.listLogs(tenant, id, { first: 1000, after: String(cursor) });
          for (const line of page.nodes) yield line;
          if (page.nodes.length) cursor = page.nodes.at(-1)!.id;
          if (!page.hasNextPage) break;
        }
      }
      // The final state is written after the run's last batch: once it is seen and the store
      // read after it, nothing more comes.
      if (ended) return;
      await waker.sleep();
    }
  } finally {
    events.off('run:logs', onLogs);
    events.off('run:changed', onRun);
    events.off('events:gap', onGap);
    waker.close();
  }
}
