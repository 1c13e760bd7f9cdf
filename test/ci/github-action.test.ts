// The register action and the example workflow pass actionlint: the example as users copy it, and a
// workflow in a scratch repository that uses the action locally with every input (actionlint checks
// a local action's inputs and outputs against its action.yml). Negative cases prove the check bites:
// a misspelt input, a missing required input and an unknown output each fail it.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../support/harness.js';
import { actionlint, actionlintBinary } from './actionlint.js';
import { readAction } from './action-runner.js';

const actionDir = join(repoRoot, '.github', 'actions', 'register');

/** A workflow using the local action; `with` and the report step are the parts the cases vary. */
function workflowUsing(withLines: string[], outputs = ['new', 'unchanged', 'failed']): string {
  return [
    'name: Register flows',
    'on:',
    '  push:',
    '    branches: [main]',
    'permissions:',
    '  contents: read',
    'jobs:',
    '  register:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - uses: actions/checkout@v5',
    '      - id: register',
    '        uses: ./.github/actions/register',
    '        with:',
    ...withLines.map((line) => `          ${line}`),
    '      - name: Report',
    '        if: always()',
    '        env:',
    ...outputs.map((key) => `          ${key.toUpperCase()}: \${{ steps.register.outputs.${key} }}`),
    '        run: |',
    `          echo "${outputs.map((key) => `$${key.toUpperCase()}`).join(' ')}"`,
    '',
  ].join('\n');
}

const ALL_INPUTS = [
  'api-url: ${{ vars.FLUXO_API_URL }}',
  'token: ${{ secrets.FLUXO_TOKEN }}',
  'paths: |',
  '  flows',
  "  jobs/**/*.ts",
  'project: staging',
  'labels: escritorio,smtr',
  'storage: gs://fluxo-code/{tenant}',
  'schedules: paused',
  "node-version: '20'",
];

/** A scratch repository holding a copy of the action and `workflow`; actionlint's exit and output. */
async function lintInScratchRepository(workflow: string): Promise<{ exitCode: number; output: string }> {
  const dir = await tempDir('fluxo-actionlint-');
  await cp(actionDir, join(dir, '.github', 'actions', 'register'), { recursive: true });
  await mkdir(join(dir, '.github', 'workflows'), { recursive: true });
  // actionlint finds the project root (where ./.github/actions resolves) by its .git directory.
  await mkdir(join(dir, '.git'));
  await writeFile(join(dir, '.github', 'workflows', 'register.yml'), workflow);
  return actionlint(['.github/workflows/register.yml'], dir);
}

describe('the GitHub Action and the example workflow under actionlint', () => {
  beforeAll(async () => {
    await actionlintBinary();
  });

  it('passes the example workflow users copy', async () => {
    expect(await actionlint(['examples/github/register-flows.yml'], repoRoot)).toEqual({ exitCode: 0, output: '' });
  });

  it('shows the example workflow verbatim in the guide users copy it from', async () => {
    const workflow = await readFile(join(repoRoot, 'examples', 'github', 'register-flows.yml'), 'utf8');
    const guide = await readFile(join(repoRoot, 'docs', 'from-git-to-production.md'), 'utf8');
    expect(guide).toContain(`\`\`\`yaml\n${workflow}\`\`\`\n`);
  });

  it('passes a workflow that uses the action locally with every input and output', async () => {
    const inputs = Object.keys((await readAction(actionDir)).inputs ?? {});
    // The workflow below names every input the action declares, so a new input gets linted too.
    expect(ALL_INPUTS.map((line) => line.split(':')[0]).filter((key) => inputs.includes(key!))).toEqual(inputs);
    expect(await lintInScratchRepository(workflowUsing(ALL_INPUTS))).toEqual({ exitCode: 0, output: '' });
  });

  it('fails a workflow that passes a misspelt input', async () => {
    const misspelt = ALL_INPUTS.map((line) => line.replace(/^api-url:/, 'api_url:'));
    const result = await lintInScratchRepository(workflowUsing(misspelt));
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/input "api_url" is not defined in action "Register fluxo flows"/);
    expect(result.output).toMatch(/missing input "api-url"/);
  });

  it('fails a workflow that leaves out a required input', async () => {
    const result = await lintInScratchRepository(workflowUsing(ALL_INPUTS.filter((line) => !line.startsWith('storage:'))));
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/missing input "storage"/);
  });

  it('fails a workflow that reads an output the action does not have', async () => {
    const result = await lintInScratchRepository(workflowUsing(ALL_INPUTS, ['new', 'registered']));
    expect(result.exitCode).toBe(1);
    expect(result.output).toMatch(/property "registered" is not defined/);
  });

  it('runs shellcheck over run: scripts (apt-get install shellcheck), so a script bug fails the lint', async () => {
    // Without shellcheck on PATH actionlint skips this pass silently: the unquoted variable below
    // (SC2086) is what proves it ran.
    const result = await lintInScratchRepository(workflowUsing(ALL_INPUTS).replace('echo "$NEW $UNCHANGED $FAILED"', 'echo $NEW $UNCHANGED $FAILED'));
    expect(result.exitCode, 'shellcheck must be installed: apt-get install shellcheck').toBe(1);
    expect(result.output).toMatch(/SC2086/);
  });
});
