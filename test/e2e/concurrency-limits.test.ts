// Concurrency limits through the real stack: server, proxy, CLI and agents as processes, flows in
// child processes. The witness is a file the flows append to, outside the server: reading it in
// order counts how many runs were inside at once, which the server's records cannot prove.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { repoRoot, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startStack, type Stack } from '../support/stack.js';

const FIXTURE = join(repoRoot, 'test', 'fixtures', 'flows', 'limited-witness.ts');

interface RunState { id: string; state: string; stateReason: string | null; agent: { name: string } | null }

/** The most runs inside at once, by the witness file's order; throws on a line it cannot read. */
function mostInside(lines: string[]): number {
  let inside = 0;
  let most = 0;
  for (const line of lines) {
    const [what] = line.split(' ');
    if (what === 'start') most = Math.max(most, ++inside);
    else if (what === 'end') inside--;
    else throw new Error(`not a witness line: ${line}`);
  }
  return most;
}

async function witnessLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).trim().split('\n');
}

async function createRuns(client: GraphQLClient, flowName: string, count: number, parameters: (i: number) => Record<string, unknown>, labels?: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { createFlowRun } = await client.request<{ createFlowRun: { id: string } }>(
      'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
      { input: { flowName, parameters: parameters(i), ...(labels ? { labels } : {}) } },
    );
    ids.push(createFlowRun.id);
  }
  return ids;
}

async function runStates(client: GraphQLClient, ids: string[]): Promise<RunState[]> {
  return Promise.all(ids.map(async (id) =>
    (await client.request<{ flowRun: RunState }>('query($id: ID!) { flowRun(id: $id) { id state stateReason agent { name } } }', { id })).flowRun));
}

async function waitForStates(client: GraphQLClient, ids: string[], done: (run: RunState) => boolean, what: string): Promise<RunState[]> {
  let last = '';
  return waitFor(async () => {
    const runs = await runStates(client, ids);
    last = runs.map((r) => r.state).join(',');
    return runs.every(done) ? runs : undefined;
  }, { timeoutMs: 120_000, intervalMs: 300, what }).catch((error: Error) => {
    throw new Error(`${error.message} (states: ${last})`);
  });
}

