// Relaying one run's task states and log lines to the server in batches (PROTOCOL.md section 5):
// at most every 200 ms, or at once when 1,000 entries wait. States and lines form one ordered
// queue (a RunSpool: a batch or two in memory, the rest on disk while the server is unreachable,
// bounded by the agent's spool budget), so a task state always leaves before the lines logged
// after it. Each batch (task states, log lines, lineage writes) carries a batch id and is retried
// with the same id on transport errors, so it lands once.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCredentialRefusal } from '../contract/credential-refusal.js';
import { FluxoError, coerceError } from '../common/errors.js';
import type { LogLineInput, MaterializationInput, RunBatchInput, TaskRunStateInput } from '../schema/generated/graphql.js';
import type { LogEvent, TaskStateEvent } from '../sdk/runtime/protocol.js';
import type { AgentApi } from './agent-api.js';
import { RetryAbortedError, retryInTransit } from './backoff.js';
import { RunSpool, SpoolBudget, type SpoolHeader } from './spool.js';

/** One queued item: a task state, a log line, or a write for lineage (fluxo/data). */
type RelayEntry = { state: TaskRunStateInput } | { line: LogLineInput } | { materialization: MaterializationInput };

/** Materializations per recordMaterializations call (the server's limit). */
const MATERIALIZATIONS_PER_BATCH = 100;
/** Entries a batch riding with a state write may hold (RunBatchInput: at most 1,000 task states). */
const MAX_RIDING_ENTRIES = 1_000;

/** Spool budget of relays created without one (tests, library use). @default 256 MiB */
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

export interface RunRelayOptions {
  /** `recordMaterializations` is needed only by runs that write data (fluxo/data). */
  api: Pick<AgentApi, 'setTaskRunStates' | 'writeLogs'> & Partial<Pick<AgentApi, 'recordMaterializations'>>;
  flowRunId: string;
  leaseToken: string;
  /** @default 200 */
  flushIntervalMs?: number;
  /** Lines (or task states) per batch, and the count that triggers an immediate flush. @default 1000 */
  maxBatchLines?: number;
  /**
   * Where entries beyond two batches wait (`<dir>/<flowRunId>.<n>.jsonl`) and the byte budget they
   * share with the agent's other runs. Past the budget, log lines are counted and dropped (task
   * states never are). @default `<tmpdir>/fluxo-spool` (files with a random suffix) and a budget of
   * its own of 256 MiB. With a `header`, the files are named `<flowRunId>.a<attempt>.<n>.jsonl` and a
   * restarted agent delivers what they hold late (spool.ts, late-delivery.ts).
   */
  spool?: { dir: string; budget: SpoolBudget; header?: SpoolHeader };
  /** The run's entries began to spill to disk. */
  onSpill?: (path: string) => void;
  /** Everything that was spilled has been delivered; the files are gone. */
  onDrained?: (bytes: number) => void;
  /** `lines` log lines were dropped (the spool budget was spent, or the disk failed). */
  onDropped?: (lines: number) => void;
  /** The server refused a batch with LEASE_LOST: the run is no longer ours. */
  onLeaseLost?: (error: FluxoError) => void;
  /** The token was refused: the agent cannot go on. */
  onFatal?: (error: FluxoError) => void;
  onWarning?: (message: string, error?: Error) => void;
  onRetry?: (operation: string, error: Error, retryInMs: number) => void;
}

/** One run's outgoing task states and log lines. */
export class RunRelay {
  readonly #options: RunRelayOptions;
  readonly #interval: number;
  readonly #maxBatch: number;
  readonly #abort = new AbortController();
  readonly #spool: RunSpool<RelayEntry>;
  #dropped = 0;
  #open = false;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;

