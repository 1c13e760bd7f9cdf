// `fluxo-agent`, the agent as a Node single executable application: built once for this file by
// `npm run build:agent-binary`, then run against a real stack (server and proxy from the built CLI).
// The binary must take the same options as `fluxo agent start` and run every flow in a child
// process that is the binary itself, so an agency host needs no Node install.
import { chmod, copyFile, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHILD_RUNTIME_ARGUMENT } from '../../agent/spawn-flow-run.js';
import { CHILD_EXIT } from '../../sdk/runtime/protocol.js';
import { createRun, runDetails, waitForFinal } from '../e2e/queries.js';
import { useFakeGcs } from '../support/fake-gcs.js';
import { childrenOf, cliPath, isAlive, repoRoot, waitFor } from '../support/harness.js';
import { agentBinaryPath, startStack, type Stack } from '../support/stack.js';

const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/** `fluxo-agent ...args` with a bounded lifetime, and no API or token from the test's environment. */
function binary(args: string[], env: Record<string, string> = {}) {
  return execa(agentBinaryPath, args, { env: { FLUXO_TOKEN: '', FLUXO_API: '', ...env }, reject: false, timeout: 20_000, stdin: 'ignore' });
}

/** The options a `--help` text lists, e.g. `--api <url>`, in order. */
function optionsOf(help: string): string[] {
  return [...help.matchAll(/^\s+(--[a-z-]+(?: <[^>]+>)?)/gm)].map((match) => match[1]!);
}

// A flow that reports the process it runs in: what Node says it is, and the raw command line the
// agent spawned it with (/proc/self/cmdline, before the runtime drops its hidden argument).
const WHOAMI_FLOW = `
import { readFileSync } from 'node:fs';
import { flow, getLogger, task } from 'fluxo';

const inspect = task('inspect-process', () => ({
  execPath: process.execPath,
  argv: process.argv,
  cmdline: readFileSync('/proc/self/cmdline', 'utf8').split('\\0').filter(Boolean),
  pid: process.pid,
  ppid: process.ppid,
  env: Object.keys(process.env).sort(),
  path: process.env.PATH,
}));

export const whoami = flow('whoami', { description: 'Logs the process it runs in' }, async () => {
  const info = await inspect();
  getLogger().info('process %s', JSON.stringify(info));
  console.log('hello from the child on stdout');
});
`;

interface ProcessReport {
  execPath: string;
  argv: string[];
  cmdline: string[];
  pid: number;
  ppid: number;
  env: string[];
  path: string | undefined;
}

// Started before the stack; a test that needs it fails (with the reason) when it cannot run.
const gcs = useFakeGcs();

let stack: Stack;
let agentPid: number;
/** Where the test "installs" the binary: a copy outside the repository, run with no Node on PATH. */
let installed: string;
/** The agent's PATH: an empty directory, so nothing can fall back to a `node` on the host. */
let emptyPath: string;

// One file-level hook that runs before any test. The harness files a cleanup under the whole file
// only while no test name is set, and the name of the last test stays set after it ends: a stack
// started by a second describe's beforeAll would be stopped after that describe's first test.
beforeAll(async () => {
  const built = await execa(process.execPath, [join(repoRoot, 'scripts', 'build-agent-binary.mjs')], { cwd: repoRoot, reject: false, timeout: 120_000 });
  expect(built.exitCode, `${built.stdout}\n${built.stderr}`).toBe(0);

  stack = await startStack();
  const whoami = join(stack.dir, 'whoami.ts');
  await writeFile(whoami, WHOAMI_FLOW);
  const registered = await stack.cli([
    'register', whoami, join(repoRoot, 'examples', 'retry.ts'), join(repoRoot, 'examples', 'sleep.ts'),
    '--project', 'production', '--storage', stack.storageUri,
  ]);
  expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
  installed = join(stack.dir, 'opt', 'fluxo-agent');
  await mkdir(join(stack.dir, 'opt'));
  await copyFile(agentBinaryPath, installed);
  await chmod(installed, 0o755);
  emptyPath = join(stack.dir, 'empty-bin');
  await mkdir(emptyPath);
  const agent = await stack.startAgent({
    name: 'binary-1',
    binary: installed,
    // The binary honours NODE_OPTIONS as `node` does; the agent's must not reach flows.
    env: { PATH: emptyPath, NODE_OPTIONS: '--max-old-space-size=512' },
    // A short heartbeat: cancellations reach the agent with the heartbeat's answer. No child
    // memory limit, so NODE_OPTIONS in the flow's environment could only have leaked from the agent.
    extraArgs: ['--heartbeat-seconds', '1', '--child-memory-mb', '0'],
  });
  expect(agent.ready).toMatchObject({ msg: 'ready', name: 'binary-1' });
  agentPid = agent.pid;
}, 180_000);

