// The parts every test helper that runs an outside tool shares: finding its executable (an
// environment variable, else the ensure-script scripts/test.sh also runs), starting it as a child
// that is waited for until it answers, and making sure it never outlives the test process.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { isAlive, onCleanup, repoRoot, waitFor } from './harness.js';

// If the test process dies before its cleanups run (a timeout, a crash), its children must not outlive it.
const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Kills `pid` when the test process exits before its cleanup ran; call the returned function once
 * the child is stopped.
 */
export function killOnExit(pid: number): () => void {
  live.add(pid);
  return () => live.delete(pid);
}

/** Where a tool comes from. */
export interface ToolSource {
  /** What the messages call it: `fake-gcs-server`, `dbt`. */
  name: string;
  /** An environment variable naming the executable, which wins when set. */
  envVar: string;
  /** The script under scripts/ that installs it and prints its path as its last line. */
  script: string;
  /** How to get it, appended to every failure. */
  hint: string;
  /** How long the script may take (a first install downloads). @default 300_000 */
  timeoutMs?: number;
}

/**
 * The tool's executable: `$envVar`, else the path `scripts/<script>` prints (`.mjs` runs under
 * Node, anything else under bash). Fails saying how to install it, never skips.
 */
export async function locateTool({ name, envVar, script, hint, timeoutMs = 300_000 }: ToolSource): Promise<string> {
  const configured = process.env[envVar];
  if (configured) {
    try {
      await access(configured, constants.X_OK);
      return configured;
    } catch (error) {
      throw new Error(`${envVar}=${configured} is not an executable file; ${hint}`, { cause: error });
    }
  }
  const path = join(repoRoot, 'scripts', script);
  const ensured = await execa(script.endsWith('.mjs') ? process.execPath : 'bash', [path], { reject: false, timeout: timeoutMs });
  const found = String(ensured.stdout).trim().split('\n').pop() ?? '';
  try {
    if (ensured.exitCode !== 0 || !found) throw new Error(`${script} exited with ${ensured.exitCode ?? ensured.signal}`);
    await access(found, constants.X_OK);
    return found;
  } catch (error) {
    const stderr = String(ensured.stderr ?? '').trim();
    throw new Error(`${name} is not available${stderr ? ` (${stderr})` : ''}; ${hint}`, { cause: error });
  }
}

/** A tool started as a server child of the test. */
export interface ServiceChild {
  /** The child's process id. */
  pid: number;
}

/**
 * Spawns `bin args`, waits until `healthUrl` answers 2xx, and stops the child (SIGTERM, then
 * SIGKILL after `stopGraceMs`) in the caller's cleanup, failing if it outlives its stop. Fails with
 * the child's last output when it exits or does not answer in time.
 */
export async function startServiceChild(
  { name, bin, args, healthUrl, hint, timeoutMs, intervalMs = 25, stopGraceMs = 5_000 }: { name: string; bin: string; args: string[]; healthUrl: string; hint: string; timeoutMs: number; intervalMs?: number; stopGraceMs?: number },
): Promise<ServiceChild> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${name} (${bin}): ${(await spawnError).message}; ${hint}`);
  const forget = killOnExit(pid);
  onCleanup(async () => {
    if (exit === undefined) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), stopGraceMs))]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    forget();
    if (isAlive(pid)) throw new Error(`${name} (pid ${pid}) is still running after its stop`);
  });

  const outcome = await waitFor(
    async () => {
      if (exit !== undefined) return 'exited' as const;
      const response = await fetch(healthUrl);
      return response.ok ? ('ready' as const) : false;
    },
    { timeoutMs, intervalMs, what: `${name} to answer on ${new URL(healthUrl).origin}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; its output: ${output.join('').trim() || '(none)'}`, { cause: error.cause ?? error });
  });
  if (outcome === 'exited') {
    throw new Error(`${name} (${bin}) exited (code ${exit?.code}, signal ${exit?.signal}) before answering: ${output.join('').trim() || '(no output)'}; ${hint}`);
  }
  return { pid };
}
