// Issue 12: restart from the failed task. A run whose first task succeeded and whose second
// failed is restarted once the cause is fixed: the first task is not executed again (an external
// witness counts its executions), its result comes back from the agent's result storage (checked
// against the digest the server recorded), and the run ends SUCCESS on attempt 2. A stored result
// whose bytes changed is never returned: the task runs again.
import { createHash } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePackedUri } from '../../agent/result-pack.js';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const RESULTS = /* GraphQL */ `
  query($id: ID!) {
    flowRun(id: $id) {
      id state attempt rerunOf parameters
      taskRuns { key state stateMessage inputsHash result { uri sha256 size } }
      logs(first: 1000) { nodes { message level } }
    }
  }
`;

interface Results {
  id: string;
  state: string;
  attempt: number;
  rerunOf: string | null;
  parameters: Record<string, unknown>;
  taskRuns: { key: string; state: string; stateMessage: string | null; inputsHash: string | null; result: { uri: string; sha256: string; size: number } | null }[];
  logs: { nodes: { message: string; level: string }[] };
}

const results = async (client: GraphQLClient, id: string): Promise<Results> =>
  (await client.request<{ flowRun: Results }>(RESULTS, { id })).flowRun;

const taskOf = (run: Results, key: string) => {
  const task = run.taskRuns.find((t) => t.key === key);
  if (!task) throw new Error(`no task run ${key} in ${JSON.stringify(run.taskRuns)}`);
  return task;
};

