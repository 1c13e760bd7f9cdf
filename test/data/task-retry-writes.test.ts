// A task's own retry (inside one flow attempt) names its fluxo/data writes as the failed try did,
// so an append replaces the failed try's files and the table's append is recorded once: the rows
// are counted. Through the real CLI, bundle and data service (`fluxo run --lake --warehouse`).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, tempDir } from '../support/harness.js';

const FLOW = join(repoRoot, 'test', 'fixtures', 'flows', 'task-retry-writes.ts');

describe('a retried task in append mode', () => {
  it('leaves each row once in the lake and in the table', async () => {
    const dir = await tempDir('fluxo-task-retry-');
    const result = await execa(
      process.execPath,
      [cliPath, 'run', FLOW, '--param', `marker=${join(dir, 'marker')}`, '--lake', pathToFileURL(join(dir, 'lake')).href, '--warehouse', `duckdb://${join(dir, 'w.duckdb')}`],
      { cwd: dir, reject: false, timeout: 120_000 },
    );
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/append-twice#1 RETRYING/);
    // 3 rows + 1 row appended once each (not twice), and the table's append recorded once.
    expect(result.stdout).toMatch(/succeeded in .* s: \{ lake: 4, table: 4 \}/);
  }, 150_000);
});
