// Cancellation is pushed, not polled: the server signals the agent holding a run over the
// `leaseSignals` subscription the moment the run becomes CANCELLING, and the agent stops the child
// at once. The agents here renew leases every 60 s, so a run that ends within the test's bound was
// not cancelled by a heartbeat. Everything goes through the auth proxy, as an agent's traffic does.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createToken } from '../../auth-proxy/tokens.js';
import { GraphQLClient } from '../../client/graphql-client.js';
import { loadPrivateSigningKey } from '../../common/keys.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { isAlive, onCleanup, repoRoot, waitFor } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startStack, TENANT, type Stack } from '../support/stack.js';
import { createRun, runDetails } from './queries.js';

/** Far longer than the test waits: only a pushed signal can cancel in time. */
const HEARTBEAT_ARGS = ['--heartbeat-seconds', '60'];
/** Leases outlive the 60 s heartbeat comfortably. */
const LEASE_SECONDS = 180;
/** Generous for a busy 2-core machine, and still far below the heartbeat. */
const PUSHED_WITHIN_MS = 15_000;

const LEASE_SIGNALS = 'subscription ($agentId: ID!) { leaseSignals(agentId: $agentId) { flowRunId kind } }';
const CANCEL = 'mutation ($id: ID!) { cancelFlowRun(id: $id) { state } }';

async function stackWithSleeper(options: { database?: string } = {}): Promise<Stack> {
  const stack = await startStack({ leaseSeconds: LEASE_SECONDS, ...options });
  const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'sleep-with-pid.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  return stack;
}

/** Starts a long run and waits until its child (and the grandchild it spawned) are up. */
async function startLongRun(stack: Stack, developer: GraphQLClient, name: string): Promise<{ id: string; pids: { pid: number; grandchild: number } }> {
  const pidFile = join(stack.dir, `${name}.pids.json`);
  const id = await createRun(developer, { flowName: 'sleep-with-pid', parameters: { pidFile, seconds: 300 } });
  const pids = await waitFor(async () => JSON.parse(await readFile(pidFile, 'utf8')) as { pid: number; grandchild: number }, { what: 'the run to start', timeoutMs: 60_000 });
  expect(isAlive(pids.pid)).toBe(true);
  return { id, pids };
}

async function expectCancelledQuickly(developer: GraphQLClient, run: { id: string; pids: { pid: number; grandchild: number } }): Promise<void> {
  const cancelled = await waitFor(async () => {
    const details = await runDetails(developer, run.id);
    return details.state === 'CANCELLED' && details;
  }, { what: `run ${run.id} to be CANCELLED without a heartbeat`, timeoutMs: PUSHED_WITHIN_MS });
  expect(cancelled.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'CANCELLING', 'CANCELLED']);
  await waitFor(() => !isAlive(run.pids.pid) && !isAlive(run.pids.grandchild), { what: 'the child and grandchild to exit', timeoutMs: PUSHED_WITHIN_MS });
}

/** The first event of a subscription, or the error that refused it. */
function firstEvent<T>(client: GraphQLClient, query: string, variables: Record<string, unknown>): Promise<{ data?: T; error?: Error }> {
  return new Promise((resolve) => {
    const stop = client.subscribe<T>(query, variables, {
      onData: (data) => {
        stop();
        resolve({ data });
      },
      onError: (error) => {
        stop();
        resolve({ error });
      },
      onComplete: () => resolve({ error: new Error('completed without an event') }),
    });
  });
}

async function clientAs(stack: Stack, role: 'agent' | 'developer', subject: string): Promise<GraphQLClient> {
  const key = await loadPrivateSigningKey(join(stack.keysDir, 'token-signing.private.jwk.json'));
  const { token } = await createToken({ tenant: TENANT, role, subject, ttlSeconds: 3600 }, key);
  const client = new GraphQLClient({ apiUrl: stack.apiUrl, token });
  onCleanup(() => client.close());
  return client;
}

describe('a cancel reaches the agent without waiting for a heartbeat', () => {
  it('ends a running run CANCELLED and its process group gone, with the heartbeat at 60 s', async () => {
    const stack = await stackWithSleeper();
    await stack.startAgent({ name: 'pushed-1', extraArgs: HEARTBEAT_ARGS });
    const developer = await stack.client('developer');
    const first = await startLongRun(stack, developer, 'first');
    await developer.request(CANCEL, { id: first.id });
    await expectCancelledQuickly(developer, first);
    // The subscription stays open: a second run's cancel is pushed too.
    const second = await startLongRun(stack, developer, 'second');
    await developer.request(CANCEL, { id: second.id });
    await expectCancelledQuickly(developer, second);
  });

  it('reaches an agent subscribed on another server replica (PostgreSQL)', async () => {
    const stack = await stackWithSleeper({ database: await freshPostgresDatabase() });
    const other = await stack.startReplica();
    // The agent talks to replica B only; the cancel goes through replica A.
    await stack.startAgent({ name: 'pushed-replica', extraArgs: HEARTBEAT_ARGS, apiUrl: other.apiUrl! });
    const developer = await stack.client('developer');
    const run = await startLongRun(stack, developer, 'replica');
    await developer.request(CANCEL, { id: run.id });
    await expectCancelledQuickly(developer, run);
  });
});

