// One child process per flow run (node:child_process, agent/ipc-subprocess.ts): its own process group, an explicit environment, a
// private working directory. The child runtime (sdk/runtime/child.ts) says `ready`, receives a
// `start` message, runs the flow and reports task states, logs and a result over IPC. This module
// relays those, turns stdout/stderr into log lines, enforces the flow timeout and cancellation
// on the whole group, and says exactly how the child ended.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnIpcSubprocess, type IpcSubprocess } from './ipc-subprocess.js';
import { coerceError } from '../common/errors.js';
import {
  RUNTIME_PROTOCOL_VERSION,
  type ChildMessage,
  type LogEvent,
  type SerializedFailure,
  type GoMessage,
  type StartMessage,
  type StoredResultMessage,
  type TaskStateEvent,
} from '../sdk/runtime/protocol.js';
import { CHILD_ENV_ALLOW_LIST } from './config.js';
import { ChildDataRequests, type DataRequestHandler } from './data-requests.js';
import { RunProcessGroups } from './process-groups.js';

/** Longest log line kept; the server cuts at 32 KiB too, this only spares the wire. */
export const MAX_LOG_LINE_CHARS = 32 * 1024;
/** How long a child may take to say `ready` before it is killed as broken. */
const READY_TIMEOUT_MS = 30_000;
/** Lines of stderr remembered for the final state's message when a child dies without a result. */
const STDERR_TAIL_LINES = 10;
/** What V8 prints on stderr when a heap limit is reached, before it aborts (SIGABRT). */
const HEAP_EXHAUSTED = /Reached heap limit|JavaScript heap out of memory/;

export interface SpawnFlowRunOptions {
  flowRunId: string;
  attempt: number;
  /** Verified bundle on local disk. */
  bundlePath: string;
  entrypoint: string;
  parameters: unknown;
  /** The child's working directory (created by the caller; owned by `runAs` when given). */
  cwd: string;
  /**
   * Run the child as this user and group instead of the agent's (agent/run-as.ts). Its HOME is
   * then its working directory: the agent's home is not its to write. @default the agent's own
   */
  runAs?: { uid: number; gid: number } | null;
  /** Kill the whole group and report TIMED_OUT after this long (from the start message); null: no limit. */
  timeoutMs: number | null;
  /** SIGTERM-to-SIGKILL grace for cancellations. */
  cancelGraceMs: number;
  /** Environment variables the agent passes on, beyond the allow-list (from `passEnv`). */
  passEnv?: readonly string[];
  /** Values that must never reach the child (the agent's token): a variable holding one is dropped. */
  secrets?: readonly string[];
  /** The environment to pick the allowed variables from. @default process.env */
  sourceEnv?: NodeJS.ProcessEnv;
  /**
   * V8 heap limit of the child in MiB, passed as `NODE_OPTIONS=--max-old-space-size=N` (read by
   * `node` and by the single executable alike). null: Node's default. @default null
   */
  memoryLimitMb?: number | null;
  /** The secrets the flow declared, by name: added to its environment. */
  flowSecrets?: Readonly<Record<string, string>>;
  /**
   * The child runtime script. Ignored inside the `fluxo-agent` binary, which runs itself as the
   * child runtime (see {@link childRuntimeCommand}). @default dist/sdk/runtime/child.js of this installation
   */
  childEntry?: string;
  /**
   * Called once the child said `ready`; the start message is sent when it resolves. Reject (or
   * resolve `false`) to not start the flow, e.g. when the RUNNING write lost the lease.
   */
  beforeStart?: () => Promise<boolean>;
  onTaskState?: (event: TaskStateEvent) => void;
  onLog?: (event: LogEvent) => void;
  /** A restarted run's stored results the child may ask for (in the start message). @default [] */
  storedResults?: { taskKey: string; inputsHash: string }[];
  /** Answers the child's `read-result`: the verified JSON text, or null (the task then runs again). */
  readResult?: (taskKey: string, inputsHash: string) => Promise<string | null>;
  /**
   * Answers the child's fluxo/data requests (agent/data-requests.ts); its signal aborts when the
   * run is cancelled, stopped or its child ends. Absent: they fail DATA_NOT_CONFIGURED.
   */
  data?: DataRequestHandler;
  /** Bytes of the flow's streamed files (`data-file`) the agent keeps at once for this run. @default 4 GiB (agent/data-requests.ts) */
  dataMaxUploadBytes?: number;
  /** Where the run's temp directory for streamed files is created. @default os.tmpdir() */
  dataTempRoot?: string;
  /**
   * A child runtime started ahead of demand ({@link launchChildRuntime}, agent/warm-child.ts) to use
   * instead of spawning one: its `cwd`, `runAs` and allow-listed environment must be this run's;
   * the run's own variables (id, declared secrets) go in the start message. Used once.
   * @default undefined: spawn one now
   */
  prepared?: PreparedChild;
}

