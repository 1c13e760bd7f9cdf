// Agent names through real server, proxy and agent processes: an agent started on another token
// with a name already held exits 7 (AGENT_NAME_TAKEN) and takes nothing; when a tenant-admin moves
// the name (`fluxo agents move`), the agent still on the old token says so and exits 7, its running
// flow is stopped, and the agent on the new token takes the name.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, runDetails, waitForFinal } from './queries.js';

const HEARTBEAT_SECONDS = 1;

async function agentToken(stack: Stack, name: string): Promise<string> {
  const created = await stack.cli(['token', 'create', '--name', name, '--role', 'agent', '--json'], { role: 'tenant-admin' });
  expect(created, created.stderr).toMatchObject({ exitCode: 0 });
  return (JSON.parse(created.stdout) as { token: string }).token;
}

describe('an agent name', () => {
  it('cannot be taken by another token, and a move stops the agent on the old token with exit code 7', async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri], { role: 'developer' });
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    const [first, second] = [await agentToken(stack, 'escritorio-01'), await agentToken(stack, 'escritorio-02')];
    const agent = await stack.startAgent({ name: 'escritorio', extraArgs: ['--heartbeat-seconds', String(HEARTBEAT_SECONDS)], env: { FLUXO_TOKEN: first } });
    const developer = await stack.client('developer');
    const runId = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 300 } });
    await waitFor(async () => (await runDetails(developer, runId)).state === 'RUNNING' || undefined, { what: 'the run to start' });

    // Another token's agent under the same name is refused at once, and the holder goes on.
    const intruder = await stack.cli(['agent', 'start', '--name', 'escritorio', '--work-dir', join(stack.dir, 'intruder')], { env: { FLUXO_TOKEN: second } });
    expect(intruder.exitCode).toBe(7);
    expect(intruder.stderr).toContain('error: [AGENT_NAME_TAKEN] agent name "escritorio" is registered by another token of this tenant; start this agent with another --name, or have a tenant-admin move the name to this token: fluxo agents move escritorio --to-subject service:escritorio-02');
    expect((await runDetails(developer, runId)).state).toBe('RUNNING');

    // A tenant-admin moves it: the agent on the old token says so and exits 7; its run is stopped.
    const moved = await stack.cli(['agents', 'move', 'escritorio', '--to-subject', 'service:escritorio-02'], { role: 'tenant-admin' });
    expect(moved, moved.stderr).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('moved agent "escritorio"') });
    const movedAt = Date.now();
    const exited = await agent.child;
    expect(exited.exitCode).toBe(7);
    expect(Date.now() - movedAt).toBeLessThan((HEARTBEAT_SECONDS + 3) * 1000);
    expect(agent.output.join('\n')).toContain('error: [AGENT_NAME_TAKEN] agent "escritorio"');
    expect(agent.output.join('\n')).toContain('is no longer held by this token: a tenant-admin moved the name to another token (fluxo agents move); stopping');
    const crashed = await waitForFinal(developer, runId);
    expect({ state: crashed.state, reason: crashed.stateReason }).toEqual({ state: 'CRASHED', reason: 'lease-expired' });
    // Nothing the old token wrote after the move: the last transition is the reaper's.
    expect(crashed.stateHistory.at(-1)).toMatchObject({ toState: 'CRASHED', actor: 'server:lease-reaper' });

    // The new token's agent takes the name and runs.
    await stack.startAgent({ name: 'escritorio', env: { FLUXO_TOKEN: second } });
    const next = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 0 } });
    expect((await waitForFinal(developer, next)).state).toBe('SUCCESS');
  }, 120_000);
});
