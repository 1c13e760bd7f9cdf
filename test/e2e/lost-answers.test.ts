// Answers lost after the server did the work (a fault hop cuts the connection once the server has
// answered): the agent's retry must neither record a task transition twice nor strand a claimed
// run until its lease expires. Real server, proxy, agent process and flow child.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';
import { startDaemon } from '../support/daemon.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'flows', name);

async function stackWithWitness(leaseSeconds: number): Promise<Stack> {
  const stack = await startStack({ leaseSeconds });
  const registered = await stack.cli(['register', fixture('witness.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  return stack;
}

/** A rule that drops the answer of the first request whose body matches, and passes the rest. */
function dropFirst(match: (body: string) => boolean): (body: string) => 'pass' | 'drop-response' {
  let armed = true;
  return (body) => {
    if (armed && match(body)) {
      armed = false;
      return 'drop-response';
    }
    return 'pass';
  };
}

describe('lost answers', () => {
  it('a task-state batch whose answer is lost after it committed: the retry records each transition once', async () => {
    const stack = await startStack({ leaseSeconds: 10 });
    const registered = await stack.cli(['register', fixture('short-run.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    const faults = await startFaultProxy(stack.apiUrl, dropFirst((body) => body.includes('SetTaskRunStates')));
    const agent = await startDaemon(['agent', 'start', '--api', faults.url, '--name', 'unlucky', '--work-dir', join(stack.dir, 'unlucky')], {
      env: { FLUXO_TOKEN: await stack.token('agent') },
    });
    // The flow goes on after its task, so the task's states leave on their own (a run's last
    // entries would ride with its final state instead: test/e2e/merged-run-writes.test.ts).
    const id = await createRun(developer, { flowName: 'short-run', parameters: { waitSeconds: 3 } });
    const run = await waitForFinal(developer, id);
    expect(faults.dropped).toHaveLength(1);
    expect(run.state, agent.output.join('\n')).toBe('SUCCESS');
    expect(run.taskRuns.map((t) => [t.key, t.state, t.stateHistory.map((h) => h.toState)])).toEqual([
      ['greet#1', 'SUCCESS', ['RUNNING', 'SUCCESS']],
    ]);
  }, 60_000);

  it('a claim whose answer is lost: the retry gets the run at once, not after its lease expires', async () => {
    // A lease far longer than the run takes: a stranded run would wait 120 s for the reaper.
    const stack = await stackWithWitness(120);
    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'witness', parameters: { file: join(stack.dir, 'w.txt'), tag: 'claimed' } });
    // The run is due before the agent starts: its first claim carries it, and that answer is lost.
    const faults = await startFaultProxy(stack.apiUrl, dropFirst((body) => body.includes('ClaimFlowRuns')));
    const agent = await startDaemon(['agent', 'start', '--api', faults.url, '--name', 'hung-up', '--work-dir', join(stack.dir, 'hung-up')], {
      env: { FLUXO_TOKEN: await stack.token('agent') },
    });
    const run = await waitForFinal(developer, id, 60_000);
    expect(faults.dropped).toHaveLength(1);
    expect(run, agent.output.join('\n')).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    // The retry sent the lost claim's request id again.
    const claims = faults.requests.filter((r) => r.body.includes('ClaimFlowRuns')).map((r) => (JSON.parse(r.body) as { variables: { input: { requestId?: string } } }).variables.input.requestId);
    expect(claims[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims[1]).toBe(claims[0]);
  }, 90_000);
});