  constructor(options: RunRelayOptions) {
    this.#options = options;
    this.#interval = options.flushIntervalMs ?? 200;
    this.#maxBatch = options.maxBatchLines ?? 1_000;
    const spool = options.spool ?? { dir: join(tmpdir(), 'fluxo-spool'), budget: new SpoolBudget(DEFAULT_SPOOL_MAX_BYTES) };
    const name = options.flowRunId.replace(/[^A-Za-z0-9_-]/g, '_');
    this.#spool = new RunSpool<RelayEntry>({
      dir: spool.dir,
      // A shared default directory: relays of the same run id in one machine must not share files.
      name: options.spool ? (options.spool.header ? `${name}.a${options.spool.header.attempt}` : name) : `${name}-${randomUUID().slice(0, 8)}`,
      budget: spool.budget,
      ...(options.spool?.header ? { header: options.spool.header } : {}),
      memoryEntries: 2 * this.#maxBatch,
      ...(options.onSpill ? { onSpill: options.onSpill } : {}),
      ...(options.onDrained ? { onDrained: options.onDrained } : {}),
      onError: (error, lost) => {
        this.#dropped += lost.filter((entry) => 'line' in entry).length;
        this.#options.onWarning?.(`the log spool of run ${this.#options.flowRunId} failed; ${lost.length} entries were lost`, coerceError(error));
      },
    });
  }

  /** Whether batches are still being accepted (false after `discard`). */
  get active(): boolean {
    return !this.#abort.signal.aborted;
  }

  /** Queues a task state; `result` is where the agent stored the task's result (SUCCESS only). */
  taskState(event: TaskStateEvent, result: { uri: string; sha256: string; size: number } | null = null): void {
    if (!this.active) return;
    this.#flushDropped();
    // Task states are few and decide what the run's page shows: they are never dropped.
    this.#spool.push({
      state: {
        key: event.key,
        taskName: event.taskName,
        mapIndex: event.mapIndex,
        attempt: event.attempt,
        state: event.state,
        message: event.message,
        timestamp: event.timestamp,
        ...(event.inputsHash === undefined ? {} : { inputsHash: event.inputsHash }),
        ...(result === null ? {} : { result }),
      },
    }, true);
    this.#nudge();
  }

  /**
   * Queues a write for the run's lineage. Like task states, it is never dropped: it says which run
   * last wrote a table, and it leaves in order with the run's states and lines.
   */
  materialization(item: MaterializationInput): void {
    if (!this.active) return;
    this.#flushDropped();
    this.#spool.push({ materialization: item }, true);
    this.#nudge();
  }

  log(event: LogEvent): void {
    if (!this.active) return;
    const entry: RelayEntry = { line: { taskRunKey: event.taskRunKey, level: event.level, stream: event.stream, message: event.message, timestamp: event.timestamp } };
    // While lines are being dropped, the warning waits for the first line that fits, and goes just before it.
    if (this.#dropped > 0) {
      if (!this.#spool.fits(entry)) {
        this.#dropped++;
        return;
      }
      this.#flushDropped();
    }
    if (!this.#spool.push(entry)) {
      this.#dropped++;
      return;
    }
    this.#nudge();
  }

  /** Starts sending (once the run is RUNNING: the server takes task states only from then on). */
  open(): void {
    this.#open = true;
    this.#nudge();
  }

  /** Sends everything buffered so far; resolves when it is acknowledged (or dropped). */
  async flush(): Promise<void> {
    this.#clearTimer();
    // Always await the drain: a batch already taken off the queue may still be in flight while the
    // queue is empty, and the run's final state must not overtake it (the server would then refuse
    // the late batch and its task states would be lost).
    do await this.#drain();
    while (this.active && this.#hasPending());
  }

  /** Flushes everything and stops the timer. Call before reporting the final state. */
  async close(): Promise<void> {
    this.#open = true;
    await this.flush();
    this.#clearTimer();
  }

  /**
   * Takes what waits as one batch to ride with a state write (SetFlowRunStateInput.batch), without
   * waiting: null when nothing waits, or when it is not one batch held in memory (more than a
   * batch, or part of it on disk), which then leaves the usual way. After a batch is taken nothing
   * is left to send; `giveBack` returns it if the state write could not carry it.
   */
  takeBatch(): RunBatchInput | null {
    if (!this.active) return null;
    this.#flushDropped();
    const n = this.#spool.length;
    if (n === 0 || n > Math.min(this.#maxBatch, MAX_RIDING_ENTRIES) || this.#spool.bytes > 0 || this.#spool.paths.length > 0) return null;
    const entries = this.#spool.take(n);
    const states = entries.flatMap((entry) => ('state' in entry ? [entry.state] : []));
    const logLines = entries.flatMap((entry) => ('line' in entry ? [entry.line] : []));
    const materializations = entries.flatMap((entry) => ('materialization' in entry ? [entry.materialization] : []));
    if (materializations.length > MATERIALIZATIONS_PER_BATCH) {
      this.giveBack({ batchId: '', taskRunStates: states, logLines, materializations });
      this.#nudge();
      return null;
    }
    this.#clearTimer();
    // One id per batch, kept across retries of the state write: each part lands once.
    return { batchId: randomUUID(), taskRunStates: states, logLines, materializations };
  }

  /**
   * The final batch (PROTOCOL.md section 5): once the child has ended, waits for a batch in flight
   * (the state must not overtake it), then takes what is left as `takeBatch` does.
   */
  async takeFinalBatch(): Promise<RunBatchInput | null> {
    this.#clearTimer();
    if (this.#draining) await this.#draining;
    return this.takeBatch();
  }

  /**
   * Queues a batch taken by `takeBatch` again, ahead of nothing (it was all there was). It leaves
   * with the next `flush`/`close`, or stays with the rest when the relay is discarded.
   */
  giveBack(batch: RunBatchInput): void {
    for (const state of batch.taskRunStates ?? []) this.#spool.push({ state }, true);
    for (const materialization of batch.materializations ?? []) this.#spool.push({ materialization }, true);
    for (const line of batch.logLines ?? []) this.#spool.push({ line }, true);
  }

  /**
   * Stops sending and drops everything (the lease is lost, or the token refused). With `keepSpool`,
   * what is queued stays on disk for late delivery instead (spool.ts `retain`); returns whether it did.
   */
  discard({ keepSpool = false }: { keepSpool?: boolean } = {}): boolean {
    this.#abort.abort();
    this.#clearTimer();
    if (keepSpool) return this.#spool.retain();
    this.#spool.discard();
    return false;
  }

  #hasPending(): boolean {
    return this.#spool.length > 0 || this.#dropped > 0;
  }

  /** Queues the "N lines were dropped" warning where the gap is. */
  #flushDropped(): void {
    if (this.#dropped === 0) return;
    const lines = this.#dropped;
    this.#dropped = 0;
    this.#spool.push({
      line: {
        taskRunKey: null,
        level: 'WARNING',
        stream: 'logger',
        message: `fluxo agent: ${lines} log lines were dropped while the server was unreachable`,
        timestamp: new Date().toISOString(),
      },
    }, true);
    this.#options.onDropped?.(lines);
  }

  #nudge(): void {
    if (!this.#open || !this.active) return;
    if (this.#spool.length >= this.#maxBatch) {
      this.#clearTimer();
      void this.#drain();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        void this.#drain();
      }, this.#interval);
    }
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One drain at a time, so batches leave in order. The reset runs in `.finally`, always after the
   * assignment: resetting inside the async body would run synchronously when there is nothing to
   * send, before `??=` stores the promise, leaving a settled promise behind that every later
   * flush() would await forever in a microtask loop (starving timers, I/O and signals).
   */
  #drain(): Promise<void> {
    this.#draining ??= (async () => {
      while (this.active && this.#hasPending()) await this.#sendOneRound();
    })().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  /**
   * Sends the oldest batch: its task states first, then its lines. A state is thus never sent after
   * a line logged after it (lines logged before it may follow it, as states and lines are stored
   * apart).
   */
  async #sendOneRound(): Promise<void> {
    const { api, flowRunId, leaseToken } = this.#options;
    if (this.#spool.length === 0) this.#flushDropped();
    const batch = this.#spool.take(this.#maxBatch);
    const mark = this.#spool.takenMark;
    const states: TaskRunStateInput[] = [];
    const lines: LogLineInput[] = [];
    const items: MaterializationInput[] = [];
    for (const entry of batch) {
      if ('state' in entry) states.push(entry.state);
      else if ('line' in entry) lines.push(entry.line);
      else items.push(entry.materialization);
    }
    if (states.length > 0) {
      // One id per batch, kept across retries: a batch whose answer was lost records its transitions once.
      const batchId = randomUUID();
      await this.#send('setTaskRunStates', () => api.setTaskRunStates({ flowRunId, leaseToken, batchId, states }));
    }
    const record = api.recordMaterializations?.bind(api);
    for (let i = 0; i < items.length && record && this.active; i += MATERIALIZATIONS_PER_BATCH) {
      // One id per batch, kept across retries: a batch whose answer was lost is recorded once.
      const batchId = randomUUID();
      const chunk = items.slice(i, i + MATERIALIZATIONS_PER_BATCH);
      await this.#send('recordMaterializations', () => record({ flowRunId, leaseToken, batchId, items: chunk }));
    }
    if (lines.length > 0 && this.active) {
      const batchId = randomUUID();
      await this.#send('writeLogs', () => api.writeLogs({ flowRunId, leaseToken, batchId, lines }));
    }
    // Delivered (or refused for its content, which a retry would not change): a restart must not send it again.
    if (this.active) this.#spool.acknowledge(mark);
  }

  async #send(operation: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await retryInTransit(call, {
        signal: this.#abort.signal,
        onRetry: (error, delay) => this.#options.onRetry?.(operation, error, delay),
      });
    } catch (error) {
      if (error instanceof RetryAbortedError) return;
      if (error instanceof FluxoError && error.code === 'LEASE_LOST') {
        // The attempt was ours: what it still had queued is delivered late (late-delivery.ts).
        this.discard({ keepSpool: true });
        this.#options.onLeaseLost?.(error);
      } else if (error instanceof FluxoError && isTokenRefusal(error)) {
        this.discard();
        this.#options.onFatal?.(error);
      } else {
        // A batch the server refuses for its content would be refused again: drop it, keep going.
        this.#options.onWarning?.(`${operation} for run ${this.#options.flowRunId} was refused and dropped`, coerceError(error));
      }
    }
  }
}

/** Errors that no retry cures: the agent's credentials are refused (contract/credential-refusal.ts). */
export function isTokenRefusal(error: FluxoError): boolean {
  return isCredentialRefusal(error.code);
}
