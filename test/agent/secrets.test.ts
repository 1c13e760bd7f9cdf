// Secrets a flow declares: the agent hands exactly those to the flow, from its own host, and no
// value reaches the server (logs, failure messages); a missing secret fails the run before it runs.
// The agent's own environment is a source only for the variables its operator listed
// (--secrets-from-env): a flow cannot read a host variable by declaring its name.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../agent/config.js';
import { readSecretsFile, resolveFlowSecrets, secretsFromEnvironment } from '../../agent/flow-secrets.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { startStack } from '../support/stack.js';
import { createRun, waitForFinal } from '../e2e/queries.js';

const SECRET = 'hunter2-correct-horse-battery';

describe('declared secrets', () => {
  it('hands the value to the flow and redacts it from every log line and the failure message', async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'uses-secret.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const secretsFile = join(stack.dir, 'agent.secrets');
    await writeFile(secretsFile, `# the agency's own secrets\nDB_PASSWORD="${SECRET}"\n`, { mode: 0o600 });
    await stack.startAgent({ name: 'keeper', extraArgs: ['--secrets-file', secretsFile] });
    const developer = await stack.client('developer');
    const digestFile = join(stack.dir, 'digest');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'uses-secret', parameters: { digestFile } }));

    expect(await readFile(digestFile, 'utf8')).toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(run.state).toBe('FAILED');
    const everything = JSON.stringify(run);
    expect(everything).not.toContain(SECRET);
    const messages = run.logs.nodes.map((l) => `${l.stream}: ${l.message}`);
    expect(messages).toEqual(expect.arrayContaining(['logger: the password is ***', 'stdout: stdout says ***', 'stderr: stderr says ***']));
    expect(run.stateMessage).toContain('failing on purpose with *** in the message');
  });

  it('fails a run whose declared secret the agent does not have, before anything runs', async () => {
    const stack = await startStack();
    await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'uses-secret.ts'), '--project', 'production', '--storage', stack.storageUri]);
    await stack.startAgent({ name: 'empty-handed' });
    const developer = await stack.client('developer');
    const digestFile = join(stack.dir, 'digest');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'uses-secret', parameters: { digestFile } }));
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'missing-secret' });
    expect(run.stateMessage).toMatch(/declares secret DB_PASSWORD, which this agent has no value for/);
    await expect(readFile(digestFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("never fills a declared secret from a host variable the operator did not list, and does from one it listed", async () => {
    const stack = await startStack();
    await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'uses-secret.ts'), '--project', 'production', '--storage', stack.storageUri]);
    const developer = await stack.client('developer');

    // DB_PASSWORD is a variable of the agent's host (like SSL_CERT_FILE or CONTAINER_NAME), not listed.
    const unlisted = await stack.startAgent({ name: 'unlisted', env: { DB_PASSWORD: SECRET } });
    const refusedDigest = join(stack.dir, 'refused-digest');
    const refused = await waitForFinal(developer, await createRun(developer, { flowName: 'uses-secret', parameters: { digestFile: refusedDigest } }));
    expect(refused).toMatchObject({ state: 'FAILED', stateReason: 'missing-secret' });
    expect(refused.stateMessage).toBe(
      'the flow declares secret DB_PASSWORD, which this agent has no value for (store it on the server with `fluxo secrets set`, or give this agent a value with --secrets-file or --secrets-from-env)',
    );
    await expect(readFile(refusedDigest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(JSON.stringify(refused)).not.toContain(SECRET);
    await unlisted.stop(5_000);

    await stack.startAgent({ name: 'listed', env: { DB_PASSWORD: SECRET }, extraArgs: ['--secrets-from-env', 'OTHER_NAME,DB_PASSWORD'] });
    const digestFile = join(stack.dir, 'digest');
    const run = await waitForFinal(developer, await createRun(developer, { flowName: 'uses-secret', parameters: { digestFile } }));
    expect(await readFile(digestFile, 'utf8')).toBe(createHash('sha256').update(SECRET).digest('hex'));
    expect(run).toMatchObject({ state: 'FAILED', stateReason: 'exception' });
    expect(JSON.stringify(run)).not.toContain(SECRET);
  });
});

