// A heap limit per flow process (--child-memory-mb): passed to the child runtime as NODE_OPTIONS,
// and a flow that exceeds it ends FAILED with reason `memory`. Real children, a real stack.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { resolveAgentConfig } from '../../agent/config.js';
import { childEnv, defaultChildEntry, spawnFlowRun } from '../../agent/spawn-flow-run.js';
import { finalStateOf } from '../../agent/final-state.js';
import { createRun, waitForFinal } from '../e2e/queries.js';
import { onCleanup, repoRoot, tempDir } from '../support/harness.js';
import { startResilienceStack } from './support/resilience-stack.js';

const bundlePath = join(repoRoot, 'test', 'agent', 'fixtures', 'resilience-flows.mjs');

beforeAll(() => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
});

describe("the child's environment", () => {
  it('carries the heap limit in NODE_OPTIONS, after any NODE_OPTIONS the operator passes on', () => {
    expect(childEnv({ flowRunId: 'r', memoryLimitMb: 512, sourceEnv: {} })).toEqual({ FLUXO_FLOW_RUN_ID: 'r', NODE_OPTIONS: '--max-old-space-size=512' });
    expect(childEnv({ flowRunId: 'r', memoryLimitMb: 512, passEnv: ['NODE_OPTIONS'], sourceEnv: { NODE_OPTIONS: '--enable-source-maps' } }).NODE_OPTIONS).toBe(
      '--enable-source-maps --max-old-space-size=512',
    );
    expect(childEnv({ flowRunId: 'r', memoryLimitMb: null, sourceEnv: { NODE_OPTIONS: '--inspect' } })).toEqual({ FLUXO_FLOW_RUN_ID: 'r' });
  });
});

describe('a flow that exceeds its heap limit', () => {
  it('is aborted by V8, and its outcome says out of memory', async () => {
    const child = spawnFlowRun({ flowRunId: 'run-1', attempt: 1, bundlePath, entrypoint: 'hog', parameters: {}, cwd: await tempDir(), timeoutMs: 60_000, cancelGraceMs: 1_000, memoryLimitMb: 64 });
    onCleanup(async () => {
      child.kill('agent-stopped');
      await child.outcome;
    });

    const outcome = await child.outcome;

    expect(outcome).toMatchObject({ outOfMemory: true, memoryLimitMb: 64, interruption: null, result: null });
    expect(outcome.signal === 'SIGABRT' || outcome.exitCode === 134).toBe(true);
    expect(finalStateOf(outcome)).toMatchObject({ state: 'FAILED', reason: 'memory', message: expect.stringContaining('heap limit of 64 MiB') });
  });

  it('ends FAILED with reason memory on the server, and the agent carries on', async () => {
    const { stack, developer } = await startResilienceStack();
    const config = resolveAgentConfig({ apiUrl: stack.apiUrl, token: await stack.token('agent'), name: 'limited', workDir: join(stack.dir, 'limited'), heartbeatSeconds: 1, childMemoryMb: 64 });
    const agent = await startAgent(config);
    onCleanup(() => agent.stop({ timeoutMs: 0 }));

    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'hog' }));
    const next = await waitForFinal(developer, await createRun(developer, { flowName: 'paced', parameters: { lines: 10 } }));

    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'memory', signal: 'SIGABRT' });
    expect(run.stateMessage).toMatch(/^the flow's process ran out of memory: it reached the heap limit of 64 MiB/);
    expect(next.state).toBe('SUCCESS');
  });
});
