// The BigQuery emulator (bqemulator, a REST server over DuckDB) as a real process for the BigQuery
// warehouse tests: started on free 127.0.0.1 ports with an in-memory catalog, waited for, and
// stopped after the test file (or the test) that started it. The executable comes from
// scripts/ensure-bigquery-emulator.sh (PyPI bqemulator 1.4.0 in its own virtualenv, with DuckDB's
// spatial extension in place); when it cannot be had, the tests fail and say what to install.
import { spawn, execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BigQuery } from '@google-cloud/bigquery';
import { beforeAll } from 'vitest';
import { createBigQueryClient } from '../../data/google-clients.js';
import { freePort, isAlive, onCleanup, repoRoot, waitFor } from './harness.js';

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

/** The bqemulator executable: FLUXO_BQEMULATOR_BIN, else whatever scripts/ensure-bigquery-emulator.sh installs. */
export function bigQueryEmulatorBinary(): Promise<string> {
  binary ??= locateBinary();
  return binary;
}

async function locateBinary(): Promise<string> {
  const configured = process.env.FLUXO_BQEMULATOR_BIN;
  if (configured) {
    try {
      await access(configured, constants.X_OK);
      return configured;
    } catch (error) {
      throw new Error(`FLUXO_BQEMULATOR_BIN=${configured} is not an executable file; ${INSTALL_HINT}`, { cause: error });
    }
  }
  try {
    // A first install downloads ~100 MB of wheels (and the spatial extension): minutes, not seconds.
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'ensure-bigquery-emulator.sh')], { timeout: 600_000 });
    const path = stdout.trim().split('\n').pop() ?? '';
    await access(path, constants.X_OK);
    return path;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`the BigQuery emulator is not available${stderr ? ` (${stderr})` : ''}; ${INSTALL_HINT}`, { cause: error });
  }
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
    throw new Error(`cannot start the BigQuery emulator (${bin}): ${(await spawnError).message}; ${INSTALL_HINT}`);
  }
  live.add(pid);
  onCleanup(async () => {
    if (exit === undefined) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    live.delete(pid);
    if (isAlive(pid)) throw new Error(`the BigQuery emulator (pid ${pid}) is still running after its stop`);
  });

  // /readyz answers once DuckDB (with its spatial extension) and the catalog answer queries.
  const outcome = await waitFor(
    async () => {
      if (exit !== undefined) return 'exited' as const;
      const response = await fetch(`${endpoint}/readyz`);
      return response.ok ? ('ready' as const) : false;
    },
    { timeoutMs, intervalMs: 100, what: `the BigQuery emulator to answer on ${endpoint}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; its output: ${output.join('').trim() || '(none)'}`, { cause: error.cause ?? error });
  });
  if (outcome === 'exited') {
    throw new Error(`the BigQuery emulator (${bin}) exited (code ${exit?.code}, signal ${exit?.signal}) before answering: ${output.join('').trim() || '(no output)'}; ${INSTALL_HINT}`);
  }

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

/** One request as it went through a {@link RecordingProxy}. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as text ('' when none). */
  body: string;
  /** The upstream's HTTP status. */
  status: number;
}

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
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: RecordedRequest = { method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers: incoming.headers, body: body.toString('utf8'), status: 0 };
      requests.push(record);
      const forward = httpRequest(
        { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
        (response) => {
          record.status = response.statusCode ?? 0;
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forward.on('error', (error) => {
        record.status = 502;
        outgoing.writeHead(502, { 'content-type': 'text/plain' }).end(`recording proxy: ${error.message}`);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('recording proxy: no address');
  return { endpoint: `http://127.0.0.1:${address.port}`, requests };
}
