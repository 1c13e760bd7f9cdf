// The child process of a flow run, for real: the compiled child runtime (dist/sdk/runtime/child.js)
// loading the hand-written bundle test/fixtures/agent/flows.mjs.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultChildEntry, spawnFlowRun, type SpawnFlowRunOptions } from '../../agent/spawn-flow-run.js';
import { finalStateOf } from '../../agent/final-state.js';
import type { LogEvent, TaskStateEvent } from '../../sdk/runtime/protocol.js';
import { isAlive, onCleanup, repoRoot, tempDir, waitFor } from '../support/harness.js';

const bundlePath = join(repoRoot, 'test', 'fixtures', 'agent', 'flows.mjs');

beforeAll(() => {
  if (!existsSync(defaultChildEntry())) throw new Error(`build first (npx tsc -p tsconfig.json): ${defaultChildEntry()} is missing`);
});

async function spawn(entrypoint: string, parameters: unknown, options: Partial<SpawnFlowRunOptions> = {}) {
  const cwd = await tempDir('fluxo-run-');
  const taskStates: TaskStateEvent[] = [];
  const logs: LogEvent[] = [];
  const child = spawnFlowRun({
    flowRunId: 'run-1',
    attempt: 1,
    bundlePath,
    entrypoint,
    parameters,
    cwd,
    timeoutMs: null,
    cancelGraceMs: 10_000,
    onTaskState: (event) => taskStates.push(event),
    onLog: (event) => logs.push(event),
    ...options,
  });
  onCleanup(async () => {
    child.kill('agent-stopped');
    await child.outcome;
  });
  return { child, taskStates, logs, cwd };
}

async function pidsFrom(file: string): Promise<{ child: number; grandchild: number }> {
  return waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as { child: number; grandchild: number }, { what: `pids in ${file}` });
}

