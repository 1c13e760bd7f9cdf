// Relaying one run's task states and log lines to the server in batches (PROTOCOL.md section 5):
// at most every 200 ms, or at once when 1,000 lines wait. Task states go in order; each log batch
// carries a batch id and is retried with the same id on transport errors, so it lands once.
import { randomUUID } from 'node:crypto';
import { FluxoError, coerceError } from '../common/errors.js';
import type { LogLineInput, TaskRunStateInput } from '../schema/generated/graphql.js';
import type { LogEvent, TaskStateEvent } from '../sdk/runtime/protocol.js';
import type { AgentApi } from './agent-api.js';
import { RetryAbortedError, retryInTransit } from './backoff.js';

export interface RunRelayOptions {
  api: Pick<AgentApi, 'setTaskRunStates' | 'writeLogs'>;
  flowRunId: string;
  leaseToken: string;
  /** @default 200 */
  flushIntervalMs?: number;
  /** Lines (or task states) per batch, and the count that triggers an immediate flush. @default 1000 */
  maxBatchLines?: number;
  /** Log lines held while the server is unreachable; later lines are counted and dropped. @default 50000 */
  maxPendingLines?: number;
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
  readonly #maxPending: number;
  readonly #abort = new AbortController();
  #states: TaskRunStateInput[] = [];
  #logs: LogLineInput[] = [];
  #dropped = 0;
  #open = false;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;

  constructor(options: RunRelayOptions) {
    this.#options = options;
    this.#interval = options.flushIntervalMs ?? 200;
    this.#maxBatch = options.maxBatchLines ?? 1_000;
    this.#maxPending = options.maxPendingLines ?? 50_000;
  }

  /** Whether batches are still being accepted (false after `discard`). */
  get active(): boolean {
    return !this.#abort.signal.aborted;
  }

  taskState(event: TaskStateEvent): void {
    if (!this.active) return;
    this.#states.push({
      key: event.key,
      taskName: event.taskName,
      mapIndex: event.mapIndex,
      attempt: event.attempt,
      state: event.state,
      message: event.message,
      timestamp: event.timestamp,
    });
    this.#nudge();
  }

  log(event: LogEvent): void {
    if (!this.active) return;
    if (this.#logs.length >= this.#maxPending) {
      this.#dropped++;
      return;
    }
    this.#logs.push({ taskRunKey: event.taskRunKey, level: event.level, stream: event.stream, message: event.message, timestamp: event.timestamp });
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
    while (this.active && this.#hasPending()) await this.#drain();
  }

  /** Flushes everything and stops the timer. Call before reporting the final state. */
  async close(): Promise<void> {
    this.#open = true;
    await this.flush();
    this.#clearTimer();
  }

  /** Drops everything and stops sending (the lease is lost). */
  discard(): void {
    this.#abort.abort();
    this.#clearTimer();
    this.#states = [];
    this.#logs = [];
  }

  #hasPending(): boolean {
    return this.#states.length > 0 || this.#logs.length > 0 || this.#dropped > 0;
  }

  #nudge(): void {
    if (!this.#open || !this.active) return;
    if (this.#states.length + this.#logs.length >= this.#maxBatch) {
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

  async #sendOneRound(): Promise<void> {
    const { api, flowRunId, leaseToken } = this.#options;
    const states = this.#states.splice(0, this.#maxBatch);
    if (states.length > 0) {
      await this.#send('setTaskRunStates', () => api.setTaskRunStates({ flowRunId, leaseToken, states }));
    }
    if (this.#dropped > 0) {
      this.#logs.unshift({
        taskRunKey: null,
        level: 'WARNING',
        stream: 'logger',
        message: `fluxo agent: ${this.#dropped} log lines were dropped while the server was unreachable`,
        timestamp: new Date().toISOString(),
      });
      this.#dropped = 0;
    }
    const lines = this.#logs.splice(0, this.#maxBatch);
    if (lines.length > 0) {
      const batchId = randomUUID();
      await this.#send('writeLogs', () => api.writeLogs({ flowRunId, leaseToken, batchId, lines }));
    }
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
        this.discard();
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

/** Errors that no retry cures: the agent's credentials are gone. */
export function isTokenRefusal(error: FluxoError): boolean {
  return error.code === 'TOKEN_MISSING' || error.code === 'TOKEN_INVALID' || error.code === 'TOKEN_EXPIRED' || error.code === 'IDENTITY_MISSING' || error.code === 'FORBIDDEN';
}
