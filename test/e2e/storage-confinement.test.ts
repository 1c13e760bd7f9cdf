// Issue 9, finding 7: storage URIs are a developer's input. Through registerFlow directly (not the
// CLI), a tenant registered versions pointing at another tenant's bundle, at host files, devices and
// procfs, and the failed runs told every viewer those files' digest, size and existence. Now the
// server refuses every location outside the caller's tenant's storage root with one fixed answer,
// and an agent refuses to fetch outside its own roots with one fixed message.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LOCATION_REFUSED, UNCONFINED_FILE_FAILED } from '../../agent/bundle-cache.js';
import type { GraphQLClient } from '../../client/graphql-client.js';
import { initKeys } from '../../common/keys.js';
import { STORAGE_URI_REFUSED } from '../../server/core/validate-input.js';
import { cliPath, repoRoot, tempDir } from '../support/harness.js';
import { startStack, TENANT, type Stack } from '../support/stack.js';
import { createRun, waitForFinal } from './queries.js';

const OTHER = 'rj-smtr';
const hello = join(repoRoot, 'test', 'fixtures', 'flows', 'hello.ts');
const passwd = readFileSync('/etc/passwd');
const passwdDigest = createHash('sha256').update(passwd).digest('hex');

const REGISTER = /* GraphQL */ `
  mutation($input: RegisterFlowInput!) { registerFlow(input: $input) { flowVersion { id storageUri } } }
`;

async function register(client: GraphQLClient, name: string, storageUri: string, bundle = { sha256: passwdDigest, size: passwd.byteLength }) {
  return client
    .request<{ registerFlow: { flowVersion: { id: string; storageUri: string } } }>(REGISTER, {
      input: { project: 'production', name, storageUri, sha256: bundle.sha256, size: bundle.size, entrypoint: 'hello' },
    })
    .then(
      (data) => ({ registered: data.registerFlow.flowVersion.storageUri }),
      (error: { code?: string; message: string }) => ({ code: error.code, message: error.message }),
    );
}

/** Registers hello.ts as `tenant` with the CLI into `<storage>/{tenant}`; answers its version. */
async function registerWithCli(stack: Stack, storage: string, tenant: string): Promise<{ storageUri: string; sha256: string; size: number }> {
  const result = await stack.cli(['register', hello, '--project', 'production', '--storage', `${storage}/{tenant}`, '--json'], { tenant });
  expect(result, result.stderr).toMatchObject({ exitCode: 0 });
  const [flow] = (JSON.parse(result.stdout) as { flows: { storageUri: string; sha256: string; size: number }[] }).flows;
  return flow!;
}

describe('storage roots at registration', () => {
  it("refuses the storage-URI corpus, another tenant's bundle included, with one generic answer and changes nothing", async () => {
    const base = await tempDir('fluxo-roots-');
    const storage = pathToFileURL(base).href;
    const stack = await startStack({ serverArgs: ['--storage-root', `${storage}/{tenant}`, '--storage-root', 'gs://fluxo-code/{tenant}'] });
    const theirs = await registerWithCli(stack, storage, TENANT);
    expect(theirs.storageUri.startsWith(`${storage}/${TENANT}/bundles/`)).toBe(true);
    const intruder = await stack.client('developer', OTHER);
    // Links planted inside the intruder's own root: the server sees this file system, so it checks.
    await mkdir(join(base, OTHER, 'bundles'), { recursive: true });
    await symlink('/etc/passwd', join(base, OTHER, 'bundles', 'passwd.mjs'));
    await symlink(join(base, TENANT), join(base, OTHER, 'theirs'));

    const corpus = [
      `${storage}/${OTHER}/bundles/passwd.mjs`,
      `${storage}/${OTHER}/theirs/bundles/${theirs.sha256}.mjs`,
      theirs.storageUri,
      'file:///etc/passwd',
      'file:///srv/../etc/hostname',
      `${storage}/${OTHER}/../${TENANT}/bundles/${theirs.sha256}.mjs`,
      `${storage}/${OTHER}/%2e%2e/${TENANT}/bundles/${theirs.sha256}.mjs`,
      `${storage}/${OTHER}/%2E%2E%2F${TENANT}/bundles/${theirs.sha256}.mjs`,
      `${storage}/${OTHER}//bundles/${theirs.sha256}.mjs`,
      `${storage.replace('file://', 'file://localhost')}/${OTHER}/bundles/${theirs.sha256}.mjs`,
      `${storage}/${OTHER}`,
      `${storage}/${OTHER}-2/bundles/x.mjs`,
      '/dev/zero',
      'file:///dev/zero',
      '/proc/self/environ',
      'file:///proc/self/environ',
      `gs://fluxo-code/${TENANT}/bundles/${theirs.sha256}.mjs#1712345678901234`,
      `gs://fluxo-code/${OTHER}/../${TENANT}/bundles/x.mjs`,
      `gs://other-bucket/${OTHER}/bundles/x.mjs`,
      'https://example.com/bundle.mjs',
      `file:///${'a/'.repeat(1_200)}x.mjs`,
    ];
    const answers = await Promise.all(corpus.map((uri, i) => register(intruder, `probe-${i}`, uri)));

    expect(answers).toEqual(corpus.map(() => ({ code: 'BAD_USER_INPUT', message: STORAGE_URI_REFUSED })));
    const { flows } = await intruder.request<{ flows: { nodes: unknown[] } }>('{ flows { nodes { id } } }');
    expect(flows.nodes).toEqual([]);
    // Its own root is open to it, through the CLI and through the API.
    const own = await registerWithCli(stack, storage, OTHER);
    expect(own.storageUri.startsWith(`${storage}/${OTHER}/bundles/`)).toBe(true);
    expect(await register(intruder, 'gs-own', `gs://fluxo-code/${OTHER}/bundles/${own.sha256}.mjs#7`, own)).toEqual({ registered: `gs://fluxo-code/${OTHER}/bundles/${own.sha256}.mjs#7` });
  });
});

