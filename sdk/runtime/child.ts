// The process an agent spawns per flow run: `node dist/sdk/runtime/child.js`, with an IPC channel.
// It says `ready`, waits for one `start` (possibly long: the agent may start it ahead of demand),
// imports the verified bundle, runs the exported flow and relays task states and logs as IPC
// messages, then sends one `result` and exits with a CHILD_EXIT code. stdout and stderr are
// captured by the agent; this file never writes protocol data there.
//
// Kept to node builtins and the protocol: it starts once per run, so every import is start-up time.
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RunCommandOptions, RunCommandResult } from '../../data/contract.js';
import { failureOf, serializeFailure } from './failure.js';
import {
  CHILD_EXIT,
  DATA_FILE_CHUNK_BYTES,
  FLOW_MARKER,
  RUNTIME_PROTOCOL_VERSION,
  asFlowHandle,
  type ChildMessage,
  type DataHost,
  type DataOperation,
  type DataResponseMessage,
  type FlowHandle,
  type GoMessage,
  type RuntimeHost,
  type SerializedFailure,
  type StartMessage,
  type StoredResultMessage,
} from './protocol.js';

let finishing = false;

/** Queues a message; IPC keeps order, so the callback of the last one means all are written. */
function send(message: ChildMessage, callback?: (error: Error | null) => void): void {
  if (!process.send || !process.connected) {
    callback?.(new Error('the IPC channel is closed'));
    return;
  }
  process.send(message, undefined, undefined, callback);
}

/** Sends the result, waits until every queued message is written, then exits. */
function finish(result: ChildMessage & { type: 'result' }, exitCode: number): void {
  if (finishing) return;
  finishing = true;
  const timer = setTimeout(() => process.exit(exitCode), 5_000);
  send(result, () => {
    clearTimeout(timer);
    process.exit(exitCode);
  });
}

function fail(failure: SerializedFailure, exitCode: number): void {
  finish({ type: 'result', ok: false, failure }, exitCode);
}

function protocolError(message: string): never {
  process.stderr.write(`fluxo child runtime: ${message}\n`);
  process.exit(CHILD_EXIT.protocolError);
}

function isStartMessage(value: unknown): value is StartMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  return (
    message.type === 'start' &&
    typeof message.flowRunId === 'string' &&
    typeof message.bundlePath === 'string' &&
    typeof message.entrypoint === 'string'
  );
}

function loadError(type: string, message: string, stack?: string): SerializedFailure {
  return stack === undefined ? { type, message, reason: 'load-error' } : { type, message, reason: 'load-error', stack };
}

async function load(start: StartMessage): Promise<FlowHandle | SerializedFailure> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(start.bundlePath).href)) as Record<string, unknown>;
  } catch (error) {
    return serializeFailure(error, 'load-error');
  }
  if (!(start.entrypoint in module)) {
    const exported = Object.keys(module).filter((name) => asFlowHandle(module[name]));
    return loadError('LoadError', `the bundle has no export "${start.entrypoint}" (flows exported: ${exported.join(', ') || 'none'})`);
  }
  const handle = asFlowHandle(module[start.entrypoint]);
  if (!handle) return loadError('LoadError', `export "${start.entrypoint}" is not a fluxo flow`);
  if (handle[FLOW_MARKER] !== RUNTIME_PROTOCOL_VERSION) {
    return loadError(
      'LoadError',
      `export "${start.entrypoint}" was built for runtime protocol ${String(handle[FLOW_MARKER])}, this runtime speaks ${RUNTIME_PROTOCOL_VERSION}`,
    );
  }
  return handle;
}

/**
 * The host a flow runs with: task states (with results) and logs go to the agent over IPC, and a
 * restarted run's stored results come back from it on request. The agent reads and verifies them;
 * the child never touches result storage.
 */