describe('secrets files and redaction', () => {
  it('reads NAME=value lines with comments, export and quotes, and refuses other lines', async () => {
    const dir = await tempDir();
    const good = join(dir, 'good');
    await writeFile(good, `# comment\n\nexport A_KEY=plain\nB='single quoted'\nC="double=quoted"\n`);
    expect(Object.fromEntries(readSecretsFile(good))).toEqual({ A_KEY: 'plain', B: 'single quoted', C: 'double=quoted' });
    const bad = join(dir, 'bad');
    await writeFile(bad, 'not a pair\n');
    expect(() => readSecretsFile(bad)).toThrow(/line 1 is not NAME=value/);
  });

  it.each([
    ['the server over the file and the environment', [{ name: 'A', value: 'server' }], new Map([['A', 'file']]), { A: 'env' }, 'server'],
    ['the file over the listed environment', [], new Map([['A', 'file']]), { A: 'env' }, 'file'],
    ['the listed environment last', [], null, { A: 'env' }, 'env'],
  ])('takes a declared secret from %s', (_, server, file, env, expected) => {
    expect(resolveFlowSecrets(['A'], { server, file, env: secretsFromEnvironment(['A'], env) })).toEqual({ A: expected });
  });

  it('reads from the environment only the variables listed, and nothing without a list', () => {
    const env = { LISTED: 'yes', SSL_CERT_FILE: '/etc/ssl/cert.pem', EMPTY: '' };
    expect(secretsFromEnvironment([], env)).toBeNull();
    expect(Object.fromEntries(secretsFromEnvironment(['LISTED', 'EMPTY', 'UNSET'], env) ?? [])).toEqual({ LISTED: 'yes' });
    expect(() => resolveFlowSecrets(['SSL_CERT_FILE'], { server: [], file: null, env: secretsFromEnvironment(['LISTED'], env) })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^the flow declares secret SSL_CERT_FILE, which this agent has no value for/) }),
    );
  });

  it.each([
    ['a name that is not a variable name', 'GOOD,NOT-A-NAME', '"NOT-A-NAME" is not an environment variable name'],
    ["the agent's token", 'FLUXO_TOKEN', "FLUXO_TOKEN carries the agent's own credentials and is never a flow's secret"],
    ["the agent's API URL", 'A, FLUXO_API', "FLUXO_API carries the agent's own credentials and is never a flow's secret"],
  ])('refuses --secrets-from-env with %s', (_, secretsFromEnv, message) => {
    expect(() => resolveAgentConfig({ apiUrl: 'http://127.0.0.1:1/graphql', token: 't', secretsFromEnv })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message, details: { setting: 'secretsFromEnv' } }),
    );
  });

  it('lists --secrets-from-env once each, and nothing by default', () => {
    expect(resolveAgentConfig({ apiUrl: 'http://127.0.0.1:1/graphql', token: 't', secretsFromEnv: ' A,B ,A' }).secretsFromEnv).toEqual(['A', 'B']);
    expect(resolveAgentConfig({ apiUrl: 'http://127.0.0.1:1/graphql', token: 't' }).secretsFromEnv).toEqual([]);
  });

  it('ignores values the server sent for names the flow does not declare, and names every missing one', () => {
    expect(resolveFlowSecrets(['A'], { server: [{ name: 'A', value: 'a' }, { name: 'B', value: 'b' }], file: null, env: null })).toEqual({ A: 'a' });
    expect(() => resolveFlowSecrets(['A', 'B', 'C'], { server: [{ name: 'A', value: 'a' }], file: null, env: null })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/declares secrets B, C, which this agent has no value for \(store them on the server with `fluxo secrets set`/) }),
    );
  });
});
