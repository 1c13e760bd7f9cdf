// Shared test harness: temporary directories, free ports, bounded waiting, and a cleanup registry
// that stops every process a test started and fails the test when one is left running.
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach } from 'vitest';

/** The repository root. */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The compiled CLI the end-to-end tests run as separate processes (built by `npm test` first). */
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

type Cleanup = () => Promise<void> | void;
const testCleanups: Cleanup[] = [];
const fileCleanups: Cleanup[] = [];

/**
 * Registers work to undo, last registered first: after the current test when called inside one,
 * after the whole file when called from beforeAll (a stack shared by a file's tests).
 */
export function onCleanup(cleanup: Cleanup): void {
  (inTest ? testCleanups : fileCleanups).push(cleanup);
}

// Set between a test's beforeEach and afterEach hooks; outside them (beforeAll) cleanups are the file's.
let inTest = false;

async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  const errors: unknown[] = [];
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
}

beforeEach(() => {
  inTest = true;
});
afterEach(async () => {
  inTest = false;
  await runCleanups(testCleanups);
});
afterAll(() => runCleanups(fileCleanups));

/** A fresh temporary directory, removed after the test. */
export async function tempDir(prefix = 'fluxo-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Traversable (not listable) by others: a root agent's flows run as another user and must reach
  // their run directory and bundle under an agent work dir placed here (agent/run-as.ts).
  await chmod(dir, 0o711);
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`
 * with the last error, so a test waits for a condition instead of sleeping.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 15_000, intervalMs = 25, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((wake) => setTimeout(wake, intervalMs));
  }
}

/**
 * Whether a process with this pid is alive. A zombie (killed, waiting for its parent or PID 1 to
 * reap it) counts as gone: it runs no code.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Z: zombie, X: dead (seen for an instant while being reaped).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // Without /proc (macOS) kill(pid, 0) is all there is; on Linux the process went in between.
    return process.platform !== 'linux';
  }
}

/** Live pids whose parent is `pid` (from /proc, Linux only). */
export async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && isAlive(Number(entry))) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}
