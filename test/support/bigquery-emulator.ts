// The BigQuery emulator (bqemulator, a REST server over DuckDB) as a real process for the BigQuery
// warehouse tests: started on free 127.0.0.1 ports with an in-memory catalog, waited for, and
// stopped after the test file (or the test) that started it. The executable comes from
// scripts/ensure-bigquery-emulator.sh (PyPI bqemulator 1.4.0 in its own virtualenv, with DuckDB's
// spatial extension in place); when it cannot be had, the tests fail and say what to install.
import type { BigQuery } from '@google-cloud/bigquery';
import { beforeAll } from 'vitest';
import { createBigQueryClient } from '../../data/google-clients.js';
import { startFaultProxy, type RecordedRequest } from './fault-proxy.js';
import { freePort } from './harness.js';
import { locateTool, startServiceChild } from './tool-process.js';

const INSTALL_HINT =
  'install it with `bash scripts/ensure-bigquery-emulator.sh` (a virtualenv with pip install bqemulator==1.4.0 duckdb==1.5.5 numpy, plus DuckDB\'s spatial extension from `node scripts/ensure-duckdb-spatial.mjs`), or point FLUXO_BQEMULATOR_BIN at a bqemulator executable';

/** The bearer token the tests' clients send (the emulator accepts any). */
export const EMULATOR_TOKEN = 'fluxo-test-token';

export interface BigQueryEmulator {
  /** `http://127.0.0.1:<port>`: the REST endpoint (GoogleSettings.bigqueryEndpoint). */
  endpoint: string;
  /** The project the emulator answers for by default. */
  projectId: string;
  /** The emulator's process id. */
  pid: number;
  /** A client of its own, for checks behind the code's back. */
  bigquery: BigQuery;
}

let binary: Promise<string> | undefined;

/** The bqemulator executable: FLUXO_BQEMULATOR_BIN, else whatever scripts/ensure-bigquery-emulator.sh installs. */
export function bigQueryEmulatorBinary(): Promise<string> {
  // A first install downloads ~100 MB of wheels (and the spatial extension): minutes, not seconds.
  binary ??= locateTool({ name: 'the BigQuery emulator', envVar: 'FLUXO_BQEMULATOR_BIN', script: 'ensure-bigquery-emulator.sh', hint: INSTALL_HINT, timeoutMs: 600_000 });
  return binary;
}

/**
 * Starts bqemulator and stops it in the cleanup of the caller (the test, or the file from
 * beforeAll). Fails the test if the emulator cannot be started or outlives its stop.
 *
 * @example beforeAll(async () => { emulator = await startBigQueryEmulator(); });
 */
export async function startBigQueryEmulator({ projectId = 'fluxo-test', timeoutMs = 60_000 }: { projectId?: string; timeoutMs?: number } = {}): Promise<BigQueryEmulator> {
  const bin = await bigQueryEmulatorBinary();
  const restPort = await freePort();
  const grpcPort = await freePort();
  const endpoint = `http://127.0.0.1:${restPort}`;
  const args = ['start', '--rest-host', '127.0.0.1', '--rest-port', String(restPort), '--grpc-host', '127.0.0.1', '--grpc-port', String(grpcPort), '--project', projectId, '--ephemeral', '--log-level', 'warning'];
  // /readyz answers once DuckDB (with its spatial extension) and the catalog answer queries.
  const { pid } = await startServiceChild({ name: 'the BigQuery emulator', bin, args, healthUrl: `${endpoint}/readyz`, hint: INSTALL_HINT, timeoutMs, intervalMs: 100, stopGraceMs: 10_000 });

  return {
    endpoint,
    projectId,
    pid,
    bigquery: await createBigQueryClient(projectId, { bigqueryEndpoint: endpoint, emulatorToken: EMULATOR_TOKEN }),
  };
}

/**
 * One emulator for the whole test file, started in beforeAll and stopped after the file. The
 * returned getter hands it to a test, or throws why it could not start: every test that needs it
 * then fails with that reason (never skipped).
 *
 * @example const emulator = useBigQueryEmulator(); it('…', async () => { emulator().bigquery; });
 */
export function useBigQueryEmulator(options: { projectId?: string } = {}): () => BigQueryEmulator {
  let emulator: BigQueryEmulator | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      emulator = await startBigQueryEmulator(options);
    } catch (error) {
      failure = error;
    }
  }, 660_000);
  return () => {
    if (emulator) return emulator;
    throw failure ?? new Error('the BigQuery emulator is not started yet: call the useBigQueryEmulator() getter inside a test');
  };
}

export type { RecordedRequest } from './fault-proxy.js';

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`: give this to the client instead of the upstream. */
  endpoint: string;
  /** Every request so far, oldest first. */
  requests: RecordedRequest[];
}

/**
 * A pass-through HTTP proxy that records every request the client sends before forwarding it to
 * `upstream` unchanged, so a test can assert the exact resource the real client library puts on the
 * wire (what no emulator implements, such as external tables, is checked this way). Stopped in the
 * caller's cleanup.
 */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const hop = await startFaultProxy(upstream);
  return { endpoint: hop.origin, requests: hop.requests };
}
