// Issue 9, finding 4: a flow rewrote another flow's cached bundle in place (same size, timestamps
// restored to the nanosecond) and the next run of that flow executed the altered code. The digest
// check must hold at every spawn, whatever happened to the cache in between.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/harness.js';
import { startStack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', 'flows', name);

describe('a flow tampering with the bundle cache', () => {
  it("never makes the agent run another flow's altered bundle: the next run executes the registered code", async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', fixture('tamper-target.ts'), fixture('tamper-cache.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    await stack.startAgent({ name: 'victim-host' });
    const developer = await stack.client('developer');
    const { flow } = await developer.request<{ flow: { latestVersion: { sha256: string } } }>('{ flow(name: "tamper-target") { latestVersion { sha256 } } }');
    const witness = join(stack.dir, 'altered-code-ran');

    const first = await waitForFinal(developer, await createRun(developer, { flowName: 'tamper-target' }));
    expect(first.state).toBe('SUCCESS');
    const tamper = await waitForFinal(developer, await createRun(developer, {
      flowName: 'tamper-cache',
      parameters: { cacheDir: join(stack.dir, 'victim-host', 'bundles'), sha256: flow.latestVersion.sha256, witness },
    }));
    // Where the cache is not writable by flows (a separate OS user), the attempt itself fails: fine too.
    expect(['SUCCESS', 'FAILED']).toContain(tamper.state);
    if (tamper.state === 'SUCCESS') expect(tamper.logs.nodes.some((line) => line.message.startsWith('rewrote '))).toBe(true);

    const again = await waitForFinal(developer, await createRun(developer, { flowName: 'tamper-target' }));

    expect(existsSync(witness)).toBe(false);
    // Either the agent noticed and fetched the registered bytes again, or it refused to run.
    if (again.state !== 'SUCCESS') expect(again).toMatchObject({ state: 'FAILED', stateReason: 'integrity' });
  });
});
