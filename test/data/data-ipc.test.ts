// fluxo/data across the process boundary, for real: a flow bundle (made by the same esbuild
// options `fluxo register` uses) runs in the compiled child runtime spawned by the agent's
// spawnFlowRun, and a handler of the test's own answers its data requests the way the agent's
// data service does.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalStateOf } from '../../agent/final-state.js';
import { defaultChildEntry, spawnFlowRun } from '../../agent/spawn-flow-run.js';
import type { DataRequestHandler } from '../../agent/data-requests.js';
import { bundleFlowModule } from '../../cli/bundle.js';
import { DataError } from '../../data/contract.js';
import type { LogEvent, TaskStateEvent } from '../../sdk/runtime/protocol.js';
import { isAlive, onCleanup, repoRoot, tempDir, waitFor } from '../support/harness.js';

let bundlePath: string;

beforeAll(async () => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
  const { bytes } = await bundleFlowModule(join(repoRoot, 'test', 'fixtures', 'flows', 'data-ipc.ts'));
  bundlePath = join(await tempDir('fluxo-data-ipc-'), 'flow.mjs');
  await writeFile(bundlePath, bytes);
}, 60_000);

interface Call {
  operation: string;
  args: Record<string, unknown>;
  taskKey: string | null;
}

async function spawn(entrypoint: string, handler: DataRequestHandler) {
  const cwd = await tempDir('fluxo-data-run-');
  const logs: LogEvent[] = [];
  const states: TaskStateEvent[] = [];
  const child = spawnFlowRun({
    flowRunId: 'run-1',
    attempt: 1,
    bundlePath,
    entrypoint,
    parameters: {},
    cwd,
    timeoutMs: null,
    cancelGraceMs: 10_000,
    onLog: (event) => logs.push(event),
    onTaskState: (event) => states.push(event),
    data: handler,
  });
  onCleanup(async () => {
    child.kill('agent-stopped');
    await child.outcome;
  });
  return { child, logs, states, cwd };
}

describe('data requests from a flow', () => {
  it('carry the calling task\'s key: a bundle importing fluxo and fluxo/data shares one run context', async () => {
    const calls: Call[] = [];
    const { child } = await spawn('keys', async (operation, args, taskKey) => {
      calls.push({ operation, args, taskKey });
      return operation === 'query' ? [{ '1': 1 }] : { uri: 'file:///lake/staging/ds/rows', files: [], partitions: [], deleted: 0, rows: 2, bytes: 0 };
    });
    const outcome = await child.outcome;
    expect(outcome).toMatchObject({ exitCode: 0, result: { ok: true } });
    expect(calls).toEqual([
      { operation: 'writeToLake', args: { datasetId: 'ds', tableId: 'rows', source: { rows: [{ a: '1' }, { a: null }] }, options: { writeKey: 'land-1-1' } }, taskKey: 'land#1' },
      { operation: 'query', args: { sql: 'select 1' }, taskKey: null },
    ]);
  });

  it('streams a flow\'s 3 MiB file in chunks; the operation gets the agent\'s own copy, removed afterwards', async () => {
    let seen: { path: string; sha256: string; delimiter: unknown } | undefined;
    const { child, logs, cwd } = await spawn('bigFile', async (_operation, args) => {
      const source = args.source as { csv: { path: string }; delimiter?: string };
      seen = { path: source.csv.path, sha256: createHash('sha256').update(await readFile(source.csv.path)).digest('hex'), delimiter: source.delimiter };
      return { rows: 1600 };
    });
    expect(await child.outcome).toMatchObject({ exitCode: 0, result: { ok: true } });
    const line = logs.find((event) => event.message.startsWith('sha256 '));
    const [, flowSha, answer] = line!.message.split(' ');
    expect(seen).toEqual({ path: expect.not.stringContaining(cwd) as unknown as string, sha256: flowSha, delimiter: ';' });
    expect(JSON.parse(answer!)).toEqual({ rows: 1600 });
    expect(existsSync(seen!.path)).toBe(false);
  });

  it('refuses a request that names a path instead of streaming the bytes, without calling the data service', async () => {
    const calls: Call[] = [];
    const { child, logs } = await spawn('namesPath', async (operation, args, taskKey) => {
      calls.push({ operation, args, taskKey });
      return null;
    });
    expect(await child.outcome).toMatchObject({ exitCode: 0 });
    expect(calls).toEqual([]);
    const line = logs.find((event) => event.message.startsWith('answer '));
    expect(JSON.parse(line!.message.slice('answer '.length))).toEqual({
      type: 'data-response',
      requestId: 999_999,
      ok: false,
      error: { code: 'DATA_INVALID_ARGUMENT', message: "the csv source's bytes did not arrive (the flow's runtime streams the file before the request)" },
    });
  });

  it('aborts the operation\'s signal when the run is cancelled', async () => {
    let aborted: Promise<void> | undefined;
    let asked!: () => void;
    const started = new Promise<void>((resolve) => (asked = resolve));
    const { child } = await spawn('waitsForCancel', (_operation, _args, _taskKey, signal) => {
      aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      asked();
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new DataError('DATA_CANCELLED', 'cancelled')), { once: true }));
    });
    await started;
    child.terminate('cancelled');
    await aborted;
    expect(await child.outcome).toMatchObject({ interruption: 'cancelled' });
  });

  it('stops a runCommand\'s process group when the run is cancelled (it is a group of its own)', async () => {
    const { child, cwd } = await spawn('longCommand', async () => null);
    const pid = await waitFor(async () => Number((await readFile(join(cwd, 'command.pid'), 'utf8')).trim()) || undefined, { what: 'the command\'s pid' });
    expect(isAlive(pid)).toBe(true);
    child.terminate('cancelled');
    const outcome = await child.outcome;
    // The flow sees DATA_CANCELLED from runCommand and ends; the run is CANCELLED all the same.
    expect(outcome).toMatchObject({ interruption: 'cancelled' });
    expect(finalStateOf(outcome).state).toBe('CANCELLED');
    await waitFor(async () => !isAlive(pid) || undefined, { what: `the command (pid ${pid}) to be gone` });
  });

  it('fails with DATA_NOT_CONFIGURED when the agent has no data service', async () => {
    const cwd = await tempDir('fluxo-data-run-');
    const logs: LogEvent[] = [];
    const child = spawnFlowRun({ flowRunId: 'run-2', attempt: 1, bundlePath, entrypoint: 'keys', parameters: {}, cwd, timeoutMs: null, cancelGraceMs: 1_000, onLog: (event) => logs.push(event) });
    const outcome = await child.outcome;
    expect(outcome.result).toMatchObject({ ok: false, failure: { type: 'DataError', message: expect.stringContaining('this agent has no data settings: start it with --data-config FILE') } });
  });
});

describe('fluxo/data outside a run', () => {
  it('says it works inside `fluxo run` or an agent', async () => {
    const { writeToLake } = await import('../../sdk/data.js');
    await expect(writeToLake('ds', 't', [])).rejects.toThrow('fluxo/data writeToLake() works inside a flow run: run the flow with `fluxo run` (with --lake / --warehouse) or under an agent');
  });
});
