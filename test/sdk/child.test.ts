// The child runtime as an agent drives it: `node dist/sdk/runtime/child.js` with an IPC channel,
// ready → start → task states and logs → result, and an exit code that says what happened.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { bundleFlowModule } from '../../cli/bundle.js';
import { CHILD_EXIT, RUNTIME_PROTOCOL_VERSION, type ChildMessage, type StartMessage } from '../../sdk/runtime/protocol.js';
import { onCleanup, repoRoot, tempDir } from '../support/harness.js';

const childPath = join(repoRoot, 'dist/sdk/runtime/child.js');

type BundleEntry =
  | { module: string } // a flow module of the repository
  | { flowSource: string } // flow source to bundle
  | { source: string }; // the bundle's text as is (broken bundles)

/** Writes a bundle to a `.mjs` file, as an agent's cache holds it. */
async function bundleFile(entry: BundleEntry): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, 'bundle.mjs');
  if ('source' in entry) {
    await writeFile(path, entry.source);
    return path;
  }
  let module: string;
  if ('module' in entry) {
    module = join(repoRoot, entry.module);
  } else {
    module = join(dir, 'flow.ts');
    await writeFile(module, entry.flowSource);
  }
  await writeFile(path, (await bundleFlowModule(module)).bytes);
  return path;
}

