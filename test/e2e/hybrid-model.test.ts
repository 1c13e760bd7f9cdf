// The hybrid model end to end: server, auth proxy and agent as separate processes, flows
// registered through the proxy with a developer token, executed by the agent in child processes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serveExampleData } from '../../cli/dev/serve-example-data.js';
import { isAlive, onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, runDetails, waitForFinal } from './queries.js';

const examples = ['municipios.ts', 'retry.ts', 'parameters.ts', 'sleep.ts'].map((f) => join(repoRoot, 'examples', f));
const fixtures = (name: string) => join(repoRoot, 'test', 'fixtures', 'flows', name);

describe('the hybrid model, end to end', () => {
  async function freshStack(): Promise<Stack> {
    const stack = await startStack();
    const registered = await stack.cli(['register', ...examples, fixtures('sleep-with-pid.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    return stack;
  }

  it('registers the examples through the proxy, runs them, and stores task runs, history and logs', async () => {
    const stack = await freshStack();
    await stack.startAgent({ name: 'escritorio-1' });
    const data = await serveExampleData(join(repoRoot, 'examples', 'data'));
    onCleanup(() => data.close());
    const developer = await stack.client('developer');
    const outputDir = join(stack.dir, 'output');

    const municipios = await createRun(developer, { flowName: 'municipios', parameters: { url: `${data.url}/municipios.json`, outputDir } });
    const retry = await createRun(developer, { flowName: 'flaky-retry' });
    const typed = await createRun(developer, { flowName: 'typed-parameters', parameters: { year: '2009', dataDir: join(repoRoot, 'examples', 'data') } });

    const m = await waitForFinal(developer, municipios);
    expect(m, JSON.stringify(m.logs.nodes.slice(-5))).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(m.taskRuns.map((t) => [t.taskName, t.state])).toEqual([['extract', 'SUCCESS'], ['build-table', 'SUCCESS'], ['save-csv', 'SUCCESS']]);
    expect(m.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    expect(m.logs.nodes.some((l) => /5571 rows/.test(l.message))).toBe(true);
    const csv = await readFile(join(outputDir, 'municipios.csv'), 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(5572);

    const r = await waitForFinal(developer, retry);
    expect(r.state).toBe('SUCCESS');
    const flaky = r.taskRuns.find((t) => t.attempts === 2);
    expect(flaky?.stateHistory.map((h) => `${h.toState}@${h.attempt}`)).toEqual(['RUNNING@1', 'RETRYING@1', 'RUNNING@2', 'SUCCESS@2']);

    const t = await waitForFinal(developer, typed);
    expect(t).toMatchObject({ state: 'SUCCESS', parameters: { year: 2009, limit: 5, city: 'Rio de Janeiro' } });
    expect(t.logs.nodes.some((l) => l.message.includes('Rio de Janeiro'))).toBe(true);
  });

  it('cancels a long run: it ends CANCELLED and its process group is gone', async () => {
    const stack = await freshStack();
    await stack.startAgent({ name: 'escritorio-1' });
    const developer = await stack.client('developer');
    const pidFile = join(stack.dir, 'pids.json');
    const id = await createRun(developer, { flowName: 'sleep-with-pid', parameters: { pidFile, seconds: 300 } });
    const pids = await waitFor(async () => JSON.parse(await readFile(pidFile, 'utf8')) as { pid: number; grandchild: number }, { what: 'the run to start' });
    expect(isAlive(pids.pid)).toBe(true);
    const cancelled = await stack.cli(['runs', 'cancel', id]);
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    const run = await waitForFinal(developer, id, 30_000);
    expect(run.state).toBe('CANCELLED');
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'CANCELLING', 'CANCELLED']);
    await waitFor(() => !isAlive(pids.pid) && !isAlive(pids.grandchild), { what: 'the child and grandchild to exit' });
  });

  it('routes by labels and says why a run nobody can take waits', async () => {
    const stack = await freshStack();
    await stack.startAgent({ name: 'agent-a', labels: ['a'] });
    const developer = await stack.client('developer');
    const both = await createRun(developer, { flowName: 'fail-always', labels: ['a', 'b'] });
    const onlyA = await createRun(developer, { flowName: 'long-sleep', labels: ['a'], parameters: { seconds: 0 } });
    expect(await waitForFinal(developer, onlyA)).toMatchObject({ state: 'SUCCESS', labels: ['a'] });
    const waiting = await runDetails(developer, both);
    expect(waiting.state).toBe('SCHEDULED');
    expect(waiting.waitReason).toBe('no agent has labels matching {a, b} (agents: agent-a {a})');
  });

  it('fails a run whose bundle does not match its digest, without running it', async () => {
    const stack = await freshStack();
    // Within its storage roots an agent says why a bundle is refused (without roots it says no more).
    await stack.startAgent({ name: 'escritorio-1', extraArgs: ['--storage-root', stack.storageUri] });
    const developer = await stack.client('developer');
    const { flow } = await developer.request<{ flow: { latestVersion: { storageUri: string } } }>(
      '{ flow(name: "long-sleep") { latestVersion { storageUri } } }',
    );
    const path = new URL(flow.latestVersion.storageUri);
    const original = await readFile(path, 'utf8');
    // Same size, different bytes: only the digest can tell.
    await writeFile(path, original.replace('Sleeps for a number of seconds', 'Sleeps for a number of SECONDS'));
    const id = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 0 } });
    const run = await waitForFinal(developer, id);
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'integrity' });
    expect(run.stateMessage).toMatch(/sha256/);
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'FAILED']);
    expect(run.taskRuns).toEqual([]);
  });
});