/** What {@link launchChildRuntime} needs: everything of a run that is known before the run is. */
export type LaunchOptions = Pick<SpawnFlowRunOptions, 'cwd' | 'runAs' | 'passEnv' | 'secrets' | 'sourceEnv' | 'memoryLimitMb' | 'childEntry'> &
  Partial<Pick<SpawnFlowRunOptions, 'flowRunId' | 'flowSecrets'>>;

/** A child runtime process that may not have a run yet (see {@link launchChildRuntime}). */
export interface PreparedChild {
  readonly pid: number | undefined;
  readonly cwd: string;
  readonly runAs: { uid: number; gid: number } | null;
  /** Resolves with its `ready` message, or null if it ended (or broke the contract) before saying it. */
  readonly ready: Promise<Extract<ChildMessage, { type: 'ready' }> | null>;
  /** Whether the process has exited (a prepared child that did is of no use). */
  readonly exited: boolean;
  /** @internal the subprocess */
  readonly subprocess: IpcSubprocess;
}

function execChild(options: LaunchOptions): IpcSubprocess {
  const command = childRuntimeCommand(options.childEntry);
  // Killing is this module's job, on the whole group: nothing kills the leader alone, and the
  // child is not killed with the agent (a stopping agent lets runs finish, then ends them itself).
  return spawnIpcSubprocess(command.file, command.args, {
    // Own process group (setsid): timeouts and cancellations signal the group, grandchildren included.
    detached: true,
    // Exactly this environment, nothing of the agent's beyond it.
    env: options.runAs ? { ...childEnv(options), HOME: options.cwd } : childEnv(options),
    cwd: options.cwd,
    // libuv changes into `cwd`, drops the supplementary groups, then calls setgid and setuid.
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
  });
}

/**
 * Starts the child runtime with the environment `options` gives (without `flowRunId` and
 * `flowSecrets`: the allow-list only), and notes its `ready`. {@link spawnFlowRun} then gives it a
 * run (`prepared`). Its stdout and stderr wait in their pipes until then.
 *
 * @example
 * const prepared = launchChildRuntime({ cwd, runAs: null, timeoutMs: null, memoryLimitMb: 1024 });
 * spawnFlowRun({ ...runOptions, cwd, prepared });
 */
export function launchChildRuntime(options: LaunchOptions): PreparedChild {
  const subprocess = execChild(options);
  let exited = false;
  subprocess.once('exit', () => (exited = true));
  const ready = new Promise<Extract<ChildMessage, { type: 'ready' }> | null>((resolve) => {
    // The raw event, not getEachMessage: nobody may be iterating yet when it arrives.
    subprocess.once('message', (message: ChildMessage) => resolve(message?.type === 'ready' ? message : null));
    subprocess.once('exit', () => resolve(null));
  });
  return {
    pid: subprocess.pid,
    cwd: options.cwd,
    runAs: options.runAs ?? null,
    ready,
    get exited() {
      return exited || subprocess.exitCode !== null || subprocess.signalCode !== null;
    },
    subprocess,
  };
}

/** Why the agent itself ended the child, if it did. */
export type Interruption = 'timeout' | 'cancelled' | 'lease-lost' | 'not-started' | 'agent-stopped';

/** Exactly how a child ended. */
export interface ChildOutcome {
  pid: number | undefined;
  exitCode: number | null;
  signal: string | null;
  /** The child's `result` message, if one arrived. */
  result: { ok: true } | { ok: false; failure: SerializedFailure } | null;
  /** Set when the agent ended the child (timeout, cancellation, lost lease). */
  interruption: Interruption | null;
  /** Whether the flow was started (the start message was sent). */
  started: boolean;
  /** The last stderr lines, for a message when the child dies without a result. */
  stderrTail: string[];
  /** A failure of the spawn itself or of the IPC contract (a `ready` that never came). */
  problem: string | null;
  /** V8 said on stderr that the heap limit was reached (the process then aborts). */
  outOfMemory: boolean;
  /** The heap limit the child had, in MiB (null: Node's default). */
  memoryLimitMb: number | null;
  durationMs: number;
}

