// The agent against a real server and auth proxy (separate processes, test/support/stack.ts):
// in-process through startAgent() where a test watches the agent's events, and as the
// `fluxo agent start` daemon where a test is about the command (ready line, signals, exit codes).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../agent/agent.js';
import { NOT_THE_REGISTERED_CODE } from '../../agent/bundle-cache.js';
import { resolveAgentConfig, type AgentOptions } from '../../agent/config.js';
import { AgentEventEmitter, type AgentEvents } from '../../agent/events.js';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { createRun, runDetails, waitForFinal } from '../e2e/queries.js';
import { cliPath, freePort, isAlive, onCleanup, repoRoot, tempDir, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';

const FLOWS = ['hello', 'failing', 'sleepy', 'nap', 'notAFlow'] as const;

interface Setup {
  stack: Stack;
  developer: GraphQLClient;
  /** Registers the fixture bundle's exports as flows `<export>` (plus variants). */
  register(name: string, entrypoint: string, extra?: Record<string, unknown>): Promise<{ storageUri: string }>;
}

async function setup(options: { leaseSeconds?: number } = {}): Promise<Setup> {
  const stack = await startStack(options);
  const developer = await stack.client('developer');
  const bytes = await readFile(join(repoRoot, 'test', 'fixtures', 'agent', 'flows.mjs'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { uri } = await codeStorageFor(stack.storageUri).put(`bundles/${sha256}.mjs`, bytes);
  const register = async (name: string, entrypoint: string, extra: Record<string, unknown> = {}) => {
    await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
      input: { project: 'production', name, storageUri: uri, sha256, size: bytes.byteLength, entrypoint, parameterSchema: { type: 'object', additionalProperties: true }, ...extra },
    });
    return { storageUri: uri };
  };
  for (const name of FLOWS) await register(name, name);
  return { stack, developer, register };
}

/** An agent in this process, recording its events; stopped after the test. */
async function agentFor(stack: Stack, options: Partial<AgentOptions> = {}) {
  const events = new AgentEventEmitter();
  const seen: { [K in keyof AgentEvents]?: AgentEvents[K][] } = {};
  for (const name of ['run:claimed', 'run:started', 'run:finished', 'run:cancelling', 'lease:lost', 'agent:warning', 'agent:shutdown'] as const) {
    (events as unknown as { on(name: string, listener: (event: unknown) => void): void }).on(name, (event) => {
      ((seen[name] ??= []) as unknown[]).push(event);
    });
  }
  const config = resolveAgentConfig({
    apiUrl: stack.apiUrl,
    token: await stack.token('agent'),
    name: 'in-process',
    workDir: join(stack.dir, 'agent'),
    storageRoots: stack.storageUri,
    heartbeatSeconds: 0.25,
    cancelGraceSeconds: 1,
    ...options,
  });
  const agent: RunningAgent = await startAgent(config, { events });
  onCleanup(() => agent.stop({ timeoutMs: 0 }));
  return { agent, events, seen };
}

const pidsIn = (file: string) => waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as { child: number; grandchild: number }, { what: `pids in ${file}` });

