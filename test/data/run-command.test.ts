// runCommand (data/command.ts) with real processes: sh scripts that print, fail, hang and fork.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand, TAIL_BYTES, type RunCommandIo } from '../../data/command.js';
import type { RunCommandOptions } from '../../data/contract.js';
import { isAlive, tempDir, waitFor } from '../support/harness.js';

interface Captured {
  io: RunCommandIo;
  lines: { stream: 'stdout' | 'stderr'; line: string }[];
  of(stream: 'stdout' | 'stderr'): string[];
}

/** An io that records every line; `react` runs on each one (to answer the command while it runs). */
function capture(signal: AbortSignal = new AbortController().signal, react?: (stream: 'stdout' | 'stderr', line: string) => void): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    of: (stream) => lines.filter((entry) => entry.stream === stream).map((entry) => entry.line),
    io: {
      signal,
      onLine(stream, line) {
        lines.push({ stream, line });
        react?.(stream, line);
      },
    },
  };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { name: string; code: string; message: string };
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** The pid a script printed as `child=<pid>`. */
function printedPid(captured: Captured): number {
  const line = captured.of('stdout').find((entry) => entry.startsWith('child='));
  if (!line) throw new Error(`the script printed no child pid: ${JSON.stringify(captured.lines)}`);
  return Number(line.slice('child='.length));
}

describe('output', () => {
  it('hands over each line while the command still runs, in order per stream', async () => {
    const dir = await tempDir();
    const go = join(dir, 'go');
    // The script waits for a file the test writes only once it has seen `ready`: without streaming
    // the command would never finish (and the timeout would say so).
    const script = `echo ready; echo warming >&2; while [ ! -e "$GO" ]; do sleep 0.02; done; echo done; echo cooled >&2`;
    const captured = capture(undefined, (stream, line) => {
      if (stream === 'stdout' && line === 'ready') writeFileSync(go, '');
    });
    const result = await runCommand('sh', ['-c', script], { env: { GO: go }, timeoutSeconds: 30 }, captured.io);
    expect(result.exitCode).toBe(0);
    expect(captured.of('stdout')).toEqual(['ready', 'done']);
    expect(captured.of('stderr')).toEqual(['warming', 'cooled']);
    expect(result.stdoutTail).toBe('ready\ndone\n');
    expect(result.stderrTail).toBe('warming\ncooled\n');
  });

  it('hands over a last line without a newline, and drops the carriage return of CRLF lines', async () => {
    const captured = capture();
    await runCommand('sh', ['-c', `printf 'one\\r\\ntwo\\n\\nthree'`], {}, captured.io);
    expect(captured.of('stdout')).toEqual(['one', 'two', '', 'three']);
  });

  it('keeps the last 64 KiB of each stream', async () => {
    const captured = capture();
    // 100,000 x's then END on stdout; 70,000 y's and FIN on stderr.
    const script = `head -c 100000 /dev/zero | tr '\\0' x; echo; echo END; head -c 70000 /dev/zero | tr '\\0' y >&2; echo FIN >&2`;
    const result = await runCommand('sh', ['-c', script], {}, captured.io);
    expect(Buffer.byteLength(result.stdoutTail)).toBe(TAIL_BYTES);
    expect(result.stdoutTail.endsWith('x\nEND\n')).toBe(true);
    expect(Buffer.byteLength(result.stderrTail)).toBe(TAIL_BYTES);
    expect(result.stderrTail.endsWith('yyyFIN\n')).toBe(true);
    // Every byte still reached onLine: the long line whole (it is over 64 KiB: cut in two pieces).
    expect(captured.of('stdout').join('').length).toBe(100_000 + 'END'.length);
  });

  it('cuts its tail at a character boundary when the cut falls inside a UTF-8 character', async () => {
    const captured = capture();
    // "é" is two bytes; an odd count of leading x's makes the 64 KiB cut land mid-character.
    const result = await runCommand('node', ['-e', `process.stdout.write('x'.repeat(1001) + 'é'.repeat(40000))`], {}, captured.io);
    expect(result.stdoutTail).toMatch(/^é+$/);
    expect(captured.of('stdout').join('')).toBe('x'.repeat(1001) + 'é'.repeat(40000));
  });

  it('passes input on stdin and adds env to the inherited environment', async () => {
    const captured = capture();
    await runCommand('sh', ['-c', 'cat; echo "[$GREETING] [${PATH:+path inherited}]"'], { input: 'line one\nline two', env: { GREETING: 'olá' } }, captured.io);
    expect(captured.of('stdout')).toEqual(['line one', 'line two[olá] [path inherited]']);
  });

  it('succeeds when the command exits without reading its input', async () => {
    const result = await runCommand('true', [], { input: 'x'.repeat(4 * 1024 * 1024) }, capture().io);
    expect(result.exitCode).toBe(0);
  });

  it('throws what onLine threw once the command is done, instead of crashing the process', async () => {
    const dir = await tempDir();
    const broken = new Error('the log is closed');
    const error = await rejection(
      runCommand('sh', ['-c', `echo one; echo two; touch '${join(dir, 'finished')}'`], {}, {
        signal: new AbortController().signal,
        onLine() {
          throw broken;
        },
      }),
    );
    expect(error).toBe(broken);
    expect(existsSync(join(dir, 'finished'))).toBe(true);
  });

  it('runs in cwd', async () => {
    const dir = await tempDir();
    const captured = capture();
    await runCommand('pwd', [], { cwd: dir }, captured.io);
    expect(captured.of('stdout')).toEqual([dir]);
  });
});