describe('running a flow', () => {
  it('relays task states, logger lines and stdout/stderr lines, and ends with result ok and exit 0', async () => {
    const { child, taskStates, logs } = await spawn('hello', { who: 'Rio' });
    expect(await child.started).toBe(true);
    const outcome = await child.outcome;

    expect(outcome).toMatchObject({ exitCode: 0, signal: null, result: { ok: true }, interruption: null, started: true, problem: null });
    expect(taskStates.map((event) => `${event.key}:${event.state}`)).toEqual(['extract#1:RUNNING', 'extract#1:SUCCESS', 'load#1:RUNNING', 'load#1:SUCCESS']);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'INFO', stream: 'logger', message: 'hello Rio', taskRunKey: 'extract#1' }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'INFO', stream: 'stdout', message: 'a line on stdout', taskRunKey: null }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'ERROR', stream: 'stderr', message: 'a line on stderr', taskRunKey: null }));
    expect(finalStateOf(outcome)).toMatchObject({ state: 'SUCCESS', reason: null, exitCode: 0 });
  });

  it('reports a flow that throws as a failure result with exit 1', async () => {
    const { child, taskStates } = await spawn('failing', {});
    const outcome = await child.outcome;

    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ ok: false, failure: { type: 'RangeError', message: 'boom', reason: 'exception' } });
    expect(taskStates.at(-1)).toMatchObject({ key: 'explode#1', state: 'FAILED', message: 'boom' });
    expect(finalStateOf(outcome)).toMatchObject({ state: 'FAILED', reason: 'exception', message: 'RangeError: boom', exitCode: 1 });
  });

  it.each([
    ['an entrypoint the bundle does not export', 'nope', /no export "nope"/],
    ['an export that is not a flow', 'notAFlow', /"notAFlow" is not a fluxo flow/],
  ])('ends with exit 3 and CRASHED load-error for %s', async (_case, entrypoint, message) => {
    const { child } = await spawn(entrypoint, {});
    const outcome = await child.outcome;

    expect(outcome.exitCode).toBe(3);
    expect(finalStateOf(outcome)).toMatchObject({ state: 'CRASHED', reason: 'load-error', exitCode: 3, message: expect.stringMatching(message) });
  });

  it('does not start the flow when the RUNNING write declines, and kills the waiting child', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids.json');
    const { child } = await spawn('sleepy', { pidFile }, { beforeStart: async () => false });

    expect(await child.started).toBe(false);
    const outcome = await child.outcome;
    expect(outcome).toMatchObject({ started: false, interruption: 'not-started', signal: 'SIGKILL', result: null });
    expect(existsSync(pidFile)).toBe(false);
  });

  /** A bundle whose module code marks `loaded` when imported and whose flow marks `ran`; or one that cannot load. */
  async function markingBundle(dir: string, broken = false): Promise<string> {
    const path = join(dir, 'marking.mjs');
    const body = broken
      ? `throw new Error('this bundle cannot load');`
      : `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(join(dir, 'loaded'))}, 'x');
export const marking = { [Symbol.for('fluxo.flow')]: 1,
  definition: { name: 'marking', description: null, parameterSchema: { type: 'object' }, labels: [], retries: 0, retryDelaySeconds: 0, timeoutSeconds: null },
  run: async () => { writeFileSync(${JSON.stringify(join(dir, 'ran'))}, 'x'); } };`;
    await writeFile(path, body);
    return path;
  }

  it('loads the bundle while RUNNING is being written, and runs the flow only once it is', async () => {
    const dir = await tempDir();
    let ranBeforeRunning: boolean | null = null;
    const { child } = await spawn('marking', {}, {
      bundlePath: await markingBundle(dir),
      beforeStart: async () => {
        // The import happens during the write: the module's own code has run, the flow has not.
        await waitFor(() => existsSync(join(dir, 'loaded')) || undefined, { what: 'the bundle imported before RUNNING was written' });
        ranBeforeRunning = existsSync(join(dir, 'ran'));
        return true;
      },
    });
    const outcome = await child.outcome;
    expect(ranBeforeRunning).toBe(false);
    expect(outcome).toMatchObject({ started: true, exitCode: 0, result: { ok: true } });
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });

  it('never runs a loaded flow whose RUNNING write declines', async () => {
    const dir = await tempDir();
    const { child } = await spawn('marking', {}, {
      bundlePath: await markingBundle(dir),
      beforeStart: async () => {
        await waitFor(() => existsSync(join(dir, 'loaded')) || undefined, { what: 'the bundle imported' });
        return false;
      },
    });
    expect(await child.outcome).toMatchObject({ started: false, interruption: 'not-started', signal: 'SIGKILL' });
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('reports a bundle that fails to load only after the RUNNING write has answered', async () => {
    const dir = await tempDir();
    const order: string[] = [];
    const { child } = await spawn('marking', {}, {
      bundlePath: await markingBundle(dir, true),
      beforeStart: async () => {
        // The child fails its import and exits while RUNNING is still on its way (a slow write).
        await waitFor(() => (child.pid !== undefined && !isAlive(child.pid)) || undefined, { what: 'the child to exit' });
        await new Promise((wake) => setTimeout(wake, 300));
        order.push('RUNNING written');
        return true;
      },
    });
    const outcome = await child.outcome;
    order.push('outcome');
    expect(order).toEqual(['RUNNING written', 'outcome']);
    expect(finalStateOf(outcome)).toMatchObject({ state: 'CRASHED', reason: 'load-error' });
    expect(finalStateOf(outcome).message).toContain('this bundle cannot load');
  });
});

