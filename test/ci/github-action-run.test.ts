// The register action run the way GitHub's runner runs it (test/ci/action-runner.ts: a fresh
// checkout of a flows repository as the workspace, the GITHUB_* environment and file commands,
// `bash --noprofile --norc -eo pipefail` per step) against a real fluxo stack (server and proxy
// processes) with a CI service token made by `fluxo token create --role ci`.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { readAction, runAction, type ActionRun } from './action-runner.js';

const actionPath = join(repoRoot, '.github', 'actions', 'register');

const FLOWS: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'flows', private: true, type: 'module' }, null, 2),
  'flows/hello.ts': [
    "import { flow } from 'fluxo';",
    '',
    "export const hello = flow('ci-hello', { description: 'Says hello' }, async () => 'hello');",
    '',
  ].join('\n'),
  // A helper without a flow: a directory walk skips it.
  'flows/lib/answer.ts': 'export const answer = (): number => 42;\n',
  'flows/reports/daily.ts': [
    "import { flow, task } from 'fluxo';",
    "import { answer } from '../lib/answer.js';",
    '',
    "const count = task('count', async (): Promise<number> => answer());",
    '',
    'export const daily = flow(',
    "  'ci-daily-report',",
    "  { retries: 1, schedules: [{ cron: '0 3 * * *', timezone: 'America/Sao_Paulo' }] },",
    '  async () => count(),',
    ');',
    '',
  ].join('\n'),
};

const BROKEN: Record<string, string> = {
  'flows/broken.ts': [
    "import { flow } from 'fluxo';",
    "import { missing } from 'no-such-package';",
    '',
    "export const broken = flow('ci-broken', async () => missing());",
    '',
  ].join('\n'),
};

let stack: Stack;
let ciToken: string;
let storage: string;

/** A fresh checkout of a flows repository holding `files`: the job's workspace. */
async function checkout(files: Record<string, string>): Promise<string> {
  const workspace = await tempDir('fluxo-flows-repo-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(workspace, path)), { recursive: true });
    await writeFile(join(workspace, path), text);
  }
  return workspace;
}

/** One job running the action on a fresh checkout of `files`. */
async function runJob(files: Record<string, string>, inputs: Record<string, string> = {}): Promise<ActionRun & { workspace: string }> {
  const workspace = await checkout(files);
  const run = await runAction({
    actionPath,
    workspace,
    runnerTemp: await tempDir('fluxo-runner-temp-'),
    inputs: { 'api-url': stack.apiUrl, token: ciToken, storage, paths: 'flows', project: 'production', schedules: 'active', ...inputs },
    skipUses: ['actions/setup-node@'],
  });
  return { ...run, workspace };
}