/** A running flow-run child. */
export interface FlowRunChild {
  readonly pid: number | undefined;
  /** Resolves once the start message was sent (false: the child ended before that). */
  readonly started: Promise<boolean>;
  /** Resolves when the child and its whole process group are gone. */
  readonly outcome: Promise<ChildOutcome>;
  /** SIGTERM to the group, SIGKILL after the grace period (a cancellation, or the agent stopping). */
  terminate(why: 'cancelled' | 'agent-stopped'): void;
  /** SIGKILL to the group at once. */
  kill(interruption: Interruption): void;
}

/**
 * Spawns the child runtime for one run.
 *
 * @example
 * const child = spawnFlowRun({ flowRunId, attempt, bundlePath, entrypoint: 'etl', parameters: {}, cwd, timeoutMs: null, cancelGraceMs: 10_000 });
 * const outcome = await child.outcome; // { exitCode: 0, result: { ok: true }, ... }
 */
export function spawnFlowRun(options: SpawnFlowRunOptions): FlowRunChild {
  const startedAt = Date.now();
  const { prepared } = options;
  const child = prepared ?? launchChildRuntime(options);
  const subprocess = child.subprocess;
  const pid = subprocess.pid;

  let interruption: Interruption | null = null;
  let result: ChildOutcome['result'] = null;
  let problem: string | null = null;
  let started = false;
  let exited = false;
  const stderrTail: string[] = [];
  let outOfMemory = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  // The groups of the run's commands (each its own): a SIGKILL of the child's group misses them.
  const commandGroups = new RunProcessGroups(pid);
  const killGroups = (): void => {
    signalGroup('SIGKILL');
    commandGroups.killAll();
  };
  // Data work the agent does for the run stops with it (a dbt build, a long query).
  const dataAbort = new AbortController();
  const dataRequests = new ChildDataRequests(options.data, (answer) => subprocess.sendMessage(answer), dataAbort.signal, {
    ...(options.dataMaxUploadBytes !== undefined ? { maxUploadBytes: options.dataMaxUploadBytes } : {}),
    ...(options.dataTempRoot !== undefined ? { tempRoot: options.dataTempRoot } : {}),
  });
  const interrupt = (why: Interruption, signal: NodeJS.Signals): void => {
    if (exited) return;
    interruption ??= why;
    dataAbort.abort();
    if (signal === 'SIGKILL') killGroups();
    else signalGroup(signal);
  };

  // On the leader's exit (not `ended`, which waits for the pipes a grandchild may hold
  // open), everything it left in its group goes too: a forgotten `sleep`, a worker.
  const onExit = (): void => {
    exited = true;
    dataAbort.abort();
    killGroups();
  };
  // A prepared child may have exited before it was given this run: 'exit' would never come again.
  if (child.exited) onExit();
  else subprocess.once('exit', onExit);

  const streamsClosed = Promise.all([
    forwardLines(subprocess.stdout, 'stdout', options.onLog),
    forwardLines(subprocess.stderr, 'stderr', options.onLog, (line) => {
      if (!outOfMemory && HEAP_EXHAUSTED.test(line)) outOfMemory = true;
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }),
  ]);

  let markStarted!: (value: boolean) => void;
  const startedPromise = new Promise<boolean>((resolve) => (markStarted = resolve));

  const onReady = async (message: Extract<ChildMessage, { type: 'ready' }>): Promise<void> => {
    if (message.protocolVersion !== RUNTIME_PROTOCOL_VERSION) {
      problem = `child runtime speaks protocol ${message.protocolVersion}, the agent ${RUNTIME_PROTOCOL_VERSION}`;
      interrupt('not-started', 'SIGKILL');
      return;
    }
    // With a beforeStart (the RUNNING write), the start goes first with `hold`: the child imports the
    // bundle while the agent writes RUNNING, and runs the flow on `go`, or is killed without it.
    const hold = options.beforeStart !== undefined;
    const start: StartMessage = {
      type: 'start',
      flowRunId: options.flowRunId,
      attempt: options.attempt,
      bundlePath: options.bundlePath,
      entrypoint: options.entrypoint,
      parameters: options.parameters,
      ...(options.storedResults?.length ? { storedResults: options.storedResults } : {}),
      // Started before this run was known, it has the allow-list only: the run's own variables come now.
      ...(prepared ? { env: runEnv(options) } : {}),
      ...(hold ? { hold } : {}),
    };
    try {
      await subprocess.sendMessage(start);
    } catch (error) {
      problem = `could not send the start message: ${coerceError(error).message}`;
      interrupt('not-started', 'SIGKILL');
      return;
    }
    let proceed = true;
    if (options.beforeStart) {
      try {
        proceed = await options.beforeStart();
      } catch {
        proceed = false;
      }
    }
    if (!proceed || interruption !== null || exited) {
      interrupt('not-started', 'SIGKILL');
      return;
    }
    if (hold) {
      const go: GoMessage = { type: 'go' };
      try {
        await subprocess.sendMessage(go);
      } catch (error) {
        problem = `could not send the go message: ${coerceError(error).message}`;
        interrupt('not-started', 'SIGKILL');
        return;
      }
    }
    started = true;
    markStarted(true);
    if (options.timeoutMs !== null) later(options.timeoutMs, () => interrupt('timeout', 'SIGKILL'));
  };

  let readySeen = false;
  // The outcome waits for the start decision: a child that ended (say, its bundle failed to load)
  // while RUNNING was being written is reported only after that write, never before it.
  let decided: Promise<void> = Promise.resolve();
  void child.ready.then((message) => {
    if (message === null || readySeen) return;
    readySeen = true;
    decided = onReady(message);
  });
  later(READY_TIMEOUT_MS, () => {
    if (readySeen) return;
    problem = `the child runtime did not say ready within ${READY_TIMEOUT_MS} ms`;
    interrupt('not-started', 'SIGKILL');
  });

  const relay = (async (): Promise<void> => {
    try {
      for await (const raw of subprocess.getEachMessage()) {
        const message = raw as ChildMessage;
        switch (message.type) {
          case 'ready':
            // Taken from the raw event by launchChildRuntime (it may have come before this loop began).
            break;
          case 'task-state': {
            const { type: _type, ...event } = message;
            options.onTaskState?.(event);
            break;
          }
          case 'log': {
            const { type: _type, ...event } = message;
            options.onLog?.({ ...event, message: clip(event.message) });
            break;
          }
          case 'result':
            result = message.ok ? { ok: true } : { ok: false, failure: message.failure };
            break;
          case 'read-result': {
            const { requestId, taskKey, inputsHash } = message;
            void (async () => {
              const json = await (options.readResult?.(taskKey, inputsHash) ?? Promise.resolve(null)).catch(() => null);
              const answer: StoredResultMessage = json === null
                ? { type: 'stored-result', requestId, error: 'no verified stored result' }
                : { type: 'stored-result', requestId, json };
              await subprocess.sendMessage(answer).catch(() => undefined);
            })();
            break;
          }
          case 'data-file':
            dataRequests.file(message);
            break;
          case 'data-request':
            dataRequests.request(message);
            break;
          case 'process-group':
            commandGroups.note(message.pgid, message.state);
            break;
          default:
            problem ??= `unexpected IPC message ${JSON.stringify(raw).slice(0, 200)}`;
        }
      }
    } catch {
      // The channel broke (the child died): its exit says what happened.
    }
  })();

  const outcome = (async (): Promise<ChildOutcome> => {
    const ended = await subprocess.ended;
    exited = true;
    killGroups();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    dataAbort.abort();
    await Promise.all([relay, streamsClosed, dataRequests.close(), decided]);
    markStarted(false);
    if (ended.spawnError) problem ??= `could not start the child runtime: ${ended.spawnError.message}`;
    return {
      pid,
      exitCode: ended.exitCode,
      signal: ended.signal,
      result,
      interruption,
      started,
      stderrTail,
      problem,
      outOfMemory,
      memoryLimitMb: options.memoryLimitMb ?? null,
      durationMs: Date.now() - startedAt,
    };
  })();

  return {
    pid,
    started: startedPromise,
    outcome,
    terminate(why: 'cancelled' | 'agent-stopped'): void {
      if (exited || interruption !== null) return;
      interrupt(why, 'SIGTERM');
      later(options.cancelGraceMs, killGroups);
    },
    kill(why: Interruption): void {
      interrupt(why, 'SIGKILL');
    },
  };
}

