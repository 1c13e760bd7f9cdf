// The flow-run child as node:child_process gives it, with the three things the agent took from
// execa: a promise of exactly how it ended, `sendMessage` that resolves once the message is
// written, and `getEachMessage`. execa and its helpers cost an idle agent ~15 MB of RSS
// (docs/benchmarks.md, "Idle agent") and are not needed for one IPC child; `fluxo/data` commands
// (data/command.ts) still use execa, loaded with them.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** How the child ended, in execa's terms. */
export interface IpcSubprocessEnd {
  /** null when it was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn itself failed (ENOENT, EACCES): no process ever ran. */
  spawnError: Error | null;
}

/** A child with an IPC channel (advanced serialization, as execa's `ipc: true`). */
export interface IpcSubprocess {
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  /** Resolves (never rejects) when the process has exited and its stdout and stderr have closed. */
  readonly ended: Promise<IpcSubprocessEnd>;
  once(event: 'exit', listener: () => void): void;
  once(event: 'message', listener: (message: never) => void): void;
  /** Resolves once the message is handed to the channel; rejects when the channel is closed. */
  sendMessage(message: unknown): Promise<void>;
  /** Every message from now until the channel closes. */
  getEachMessage(): AsyncIterable<unknown>;
}

/**
 * Spawns `file args` with an IPC channel on fd 3 and stdout/stderr piped.
 *
 * @example const child = spawnIpcSubprocess(process.execPath, ['child.js'], { detached: true, env: {} });
 */
export function spawnIpcSubprocess(file: string, args: readonly string[], options: Omit<SpawnOptions, 'stdio' | 'serialization'>): IpcSubprocess {
  const child: ChildProcess = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
  const ended = new Promise<IpcSubprocessEnd>((resolve) => {
    let spawnError: Error | null = null;
    child.once('error', (error) => {
      // A failed spawn has no pid; later errors (a failed send, a failed kill) do not end anything.
      if (child.pid === undefined) {
        spawnError = error;
        // 'close' may not follow a failed spawn on every Node version.
        setImmediate(() => resolve({ exitCode: null, signal: null, spawnError }));
      }
    });
    child.once('close', (exitCode, signal) => resolve({ exitCode: spawnError ? null : exitCode, signal, spawnError }));
  });
  // Errors after the spawn (EPIPE on a send to an exiting child) surface through sendMessage.
  child.on('error', () => undefined);
  return {
    get pid() {
      return child.pid;
    },
    get exitCode() {
      return child.exitCode;
    },
    get signalCode() {
      return child.signalCode;
    },
    stdout: child.stdout,
    stderr: child.stderr,
    ended,
    once(event: 'exit' | 'message', listener: (...args: never[]) => void) {
      child.once(event, listener as (...args: unknown[]) => void);
    },
    sendMessage(message: unknown): Promise<void> {
      return new Promise((resolve, reject) => {
        if (!child.connected) {
          reject(new Error('the IPC channel is closed (the child has exited or disconnected)'));
          return;
        }
        child.send(message as object, (error) => (error ? reject(error) : resolve()));
      });
    },
    getEachMessage: () => eachMessage(child),
  };
}

/** The child's messages as they come, buffered while the consumer is busy; ends on disconnect. */
function eachMessage(child: ChildProcess): AsyncIterable<unknown> {
  const queue: unknown[] = [];
  let done = !child.connected;
  let wake: (() => void) | undefined;
  const onMessage = (message: unknown): void => {
    queue.push(message);
    wake?.();
  };
  const onEnd = (): void => {
    done = true;
    wake?.();
  };
  child.on('message', onMessage);
  // Not 'exit': the last messages may still be in the channel then; 'close' covers a failed spawn.
  child.once('disconnect', onEnd);
  child.once('close', onEnd);
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          while (queue.length > 0) yield queue.shift();
          if (done) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        child.off('message', onMessage);
        child.off('disconnect', onEnd);
        child.off('close', onEnd);
      }
    },
  };
}