function step(run: ActionRun, name: string) {
  const found = run.steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step named ${name}: ${run.steps.map((s) => s.name).join(', ')}`);
  return found;
}

/** The summary table's row of a flow, as cells. */
function rowOf(summary: string, flow: string): string[] | undefined {
  const line = summary.split('\n').find((l) => l.startsWith(`| ${flow} |`));
  return line?.split(' | ').map((cell) => cell.replace(/^\| | \|$/g, '').trim());
}

/** Each scheduled flow's schedule state in `project` (ACTIVE, PAUSED). */
async function scheduleStates(project: string): Promise<Record<string, string>> {
  const client = await stack.client('developer');
  const { schedules } = await client.request<{ schedules: { nodes: { state: string; flow: { name: string } }[] } }>(
    'query($project: String) { schedules(project: $project, first: 10) { nodes { state flow { name } } } }',
    { project },
  );
  return Object.fromEntries(schedules.nodes.map((s) => [s.flow.name, s.state]));
}

async function latestVersions(project: string): Promise<Record<string, number>> {
  const listed = await stack.cli(['flows', 'list', '--project', project, '--json'], { role: 'developer' });
  expect(listed, listed.stderr).toMatchObject({ exitCode: 0 });
  const flows = JSON.parse(listed.stdout) as { name: string; latestVersion: { number: number } }[];
  return Object.fromEntries(flows.map((f) => [f.name, f.latestVersion.number]));
}

describe('the register action, run as a runner runs it', () => {
  beforeAll(async () => {
    // The action runs `npm ci` in its own checkout (this repository) when node_modules is older
    // than the lock file; here that would delete node_modules under every other running test.
    const [lock, installed] = await Promise.all([stat(join(repoRoot, 'package-lock.json')), stat(join(repoRoot, 'node_modules', '.package-lock.json'))]);
    if (lock.mtimeMs > installed.mtimeMs) throw new Error('package-lock.json is newer than node_modules: run npm ci (or npm install) before this test');
    stack = await startStack();
    const created = await stack.cli(['token', 'create', '--name', 'github-ci', '--role', 'ci', '--ttl', '1d', '--json'], { role: 'tenant-admin' });
    expect(created, created.stderr).toMatchObject({ exitCode: 0 });
    ciToken = (JSON.parse(created.stdout) as { token: string }).token;
    storage = `${stack.storageUri}/{tenant}`;
  });

  it('is a composite action whose only foreign step is actions/setup-node and whose scripts interpolate nothing', async () => {
    const { runs } = await readAction(actionPath);
    expect(runs.steps.filter((s) => s.uses !== undefined).map((s) => s.uses)).toEqual(['actions/setup-node@v5']);
    // Inputs reach scripts through env: only; `${{ }}` inside a script would run what an input holds.
    for (const s of runs.steps) expect(s.run ?? '', s.name).not.toContain('${{');
  });

  it('registers two new flows, reports them in outputs and the job summary, and masks the token', async () => {
    const run = await runJob(FLOWS);
    expect(run.steps.map((s) => [s.name, s.outcome]), JSON.stringify(run.steps, null, 1)).toEqual([
      ['Mask the fluxo token', 'success'],
      ['Set up Node.js', 'skipped'],
      ['Build fluxo', 'success'],
      ['Register flows', 'success'],
      ['Summarize', 'success'],
      ['Fail on failed flows', 'success'],
    ]);
    expect(run.conclusion).toBe('success');
    expect(run.outputs).toEqual({ new: '2', unchanged: '0', failed: '0' });
    // The build found fluxo's dependencies in place: no npm ci in a test (or on a warm runner).
    expect(step(run, 'Build fluxo').stdout).toContain("fluxo's dependencies are installed");

    expect(run.summary).toContain('### fluxo register → production');
    expect(run.summary).toContain('| Flow | Path | Status | Version | Reason |');
    expect(rowOf(run.summary, 'ci-hello')).toEqual(['ci-hello', '`flows/hello.ts`', '🆕 new', '1', '']);
    expect(rowOf(run.summary, 'ci-daily-report')).toEqual(['ci-daily-report', '`flows/reports/daily.ts`', '🆕 new', '1', '']);
    expect(run.summary).toMatch(/\*\*2 new, 0 unchanged, 0 failed, 1 skipped \(project production; 2 bundles uploaded\)\*\*/);

    // The token was masked before anything ran, and no step printed it otherwise.
    expect(run.masks).toEqual([ciToken]);
    const printed = run.steps.map((s) => `${s.stdout.replace(`::add-mask::${ciToken}`, '')}\n${s.stderr}`).join('\n');
    expect(printed).not.toContain(ciToken);

    expect(await latestVersions('production')).toEqual({ 'ci-daily-report': 1, 'ci-hello': 1 });
    expect(await scheduleStates('production')).toEqual({ 'ci-daily-report': 'ACTIVE' });
  });

  it('reports every flow unchanged on a second run, naming them by glob and file', async () => {
    const run = await runJob(FLOWS, { paths: 'flows/hello.ts\n  flows/reports/**/*.ts\n' });
    expect(run.conclusion, JSON.stringify(run.steps, null, 1)).toBe('success');
    expect(run.outputs).toEqual({ new: '0', unchanged: '2', failed: '0' });
    expect(rowOf(run.summary, 'ci-hello')).toEqual(['ci-hello', '`flows/hello.ts`', '✔️ unchanged', '1', '']);
    expect(run.summary).toMatch(/\*\*0 new, 2 unchanged, 0 failed \(project production; 0 bundles uploaded\)\*\*/);
    expect(await latestVersions('production')).toEqual({ 'ci-daily-report': 1, 'ci-hello': 1 });
  });

  it('fails the job on a module that does not bundle, names it and its reason, and still reports the good flows', async () => {
    const run = await runJob({ ...FLOWS, ...BROKEN });
    expect(run.conclusion).toBe('failure');
    expect(run.outputs).toEqual({ new: '0', unchanged: '2', failed: '1' });
    // The summary is written before the job fails: every step up to the last one succeeded.
    expect(run.steps.map((s) => [s.name, s.outcome]).slice(2)).toEqual([
      ['Build fluxo', 'success'],
      ['Register flows', 'success'],
      ['Summarize', 'success'],
      ['Fail on failed flows', 'failure'],
    ]);
    expect(Number(step(run, 'Register flows').outputs['exit-code'])).toBeGreaterThan(0);

    const broken = run.summary.split('\n').find((l) => l.includes('`flows/broken.ts`'));
    expect(broken, run.summary).toBeDefined();
    expect(broken).toContain('❌ failed');
    expect(broken).toContain('no-such-package');
    expect(rowOf(run.summary, 'ci-hello')?.[2]).toBe('✔️ unchanged');
    expect(rowOf(run.summary, 'ci-daily-report')?.[2]).toBe('✔️ unchanged');
    expect(run.summary).toMatch(/\*\*0 new, 2 unchanged, 1 failed, 1 skipped \(project production; 0 bundles uploaded\)\*\*/);

    // Annotations: one for the module, one for the job.
    const errors = run.commands.filter((c) => c.command === 'error');
    expect(errors.find((e) => e.properties.title === 'fluxo register: flows/broken.ts')?.message).toContain('no-such-package');
    expect(errors.at(-1)?.message).toMatch(/^1 flow\(s\) failed to register \(fluxo exited with \d+\); the job summary lists each with its reason$/);
    expect(await latestVersions('production')).toEqual({ 'ci-daily-report': 1, 'ci-hello': 1 });
  });

  it('fails the job with the reason when fluxo reports nothing (a refused token)', async () => {
    const run = await runJob(FLOWS, { token: 'fxs_not-a-real-token' });
    expect(run.conclusion).toBe('failure');
    expect(run.outputs).toEqual({ new: '0', unchanged: '0', failed: '0' });
    expect(step(run, 'Summarize').outputs.reported).toBe('false');
    expect(step(run, 'Fail on failed flows').outcome).toBe('failure');
    const last = run.commands.filter((c) => c.command === 'error').at(-1);
    // Exit 3 (unauthorized) and fluxo's own error line, not the usage text.
    expect(last?.message).toMatch(/^fluxo register exited with 3 before reporting any flow: error: \[TOKEN_INVALID\] /);
    expect(run.summary).toContain('fluxo register failed before reporting any flow');
  });

  it('registers into staging with schedules paused', async () => {
    const run = await runJob(FLOWS, { project: 'staging', schedules: 'paused' });
    expect(run.conclusion, JSON.stringify(run.steps, null, 1)).toBe('success');
    expect(run.outputs).toEqual({ new: '2', unchanged: '0', failed: '0' });
    expect(run.summary).toContain('### fluxo register → staging');
    expect(await latestVersions('staging')).toEqual({ 'ci-daily-report': 1, 'ci-hello': 1 });
    // The new schedule starts paused in staging; production's stays as it was.
    expect(await scheduleStates('staging')).toEqual({ 'ci-daily-report': 'PAUSED' });
    expect(await scheduleStates('production')).toEqual({ 'ci-daily-report': 'ACTIVE' });
  });
});
