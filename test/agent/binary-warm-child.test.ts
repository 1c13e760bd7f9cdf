// Warm children in `fluxo-agent`, the single executable: the child started ahead of demand is the
// binary re-executing itself, used by one run only, and a run's declared secret never reaches
// another run. Built once for this file (`npm run build:agent-binary`), run against a real stack.
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { CHILD_RUNTIME_ARGUMENT } from '../../agent/spawn-flow-run.js';
import { codeStorageFor } from '../../storage/code-storage.js';
import { createRun, waitForFinal } from '../e2e/queries.js';
import { childrenOf, isAlive, repoRoot, waitFor } from '../support/harness.js';
import { agentBinaryPath, startStack, type Stack } from '../support/stack.js';

const SECRET_A = 'alpha-binary-5e1d-only-for-run-a';
const SECRET_B = 'bravo-binary-c07b-only-for-run-b';

let stack: Stack;
let developer: GraphQLClient;
let agentPid: number;
let witnesses: string;

// One file-level hook (see binary.test.ts for why not one per describe).
beforeAll(async () => {
  const built = await execa(process.execPath, [join(repoRoot, 'scripts', 'build-agent-binary.mjs')], { cwd: repoRoot, reject: false, timeout: 120_000 });
  expect(built.exitCode, `${built.stdout}\n${built.stderr}`).toBe(0);

  stack = await startStack();
  developer = await stack.client('developer');
  const bytes = await readFile(join(repoRoot, 'test', 'agent', 'fixtures', 'warm-flows.mjs'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { uri } = await codeStorageFor(stack.storageUri).put(`bundles/${sha256}.mjs`, bytes);
  for (const flow of [{ name: 'witness-a', secrets: ['SECRET_A'] }, { name: 'witness-b', secrets: ['SECRET_B'] }]) {
    await developer.request('mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { created } }', {
      input: { project: 'production', storageUri: uri, sha256, size: bytes.byteLength, entrypoint: 'witness', parameterSchema: { type: 'object', additionalProperties: true }, ...flow },
    });
  }
  witnesses = join(stack.dir, 'witnesses');
  await mkdir(witnesses);
  await chmod(witnesses, 0o1777);
  const secretsFile = join(stack.dir, 'binary.secrets');
  await writeFile(secretsFile, `SECRET_A=${SECRET_A}\nSECRET_B=${SECRET_B}\n`, { mode: 0o600 });
  const agent = await stack.startAgent({ name: 'binary-warm', binary: true, concurrency: 1, extraArgs: ['--heartbeat-seconds', '1', '--secrets-file', secretsFile] });
  agentPid = agent.pid;
}, 180_000);


describe('a warm child of the single binary', () => {
  it('is the binary itself, runs one run only, and carries no other run\'s secret', async () => {
    const seen: { flow: 'a' | 'b'; id: string; pid: number; cwd: string; mine: string | null; other: string | null }[] = [];
    for (const [index, flow] of (['a', 'b', 'a'] as const).entries()) {
      if (index > 0) {
        const [warm] = await waitFor(async () => {
          const children = await childrenOf(agentPid);
          return children.length > 0 ? children : undefined;
        }, { timeoutMs: 30_000, what: 'a child started ahead of demand' });
        expect(await readlink(`/proc/${warm}/exe`)).toBe(agentBinaryPath);
        expect((await readFile(`/proc/${warm}/cmdline`, 'utf8')).split('\0')).toContain(CHILD_RUNTIME_ARGUMENT);
        // Started before its run: nothing of any run in its start-up environment.
        const environ = await readFile(`/proc/${warm}/environ`, 'utf8');
        expect(environ).not.toContain(SECRET_A);
        expect(environ).not.toContain(SECRET_B);
        expect(environ).not.toContain('FLUXO_FLOW_RUN_ID');
      }
      const file = join(witnesses, `${index}-${flow}.json`);
      const parameters = flow === 'a' ? { file, mine: 'SECRET_A', other: 'SECRET_B' } : { file, mine: 'SECRET_B', other: 'SECRET_A' };
      const id = await createRun(developer, { flowName: `witness-${flow}`, parameters });
      expect((await waitForFinal(developer, id)).state).toBe('SUCCESS');
      seen.push({ flow, id, ...(JSON.parse(await readFile(file, 'utf8')) as { pid: number; cwd: string; mine: string | null; other: string | null }) });
    }

    for (const run of seen) expect(run).toMatchObject({ mine: run.flow === 'a' ? SECRET_A : SECRET_B, other: null });
    expect(new Set(seen.map((run) => run.pid)).size).toBe(seen.length);
    expect(seen.slice(1).every((run) => run.cwd.startsWith('warm-'))).toBe(true);
  });
});