/**
 * The variables that are one run's own: its id and its declared secrets (names the SDK and the
 * server refuse to be FLUXO_*), never a value of `secrets` (the agent's token).
 */
export function runEnv(options: Pick<SpawnFlowRunOptions, 'flowRunId' | 'secrets' | 'flowSecrets'>): Record<string, string> {
  const secrets = new Set((options.secrets ?? []).filter(Boolean));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.flowSecrets ?? {})) if (!secrets.has(value)) env[name] = value;
  env.FLUXO_FLOW_RUN_ID = options.flowRunId;
  return env;
}

/**
 * The allow-listed environment: nothing else of the agent's reaches the flow, least of all its
 * token. Without `flowRunId`, the environment of a child started before its run is known.
 */
export function childEnv(options: Pick<SpawnFlowRunOptions, 'passEnv' | 'secrets' | 'sourceEnv' | 'memoryLimitMb'> & Partial<Pick<SpawnFlowRunOptions, 'flowRunId' | 'flowSecrets'>>): Record<string, string> {
  const source = options.sourceEnv ?? process.env;
  const secrets = new Set((options.secrets ?? []).filter(Boolean));
  const env: Record<string, string> = {};
  for (const name of [...CHILD_ENV_ALLOW_LIST, ...(options.passEnv ?? [])]) {
    const value = source[name];
    if (value !== undefined && !secrets.has(value)) env[name] = value;
  }
  if (options.flowRunId !== undefined) Object.assign(env, runEnv({ ...options, flowRunId: options.flowRunId }));
  if (options.memoryLimitMb) {
    // After any NODE_OPTIONS the operator passed on: the last --max-old-space-size wins.
    env.NODE_OPTIONS = [env.NODE_OPTIONS, `--max-old-space-size=${options.memoryLimitMb}`].filter(Boolean).join(' ');
  }
  return env;
}

