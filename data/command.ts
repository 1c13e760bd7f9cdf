// runCommand: a flow's own script or tool (dbt, ogr2ogr, a shell script), run to completion with its
// output streamed line by line to the run's log, and an exact account of how it ended.
//
// The command gets its own process group (execa `detached`): a timeout or a cancellation signals
// the group, so what a shell script started dies with it; and when the command itself exits, what
// it left running in its group is killed too (a background process holding the pipes open would
// otherwise keep the call waiting forever, and a run must not leave processes behind).
import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { DataError, type RunCommandOptions, type RunCommandResult } from './contract.js';

/** Bytes of each stream kept for {@link RunCommandResult}'s tails. */
export const TAIL_BYTES = 64 * 1024;
/** SIGTERM-to-SIGKILL grace for a timed-out or cancelled command. */
export const KILL_GRACE_MS = 5_000;
/**
 * Longest line handed to `onLine`; a longer run of bytes without a newline (a progress bar, a
 * binary dump) is cut into pieces of this size, so memory stays bounded whatever the command prints.
 */
export const MAX_LINE_CHARS = 64 * 1024;
/** setTimeout's ceiling (about 24.8 days); a longer timeout is clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where runCommand reports to, and what stops it. */
export interface RunCommandIo {
  /** Aborting it kills the command's process group; the call then fails DATA_CANCELLED. */
  signal: AbortSignal;
  /** Each line of output as it arrives (without its newline; a last line without one included). */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /**
   * Whether the command starts from this process's environment (`options.env` added to it), or
   * from `options.env` alone: dbt gets an allow-listed environment, never the agent's. @default true
   */
  inheritEnv?: boolean;
  /**
   * The command's process group (its pid) once it started, and again once it and its group were
   * killed: the child runtime tells the agent, which kills the groups still open when it SIGKILLs
   * the child (agent/process-groups.ts).
   */
  onProcessGroup?(pgid: number, state: 'started' | 'ended'): void;
}

/**
 * Runs `cmd` with `args` (no shell) in its own process group and resolves once it and everything
 * it started are gone.
 *
 * Fails with a {@link DataError}: COMMAND_FAILED when the command exits with a code not in
 * `okExitCodes`, is killed by a signal of someone else's, or cannot start (not found, not
 * executable, missing cwd); COMMAND_TIMED_OUT after `timeoutSeconds` (SIGTERM to the group, SIGKILL
 * {@link KILL_GRACE_MS} later); DATA_CANCELLED when `io.signal` aborts (the same kill sequence);
 * DATA_INVALID_ARGUMENT for malformed arguments. `options.env` is added to `process.env` (or is
 * the whole environment with `io.inheritEnv: false`): the caller decides what that holds.
 *
 * @example
 * const result = await runCommand('sh', ['-c', 'echo hi; exit 3'], { okExitCodes: [0, 3] }, { signal, onLine: (stream, line) => log(line) });
 * // { exitCode: 3, stdoutTail: 'hi\n', stderrTail: '', durationMs: 4 }
 */
