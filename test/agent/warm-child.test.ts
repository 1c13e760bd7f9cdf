// Warm children (agent/warm-child.ts): while runs arrive the agent keeps one child runtime started
// ahead of demand, used by one run only; an idle agent ends it. Real stack, real agent, real
// children: what a flow sees is written by the flow itself to a witness file.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { startAgent } from '../../agent/agent.js';
import { resolveAgentConfig, type AgentOptions } from '../../agent/config.js';
import { defaultChildEntry } from '../../agent/spawn-flow-run.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { createRun, waitForFinal } from '../e2e/queries.js';
import { onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';

const SECRET_A = 'alpha-7f3c1e-only-for-run-a';
const SECRET_B = 'bravo-92d4aa-only-for-run-b';

beforeAll(() => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
});

/** Child runtimes whose parent is this process (the in-process agent's children), by pid. */
function childRuntimes(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4, after the parenthesised command (which may hold spaces).
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid || /^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('child.js')) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

interface Setup {
  stack: Stack;
  developer: GraphQLClient;
  /** A directory every user may write (a root agent's flows run as fluxo-run). */
  witnesses: string;
}

async function setup(): Promise<Setup> {
  const stack = await startStack();
  const developer = await stack.client('developer');
  const bytes = await readFile(join(repoRoot, 'test', 'agent', 'fixtures', 'warm-flows.mjs'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { uri } = await codeStorageFor(stack.storageUri).put(`bundles/${sha256}.mjs`, bytes);
  const flows = [
    { name: 'witness-a', entrypoint: 'witness', secrets: ['SECRET_A'] },
    { name: 'witness-b', entrypoint: 'witness', secrets: ['SECRET_B'] },
    { name: 'sleepy', entrypoint: 'sleepy' },
    { name: 'sleepy-1s-limit', entrypoint: 'sleepy', timeoutSeconds: 1 },
    { name: 'hog', entrypoint: 'hog' },
  ];
  for (const flow of flows) {
    await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
      input: { project: 'production', storageUri: uri, sha256, size: bytes.byteLength, parameterSchema: { type: 'object', additionalProperties: true }, ...flow },
    });
  }
  const witnesses = join(stack.dir, 'witnesses');
  await mkdir(witnesses);
  await chmod(witnesses, 0o1777);
  return { stack, developer, witnesses };
}

async function agentOn({ stack }: Setup, name: string, options: AgentOptions = {}) {
  const secretsFile = join(stack.dir, `${name}.secrets`);
  await writeFile(secretsFile, `SECRET_A=${SECRET_A}\nSECRET_B=${SECRET_B}\n`, { mode: 0o600 });
  const config = resolveAgentConfig({ apiUrl: stack.apiUrl, token: await stack.token('agent'), name, workDir: join(stack.dir, name), heartbeatSeconds: 1, secretsFile, ...options });
  const agent = await startAgent(config);
  onCleanup(() => agent.stop({ timeoutMs: 0 }));
  return agent;
}

interface Seen {
  pid: number;
  runId: string | null;
  cwd: string;
  mine: string | null;
  other: string | null;
}

async function witnessRun(s: Setup, flow: 'a' | 'b', index: number): Promise<{ id: string; seen: Seen }> {
  const file = join(s.witnesses, `${index}-${flow}.json`);
  const parameters = flow === 'a' ? { file, mine: 'SECRET_A', other: 'SECRET_B' } : { file, mine: 'SECRET_B', other: 'SECRET_A' };
  const id = await createRun(s.developer, { flowName: `witness-${flow}`, parameters });
  const run = await waitForFinal(s.developer, id);
  expect(run.state).toBe('SUCCESS');
  return { id, seen: JSON.parse(await readFile(file, 'utf8')) as Seen };
}

/** Waits until the agent holds a warm child (one child runtime and no run), and returns its pid. */
const warmChildUp = () => waitFor(() => childRuntimes()[0], { timeoutMs: 30_000, what: 'a child runtime started ahead of demand' });