describe('the fluxo-agent command line', () => {
  it('prints its help and exits 0, listing the start command', async () => {
    const help = await binary(['--help']);
    expect(help).toMatchObject({ exitCode: 0 });
    expect(help.stdout).toMatch(/^Usage: fluxo-agent /);
    expect(help.stdout).toMatch(/^\s+start \[options\]/m);
  });

  it('prints the package version with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const printed = await binary([flag]);
      expect(printed).toMatchObject({ exitCode: 0, stdout: version });
    }
  });

  it('takes exactly the options of `fluxo agent start`', async () => {
    const mine = await binary(['start', '--help']);
    const cli = await execa(process.execPath, [cliPath, 'agent', 'start', '--help'], { reject: false });
    expect(mine.exitCode).toBe(0);
    expect(optionsOf(mine.stdout)).toEqual(optionsOf(cli.stdout));
    expect(optionsOf(mine.stdout)).toContain('--labels <a,b>');
  });

  it.each([
    { why: 'an unknown command', args: ['bogus'], exitCode: 2, stderr: /unknown command 'bogus'/ },
    { why: 'an unknown option', args: ['start', '--no-such-option'], exitCode: 2, stderr: /unknown option '--no-such-option'/ },
    { why: 'a bad option value', args: ['start', '--api', 'http://127.0.0.1:9/graphql', '--concurrency', '0'], env: { FLUXO_TOKEN: 'x' }, exitCode: 2, stderr: /\[BAD_USER_INPUT\] concurrency/ },
    { why: 'no token', args: ['start', '--api', 'http://127.0.0.1:9/graphql'], exitCode: 3, stderr: /\[TOKEN_MISSING\]/ },
  ])('exits $exitCode on $why, saying so, without Node warnings', async ({ args, env, exitCode, stderr }) => {
    const result = await binary(args, env);
    expect(result.exitCode).toBe(exitCode);
    expect(result.stderr).toMatch(stderr);
    expect(result.stderr).not.toMatch(/Warning/);
  });

  it('runs as the child runtime when started with the hidden argument (which refuses to run without an agent)', async () => {
    const child = await binary([CHILD_RUNTIME_ARGUMENT]);
    expect(child).toMatchObject({ exitCode: CHILD_EXIT.protocolError, stdout: '' });
    expect(child.stderr).toBe('fluxo child runtime: must be spawned with an IPC channel (by a fluxo agent)');
  });
});

describe('the fluxo-agent binary against a real stack', () => {
  it('runs a flow in a child process that is the binary itself, copied elsewhere and without Node on PATH', async () => {
    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'whoami' });
    const run = await waitForFinal(developer, id);
    expect(run, JSON.stringify(run.logs.nodes.slice(-5))).toMatchObject({ state: 'SUCCESS', exitCode: 0 });
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'SUCCESS']);
    expect(run.taskRuns.map((t) => [t.taskName, t.state])).toEqual([['inspect-process', 'SUCCESS']]);
    expect(run.logs.nodes).toContainEqual(expect.objectContaining({ stream: 'stdout', message: 'hello from the child on stdout' }));
    // Nothing on stderr: the binary's experimental-feature warnings would land there, as ERROR lines.
    expect(run.logs.nodes.filter((l) => l.stream === 'stderr')).toEqual([]);

    const line = run.logs.nodes.find((l) => l.message.startsWith('process '));
    expect(line, JSON.stringify(run.logs.nodes)).toBeDefined();
    const report = JSON.parse(line!.message.slice('process '.length)) as ProcessReport;
    expect(report.execPath).toBe(installed);
    expect(report.cmdline).toEqual([installed, CHILD_RUNTIME_ARGUMENT]);
    expect(report.path).toBe(emptyPath);
    // The flow sees a clean argv: the hidden argument is the runtime's, not the flow's.
    expect(report.argv).not.toContain(CHILD_RUNTIME_ARGUMENT);
    expect(report.ppid).toBe(agentPid);
    expect(report.env).not.toContain('FLUXO_TOKEN');
    expect(report.env).not.toContain('NODE_OPTIONS');
    expect(report.env).toContain('FLUXO_FLOW_RUN_ID');
  });

  it('runs an example flow whose task is retried', async () => {
    const developer = await stack.client('developer');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'flaky-retry' }));
    expect(run.state).toBe('SUCCESS');
    expect(run.taskRuns).toEqual([expect.objectContaining({ taskName: 'call-flaky-service', state: 'SUCCESS', attempts: 2 })]);
    expect(run.logs.nodes.some((l) => l.message === 'flaky service said ok')).toBe(true);
  });

  it('runs a flow whose bundle lives in Cloud Storage (the emulator)', async () => {
    const { endpoint } = gcs();
    const bucket = await gcs().createBucket();
    const file = join(stack.dir, 'from-gcs.ts');
    await writeFile(file, "import { flow, getLogger } from 'fluxo';\nexport const fromGcs = flow('from-gcs', async () => getLogger().info('ran from gs://'));\n");
    const registered = await stack.cli(['register', file, '--project', 'production', '--storage', `gs://${bucket}/code`], { env: { STORAGE_EMULATOR_HOST: endpoint } });
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    // Its own agent: only it knows the emulator, and only it carries the label the run asks for.
    await stack.startAgent({ name: 'binary-gcs', labels: ['gcs'], binary: installed, env: { PATH: emptyPath, STORAGE_EMULATOR_HOST: endpoint } });
    const developer = await stack.client('developer');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'from-gcs', labels: ['gcs'] }));
    expect(run, JSON.stringify(run)).toMatchObject({ state: 'SUCCESS', labels: ['gcs'] });
    expect(run.logs.nodes.map((l) => l.message)).toContain('ran from gs://');
  });

  it('cancels a run: its binary child gets the signal and is gone', async () => {
    const developer = await stack.client('developer');
    const id = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 300 } });
    const childPid = await waitFor(async () => (await childrenOf(agentPid))[0], { what: 'the run to start a child' });
    expect(await readlink(`/proc/${childPid}/exe`)).toBe(installed);
    await waitFor(async () => (await runDetails(developer, id)).state === 'RUNNING', { what: 'the run to be RUNNING' });
    const cancelled = await stack.cli(['runs', 'cancel', id]);
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    const run = await waitForFinal(developer, id, 30_000);
    expect(run.stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'CANCELLING', 'CANCELLED']);
    await waitFor(() => !isAlive(childPid), { what: 'the child to exit' });
  });
});

