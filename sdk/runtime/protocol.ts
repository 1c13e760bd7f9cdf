// The contract between a flow bundle (which carries its own copy of the SDK) and the runtime that
// loads it, and the IPC messages between the child process and the agent. Nothing here imports
// the server or the agent: the child side stays small and sandboxable.
import type { ChildFailureReason } from '../../contract/state-reasons.js';
import type { TaskRunState } from '../../contract/states.js';
import type { RunCommandOptions, RunCommandResult } from '../../data/contract.js';

/** Bumped when the bundle/runtime contract changes incompatibly. */
export const RUNTIME_PROTOCOL_VERSION = 1;

/** Marks an exported value as a fluxo flow, across copies of the SDK (bundle vs. CLI). */
export const FLOW_MARKER = Symbol.for('fluxo.flow');

/** States a task run reports (contract/states.ts: a subset of the flow-run state enum of the schema). */
export type { TaskRunState };
export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
export type LogStream = 'logger' | 'stdout' | 'stderr';

/** What a flow declares; travels to the server as the flow version's settings. */
export interface FlowDefinition {
  name: string;
  description: string | null;
  /** JSON Schema (draft 2020-12) of the parameters. */
  parameterSchema: Record<string, unknown>;
  labels: string[];
  /** Names of the secrets the flow declares; the agent supplies their values. */
  secrets: string[];
  retries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number | null;
  /** Clocks (absent in bundles built before schedules existed: treat as []). */
  schedules?: ClockDefinition[];
  /** What the scheduler does with missed times. @default 'skip' */
  missedRuns?: 'skip' | 'catch-up';
  /** With 'catch-up': the most missed times per clock that get a run. @default 10 */
  catchUpLimit?: number;
  /** The flow's concurrency limit, enforced by the server's claim (absent: none). */
  concurrency?: { limit: number; whenFull: 'queue' | 'skip' };
}

/**
 * One clock as the SDK normalises it (what `fluxo register` sends as `ClockInput`): `cron` (with
 * `timezone` when the flow named one; else the server's zone) or `everySeconds` (with `anchor`,
 * an ISO instant, when named).
 */
export interface ClockDefinition {
  cron?: string;
  timezone?: string;
  everySeconds?: number;
  anchor?: string;
  parameters: Record<string, unknown>;
  labels?: string[];
}

/** A task-run state change as the child reports it. */
export interface TaskStateEvent {
  key: string;
  taskName: string;
  mapIndex: number | null;
  attempt: number;
  state: TaskRunState;
  message: string | null;
  /** ISO-8601, child clock (informational). */
  timestamp: string;
  /** sha256 (hex) of the canonical JSON of the task's arguments; absent when they are not JSON (sdk/result-json.ts). */
  inputsHash?: string;
  /** With SUCCESS, in a child whose host stores results: the return value's JSON ('' for undefined); absent when not JSON or over 64 MiB. */
  result?: { json: string };
  /** With SUCCESS: the value came from result storage (the agent reports the stored result's pointer again). */
  restored?: boolean;
}

/** A log line as the child reports it. */
export interface LogEvent {
  level: LogLevel;
  stream: LogStream;
  message: string;
  taskRunKey: string | null;
  timestamp: string;
}

/**
 * A failure that crosses the process boundary as data (after Temporal): never a bare stack string.
 * `reason` feeds FlowRun.stateReason.
 */
export interface SerializedFailure {
  type: string;
  message: string;
  reason: ChildFailureReason;
  stack?: string;
}

/** What the runtime gives a flow while it runs. The SDK inside the bundle calls these. */
export interface RuntimeHost {
  taskState(event: TaskStateEvent): void;
  log(event: LogEvent): void;
  /** True when the host keeps task results (the child under an agent): tasks then send them with SUCCESS. */
  readonly storesResults?: boolean;
  /**
   * A result an earlier attempt stored for this task key and inputs hash: null at once when there is
   * none (no await on the common path), else a promise of its JSON text, or null when it cannot be
   * read back verified (the task then runs again). Absent in hosts without result storage.
   */
  storedResult?(taskKey: string, inputsHash: string): Promise<string | null> | null;
  /** The data path (fluxo/data): absent in hosts without one, where fluxo/data says it needs `fluxo run` or an agent. */
  readonly data?: DataHost;
}

/** What a flow asks the agent's (or `fluxo run`'s) data service for; data/service.ts answers. */
export const DATA_OPERATIONS = [
  'writeToLake',
  'createStagingTable',
  'materializeTable',
  'query',
  'publishDataset',
  'createTableAndUpload',
  'dbtBuild',
  'warehouseKind',
] as const;
export type DataOperation = (typeof DATA_OPERATIONS)[number];

/**
 * The data side of a host. `request` resolves to the operation's result or rejects with an error
 * whose `name` is `DataError` and whose `code` is a DataErrorCode (data/contract.ts). A source
 * `{ csv: { path } }` / `{ parquet: { path } }` names a file of the flow's: a child streams its bytes
 * to the agent (`data-file`), which never opens a path the flow names.
 */