describe('stopping a flow', () => {
  it('kills the whole process group, grandchildren included, when the flow times out', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids.json');
    const { child } = await spawn('sleepy', { pidFile }, { timeoutMs: 400 });
    const pids = await pidsFrom(pidFile);
    expect(isAlive(pids.grandchild)).toBe(true);

    const outcome = await child.outcome;

    expect(outcome).toMatchObject({ interruption: 'timeout', signal: 'SIGKILL', exitCode: null });
    expect(finalStateOf(outcome)).toMatchObject({ state: 'TIMED_OUT', reason: 'timeout', signal: 'SIGKILL' });
    await waitFor(() => !isAlive(pids.grandchild), { what: 'the grandchild to be gone', timeoutMs: 5_000 });
    expect(isAlive(pids.child)).toBe(false);
  });

  it('on cancel sends SIGTERM to the group, and a flow that obeys ends by SIGTERM', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids.json');
    const { child } = await spawn('sleepy', { pidFile }, { cancelGraceMs: 30_000 });
    const pids = await pidsFrom(pidFile);

    child.terminate('cancelled');
    const outcome = await child.outcome;

    expect(outcome).toMatchObject({ interruption: 'cancelled', signal: 'SIGTERM' });
    expect(finalStateOf(outcome)).toMatchObject({ state: 'CANCELLED', reason: 'cancelled', signal: 'SIGTERM' });
    await waitFor(() => !isAlive(pids.grandchild), { what: 'the grandchild to be gone', timeoutMs: 5_000 });
  });

  it('on cancel escalates to SIGKILL after the grace period when the flow ignores SIGTERM', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids.json');
    const { child, logs } = await spawn('sleepy', { pidFile, ignoreTerm: true }, { cancelGraceMs: 600 });
    const pids = await pidsFrom(pidFile);

    const cancelledAt = Date.now();
    child.terminate('cancelled');
    const outcome = await child.outcome;

    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(590);
    expect(outcome).toMatchObject({ interruption: 'cancelled', signal: 'SIGKILL' });
    expect(logs).toContainEqual(expect.objectContaining({ message: 'ignoring SIGTERM' }));
    expect(finalStateOf(outcome)).toMatchObject({ state: 'CANCELLED', reason: 'cancelled', signal: 'SIGKILL' });
    await waitFor(() => !isAlive(pids.grandchild) && !isAlive(pids.child), { what: 'the process group to be gone', timeoutMs: 5_000 });
  });
});

describe("the child's environment", () => {
  it('holds only the allow-list, the run id and passEnv variables, never the agent token', async () => {
    const dir = await tempDir();
    const out = join(dir, 'env.json');
    const token = 'eyJhbGciOiJFZERTQSJ9.agent-token.signature';
    const { child, cwd } = await spawn(
      'envDump',
      { out },
      {
        flowRunId: 'run-env',
        passEnv: ['GOOGLE_APPLICATION_CREDENTIALS', 'COPY_OF_TOKEN'],
        secrets: [token],
        sourceEnv: {
          PATH: process.env.PATH,
          HOME: '/home/agent',
          LANG: 'C.UTF-8',
          TZ: 'America/Sao_Paulo',
          FLUXO_TOKEN: token,
          COPY_OF_TOKEN: token,
          AWS_SECRET_ACCESS_KEY: 'not-for-flows',
          GOOGLE_APPLICATION_CREDENTIALS: '/etc/fluxo/sa.json',
        },
      },
    );
    expect((await child.outcome).exitCode).toBe(0);
    const seen = JSON.parse(await readFile(out, 'utf8')) as { env: Record<string, string>; environ: string; cwd: string };

    expect(Object.keys(seen.env).sort()).toEqual(['FLUXO_FLOW_RUN_ID', 'GOOGLE_APPLICATION_CREDENTIALS', 'HOME', 'LANG', 'PATH', 'TZ']);
    expect(seen.env).toMatchObject({ FLUXO_FLOW_RUN_ID: 'run-env', HOME: '/home/agent', TZ: 'America/Sao_Paulo', GOOGLE_APPLICATION_CREDENTIALS: '/etc/fluxo/sa.json' });
    expect(seen.environ).not.toContain(token);
    expect(seen.environ).not.toContain('not-for-flows');
    expect(seen.environ).toContain('FLUXO_FLOW_RUN_ID=run-env');
    expect(seen.cwd).toBe(cwd);
  });
});
