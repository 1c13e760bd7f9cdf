// Fewer requests per run (issue 14), with a real server, proxy, agent process and flow child on
// SQLite and PostgreSQL: a short one-task run costs the claim, RUNNING and one final write that
// carries its task states and lines; when that write's answer is lost after it committed, the
// retry records no transition, line or task state twice. Every request is counted at a recording
// hop between the agent and the proxy (test/support/fault-proxy.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';
import { startDaemon } from '../support/daemon.js';
import { startFaultProxy, type FaultRule, type RecordedRequest } from '../support/fault-proxy.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { startStack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

interface SetStateBody {
  variables: { input: { flowRunId: string; state: string; batch?: { batchId: string; taskRunStates?: { key: string; state: string }[]; logLines?: { message: string }[] } } };
}

/** The GraphQL operation a request named (`SetFlowRunState`), or the method and path when it is not GraphQL. */
function operationOf(request: RecordedRequest): string {
  return /\b(?:mutation|query)\s+(\w+)/.exec(request.body)?.[1] ?? `${request.method} ${request.url}`;
}

async function shortRunOn(database: 'sqlite' | 'postgres', rule?: FaultRule) {
  const stack = await startStack(database === 'postgres' ? { database: await freshPostgresDatabase() } : {});
  const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'short-run.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  const developer = await stack.client('developer');
  const hop = await startFaultProxy(stack.apiUrl, rule);
  // A long flush interval: no batch leaves on a timer while the child runs, however slow the machine,
  // so what the run cost does not depend on timing.
  const agent = await startDaemon(['agent', 'start', '--api', hop.url, '--name', 'counted', '--work-dir', join(stack.dir, 'counted'), '--flush-interval-ms', '60000'], {
    env: { FLUXO_TOKEN: await stack.token('agent') },
  });
  const id = await createRun(developer, { flowName: 'short-run' });
  const run = await waitForFinal(developer, id);
  // The run's own requests: every write names it; claims and heartbeats serve all of the agent's runs.
  const writes = hop.requests.filter((r) => r.body.includes(id) && operationOf(r) !== 'Heartbeat');
  return { run, writes, hop, agentOutput: () => agent.output.join('\n') };
}

describe.each(['sqlite', 'postgres'] as const)('merged run writes on %s', (database) => {
  it('a short one-task run costs a claim, RUNNING and one final write carrying its task states and lines', async () => {
    const { run, writes, hop, agentOutput } = await shortRunOn(database);
    expect(run.state, agentOutput()).toBe('SUCCESS');
    expect(writes.map(operationOf)).toEqual(['SetFlowRunState', 'SetFlowRunState']);
    expect(hop.requests.map(operationOf)).not.toEqual(expect.arrayContaining(['SetTaskRunStates']));
    expect(hop.requests.map(operationOf)).not.toEqual(expect.arrayContaining(['WriteLogs']));
    const [running, final] = writes.map((w) => (JSON.parse(w.body) as SetStateBody).variables.input);
    expect(running).toMatchObject({ state: 'RUNNING' });
    expect(running!.batch).toBeUndefined();
    expect(final).toMatchObject({ state: 'SUCCESS', batch: { taskRunStates: [{ key: 'greet#1', state: 'RUNNING' }, { key: 'greet#1', state: 'SUCCESS' }] } });
    expect(final!.batch!.logLines!.map((l) => l.message)).toEqual(expect.arrayContaining(['line one', 'line two', 'line three']));
    // Stored as sent.
    expect(run.taskRuns.map((t) => [t.key, t.state, t.stateHistory.map((h) => h.toState)])).toEqual([['greet#1', 'SUCCESS', ['RUNNING', 'SUCCESS']]]);
    expect(run.logs.nodes.map((l) => l.message)).toEqual(final!.batch!.logLines!.map((l) => l.message));
  }, 90_000);

  it('the final write whose answer is lost after it committed: the retry records one transition, each line once, each task state once', async () => {
    let armed = true;
    const dropFinal: FaultRule = (body) => {
      if (armed && body.includes('SetFlowRunState') && body.includes('"state":"SUCCESS"')) {
        armed = false;
        return 'drop-response';
      }
      return 'pass';
    };
    const { run, writes, hop, agentOutput } = await shortRunOn(database, dropFinal);
    expect(hop.dropped).toHaveLength(1);
    expect(run.state, agentOutput()).toBe('SUCCESS');
    // The agent sent the same final write again, with the same batch id.
    const finals = writes.map((w) => (JSON.parse(w.body) as SetStateBody).variables.input).filter((input) => input.state === 'SUCCESS');
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(new Set(finals.map((f) => f.batch?.batchId)).size).toBe(1);
    expect(finals[0]!.batch!.batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    expect(run.taskRuns.map((t) => [t.key, t.stateHistory.map((h) => h.toState)])).toEqual([['greet#1', ['RUNNING', 'SUCCESS']]]);
    const messages = run.logs.nodes.map((l) => l.message);
    for (const line of ['line one', 'line two', 'line three']) expect(messages.filter((m) => m === line)).toEqual([line]);
    // The agent took the retry's answer as the write it made: the run ended as reported, nothing dropped.
    expect(agentOutput()).not.toMatch(/refused|dropped/);
  }, 90_000);
});
