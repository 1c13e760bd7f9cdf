// The agent's lifecycle as typed events (after graphile/worker's `WorkerEvents`): the agent emits,
// logging and metrics subscribe. Payloads are plain data so a subscriber never reaches into the
// agent's internals.
import { EventEmitter } from 'node:events';
import type { FlowRunStateType } from '../schema/generated/graphql.js';

/** Every event the agent emits, with its payload. */
export interface AgentEvents {
  /** The agent registered and its claim loop runs. */
  'agent:ready': { agentId: string; name: string; labels: readonly string[]; concurrency: number };
  /** The server handed the agent a run; it now holds the run's lease. */
  'run:claimed': { flowRunId: string; attempt: number; version: number; leaseExpiresAt: string };
  /** The child reported `ready`, the run is RUNNING and the flow was started. */
  'run:started': { flowRunId: string; attempt: number; pid: number };
  /**
   * The run left the agent. `reported` is false when the final state could not be written (the
   * lease was lost, the run was already final, or the agent was stopped by a rejected token).
   */
  'run:finished': {
    flowRunId: string;
    attempt: number;
    state: FlowRunStateType;
    reason: string | null;
    message: string | null;
    exitCode: number | null;
    signal: string | null;
    durationMs: number;
    reported: boolean;
  };
  /** A user asked to cancel a run the agent holds; its process group is being stopped. */
  'run:cancelling': { flowRunId: string };
  /** The server says the agent's lease on a run is gone: the child was killed and the run dropped. */
  'lease:lost': { flowRunId: string; during: 'heartbeat' | 'state-write' | 'relay' | 'fence' };
  /** One call to the server and how it went (every call: the source of API metrics and of "last contact"). */
  'api:call': { operation: string; outcome: 'ok' | 'refused' | 'transport'; code: string | null; durationMs: number };
  /** The server does not keep up (or cannot be reached): a run's states and lines now wait on disk, in `path`. */
  'spool:opened': { flowRunId: string; path: string };
  /** Everything a run had spilled to disk was delivered and its spool files removed. */
  'spool:drained': { flowRunId: string; bytes: number };
  /** Log lines of a run were dropped (the spool budget was spent); a warning line in the run's log says how many. */
  'logs:dropped': { flowRunId: string; lines: number };
  /** A call to the server failed in transit; the agent retries after `retryInMs`. */
  'api:unreachable': { operation: string; error: Error; retryInMs: number };
  /** Something went wrong that the agent survives (a refused log batch, a failed clean-up). */
  'agent:warning': { message: string; flowRunId?: string; error?: Error };
  /** The agent stopped. `error` is set when it stopped because of one (a rejected token). */
  'agent:shutdown': { reason: 'stopped' | 'fatal'; runsInterrupted: number; error?: Error };
}

type EventArgs = { [K in keyof AgentEvents]: [AgentEvents[K]] };

/** A Node EventEmitter whose `on`/`emit` know the agent's events. */
export class AgentEventEmitter extends EventEmitter<EventArgs> {}
