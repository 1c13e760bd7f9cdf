// The process groups of a run's commands (runCommand leads a group of its own) die with the run
// even when the agent SIGKILLs the run's child, which then cannot clean up: the child names each
// group to the agent (`process-group`), and the agent kills them (agent/process-groups.ts). A real
// child runtime, a real `sh` leaving a `sleep` behind.
import { spawn as spawnProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalStateOf } from '../../agent/final-state.js';
import { defaultChildEntry, spawnFlowRun } from '../../agent/spawn-flow-run.js';
import { bundleFlowModule } from '../../cli/bundle.js';
import type { LogEvent } from '../../sdk/runtime/protocol.js';
import { isAlive, onCleanup, repoRoot, tempDir, waitFor } from '../support/harness.js';

let bundlePath: string;

beforeAll(async () => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
  const { bytes } = await bundleFlowModule(join(repoRoot, 'test', 'fixtures', 'flows', 'command-groups.ts'));
  bundlePath = join(await tempDir('fluxo-command-groups-'), 'flow.mjs');
  await writeFile(bundlePath, bytes);
}, 60_000);

async function run(entrypoint: string, parameters: unknown, timing: { timeoutMs: number | null; cancelGraceMs: number }) {
  const cwd = await tempDir('fluxo-command-groups-run-');
  const logs: LogEvent[] = [];
  const child = spawnFlowRun({ flowRunId: 'run-groups', attempt: 1, bundlePath, entrypoint, parameters, cwd, ...timing, onLog: (event) => logs.push(event) });
  onCleanup(async () => {
    child.kill('agent-stopped');
    await child.outcome;
  });
  return { child, cwd, logs };
}

/** The background sleep's pid, once the command wrote it; killed at cleanup should the test fail. */
async function sleepPid(cwd: string): Promise<number> {
  const pid = await waitFor(async () => Number((await readFile(join(cwd, 'sleep.pid'), 'utf8').catch(() => '')).trim()) || undefined, { what: 'the sleep\'s pid' });
  onCleanup(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  return pid;
}

describe("a run's command groups", () => {
  it('are killed when a cancelled child ignores SIGTERM and is SIGKILLed after the grace period', async () => {
    const { child, cwd, logs } = await run('backgroundSleep', { ignoreTerm: true }, { timeoutMs: null, cancelGraceMs: 300 });
    const pid = await sleepPid(cwd);
    await waitFor(async () => logs.some((event) => event.message === 'ignoring SIGTERM from now on') || undefined, { what: 'the flow to ignore SIGTERM' });
    expect(isAlive(pid)).toBe(true);
    child.terminate('cancelled');
    const outcome = await child.outcome;
    expect(outcome).toMatchObject({ interruption: 'cancelled', signal: 'SIGKILL' });
    expect(finalStateOf(outcome).state).toBe('CANCELLED');
    await waitFor(async () => !isAlive(pid) || undefined, { what: `the command's background sleep (pid ${pid}) to be gone` });
  });

  it('are killed when the flow times out (the child is SIGKILLed at once)', async () => {
    const { child, cwd } = await run('backgroundSleep', {}, { timeoutMs: 1_500, cancelGraceMs: 10_000 });
    const pid = await sleepPid(cwd);
    const outcome = await child.outcome;
    expect(outcome).toMatchObject({ interruption: 'timeout', signal: 'SIGKILL' });
    await waitFor(async () => !isAlive(pid) || undefined, { what: `the command's background sleep (pid ${pid}) to be gone` });
  });

  it('never include a group the flow names that is not one of its commands', async () => {
    // Someone else's process group (the agent's neighbour): a flow naming it must not get it killed.
    const decoy = spawnProcess('sleep', ['300'], { detached: true, stdio: 'ignore' });
    onCleanup(() => {
      if (decoy.pid !== undefined && isAlive(decoy.pid)) process.kill(-decoy.pid, 'SIGKILL');
    });
    const { child, logs } = await run('namesOtherGroups', { pgid: decoy.pid }, { timeoutMs: 3_000, cancelGraceMs: 10_000 });
    await waitFor(async () => logs.some((event) => event.message === 'named') || undefined, { what: 'the flow to name the groups' });
    expect(await child.outcome).toMatchObject({ interruption: 'timeout' });
    expect(isAlive(decoy.pid!)).toBe(true);
  });
});