describe('running claimed runs', () => {
  it('runs a flow to SUCCESS, relaying its task runs and its logger, stdout and stderr lines', async () => {
    const { stack, developer } = await setup();
    await agentFor(stack);

    const id = await createRun(developer, { flowName: 'hello', parameters: { who: 'Maré' } });
    const run = await waitForFinal(developer, id);

    expect(run).toMatchObject({ state: 'SUCCESS', exitCode: 0, signal: null });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    expect(run.stateHistory.find((h) => h.toState === 'RUNNING')?.actor).toMatch(/^agent:/);
    expect(run.taskRuns.map((t) => [t.key, t.state])).toEqual([['extract#1', 'SUCCESS'], ['load#1', 'SUCCESS']]);
    expect(run.logs.nodes).toEqual(
      expect.arrayContaining([
        { message: 'hello Maré', stream: 'logger', level: 'INFO', taskRunKey: 'extract#1' },
        { message: 'a line on stdout', stream: 'stdout', level: 'INFO', taskRunKey: null },
        { message: 'a line on stderr', stream: 'stderr', level: 'ERROR', taskRunKey: null },
      ]),
    );
  });

  it.each([
    ['a flow that throws', 'failing', { state: 'FAILED', stateReason: 'exception', exitCode: 1, stateMessage: 'RangeError: boom' }],
    ['an export that is not a flow', 'notAFlow', { state: 'CRASHED', stateReason: 'load-error', exitCode: 3 }],
  ])('reports %s with its reason and exit code', async (_case, flowName, expected) => {
    const { stack, developer } = await setup();
    await agentFor(stack);

    const run = await waitForFinal(developer, await createRun(developer, { flowName }));

    expect(run).toMatchObject(expected);
  });

  it('kills a run that exceeds its timeout: TIMED_OUT, and its whole process group is gone', async () => {
    const { stack, developer, register } = await setup();
    await register('sleepy-1s', 'sleepy', { timeoutSeconds: 1 });
    await agentFor(stack);
    const pidFile = join(stack.dir, 'pids.json');

    const id = await createRun(developer, { flowName: 'sleepy-1s', parameters: { pidFile } });
    const pids = await pidsIn(pidFile);
    const run = await waitForFinal(developer, id);

    expect(run).toMatchObject({ state: 'TIMED_OUT', stateReason: 'timeout', signal: 'SIGKILL', exitCode: null });
    await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), { what: 'the process group to be gone', timeoutMs: 5_000 });
  });

  it('fails a run whose bundle does not match its digest, and spawns nothing', async () => {
    const { stack, developer, register } = await setup();
    const bytes = new TextEncoder().encode('export const hello = "not the registered code";\n');
    const { uri } = await codeStorageFor(stack.storageUri).put('bundles/tampered.mjs', bytes);
    // Registered with the digest of other bytes of the same size: only the sha256 can tell.
    const registeredDigest = createHash('sha256').update(bytes.map((byte, i) => (i === 0 ? byte ^ 1 : byte))).digest('hex');
    await register('tampered', 'hello', { storageUri: uri, sha256: registeredDigest, size: bytes.byteLength });
    const { seen } = await agentFor(stack);

    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'tampered' }));

    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'integrity', exitCode: null, signal: null });
    expect(run.stateMessage).toBe(NOT_THE_REGISTERED_CODE);
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'FAILED']);
    expect(seen['run:started'] ?? []).toEqual([]);
    expect((await readdir(join(stack.dir, 'agent', 'bundles')).catch(() => [])).filter((name) => name.startsWith(registeredDigest))).toEqual([]);
  });

  it('reports a run it cannot prepare CRASHED (agent-error) instead of leaving it to the lease reaper', async () => {
    const { stack, developer } = await setup();
    const workDir = join(stack.dir, 'agent');
    await mkdir(workDir, { recursive: true });
    await writeFile(join(workDir, 'runs'), 'a file where the run directories should go');
    await agentFor(stack, { workDir });

    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'hello' }));

    expect(run).toMatchObject({ state: 'CRASHED', stateReason: 'agent-error' });
    expect(run.stateMessage).toMatch(/^the agent failed to run the flow: .*(EEXIST|ENOTDIR)/);
  });

  it('claims a run created while it waits on the long-poll long before the wait ends', async () => {
    const { stack, developer } = await setup();
    const { seen } = await agentFor(stack, { claimWaitMs: 30_000 });
    // Let the first claim reach the server and start waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const createdAt = Date.now();
    const id = await createRun(developer, { flowName: 'nap', parameters: { ms: 0 } });
    await waitFor(() => seen['run:claimed']?.some((event) => event.flowRunId === id), { what: 'the claim', timeoutMs: 10_000 });

    expect(Date.now() - createdAt).toBeLessThan(5_000);
    expect((await waitForFinal(developer, id)).state).toBe('SUCCESS');
  });

  it('never runs more flows at once than its concurrency, and runs every one exactly once', async () => {
    const { stack, developer } = await setup();
    const { events } = await agentFor(stack, { concurrency: 2 });
    let running = 0;
    let peak = 0;
    events.on('run:claimed', () => (peak = Math.max(peak, ++running)));
    events.on('run:finished', () => running--);
    const witness = join(stack.dir, 'witness.txt');

    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await createRun(developer, { flowName: 'nap', parameters: { ms: 300, witness } }));
    const runs = await Promise.all(ids.map((id) => waitForFinal(developer, id)));

    expect(runs.map((run) => run.state)).toEqual(Array(5).fill('SUCCESS'));
    expect(peak).toBe(2);
    expect((await readFile(witness, 'utf8')).trim().split('\n').sort()).toEqual([...ids].sort());
  });
});