describe('a warm child', () => {
  it('runs one run only, with its own environment: run A never sees run B\'s secret, nor B A\'s', async () => {
    const s = await setup();
    await agentOn(s, 'warm-secrets');

    const runs = [];
    for (const [index, flow] of (['a', 'b', 'a', 'b', 'a', 'b'] as const).entries()) {
      // After the first run, the next one finds a child already started (and `ready`) for it.
      if (index > 0) await warmChildUp();
      runs.push({ flow, ...(await witnessRun(s, flow, index)) });
    }

    for (const { id, flow, seen } of runs) {
      expect(seen).toMatchObject({ runId: id, mine: flow === 'a' ? SECRET_A : SECRET_B, other: null });
    }
    // Every run had a process of its own: no child ran two runs.
    expect(new Set(runs.map((r) => r.seen.pid)).size).toBe(runs.length);
    // The first run spawned its own child; every later one got the warm child and its directory.
    expect(runs[0]!.seen.cwd.startsWith('warm-')).toBe(false);
    expect(runs.slice(1).every((r) => r.seen.cwd.startsWith('warm-'))).toBe(true);
    // And each child ended with its run (the one alive now is the next run's warm child).
    for (const { seen } of runs) expect(childRuntimes()).not.toContain(seen.pid);
  });

  it('is ended when the agent has been idle: no child processes are left', async () => {
    const s = await setup();
    await agentOn(s, 'warm-idle', { warmChildIdleSeconds: 1 });
    await witnessRun(s, 'a', 0);

    // A run took the (absent) warm child and started one for the next run, which never comes.
    const warm = await warmChildUp();
    await waitFor(() => childRuntimes().length === 0, { timeoutMs: 20_000, what: 'the idle agent to end its warm child' });

    expect(existsSync(`/proc/${warm}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${warm}/status`, 'utf8'))).toBe(false);
  });

  it('is not started when warm children are off (--warm-child-idle-seconds 0)', async () => {
    const s = await setup();
    await agentOn(s, 'warm-off', { warmChildIdleSeconds: 0 });
    const first = await witnessRun(s, 'a', 0);
    const second = await witnessRun(s, 'b', 1);

    expect(childRuntimes()).toEqual([]);
    expect([first.seen.cwd, second.seen.cwd].some((cwd) => cwd.startsWith('warm-'))).toBe(false);
  });
});

describe('a run that got a warm child', () => {
  it('is cancelled: SIGTERM to its group, then CANCELLED', async () => {
    const s = await setup();
    await agentOn(s, 'warm-cancel');
    await witnessRun(s, 'a', 0);
    const warm = await warmChildUp();

    const id = await createRun(s.developer, { flowName: 'sleepy' });
    await waitFor(async () => (await s.developer.request<{ flowRun: { state: string } }>('query($id: ID!) { flowRun(id: $id) { state } }', { id })).flowRun.state === 'RUNNING', {
      timeoutMs: 30_000,
      what: 'the sleepy run to be RUNNING',
    });
    expect(childRuntimes()).toContain(warm);
    await s.developer.request('mutation($id: ID!) { cancelFlowRun(id: $id) { state } }', { id });
    const run = await waitForFinal(s.developer, id);

    expect(run).toMatchObject({ state: 'CANCELLED', stateReason: 'cancelled', signal: 'SIGTERM' });
    expect(existsSync(`/proc/${warm}/cmdline`) && readFileSync(`/proc/${warm}/cmdline`, 'utf8').includes('child.js') && !/^State:\s+Z/m.test(readFileSync(`/proc/${warm}/status`, 'utf8'))).toBe(false);
  });

  it('times out: TIMED_OUT once its flow timeout passes', async () => {
    const s = await setup();
    await agentOn(s, 'warm-timeout');
    await witnessRun(s, 'a', 0);
    await warmChildUp();

    const run = await waitForFinal(s.developer, await createRun(s.developer, { flowName: 'sleepy-1s-limit' }));

    expect(run).toMatchObject({ state: 'TIMED_OUT', signal: 'SIGKILL' });
  });

  it('keeps the heap limit: a flow that exceeds it ends FAILED with reason memory', async () => {
    const s = await setup();
    await agentOn(s, 'warm-memory', { childMemoryMb: 64 });
    await witnessRun(s, 'a', 0);
    await warmChildUp();

    const run = await waitForFinal(s.developer, await createRun(s.developer, { flowName: 'hog' }));

    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'memory', signal: 'SIGABRT' });
    expect(run.stateMessage).toMatch(/heap limit of 64 MiB/);
  });
});