describe('exit codes', () => {
  it('fails COMMAND_FAILED naming the exit code and the last stderr line', async () => {
    const captured = capture();
    const error = await rejection(runCommand('sh', ['-c', 'echo reading >&2; echo "disk full" >&2; echo; exit 3'], {}, captured.io));
    expect(error).toMatchObject({ name: 'DataError', code: 'COMMAND_FAILED', message: 'sh exited with code 3: disk full' });
  });

  it('says so when the failing command printed nothing on stderr', async () => {
    const error = await rejection(runCommand('sh', ['-c', 'exit 7'], {}, capture().io));
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', message: 'sh exited with code 7 (nothing on stderr)' });
  });

  it('accepts the exit codes listed in okExitCodes', async () => {
    const result = await runCommand('sh', ['-c', 'echo partial; exit 3'], { okExitCodes: [0, 3] }, capture().io);
    expect(result).toMatchObject({ exitCode: 3, stdoutTail: 'partial\n', stderrTail: '' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const error = await rejection(runCommand('true', [], { okExitCodes: [3] }, capture().io));
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', message: 'true exited with code 0 (nothing on stderr)' });
  });

  it('fails COMMAND_FAILED when the command is killed by a signal it did not get from us', async () => {
    const error = await rejection(runCommand('sh', ['-c', 'echo dying >&2; kill -SEGV $$'], {}, capture().io));
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', message: 'sh was killed by SIGSEGV: dying' });
  });
});

describe('starting', () => {
  it('fails COMMAND_FAILED saying the command was not found', async () => {
    const error = await rejection(runCommand('fluxo-no-such-command', ['x'], {}, capture().io));
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', message: 'could not start fluxo-no-such-command: command not found (is it installed and on PATH?)' });
    const byPath = await rejection(runCommand('/nonexistent/bin/tool', [], {}, capture().io));
    expect(byPath).toMatchObject({ code: 'COMMAND_FAILED', message: 'could not start /nonexistent/bin/tool: command not found (is it installed?)' });
  });

  it('fails COMMAND_FAILED when the working directory does not exist', async () => {
    const dir = await tempDir();
    const error = await rejection(runCommand('true', [], { cwd: join(dir, 'gone') }, capture().io));
    expect(error).toMatchObject({ code: 'COMMAND_FAILED', message: `could not start true: its working directory ${join(dir, 'gone')} does not exist` });
  });

  it.each<[string, string, unknown[], RunCommandOptions, RegExp]>([
    ['an empty command', '', [], {}, /the command must be a non-empty string/],
    ['a non-string argument', 'echo', [1], {}, /args must be an array of strings/],
    ['a zero timeout', 'true', [], { timeoutSeconds: 0 }, /timeoutSeconds must be a positive number, got 0/],
    ['an infinite timeout', 'true', [], { timeoutSeconds: Infinity }, /timeoutSeconds must be a positive number/],
    ['a non-integer exit code', 'true', [], { okExitCodes: [0.5] }, /okExitCodes must be a list of exit codes/],
    ['a non-string env value', 'true', [], { env: { N: 1 as unknown as string } }, /env\.N must be a string/],
    ['an env name with =', 'true', [], { env: { 'A=B': 'x' } }, /is not a variable name/],
  ])('rejects %s with DATA_INVALID_ARGUMENT', async (_what, cmd, args, options, message) => {
    const error = await rejection(runCommand(cmd, args as string[], options, capture().io));
    expect(error.code).toBe('DATA_INVALID_ARGUMENT');
    expect(error.message).toMatch(message);
  });
});

describe('stopping', () => {
  it('kills the whole process tree after timeoutSeconds and fails COMMAND_TIMED_OUT', async () => {
    const captured = capture();
    const error = await rejection(runCommand('sh', ['-c', 'echo waiting >&2; sleep 100 & echo child=$!; wait'], { timeoutSeconds: 1 }, captured.io));
    expect(error).toMatchObject({ code: 'COMMAND_TIMED_OUT', message: 'sh ran past its timeout of 1 s; its processes were killed (last on stderr: waiting)' });
    expect(isAlive(printedPid(captured))).toBe(false);
  });

  it('follows SIGTERM with SIGKILL when the tree ignores SIGTERM', async () => {
    const captured = capture();
    // `trap '' TERM` is inherited by the background sleep: only SIGKILL ends either.
    const error = await rejection(runCommand('sh', ['-c', `trap '' TERM; sleep 100 & echo child=$!; wait`], { timeoutSeconds: 1 }, captured.io));
    expect(error.code).toBe('COMMAND_TIMED_OUT');
    expect(isAlive(printedPid(captured))).toBe(false);
  });

  it('kills the whole process tree when the signal aborts and fails DATA_CANCELLED', async () => {
    const controller = new AbortController();
    const captured = capture(controller.signal, (_stream, line) => {
      if (line.startsWith('child=')) controller.abort();
    });
    const error = await rejection(runCommand('sh', ['-c', 'sleep 100 & echo child=$!; wait'], { timeoutSeconds: 60 }, captured.io));
    expect(error).toMatchObject({ code: 'DATA_CANCELLED', message: 'sh was stopped because the run was cancelled; its processes were killed' });
    expect(isAlive(printedPid(captured))).toBe(false);
  });

  it('does not start a command when the signal has already aborted', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(runCommand('touch', [join(dir, 'ran')], {}, capture(controller.signal).io));
    expect(error).toMatchObject({ code: 'DATA_CANCELLED', message: 'touch was not started: the run was cancelled' });
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('kills what the command left running in the background once it exits, instead of waiting on it', async () => {
    const captured = capture();
    // The background sleep keeps stdout open: without the kill the call would wait for it 100 s.
    const result = await runCommand('sh', ['-c', 'sleep 100 & echo child=$!'], { timeoutSeconds: 30 }, captured.io);
    expect(result.exitCode).toBe(0);
    const child = printedPid(captured);
    await waitFor(() => !isAlive(child), { what: `the background sleep ${child} to be gone` });
  });
});