describe('reacting to the server', () => {
  it('stops a running flow the user cancels: SIGTERM to the group, then CANCELLED', async () => {
    const { stack, developer } = await setup();
    const { seen } = await agentFor(stack);
    const pidFile = join(stack.dir, 'pids.json');
    const id = await createRun(developer, { flowName: 'sleepy', parameters: { pidFile } });
    const pids = await pidsIn(pidFile);

    await developer.request('mutation($id: ID!) { cancelFlowRun(id: $id) { state } }', { id });
    const run = await waitForFinal(developer, id);

    expect(run).toMatchObject({ state: 'CANCELLED', stateReason: 'cancelled', signal: 'SIGTERM' });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'CANCELLING', 'CANCELLED']);
    expect(seen['run:cancelling']).toEqual([{ flowRunId: id }]);
    await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), { what: 'the process group to be gone', timeoutMs: 5_000 });
  });

  it('kills the child and drops the run when it cannot renew its lease in time (it fences itself)', async () => {
    const { stack, developer } = await setup({ leaseSeconds: 1 });
    // Heartbeats slower than the lease: the agent fences itself before its lease can expire, and
    // the reaper takes the run.
    const { seen } = await agentFor(stack, { heartbeatSeconds: 3 });
    const pidFile = join(stack.dir, 'pids.json');
    const id = await createRun(developer, { flowName: 'sleepy', parameters: { pidFile } });
    const pids = await pidsIn(pidFile);

    await waitFor(() => seen['lease:lost']?.length, { what: 'the lost lease', timeoutMs: 15_000 });

    expect(seen['lease:lost']).toEqual([{ flowRunId: id, during: 'fence' }]);
    await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), { what: 'the process group to be gone', timeoutMs: 5_000 });
    await waitFor(() => seen['run:finished']?.length, { what: 'the run to leave the agent' });
    expect(seen['run:finished']?.[0]).toMatchObject({ flowRunId: id, reported: false });
    // The agent let go before the lease ran out; the server's reaper marks it once it does.
    await waitFor(async () => (await runDetails(developer, id)).state === 'CRASHED', { what: 'the reaper to crash the run' });
    expect(await runDetails(developer, id)).toMatchObject({ state: 'CRASHED', stateReason: 'lease-expired' });
  });

  it('keeps retrying registration while the API is unreachable, and gives up when told to stop', async () => {
    const events = new AgentEventEmitter();
    const retries: AgentEvents['api:unreachable'][] = [];
    events.on('api:unreachable', (event) => retries.push(event));
    const stop = new AbortController();
    const config = resolveAgentConfig({ apiUrl: `http://127.0.0.1:${await freePort()}/graphql`, token: 'jwt', workDir: await tempDir() });

    const starting = startAgent(config, { events, signal: stop.signal });
    await waitFor(() => retries.length >= 2, { what: 'two registration retries' });
    stop.abort();

    await expect(starting).rejects.toThrow('the agent was stopped before it registered');
    expect(retries[0]).toMatchObject({ operation: 'registerAgent', error: expect.objectContaining({ name: 'TransportError' }) });
  });
});

describe('fluxo agent start', () => {
  it('logs ready with its id, name and labels, and on SIGTERM lets a running flow finish, then exits 0', async () => {
    const { stack, developer } = await setup();
    const agent = await stack.startAgent({ name: 'cli-agent', labels: ['smtr', 'gpu'] });
    expect(agent.ready).toMatchObject({ msg: 'ready', name: 'cli-agent', labels: ['smtr', 'gpu'], agentId: expect.any(String) });
    const id = await createRun(developer, { flowName: 'nap', labels: ['smtr'], parameters: { ms: 1_500 } });
    await waitFor(async () => (await runDetails(developer, id)).state === 'RUNNING', { what: 'the run to be RUNNING' });

    agent.child.kill('SIGTERM');
    const exited = await agent.child;

    expect(exited.exitCode).toBe(0);
    expect(await runDetails(developer, id)).toMatchObject({ state: 'SUCCESS' });
  });

  it('at the stop deadline stops the flows still running and reports them CRASHED (agent-stopped)', async () => {
    const { stack, developer } = await setup();
    const agent = await stack.startAgent({ name: 'cli-agent', extraArgs: ['--stop-timeout-seconds', '0.3', '--cancel-grace-seconds', '0.5'] });
    const pidFile = join(stack.dir, 'pids.json');
    const id = await createRun(developer, { flowName: 'sleepy', parameters: { pidFile, ignoreTerm: true } });
    const pids = await pidsIn(pidFile);

    agent.child.kill('SIGTERM');
    const exited = await agent.child;

    expect(exited.exitCode).toBe(0);
    expect(await runDetails(developer, id)).toMatchObject({ state: 'CRASHED', stateReason: 'agent-stopped', signal: 'SIGKILL' });
    await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), { what: 'the process group to be gone', timeoutMs: 5_000 });
  });

  it('exits 3 with the code when the proxy refuses its token', async () => {
    const { stack } = await setup();

    const result = await execa(process.execPath, [cliPath, 'agent', 'start', '--api', stack.apiUrl, '--work-dir', join(stack.dir, 'a')], {
      env: { FLUXO_TOKEN: 'not-a-jwt' },
      reject: false,
      timeout: 30_000,
    });

    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/^error: \[TOKEN_INVALID\] /m);
  });

  it.each([
    [['--concurrency', '0'], /error: \[BAD_USER_INPUT\] concurrency must be a number from 1 to 1000/, 2],
    [['--labels', 'a,b c'], /error: \[BAD_USER_INPUT\] "b c" is not a valid label/, 2],
    [['--token', 't'], /error: \[BAD_USER_INPUT\] --token puts the token in \/proc\/<pid>\/cmdline/, 2],
  ])('refuses %o before contacting anything', async (args, message, exitCode) => {
    const result = await execa(process.execPath, [cliPath, 'agent', 'start', '--api', 'http://127.0.0.1:9/graphql', ...args], {
      reject: false,
      timeout: 30_000,
      env: { FLUXO_TOKEN: 't' },
    });

    expect(result.exitCode).toBe(exitCode);
    expect(result.stderr).toMatch(message);
  });
});