export interface DataHost {
  request(operation: DataOperation, args: Record<string, unknown>, taskKey: string | null): Promise<unknown>;
  /**
   * Runs a command where the flow runs (the child), its stdout and stderr lines going to the run's
   * log under `taskKey`; `onLine` sees them too. Rejects with a DataError COMMAND_FAILED or
   * COMMAND_TIMED_OUT.
   */
  runCommand(
    command: string,
    args: readonly string[],
    options: RunCommandOptions,
    taskKey: string | null,
    onLine?: (stream: 'stdout' | 'stderr', line: string) => void,
  ): Promise<RunCommandResult>;
}

/** Largest `data-file` chunk, before base64. */
export const DATA_FILE_CHUNK_BYTES = 1024 * 1024;

/** Agent -> child: the answer to a `data-request`. */
export type DataResponseMessage =
  | { type: 'data-response'; requestId: number; ok: true; result: unknown }
  | { type: 'data-response'; requestId: number; ok: false; error: { code: string; message: string } };

/** The shape every exported flow has, whichever copy of the SDK created it. */
export interface FlowHandle {
  readonly [FLOW_MARKER]: number;
  readonly definition: FlowDefinition;
  /**
   * Validates parameters, runs the flow with `host`, resolves to the flow's return value. On failure
   * it rejects with an Error whose `failure` property is a SerializedFailure (the runtime reads it by
   * shape, since the bundle's SDK copy may differ from the runtime's); any other rejection counts
   * as reason `exception`.
   */
  run(parameters: unknown, host: RuntimeHost): Promise<unknown>;
}

/** Agent -> child: run this. Sent once, after the child says `ready`. */
export interface StartMessage {
  type: 'start';
  flowRunId: string;
  attempt: number;
  bundlePath: string;
  entrypoint: string;
  parameters: unknown;
  /** A restarted run's stored results the child may ask for (`read-result`), by task key and inputs hash. @default [] */
  storedResults?: { taskKey: string; inputsHash: string }[];
  /**
   * Variables the child sets in `process.env` before it imports the bundle: the run's own (its id,
   * its declared secrets) when the child was started ahead of demand with the allow-list only
   * (agent/warm-child.ts). Absent for a child spawned for this run, whose environment has them. @default {}
   */
  env?: Record<string, string>;
  /**
   * Import the bundle now, but run the flow only on `go`: the agent loads the code while it writes
   * RUNNING, the slowest two steps of a start side by side. The module's top-level code thus runs
   * before the run is RUNNING (as it does at registration); the flow function only after. Without
   * `go` the agent kills the child. @default false: run at once
   */
  hold?: boolean;
}

/** Agent -> child: the run is RUNNING; run the flow loaded for a `start` with `hold`. */
export interface GoMessage {
  type: 'go';
}

/** Agent -> child: the answer to a `read-result` request (JSON text, or why there is none). */
export type StoredResultMessage =
  | { type: 'stored-result'; requestId: number; json: string }
  | { type: 'stored-result'; requestId: number; error: string };

/** Child -> agent messages. */
export type ChildMessage =
  | { type: 'ready'; protocolVersion: number }
  | ({ type: 'task-state' } & TaskStateEvent)
  | ({ type: 'log' } & LogEvent)
  | { type: 'read-result'; requestId: number; taskKey: string; inputsHash: string }
  /**
   * A data operation. A file source arrives as `{ csv: { upload } }` / `{ parquet: { upload } }`,
   * the id of the `data-file` chunks sent before it.
   */
  | { type: 'data-request'; requestId: number; operation: DataOperation; args: Record<string, unknown>; taskKey: string | null }
  /** Bytes of a flow's file for a data request (base64 of at most DATA_FILE_CHUNK_BYTES); `last` ends it. */
  | { type: 'data-file'; upload: number; chunk: string; last: boolean }
  /**
   * A runCommand's process group (the command leads a group of its own) `started`, or `ended` (the
   * command and what it left in its group were killed). The agent SIGKILLs the groups still open
   * when the child ends or is killed: its SIGKILL of the child's group does not reach them, and a
   * SIGKILLed child cannot clean up. The agent records a group only when its leader is a direct child
   * of the child process (agent/process-groups.ts); any other pgid is ignored.
   */
  | { type: 'process-group'; pgid: number; state: 'started' | 'ended' }
  | { type: 'result'; ok: true }
  | { type: 'result'; ok: false; failure: SerializedFailure };

/** Child exit codes, so the agent can tell a flow failure from a crash of the runtime. */
export const CHILD_EXIT = {
  success: 0,
  flowFailed: 1,
  loadError: 3,
  timedOut: 4,
  protocolError: 5,
} as const;

/** Returns the value as a FlowHandle if it carries the marker. */
export function asFlowHandle(value: unknown): FlowHandle | null {
  if (typeof value === 'object' && value !== null && FLOW_MARKER in value) return value as FlowHandle;
  return null;
}
