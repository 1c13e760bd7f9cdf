// Killing the parts: no acknowledged run is lost, no run executes twice at the same time, and the
// final states say what happened. Leases are short (3 s, heartbeat 1 s) so expiry is quick.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, repoRoot, waitFor } from '../support/harness.js';
import { startDaemon } from '../support/daemon.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'flows', name);
const FAST_HEARTBEAT = ['--heartbeat-seconds', '1'];

async function stackWithFlows(leaseSeconds = 3): Promise<Stack> {
  const stack = await startStack({ leaseSeconds });
  const registered = await stack.cli(['register', fixture('slow-witness.ts'), fixture('sleep-with-pid.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered.exitCode, registered.stderr).toBe(0);
  return stack;
}

const witnessLines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

describe('faults', () => {
  it('SIGKILL of the agent mid-run: the lease expires, the retry runs on another agent, never two at once', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    const first = await stack.startAgent({ name: 'doomed', extraArgs: FAST_HEARTBEAT });
    const file = join(stack.dir, 'witness.txt');
    const id = await createRun(developer, { flowName: 'slow-witness', parameters: { file, tag: 'w', seconds: 3 } });
    await waitFor(async () => (await witnessLines(file)).length === 1, { what: 'attempt 1 to start' });
    const [, , firstPid] = (await witnessLines(file))[0]!.split(' ');
    process.kill(first.pid, 'SIGKILL');
    // Without its agent the child stops itself (its IPC channel closed): nothing runs unleased.
    await waitFor(() => !isAlive(Number(firstPid)), { what: 'the orphaned child to exit' });
    await stack.startAgent({ name: 'rescuer', extraArgs: FAST_HEARTBEAT });
    const run = await waitForFinal(developer, id, 60_000);
    expect(run).toMatchObject({ state: 'SUCCESS', attempt: 2 });
    expect(run.stateHistory.map((h) => `${h.toState}@${h.attempt}${h.reason ? `:${h.reason}` : ''}`)).toEqual([
      'SCHEDULED@1', 'SUBMITTED@1', 'RUNNING@1', 'CRASHED@1:lease-expired', 'SCHEDULED@2:retry', 'SUBMITTED@2', 'RUNNING@2', 'SUCCESS@2',
    ]);
    const lines = await witnessLines(file);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['start', 'start', 'end']);
    expect(lines[2]).toBe(lines[1]!.replace('start', 'end'));
  }, 90_000);

  it('SIGKILL of the child: the run fails with the signal, and the agent carries on', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    await stack.startAgent({ name: 'steady', extraArgs: FAST_HEARTBEAT });
    const pidFile = join(stack.dir, 'pid.json');
    const id = await createRun(developer, { flowName: 'sleep-with-pid', parameters: { pidFile, seconds: 60 } });
    const { pid } = await waitFor(async () => JSON.parse(await readFile(pidFile, 'utf8')) as { pid: number });
    process.kill(pid, 'SIGKILL');
    const run = await waitForFinal(developer, id);
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'signal', signal: 'SIGKILL' });
    const next = await createRun(developer, { flowName: 'slow-witness', parameters: { file: join(stack.dir, 'w.txt'), tag: 'after', seconds: 0 } });
    expect((await waitForFinal(developer, next)).state).toBe('SUCCESS');
  }, 60_000);

  it('SIGKILL of the server mid-run: after a restart on the same database the run finishes and nothing acknowledged is lost', async () => {
    // A lease (10 s) longer than the outage: the agent keeps its run across the restart.
    const stack = await stackWithFlows(10);
    const developer = await stack.client('developer');
    await stack.startAgent({ name: 'patient', extraArgs: FAST_HEARTBEAT });
    const file = join(stack.dir, 'witness.txt');
    const id = await createRun(developer, { flowName: 'slow-witness', parameters: { file, tag: 's', seconds: 2 } });
    await waitFor(async () => (await witnessLines(file)).length === 1, { what: 'the run to start' });
    process.kill(stack.server.pid, 'SIGKILL');
    await waitFor(() => !isAlive(stack.server.pid), { what: 'the server to die' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const port = new URL(stack.serverUrl).port;
    await startDaemon(['server', 'start', '--port', port, '--database', join(stack.dir, 'fluxo.db'), '--keys-dir', stack.keysDir, '--lease-seconds', '10', '--reaper-interval-ms', '200']);
    const run = await waitForFinal(developer, id, 60_000);
    expect(run).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    const lines = await witnessLines(file);
    expect(lines).toEqual([lines[0], lines[0]!.replace('start', 'end')]);
  }, 90_000);

  it('a partition longer than the lease: the agent fences itself, the retry runs after, never two at once', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    const agent = await stack.startAgent({ name: 'cut-off', extraArgs: FAST_HEARTBEAT });
    const file = join(stack.dir, 'witness.txt');
    const id = await createRun(developer, { flowName: 'slow-witness', parameters: { file, tag: 'p', seconds: 8 } });
    await waitFor(async () => (await witnessLines(file)).length === 1, { what: 'attempt 1 to start' });
    const firstPid = Number((await witnessLines(file))[0]!.split(' ')[2]);
    const proxyPort = new URL(String(stack.proxy.ready.url)).port;
    // kill -9: every connection drops at once, in-flight long-polls included, as in a real cut.
    process.kill(stack.proxy.pid, 'SIGKILL');
    // The agent cannot renew: it must kill its child before the lease can expire on the server.
    await waitFor(() => !isAlive(firstPid), { timeoutMs: 5_000, what: 'the fenced child to be killed' });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await startDaemon(['proxy', 'start', '--port', proxyPort, '--upstream', stack.serverUrl, '--keys-dir', stack.keysDir]);
    const run = await waitForFinal(developer, id, 60_000);
    expect(run, agent.output.join('\n')).toMatchObject({ state: 'SUCCESS', attempt: 2 });
    expect(run.stateHistory.map((h) => `${h.toState}@${h.attempt}${h.reason ? `:${h.reason}` : ''}`)).toContain('CRASHED@1:lease-expired');
    const lines = await witnessLines(file);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['start', 'start', 'end']);
    expect(Number(lines[1]!.split(' ')[2])).not.toBe(firstPid);
  }, 90_000);

  it('a state write whose answer is lost after it committed: the retry leaves exactly one transition', async () => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    let armed = true;
    const faults = await startFaultProxy(stack.apiUrl, (body) => {
      if (armed && body.includes('SetFlowRunState') && body.includes('"state":"SUCCESS"')) {
        armed = false;
        return 'drop-response';
      }
      return 'pass';
    });
    await startDaemon(['agent', 'start', '--api', faults.url, '--name', 'unlucky', '--work-dir', join(stack.dir, 'unlucky'), ...FAST_HEARTBEAT], {
      env: { FLUXO_TOKEN: await stack.token('agent') },
    });
    const id = await createRun(developer, { flowName: 'slow-witness', parameters: { file: join(stack.dir, 'w.txt'), tag: 'once', seconds: 0 } });
    const run = await waitForFinal(developer, id);
    expect(faults.dropped).toHaveLength(1);
    expect(run.state).toBe('SUCCESS');
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
  }, 60_000);

  // libfaketime shifts the agent's wall clock only (its monotonic clock stays true, as a skewed
  // machine's would): leases, due times and fencing must not care.
  it.each(['+10m', '-10m'])('an agent whose clock is off by %s: runs start when due and keep their leases', async (skew) => {
    const stack = await stackWithFlows();
    const developer = await stack.client('developer');
    const agent = await startDaemon(['agent', 'start', '--api', stack.apiUrl, '--name', 'skewed', '--work-dir', join(stack.dir, 'skewed'), ...FAST_HEARTBEAT], {
      env: { FLUXO_TOKEN: await stack.token('agent'), ...(await faketimeEnv(skew)) },
    });
    // The skew is real: the agent's own log stamps are ten minutes off.
    const offsetMinutes = (Date.parse(String(agent.ready.time)) - Date.now()) / 60_000;
    expect(Math.round(offsetMinutes)).toBe(skew === '+10m' ? 10 : -10);
    const file = join(stack.dir, 'w.txt');
    // Longer than the 3 s lease: it needs heartbeats to survive.
    const long = await createRun(developer, { flowName: 'slow-witness', parameters: { file, tag: 'long', seconds: 5 } });
    const dueAt = new Date(Date.now() + 2_000).toISOString();
    const later = await createRun(developer, { flowName: 'slow-witness', parameters: { file, tag: 'later', seconds: 0 }, scheduledAt: dueAt });
    const [a, b] = [await waitForFinal(developer, long, 60_000), await waitForFinal(developer, later, 60_000)];
    expect(a).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(b).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    const { flowRun } = await developer.request<{ flowRun: { startedAt: string; scheduledAt: string } }>('query($id: ID!) { flowRun(id: $id) { startedAt scheduledAt } }', { id: later });
    expect(Date.parse(flowRun.startedAt)).toBeGreaterThanOrEqual(Date.parse(flowRun.scheduledAt));
  }, 90_000);
});

async function faketimeEnv(offset: string): Promise<Record<string, string>> {
  const library = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
  const present = await readFile(library).then(() => true, () => false);
  if (!present) throw new Error(`the clock-skew tests need libfaketime (${library}): apt-get install faketime`);
  return { LD_PRELOAD: library, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}