function hostFor(start: StartMessage): RuntimeHost {
  const stored = new Set((start.storedResults ?? []).map((r) => `${r.inputsHash} ${r.taskKey}`));
  const waiting = new Map<number, (json: string | null) => void>();
  let nextRequest = 1;
  if (stored.size > 0) {
    process.on('message', (message: unknown) => {
      const answer = message as StoredResultMessage;
      if (answer?.type !== 'stored-result') return;
      const resolve = waiting.get(answer.requestId);
      waiting.delete(answer.requestId);
      resolve?.('json' in answer && typeof answer.json === 'string' ? answer.json : null);
    });
  }
  return {
    storesResults: true,
    data: dataHost(),
    taskState: (event) => send({ type: 'task-state', ...event }),
    log: (event) => send({ type: 'log', ...event }),
    storedResult: (taskKey, inputsHash) => {
      if (!stored.has(`${inputsHash} ${taskKey}`)) return null;
      // Each stored result is handed out once: a second call with the same key cannot happen in
      // one run (keys count calls), so this only guards against a confused bundle.
      stored.delete(`${inputsHash} ${taskKey}`);
      const requestId = nextRequest++;
      return new Promise<string | null>((resolve) => {
        waiting.set(requestId, resolve);
        send({ type: 'read-result', requestId, taskKey, inputsHash }, (error) => {
          if (error) {
            waiting.delete(requestId);
            resolve(null);
          }
        });
      });
    },
  };
}

/** An error the flow's fluxo/data copy turns into its own DataError (same name and code). */
function dataError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'DataError', code });
}

/** Sends a message and resolves once it is written: file chunks wait for the channel, not memory. */
function sendAsync(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => send(message, (error) => (error ? reject(dataError('DATA_CANCELLED', `the agent is gone: ${error.message}`)) : resolve())));
}

/**
 * fluxo/data over IPC: the agent does the lake, warehouse and dbt work and answers `data-response`;
 * a file the flow names is read here, as the flow's user, and its bytes streamed (`data-file`).
 * Commands run here, in the flow's process group and as its user.
 */
function dataHost(): DataHost {
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let listening = false;
  let nextRequest = 1;
  let nextUpload = 1;
  const listen = (): void => {
    if (listening) return;
    listening = true;
    process.on('message', (message: unknown) => {
      const answer = message as DataResponseMessage;
      if (answer?.type !== 'data-response') return;
      const pending = waiting.get(answer.requestId);
      waiting.delete(answer.requestId);
      if (!pending) return;
      if (answer.ok) pending.resolve(answer.result);
      else pending.reject(dataError(answer.error.code, answer.error.message));
    });
  };

  /** Streams a file of the flow's as `data-file` chunks; resolves to its upload id. */
  const upload = async (path: string): Promise<number> => {
    const id = nextUpload++;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: DATA_FILE_CHUNK_BYTES })) {
        await sendAsync({ type: 'data-file', upload: id, chunk: (chunk as Buffer).toString('base64'), last: false });
      }
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code === 'ENOENT') throw dataError('DATA_NOT_FOUND', `the flow's file ${path} does not exist`);
      if ((error as Error).name === 'DataError') throw error;
      throw dataError('DATA_INVALID_ARGUMENT', `cannot read the flow's file ${path}: ${message}`);
    }
    await sendAsync({ type: 'data-file', upload: id, chunk: '', last: true });
    return id;
  };

  /** A source naming a file becomes the id of its streamed bytes. */
  const wireSource = async (source: unknown): Promise<unknown> => {
    if (typeof source !== 'object' || source === null) return source;
    for (const format of ['csv', 'parquet'] as const) {
      const file = (source as Record<string, unknown>)[format] as { path?: unknown } | undefined;
      if (typeof file?.path === 'string') return { ...source, [format]: { upload: await upload(file.path) } };
    }
    return source;
  };

  return {
    async request(operation: DataOperation, args: Record<string, unknown>, taskKey: string | null): Promise<unknown> {
      listen();
      const wireArgs = 'source' in args ? { ...args, source: await wireSource(args.source) } : args;
      const requestId = nextRequest++;
      return new Promise((resolve, reject) => {
        waiting.set(requestId, { resolve, reject });
        send({ type: 'data-request', requestId, operation, args: wireArgs, taskKey }, (error) => {
          if (!error) return;
          waiting.delete(requestId);
          reject(dataError('DATA_CANCELLED', `the agent is gone: ${error.message}`));
        });
      });
    },
    runCommand: (command, args, options, taskKey, onLine) => runCommandHere(command, args, options, taskKey, onLine),
  };
}