describe.each([
  { database: 'sqlite' },
  { database: 'postgres' },
])('concurrency limits end to end on $database', ({ database }) => {
  async function stackWithFlows(): Promise<Stack> {
    const stack = await startStack(database === 'postgres' ? { database: await freshPostgresDatabase() } : {});
    const registered = await stack.cli(['register', FIXTURE, '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    return stack;
  }

  it('runs 10 queued runs of a flow with limit 1 one at a time over 3 agents of concurrency 4', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    const witness = join(stack.dir, 'one-at-a-time.txt');
    const ids = await createRuns(developer, 'one-at-a-time', 10, (i) => ({ file: witness, tag: `run-${i}`, seconds: 0.2 }));
    await Promise.all(['a1', 'a2', 'a3'].map((name) => stack.startAgent({ name, concurrency: 4 })));
    const runs = await waitForStates(developer, ids, (r) => r.state === 'SUCCESS', '10 runs to succeed');
    const lines = await witnessLines(witness);
    expect(lines).toHaveLength(20);
    expect(mostInside(lines)).toBe(1);
    // Oldest first: the witness shows the runs in the order they were created.
    expect(lines.filter((l) => l.startsWith('start')).map((l) => l.split(' ')[1])).toEqual(ids.map((_, i) => `run-${i}`));
    // The agents raced for them: more than one took part.
    expect(new Set(runs.map((r) => r.agent?.name)).size).toBeGreaterThan(1);
  }, 180_000);

  it('ends runs of a skip flow created while one runs CANCELLED with reason concurrency-skip', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    const witness = join(stack.dir, 'skip.txt');
    const release = join(stack.dir, 'release-skip');
    await stack.startAgent({ name: 'a1', concurrency: 4 });
    await stack.startAgent({ name: 'a2', concurrency: 4 });
    const [first] = await createRuns(developer, 'skip-if-running', 1, () => ({ file: witness, tag: 'first', seconds: 0, release }));
    await waitFor(async () => (await witnessLines(witness).catch(() => [])).length === 1, { timeoutMs: 60_000, what: 'the first run to start' });
    const later = await createRuns(developer, 'skip-if-running', 3, (i) => ({ file: witness, tag: `later-${i}`, seconds: 0 }));
    const skipped = await waitForStates(developer, later, (r) => r.state === 'CANCELLED', 'the later runs to be skipped');
    expect(skipped.every((r) => r.stateReason === 'concurrency-skip')).toBe(true);
    await writeFile(release, '');
    await waitForStates(developer, [first!], (r) => r.state === 'SUCCESS', 'the first run to succeed');
    expect(await witnessLines(witness)).toEqual([expect.stringMatching(/^start first /), expect.stringMatching(/^end first /)]);
  }, 180_000);

  it('keeps at most 2 runs carrying a label with limit 2 inside at once over 3 agents, and says why one waits', async () => {
    const stack = await stackWithFlows();
    const set = await stack.cli(['limits', 'set', 'label:rj-smtr', '2'], { role: 'tenant-admin' });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe('label:rj-smtr: at most 2 at once (0 running now)');
    const developer = await stack.client('developer');
    const witness = join(stack.dir, 'label.txt');
    const release = join(stack.dir, 'release-label');
    const ids = await createRuns(developer, 'labelled-witness', 8, (i) => ({ file: witness, tag: `run-${i}`, seconds: 0, release }), ['rj-smtr']);
    await Promise.all(['s1', 's2', 's3'].map((name) => stack.startAgent({ name, labels: ['rj-smtr'], concurrency: 4 })));
    // Two runs inside, held there: the third waits on the label's limit, and says so.
    await waitFor(async () => (await witnessLines(witness).catch(() => [])).length === 2, { timeoutMs: 60_000, what: 'two runs to start' });
    const why = await stack.cli(['runs', 'why', ids[7]!]);
    expect(why.exitCode, why.stderr).toBe(0);
    expect(why.stdout.trim()).toBe(`run ${ids[7]} waits (LABEL_CONCURRENCY): the concurrency limit label:rj-smtr is full (2 of 2 running)\nlimit label:rj-smtr: 2 of 2 running`);
    const listed = await stack.cli(['limits', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ scope: 'label:rj-smtr', limit: 2, running: 2 })]);
    await writeFile(release, '');
    await waitForStates(developer, ids, (r) => r.state === 'SUCCESS', '8 runs to succeed');
    const lines = await witnessLines(witness);
    expect(lines).toHaveLength(16);
    expect(mostInside(lines)).toBe(2);
  }, 180_000);
});

describe('fluxo runs why through the stack', () => {
  it('names the agents and their labels when none matches', async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', FIXTURE, '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    await stack.startAgent({ name: 'cpu-agent', labels: ['cpu'] });
    const developer = await stack.client('developer');
    const [id] = await createRuns(developer, 'labelled-witness', 1, () => ({ file: join(stack.dir, 'never.txt'), tag: 'never' }), ['gpu']);
    const why = await stack.cli(['runs', 'why', id!]);
    expect(why.exitCode, why.stderr).toBe(0);
    const [headline, , header, agent] = why.stdout.split('\n');
    expect(headline).toBe(`run ${id} waits (NO_MATCHING_AGENT): no agent has labels matching {gpu} (agents: cpu-agent {cpu})`);
    expect(header).toMatch(/^AGENT\s+LABELS\s+LAST SEEN\s+ONLINE\s+CONCURRENCY$/);
    expect(agent).toMatch(/^cpu-agent\s+cpu\s+\S+ \S+\s+yes\s+4$/);
    const json = JSON.parse((await stack.cli(['runs', 'why', id!, '--json'])).stdout);
    expect(json.wait).toMatchObject({ kind: 'NO_MATCHING_AGENT', agents: [{ name: 'cpu-agent', labels: ['cpu'], online: true }] });
    const missing = await stack.cli(['runs', 'why', '00000000-0000-0000-0000-000000000000']);
    expect(missing.exitCode).toBe(4);
  }, 120_000);
});