/**
 * The hidden first argument that makes the `fluxo-agent` binary run as the child runtime instead of
 * the agent (its launcher, scripts/sea/launcher.mjs, repeats the value).
 */
export const CHILD_RUNTIME_ARGUMENT = '__fluxo-child-runtime';

/**
 * How the child runtime is started. Inside the `fluxo-agent` single executable the binary
 * re-executes itself with {@link CHILD_RUNTIME_ARGUMENT}, so a host needs no Node install (and
 * `childEntry`, a script path, means nothing there); otherwise the running Node executes the
 * child runtime script. Either way the child is a Node process, so the IPC channel
 * (NODE_CHANNEL_FD) works the same.
 *
 * @example
 * childRuntimeCommand(); // { file: '/usr/bin/node', args: ['/opt/fluxo/dist/sdk/runtime/child.js'] }
 * childRuntimeCommand(); // in the binary: { file: '/usr/local/bin/fluxo-agent', args: ['__fluxo-child-runtime'] }
 */
export function childRuntimeCommand(childEntry?: string): { file: string; args: string[] } {
  if (isSingleExecutable()) return { file: process.execPath, args: [CHILD_RUNTIME_ARGUMENT] };
  return { file: process.execPath, args: [childEntry ?? defaultChildEntry()] };
}

/** The files {@link childRuntimeCommand} starts: the executable, and the script unless inside the binary. */
export function childRuntimeFiles(childEntry?: string): { executable: string; script?: string } {
  const { file, args } = childRuntimeCommand(childEntry);
  return isSingleExecutable() ? { executable: file } : { executable: file, ...(args[0] ? { script: args[0] } : {}) };
}

let singleExecutable: boolean | undefined;

/** Whether this process is a Node single executable application (`node:sea`, Node >= 20.12). */
function isSingleExecutable(): boolean {
  if (singleExecutable === undefined) {
    try {
      singleExecutable = (createRequire(import.meta.url)('node:sea') as typeof import('node:sea')).isSea();
    } catch {
      // A Node without `node:sea` cannot be a single executable either.
      singleExecutable = false;
    }
  }
  return singleExecutable;
}

/**
 * The compiled child runtime next to this module (`dist/agent` → `dist/sdk/runtime/child.js`);
 * when this module runs from source (tests), the compiled copy under `dist/`.
 */
export function defaultChildEntry(): string {
  const sibling = fileURLToPath(new URL('../sdk/runtime/child.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return fileURLToPath(new URL('../dist/sdk/runtime/child.js', import.meta.url));
}

function forwardLines(
  stream: NodeJS.ReadableStream | null,
  name: 'stdout' | 'stderr',
  onLog: ((event: LogEvent) => void) | undefined,
  tap?: (line: string) => void,
): Promise<void> {
  if (!stream) return Promise.resolve();
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const closed = new Promise<void>((resolve) => lines.once('close', resolve));
  lines.on('line', (line) => {
    tap?.(line);
    onLog?.({
      level: name === 'stderr' ? 'ERROR' : 'INFO',
      stream: name,
      message: clip(line),
      taskRunKey: null,
      timestamp: new Date().toISOString(),
    });
  });
  return closed;
}

function clip(text: string): string {
  return text.length > MAX_LOG_LINE_CHARS ? `${text.slice(0, MAX_LOG_LINE_CHARS - 1)}…` : text;
}