/** Aborts the commands in flight when the agent stops the run (SIGTERM): their process groups are their own. */
const commands = { active: 0, abort: new AbortController() };

async function runCommandHere(
  command: string,
  args: readonly string[],
  options: RunCommandOptions,
  taskKey: string | null,
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void,
): Promise<RunCommandResult> {
  // Loaded on first use: execa is start-up time every run would pay otherwise.
  const { runCommand } = await import('../../data/command.js');
  if (commands.active++ === 0) process.on('SIGTERM', onTermWithCommands);
  try {
    return await runCommand(command, args, options, {
      signal: commands.abort.signal,
      // The agent kills the groups still open if this process is SIGKILLed (it cannot clean up then).
      onProcessGroup: (pgid, state) => send({ type: 'process-group', pgid, state }),
      onLine: (stream, line) => {
        send({ type: 'log', level: stream === 'stderr' ? 'ERROR' : 'INFO', stream, message: line, taskRunKey: taskKey, timestamp: new Date().toISOString() });
        onLine?.(stream, line);
      },
    });
  } finally {
    if (--commands.active === 0) process.removeListener('SIGTERM', onTermWithCommands);
  }
}

/**
 * SIGTERM while commands run: they are stopped (SIGTERM to their groups, SIGKILL after a grace),
 * then the child exits as SIGTERM would have ended it.
 */
function onTermWithCommands(): void {
  commands.abort.abort();
  const exit = (): void => process.exit(128 + 15);
  const poll = setInterval(() => {
    if (commands.active === 0) exit();
  }, 50);
  poll.unref();
  setTimeout(exit, 10_000).unref();
}

/** The agent's `go` (for a start with `hold`); anything else before it breaks the protocol. */
function nextGo(): Promise<void> {
  return new Promise((resolve) =>
    process.once('message', (message: unknown) => {
      if ((message as GoMessage | null)?.type !== 'go') protocolError(`expected a go message, got ${JSON.stringify(message)}`);
      resolve();
    }),
  );
}

async function main(): Promise<void> {
  if (!process.send) protocolError('must be spawned with an IPC channel (by a fluxo agent)');
  // The agent is gone: nobody records this run any more and the server will hand it to another
  // agent once the lease expires, so running on would only duplicate work.
  process.on('disconnect', () => {
    if (!finishing) protocolError('the agent closed the IPC channel');
  });
  // Errors that escape the flow's promise chain still end the run with a failure result.
  const onStray = (error: unknown): void => fail(serializeFailure(error), CHILD_EXIT.flowFailed);
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);

  const started = new Promise<unknown>((resolve) => process.once('message', resolve));
  send({ type: 'ready', protocolVersion: RUNTIME_PROTOCOL_VERSION });
  const start = await started;
  if (!isStartMessage(start)) protocolError(`expected a start message, got ${JSON.stringify(start)}`);
  // A child started ahead of demand learns its run's variables only now, before any flow code runs.
  for (const [name, value] of Object.entries(start.env ?? {})) if (typeof value === 'string') process.env[name] = value;

  // A load error is reported at once: the agent reports it once RUNNING is written.
  const go = start.hold ? nextGo() : null;
  const handle = await load(start);
  if (!('run' in handle)) {
    fail(handle, CHILD_EXIT.loadError);
    return;
  }
  if (go) await go;
  try {
    await handle.run(start.parameters, hostFor(start));
    finish({ type: 'result', ok: true }, CHILD_EXIT.success);
  } catch (error) {
    const failure = failureOf(error);
    fail(failure, failure.reason === 'timeout' ? CHILD_EXIT.timedOut : CHILD_EXIT.flowFailed);
  }
}

void main();