/** The stored bytes behind a task run's result pointer, checked against its digest and size. */
async function storedBytes(pointer: { uri: string; sha256: string; size: number }, resultsDir: string): Promise<Buffer> {
  expect(pointer.uri.startsWith(`file://${resultsDir}/`)).toBe(true);
  // A small result is a byte range of its run attempt's pack (agent/result-pack.ts).
  const packed = parsePackedUri(pointer.uri);
  const file = await readFile(fileURLToPath(packed?.packUri ?? pointer.uri));
  const bytes = packed ? file.subarray(packed.offset, packed.offset + packed.length) : file;
  expect({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual({ size: pointer.size, sha256: pointer.sha256 });
  return bytes;
}

describe('restart from the failed task', () => {
  let stack: Stack;
  let developer: GraphQLClient;
  let dir: string;
  let resultsDir: string;

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'restart-from-failure.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    await stack.startAgent({ name: 'results-agent' });
    resultsDir = join(stack.dir, 'results-agent', 'results');
    developer = await stack.client('developer');
    // Flows run as another OS user when the agent is root: they write their witness files here.
    dir = await tempDir('fluxo-restart-');
    await chmod(dir, 0o1777);
  }, 120_000);

  /** Runs the flow until its second task fails; returns the run id and its files. */
  async function failedRun(name: string) {
    const files = { witness: join(dir, `${name}.witness`), marker: join(dir, `${name}.marker`), output: join(dir, `${name}.json`) };
    const id = await createRun(developer, { flowName: 'restart-from-failure', parameters: { ...files, word: name } });
    const failed = await waitForFinal(developer, id);
    expect(failed).toMatchObject({ state: 'FAILED', attempt: 1 });
    return { id, ...files };
  }

  it('runs only the failed task again: the first task ran once, its stored result is returned, the run ends SUCCESS on attempt 2', async () => {
    const run = await failedRun('fixed');
    const before = await results(developer, run.id);
    const first = taskOf(before, 'first#1');
    expect(first).toMatchObject({ state: 'SUCCESS', inputsHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const stored = JSON.parse((await storedBytes(first.result!, resultsDir)).toString()) as { word: string; nonce: string };
    expect(taskOf(before, 'second#1')).toMatchObject({ state: 'FAILED', result: null });

    await writeFile(run.marker, '');
    const restarted = await stack.cli(['runs', 'restart', run.id, '--json']);
    expect(restarted, restarted.stderr).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(restarted.stdout)).toMatchObject({ id: run.id, state: 'SCHEDULED', attempt: 2 });

    const final = await waitForFinal(developer, run.id);
    expect(final).toMatchObject({ state: 'SUCCESS', attempt: 2 });
    expect((await readFile(run.witness, 'utf8')).split('\n').filter(Boolean)).toEqual(['first ran']);
    // The flow got the first attempt's value back (its nonce), not a new execution's.
    const output = JSON.parse(await readFile(run.output, 'utf8')) as { first: { word: string; nonce: string }; second: string };
    expect(output).toEqual({ first: stored, second: `fixed:${stored.nonce}` });

    const after = await results(developer, run.id);
    expect(taskOf(after, 'first#1')).toMatchObject({ state: 'SUCCESS', stateMessage: 'restored from result storage', result: first.result });
    const second = taskOf(after, 'second#1');
    expect(second.state).toBe('SUCCESS');
    expect(JSON.parse((await storedBytes(second.result!, resultsDir)).toString())).toBe(`fixed:${stored.nonce}`);
    expect(second.result!.uri).toContain('/2/');
  });

  it('never returns a stored result whose bytes changed: the task runs again, with a warning', async () => {
    const run = await failedRun('tampered');
    const first = taskOf(await results(developer, run.id), 'first#1');
    // Attempt 1's pack holds only this result (the second task failed): the whole file is its bytes.
    const path = fileURLToPath(parsePackedUri(first.result!.uri)?.packUri ?? first.result!.uri);
    const original = JSON.parse(await readFile(path, 'utf8')) as { word: string; nonce: string };
    await writeFile(path, JSON.stringify({ word: 'TAMPERED', nonce: original.nonce }));

    await writeFile(run.marker, '');
    expect(await stack.cli(['runs', 'restart', run.id])).toMatchObject({ exitCode: 0 });
    const final = await waitForFinal(developer, run.id);
    expect(final).toMatchObject({ state: 'SUCCESS', attempt: 2 });

    expect((await readFile(run.witness, 'utf8')).split('\n').filter(Boolean)).toEqual(['first ran', 'first ran']);
    const output = JSON.parse(await readFile(run.output, 'utf8')) as { first: { word: string; nonce: string }; second: string };
    expect(output.first.word).toBe('tampered');
    expect(output.first.nonce).not.toBe(original.nonce);
    expect(JSON.stringify(output)).not.toContain('TAMPERED');
    const after = await results(developer, run.id);
    expect(after.logs.nodes.some((line) => line.level === 'WARNING' && /stored result of task first#1 was not returned/.test(line.message))).toBe(true);
    // The new execution's result replaced the pointer, and its bytes are the new value.
    const again = taskOf(after, 'first#1');
    expect(again.result!.uri).not.toBe(first.result!.uri);
    expect(JSON.parse((await storedBytes(again.result!, resultsDir)).toString())).toEqual(output.first);
  });

  it('reruns with edited parameters as a new run that names the original', async () => {
    const run = await failedRun('original');
    await writeFile(join(dir, 'edited.marker'), '');
    const rerun = await stack.cli(['runs', 'rerun', run.id, '--param', `marker=${join(dir, 'edited.marker')}`, '--param', 'word=edited', '--json']);
    expect(rerun, rerun.stderr).toMatchObject({ exitCode: 0 });
    const created = JSON.parse(rerun.stdout) as { id: string; rerunOf: string };
    expect(created.id).not.toBe(run.id);
    expect(created.rerunOf).toBe(run.id);
    const final = await waitForFinal(developer, created.id);
    expect(final).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(final.parameters).toEqual({ witness: run.witness, output: run.output, marker: join(dir, 'edited.marker'), word: 'edited' });
    // A rerun is a new run: every task executes.
    expect((await readFile(run.witness, 'utf8')).split('\n').filter(Boolean)).toEqual(['first ran', 'first ran']);
    expect((await results(developer, run.id)).state).toBe('FAILED');
  });

  it('refuses a restart of a run that succeeded, by a viewer, and of another tenant\'s run', async () => {
    const run = await failedRun('refusals');
    const restart = 'mutation($id: ID!) { restartFlowRun(id: $id) { id } }';
    const viewer = await stack.client('viewer');
    await expect(viewer.request(restart, { id: run.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const smtr = await stack.client('developer', 'rj-smtr');
    await expect(smtr.request(restart, { id: run.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(smtr.request('mutation($id: ID!) { rerunFlowRun(id: $id) { id } }', { id: run.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await writeFile(run.marker, '');
    await developer.request(restart, { id: run.id });
    expect(await waitForFinal(developer, run.id)).toMatchObject({ state: 'SUCCESS' });
    await expect(developer.request(restart, { id: run.id })).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    const cli = await stack.cli(['runs', 'restart', run.id]);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.stderr).toMatch(/ILLEGAL_TRANSITION|SUCCESS/);
  });
});