describe('when the subscription cannot open', () => {
  it('keeps working on heartbeats: a cancel still ends the run CANCELLED, and the next run succeeds', async () => {
    const stack = await stackWithSleeper();
    await stack.cli(['register', join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri]);
    // A hop that passes HTTP but no WebSocket upgrade, like a corporate proxy that refuses them.
    const hop = await startFaultProxy(stack.apiUrl);
    const agent = await stack.startAgent({ name: 'heartbeats-only', extraArgs: ['--heartbeat-seconds', '1'], apiUrl: hop.url });
    const developer = await stack.client('developer');
    const run = await startLongRun(stack, developer, 'fallback');
    await developer.request(CANCEL, { id: run.id });
    await expectCancelledQuickly(developer, run);
    await waitFor(() => agent.output.some((line) => line.includes('"operation":"leaseSignals"')), { what: 'the agent to say the subscription failed (the handshake times out after 10 s)', timeoutMs: 30_000 });
    const next = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 0 } });
    await waitFor(async () => (await runDetails(developer, next)).state === 'SUCCESS', { what: 'the next run to succeed', timeoutMs: 60_000 });
    expect(isAlive(agent.pid)).toBe(true);
  });
});

describe('the leaseSignals subscription', () => {
  it('first names the runs of the agent already CANCELLING, then each new cancel', async () => {
    const stack = await startStack({ leaseSeconds: LEASE_SECONDS });
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    const agent = await clientAs(stack, 'agent', 'signals-agent@test');
    const { registerAgent } = await agent.request<{ registerAgent: { id: string } }>('mutation { registerAgent(input: { name: "signals", labels: [] }) { id } }');
    const claim = async (): Promise<string> => {
      const { claimFlowRuns } = await agent.request<{ claimFlowRuns: { flowRun: { id: string } }[] }>(
        'mutation ($id: ID!) { claimFlowRuns(input: { agentId: $id, max: 1 }) { flowRun { id } } }', { id: registerAgent.id });
      return claimFlowRuns[0]!.flowRun.id;
    };
    const flowName = 'long-sleep';
    await createRun(developer, { flowName, parameters: {} });
    const before = await claim();
    await developer.request(CANCEL, { id: before });

    const signals: { flowRunId: string; kind: string }[] = [];
    const errors: Error[] = [];
    const stop = agent.subscribe<{ leaseSignals: { flowRunId: string; kind: string } }>(LEASE_SIGNALS, { agentId: registerAgent.id }, {
      onData: (data) => signals.push(data.leaseSignals),
      onError: (error) => errors.push(error),
    });
    onCleanup(stop);
    await waitFor(() => signals.length === 1, { what: 'the signal for the run cancelled before subscribing' });
    expect(signals).toEqual([{ flowRunId: before, kind: 'CANCEL' }]);

    await createRun(developer, { flowName, parameters: {} });
    const after = await claim();
    await developer.request(CANCEL, { id: after });
    await waitFor(() => signals.length === 2, { what: 'the signal for the run cancelled while subscribed' });
    expect(signals[1]).toEqual({ flowRunId: after, kind: 'CANCEL' });
    expect(errors).toEqual([]);
  });

  it('refuses another agent\'s id with NOT_FOUND, as heartbeat does', async () => {
    const stack = await startStack();
    const owner = await clientAs(stack, 'agent', 'owner@test');
    const { registerAgent } = await owner.request<{ registerAgent: { id: string } }>('mutation { registerAgent(input: { name: "owned", labels: [] }) { id } }');
    const intruder = await clientAs(stack, 'agent', 'intruder@test');
    await intruder.request('mutation { registerAgent(input: { name: "intruder", labels: [] }) { id } }');
    const { error } = await firstEvent(intruder, LEASE_SIGNALS, { agentId: registerAgent.id });
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    expect(error!.message).toContain(registerAgent.id);
  });

  it('refuses a user token in the proxy with TOKEN_KIND_MISMATCH', async () => {
    const stack = await startStack();
    const owner = await clientAs(stack, 'agent', 'owner@test');
    const { registerAgent } = await owner.request<{ registerAgent: { id: string } }>('mutation { registerAgent(input: { name: "owned", labels: [] }) { id } }');
    const developer = await clientAs(stack, 'developer', 'dev@test');
    const { error } = await firstEvent(developer, LEASE_SIGNALS, { agentId: registerAgent.id });
    expect(error).toMatchObject({ code: 'TOKEN_KIND_MISMATCH', message: expect.stringContaining('subscription.leaseSignals is an agent operation') });
  });
});