export async function runCommand(cmd: string, args: readonly string[], options: RunCommandOptions, io: RunCommandIo): Promise<RunCommandResult> {
  validate(cmd, args, options);
  const okExitCodes = options.okExitCodes ?? [0];
  if (io.signal.aborted) throw new DataError('DATA_CANCELLED', `${cmd} was not started: the run was cancelled`);
  if (options.cwd !== undefined && !isDirectory(options.cwd)) {
    throw new DataError('COMMAND_FAILED', `could not start ${cmd}: its working directory ${options.cwd} does not exist`);
  }

  const startedAt = performance.now();
  const subprocess = execa(cmd, args, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env ?? {},
    extendEnv: io.inheritEnv ?? true,
    // setsid: the command leads a new process group, which is what the kills below signal.
    detached: true,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    // Killing is done here, on the whole group; execa's own escalation would reach the leader only.
    forceKillAfterDelay: false,
    cleanup: false,
  });
  const pid = subprocess.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    io.onProcessGroup?.(pid, 'started');
  }

  // A throwing onLine must not become an uncaught exception inside a stream event: the first error
  // stops the delivery and is thrown once the command is done.
  let onLineError: { error: unknown } | null = null;
  const deliver = (stream: 'stdout' | 'stderr', line: string): void => {
    if (onLineError) return;
    try {
      io.onLine(stream, line);
    } catch (error) {
      onLineError = { error };
    }
  };
  const stdout = new StreamCapture((line) => deliver('stdout', line));
  let lastStderrLine = '';
  const stderr = new StreamCapture((line) => {
    if (line.trim() !== '') lastStderrLine = line.trim();
    deliver('stderr', line);
  });
  const drained = Promise.all([stdout.attach(subprocess.stdout), stderr.attach(subprocess.stderr)]);

  let exited = false;
  let stoppedBy: 'timeout' | 'cancel' | null = null;
  const timers: NodeJS.Timeout[] = [];
  const stop = (why: 'timeout' | 'cancel'): void => {
    if (exited || stoppedBy !== null) return;
    stoppedBy = why;
    signalGroup(pid, 'SIGTERM');
    timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS));
  };
  const onAbort = (): void => stop('cancel');
  io.signal.addEventListener('abort', onAbort, { once: true });
  if (options.timeoutSeconds !== undefined) {
    timers.push(setTimeout(() => stop('timeout'), Math.min(options.timeoutSeconds * 1000, MAX_TIMER_MS)));
  }
  // The leader's exit, not execa's resolution (which waits for pipes a leftover process may hold).
  subprocess.once('exit', () => {
    exited = true;
    signalGroup(pid, 'SIGKILL');
  });

  let result: Awaited<typeof subprocess>;
  try {
    result = await subprocess;
    await drained;
  } finally {
    exited = true;
    signalGroup(pid, 'SIGKILL');
    if (pid !== undefined) {
      liveGroups.delete(pid);
      io.onProcessGroup?.(pid, 'ended');
    }
    for (const timer of timers) clearTimeout(timer);
    io.signal.removeEventListener('abort', onAbort);
  }
  const durationMs = Math.round(performance.now() - startedAt);
  if (onLineError) throw (onLineError as { error: unknown }).error;
  const stderrSays = lastStderrLine ? `: ${lastStderrLine}` : ' (nothing on stderr)';

  if (pid === undefined || (result.exitCode === undefined && result.signal === undefined && stoppedBy === null)) {
    throw new DataError('COMMAND_FAILED', startFailure(cmd, result as SpawnFailure, options.cwd));
  }
  if (stoppedBy === 'cancel') {
    throw new DataError('DATA_CANCELLED', `${cmd} was stopped because the run was cancelled; its processes were killed`);
  }
  if (stoppedBy === 'timeout') {
    throw new DataError('COMMAND_TIMED_OUT', `${cmd} ran past its timeout of ${options.timeoutSeconds} s; its processes were killed${lastStderrLine ? ` (last on stderr: ${lastStderrLine})` : ''}`);
  }
  if (result.exitCode === undefined) {
    throw new DataError('COMMAND_FAILED', `${cmd} was killed by ${result.signal ?? 'a signal'}${stderrSays}`);
  }
  if (!okExitCodes.includes(result.exitCode)) {
    throw new DataError('COMMAND_FAILED', `${cmd} exited with code ${result.exitCode}${stderrSays}`);
  }
  return { exitCode: result.exitCode, stdoutTail: stdout.tail(), stderrTail: stderr.tail(), durationMs };
}

interface SpawnFailure {
  /** The spawn error's errno name (execa copies it onto its error). */
  code?: string;
  shortMessage?: string;
  message?: string;
}

/** Why the command did not start, in words a person can act on. */
function startFailure(cmd: string, result: SpawnFailure, cwd: string | undefined): string {
  switch (result.code) {
    case 'ENOENT':
      return `could not start ${cmd}: command not found (is it installed${cmd.includes('/') ? '' : ' and on PATH'}?)`;
    case 'EACCES':
      return `could not start ${cmd}: permission denied (is it executable${cwd ? `, and is ${cwd} readable` : ''}?)`;
    default:
      return `could not start ${cmd}: ${result.shortMessage ?? result.message ?? 'unknown error'}`;
  }
}

