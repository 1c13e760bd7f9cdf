// Issue 9, finding 4: a flow rewrote another flow's cached bundle in place (same size, timestamps
// restored to the nanosecond) and the next run of that flow executed the altered code. The digest
// check must hold at every spawn, whatever happened to the cache in between.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'flows', name);

/** A stack whose agent `victim-host` ran `tamper-target` once, and where its witness would go. */
async function afterOneRun(): Promise<{ stack: Stack; developer: GraphQLClient; cacheDir: string; sha256: string; witness: string }> {
  const stack = await startStack();
  const registered = await stack.cli(['register', fixture('tamper-target.ts'), fixture('tamper-cache.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
  await stack.startAgent({ name: 'victim-host' });
  const developer = await stack.client('developer');
  const { flow } = await developer.request<{ flow: { latestVersion: { sha256: string } } }>('{ flow(name: "tamper-target") { latestVersion { sha256 } } }');
  // Writable by any user, so the altered code could leave its witness whoever runs it.
  const witnessDir = await tempDir('fluxo-witness-');
  await chmod(witnessDir, 0o1777);
  const first = await waitForFinal(developer, await createRun(developer, { flowName: 'tamper-target' }));
  expect(first.state).toBe('SUCCESS');
  return { stack, developer, cacheDir: join(stack.dir, 'victim-host', 'bundles'), sha256: flow.latestVersion.sha256, witness: join(witnessDir, 'altered-code-ran') };
}

/** What the next run did: it must not have run the altered code, and either ran the registered one or refused. */
async function expectRegisteredCodeRuns(developer: GraphQLClient, witness: string): Promise<void> {
  const again = await waitForFinal(developer, await createRun(developer, { flowName: 'tamper-target' }));
  expect(existsSync(witness)).toBe(false);
  if (again.state !== 'SUCCESS') expect(again).toMatchObject({ state: 'FAILED', stateReason: 'integrity' });
}

describe('a tampered bundle cache', () => {
  it("gives a flow that tries to rewrite another flow's cached bundle nothing: the next run executes the registered code", async () => {
    const { developer, cacheDir, sha256, witness } = await afterOneRun();

    const tamper = await waitForFinal(developer, await createRun(developer, { flowName: 'tamper-cache', parameters: { cacheDir, sha256, witness } }));
    // Under another OS user (the default for a root agent) the attempt itself fails: the cache is
    // the agent's. Where it succeeds (flows under the agent's own user), the check at spawn stands.
    expect(['SUCCESS', 'FAILED']).toContain(tamper.state);
    if (tamper.state === 'SUCCESS') expect(tamper.logs.nodes.some((line) => line.message.startsWith('rewrote '))).toBe(true);

    await expectRegisteredCodeRuns(developer, witness);
  });

  it('never runs a cached bundle rewritten in place with its size and timestamps kept (what a flow with write access would do)', async () => {
    const { developer, cacheDir, sha256, witness } = await afterOneRun();
    const [cached] = (await readdir(cacheDir)).filter((name) => name.startsWith(sha256) && name.endsWith('.mjs'));
    const path = join(cacheDir, cached!);
    const before = await stat(path, { bigint: true });
    const evil = `import { writeFileSync as w } from 'node:fs'; w(${JSON.stringify(witness)}, 'altered code ran');\n`;
    await writeFile(path, evil.padEnd((await readFile(path)).byteLength, ' '), { flag: 'r+' });
    execFileSync('touch', ['-d', `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, '0')}`, path]);
    const after = await stat(path, { bigint: true });
    expect({ size: after.size, mtimeNs: after.mtimeNs }).toEqual({ size: before.size, mtimeNs: before.mtimeNs });

    await expectRegisteredCodeRuns(developer, witness);
  });
});
