// Two agents racing for 500 runs: every run executes exactly once. The witness is a file each
// child appends its run's tag to, outside the server, so the server's records prove nothing here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, waitFor } from '../support/harness.js';
import { startStack } from '../support/stack.js';

const RUNS = Number(process.env.FLUXO_RACE_RUNS ?? 500);

describe('two agents racing for runs', () => {
  it(`executes each of ${RUNS} runs exactly once`, async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'witness.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    const witness = join(stack.dir, 'witness.txt');
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, RUNS - i) }, (_, j) =>
          developer.request<{ createFlowRun: { id: string } }>(
            'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
            { input: { flowName: 'witness', parameters: { file: witness, tag: `run-${i + j}` } } },
          ),
        ),
      );
      ids.push(...batch.map((b) => b.createFlowRun.id));
    }
    await Promise.all([stack.startAgent({ name: 'racer-1', concurrency: 4 }), stack.startAgent({ name: 'racer-2', concurrency: 4 })]);

    let states = '';
    const done = await waitFor(
      async () => {
        const { flowRuns } = await developer.request<{ flowRuns: { nodes: { id: string; state: string; agent: { name: string } | null }[] } }>(
          '{ flowRuns(first: 500) { nodes { id state agent { name } } } }',
        );
        const counts = new Map<string, number>();
        for (const run of flowRuns.nodes) counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
        states = JSON.stringify(Object.fromEntries(counts));
        return counts.get('SUCCESS') === RUNS ? flowRuns.nodes : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500, what: `${RUNS} runs to succeed (last seen: ${states})` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; states: ${states}`);
    });
    const lines = (await readFile(witness, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(RUNS);
    expect(new Set(lines).size).toBe(RUNS);
    // Both agents took part: the race was real.
    const byAgent = new Set(done.map((r) => r.agent?.name));
    expect(byAgent).toEqual(new Set(['racer-1', 'racer-2']));
  }, 300_000);
});