function validate(cmd: unknown, args: unknown, options: RunCommandOptions): void {
  const invalid = (message: string): never => {
    throw new DataError('DATA_INVALID_ARGUMENT', `runCommand: ${message}`);
  };
  if (typeof cmd !== 'string' || cmd === '' || cmd.includes('\0')) invalid(`the command must be a non-empty string, got ${JSON.stringify(cmd)}`);
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
    invalid('args must be an array of strings (without NUL characters)');
  }
  const { cwd, env, timeoutSeconds, input, okExitCodes } = options;
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) invalid('cwd must be a non-empty string');
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null || Array.isArray(env)) invalid('env must be an object of strings');
    for (const [name, value] of Object.entries(env)) {
      if (name === '' || name.includes('=') || name.includes('\0')) invalid(`env: ${JSON.stringify(name)} is not a variable name`);
      if (typeof value !== 'string' || value.includes('\0')) invalid(`env.${name} must be a string (without NUL characters)`);
    }
  }
  if (timeoutSeconds !== undefined && !(typeof timeoutSeconds === 'number' && Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    invalid(`timeoutSeconds must be a positive number, got ${String(timeoutSeconds)}`);
  }
  if (input !== undefined && typeof input !== 'string') invalid('input must be a string');
  if (okExitCodes !== undefined && !(Array.isArray(okExitCodes) && okExitCodes.every((code) => Number.isInteger(code) && code >= 0 && code <= 255))) {
    invalid(`okExitCodes must be a list of exit codes (integers 0–255), got ${JSON.stringify(okExitCodes)}`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Commands still running when this process exits normally (process.exit, an uncaught error) are
// killed with it: a detached group would otherwise outlive us. A SIGKILL of this process cannot be
// caught: under an agent, the child names each group (`io.onProcessGroup`, the `process-group`
// message) and the agent kills the open ones (agent/process-groups.ts).
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
});

/** One output stream: split into lines for the caller, and its last {@link TAIL_BYTES} kept. */
class StreamCapture {
  readonly #onLine: (line: string) => void;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  /** Reads the stream to its end; resolves once every line was handed over. */
  attach(stream: NodeJS.ReadableStream | null | undefined): Promise<void> {
    if (!stream) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.#flush();
        resolve();
      };
      stream.on('data', (chunk: Buffer | string) => this.#push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      stream.once('end', finish);
      stream.once('close', finish);
      // A broken pipe ends the output: what arrived is all there is.
      stream.once('error', finish);
    });
  }

  /** The last {@link TAIL_BYTES} bytes as text (starting at a character boundary). */
  tail(): string {
    let buffer = Buffer.concat(this.#chunks);
    if (buffer.length > TAIL_BYTES) buffer = buffer.subarray(buffer.length - TAIL_BYTES);
    let start = 0;
    // Skip UTF-8 continuation bytes the cut left at the front.
    while (start < buffer.length && start < 3 && (buffer[start]! & 0xc0) === 0x80) start += 1;
    return buffer.subarray(start).toString('utf8');
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > 2 * TAIL_BYTES) {
      const kept = Buffer.concat(this.#chunks).subarray(-TAIL_BYTES);
      this.#chunks = [kept];
      this.#bytes = kept.length;
    }
    this.#split(this.#decoder.write(chunk));
  }

  #split(text: string): void {
    let rest = this.#partial + text;
    let newline = rest.indexOf('\n');
    while (newline !== -1) {
      this.#emit(rest.slice(0, newline));
      rest = rest.slice(newline + 1);
      newline = rest.indexOf('\n');
    }
    while (rest.length > MAX_LINE_CHARS) {
      this.#emit(rest.slice(0, MAX_LINE_CHARS));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.#partial = rest;
  }

  #flush(): void {
    this.#split(this.#decoder.end());
    if (this.#partial !== '') this.#emit(this.#partial);
    this.#partial = '';
  }

  #emit(line: string): void {
    this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