describe('configuring storage roots', () => {
  it.each([
    ['file:///srv/fluxo', /has no \{tenant\}: every tenant would share it/],
    ['file:///srv/../etc/{tenant}', /is not a canonical/],
    ['s3://bucket/{tenant}', /is not a canonical/],
  ])('refuses to start a server with the root %j: exit 2, the root named', async (root, message) => {
    const dir = await tempDir();
    await initKeys(join(dir, 'keys'));
    const result = await execa(process.execPath, [cliPath, 'server', 'start', '--port', '0', '--database', join(dir, 'db'), '--keys-dir', join(dir, 'keys'), '--storage-root', root], {
      reject: false,
      timeout: 30_000,
    });

    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\[BAD_USER_INPUT\] --storage-root: storage root/);
    expect(result.stderr).toMatch(message);
  });
});

describe("an agent's storage roots", () => {
  it('fails runs of bundles outside its roots, or reached through a link, with reason integrity and one message that tells nothing of the place', async () => {
    const base = await tempDir('fluxo-roots-');
    const storage = pathToFileURL(base).href;
    // A server without roots lets every canonical location through: the agent is the last line.
    const stack = await startStack();
    const own = await registerWithCli(stack, storage, TENANT);
    const theirs = await registerWithCli(stack, storage, OTHER);
    await mkdir(join(base, TENANT, 'links'), { recursive: true });
    await symlink('/etc/passwd', join(base, TENANT, 'links', 'passwd.mjs'));
    await symlink('/etc', join(base, TENANT, 'etc'));
    // The server's template: the agent fills {tenant} with its token's tenant.
    await stack.startAgent({ name: 'confined', extraArgs: ['--storage-root', `${storage}/{tenant}`] });
    const developer = await stack.client('developer');

    const probes = {
      'host-file': await register(developer, 'host-file', 'file:///etc/passwd'),
      'other-tenant': await register(developer, 'other-tenant', theirs.storageUri, theirs),
      'link-to-file': await register(developer, 'link-to-file', `${storage}/${TENANT}/links/passwd.mjs`),
      'link-to-directory': await register(developer, 'link-to-directory', `${storage}/${TENANT}/etc/passwd`),
    };
    expect(Object.values(probes).every((answer) => 'registered' in answer)).toBe(true);

    for (const name of Object.keys(probes)) {
      const run = await waitForFinal(developer, await createRun(developer, { flowName: name }));
      expect({ name, state: run.state, stateReason: run.stateReason, stateMessage: run.stateMessage, taskRuns: run.taskRuns }).toEqual({
        name, state: 'FAILED', stateReason: 'integrity', stateMessage: LOCATION_REFUSED, taskRuns: [],
      });
    }
    // The tenant's own bundle, inside the root, runs.
    const ok = await waitForFinal(developer, await createRun(developer, { flowName: 'hello' }));
    expect(ok.state, ok.stateMessage ?? '').toBe('SUCCESS');
    expect(own.storageUri.startsWith(`${storage}/${TENANT}/`)).toBe(true);
  });

  it('without roots, answers a host file that exists, one that does not and one it cannot read alike, so a run tells nothing of the host', async () => {
    // Neither the server nor the agent has roots: the agent cannot tell the tenant's files from the host's.
    const stack = await startStack();
    await stack.startAgent({ name: 'unconfined' });
    const developer = await stack.client('developer');
    const probes = {
      exists: await register(developer, 'exists', 'file:///etc/hostname'),
      missing: await register(developer, 'missing', 'file:///etc/no-such-file-here'),
      directory: await register(developer, 'directory', 'file:///etc/ssl'),
    };
    expect(Object.values(probes).every((answer) => 'registered' in answer)).toBe(true);

    for (const name of Object.keys(probes)) {
      const run = await waitForFinal(developer, await createRun(developer, { flowName: name }));
      expect({ name, state: run.state, stateReason: run.stateReason, stateMessage: run.stateMessage }).toEqual({
        name, state: 'FAILED', stateReason: 'integrity', stateMessage: UNCONFINED_FILE_FAILED,
      });
    }
  });
});