/** Spawns the child, answers `ready` with a start message and collects everything it sends. */
async function runChild(bundlePath: string, entrypoint: string, parameters: unknown = {}) {
  const child = execa(process.execPath, [childPath], { ipc: true, reject: false, stdin: 'ignore', timeout: 30_000 });
  onCleanup(() => void child.kill('SIGKILL'));
  const ready = (await child.getOneMessage()) as ChildMessage;
  const start: StartMessage = { type: 'start', flowRunId: 'run-1', attempt: 1, bundlePath, entrypoint, parameters };
  await child.sendMessage(start as never);
  const result = await child;
  const messages = result.ipcOutput as ChildMessage[];
  const taskStates = messages.flatMap((message) => (message.type === 'task-state' ? [`${message.key} ${message.state} ${message.attempt}`] : []));
  const logs = messages.flatMap((message) => (message.type === 'log' ? [message] : []));
  return { ready, messages, taskStates, logs, last: messages.at(-1), exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

describe('child runtime', () => {
  it('says ready, relays RUNNING, RETRYING, RUNNING, SUCCESS of the retry example and exits 0 after result ok', async () => {
    const bundle = await bundleFile({ module: 'examples/retry.ts' });
    const run = await runChild(bundle, 'flakyRetry');
    expect(run.ready).toEqual({ type: 'ready', protocolVersion: RUNTIME_PROTOCOL_VERSION });
    expect(run.taskStates).toEqual([
      'call-flaky-service#1 RUNNING 1',
      'call-flaky-service#1 RETRYING 1',
      'call-flaky-service#1 RUNNING 2',
      'call-flaky-service#1 SUCCESS 2',
    ]);
    expect(run.logs.map((line) => `${line.level} ${line.taskRunKey} ${line.message}`)).toEqual([
      'INFO call-flaky-service#1 the service answered',
      'INFO null flaky service said ok',
    ]);
    expect(run.last).toEqual({ type: 'result', ok: true });
    expect(run.exitCode).toBe(CHILD_EXIT.success);
  });

  it('leaves stdout and stderr to the agent, outside the IPC channel', async () => {
    const bundle = await bundleFile({
      flowSource: `import { flow } from 'fluxo';
        export const printer = flow('printer', async () => { console.log('to stdout'); console.error('to stderr'); });`,
    });
    const run = await runChild(bundle, 'printer');
    expect(run.stdout).toBe('to stdout');
    expect(run.stderr).toBe('to stderr');
    expect(run.logs).toEqual([]);
    expect(run.exitCode).toBe(CHILD_EXIT.success);
  });

  it('runs a flow with validated parameters from the start message', async () => {
    const dir = await tempDir();
    const witness = join(dir, 'witness.txt');
    const bundle = await bundleFile({ module: 'test/fixtures/flows/witness.ts' });
    const run = await runChild(bundle, 'witness', { file: witness, tag: 'run-1' });
    expect(run.last).toEqual({ type: 'result', ok: true });
    expect(await readFile(witness, 'utf8')).toBe('run-1\n');
  });

  it('fails with invalid-parameters and exit 1 when the start parameters do not validate', async () => {
    const bundle = await bundleFile({ module: 'test/fixtures/flows/witness.ts' });
    const run = await runChild(bundle, 'witness', { file: '/dev/null' });
    expect(run.last).toMatchObject({ type: 'result', ok: false, failure: { type: 'InvalidParameters', reason: 'invalid-parameters' } });
    expect(JSON.stringify(run.last)).toContain('tag');
    expect(run.taskStates).toEqual([]);
    expect(run.exitCode).toBe(CHILD_EXIT.flowFailed);
  });

  it('reports a flow that throws as an exception failure with exit 1', async () => {
    const bundle = await bundleFile({ module: 'examples/sleep.ts' });
    const run = await runChild(bundle, 'failAlways');
    expect(run.taskStates).toEqual(['explode#1 RUNNING 1', 'explode#1 FAILED 1']);
    expect(run.last).toMatchObject({ type: 'result', ok: false, failure: { type: 'Error', message: 'this flow always fails', reason: 'exception' } });
    expect(run.exitCode).toBe(CHILD_EXIT.flowFailed);
  });

  it('reports a task timeout that ends the flow as reason timeout with exit 4', async () => {
    const bundle = await bundleFile({ module: 'test/fixtures/flows/timing.ts' });
    const run = await runChild(bundle, 'timesOut');
    expect(run.taskStates).toEqual(['hang#1 RUNNING 1', 'hang#1 TIMED_OUT 1']);
    expect(run.last).toMatchObject({ type: 'result', ok: false, failure: { type: 'TaskTimeoutError', reason: 'timeout' } });
    expect(run.exitCode).toBe(CHILD_EXIT.timedOut);
  });

  it('sends every log line before the result, however many there are', async () => {
    const bundle = await bundleFile({
      flowSource: `import { flow, getLogger } from 'fluxo';
        export const chatty = flow('chatty', async () => { for (let i = 0; i < 5000; i++) getLogger().info('line %d', i); });`,
    });
    const run = await runChild(bundle, 'chatty');
    expect(run.logs).toHaveLength(5000);
    expect(run.logs.at(-1)?.message).toBe('line 4999');
    expect(run.last).toEqual({ type: 'result', ok: true });
  });

  it.each([
    ['a missing export', { module: 'examples/sleep.ts' }, 'nope', 'LoadError', 'the bundle has no export "nope" (flows exported: failAlways, longSleep)'],
    ['an export that is not a flow', { source: 'export const value = 1;\n' }, 'value', 'LoadError', 'export "value" is not a fluxo flow'],
    ['a syntax error', { source: 'export const broken = (;\n' }, 'broken', 'SyntaxError', 'Unexpected token'],
    ['a throw while importing', { source: "throw new RangeError('bad module');\n" }, 'x', 'RangeError', 'bad module'],
    [
      'a flow built for another protocol version',
      { source: "export const old = { [Symbol.for('fluxo.flow')]: 99, definition: {}, run: async () => 1 };\n" },
      'old',
      'LoadError',
      'built for runtime protocol 99',
    ],
  ] as [string, BundleEntry, string, string, string][])('fails with load-error and exit 3 for %s', async (_, entry, entrypoint, type, message) => {
    const bundle = await bundleFile(entry);
    const run = await runChild(bundle, entrypoint);
    expect(run.last).toMatchObject({ type: 'result', ok: false, failure: { type, reason: 'load-error' } });
    expect((run.last as { failure: { message: string } }).failure.message).toContain(message);
    expect(run.exitCode).toBe(CHILD_EXIT.loadError);
  });

  it('exits with a protocol error when the agent closes the channel before starting it', async () => {
    const child = execa(process.execPath, [childPath], { ipc: true, reject: false, stdin: 'ignore', timeout: 30_000 });
    onCleanup(() => void child.kill('SIGKILL'));
    expect(await child.getOneMessage()).toMatchObject({ type: 'ready' });
    child.disconnect();
    const result = await child;
    expect(result.exitCode).toBe(CHILD_EXIT.protocolError);
    expect(result.stderr).toContain('the agent closed the IPC channel');
  });

  it('exits with a protocol error when started without an IPC channel', async () => {
    const result = await execa(process.execPath, [childPath], { reject: false, stdin: 'ignore', timeout: 30_000 });
    expect(result.exitCode).toBe(CHILD_EXIT.protocolError);
    expect(result.stderr).toContain('must be spawned with an IPC channel');
  });
});
