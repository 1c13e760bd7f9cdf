// `fluxo register` through the compiled CLI: what it uploads, what it asks the API to record, and
// the coded errors that stop it before anything is uploaded. Registration against the real
// server (versions, `unchanged`) is covered end to end in test/e2e.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, onCleanup, repoRoot, tempDir } from '../support/harness.js';

interface RecordedRequest {
  authorization: string | undefined;
  query: string;
  variables: { input: Record<string, unknown> };
}

/**
 * An HTTP endpoint that records the GraphQL requests it gets and answers `registerFlow` with a
 * fixed payload: it checks what the CLI sends, not how the server stores it.
 */
async function recordingApi(created: boolean): Promise<{ url: string; requests: RecordedRequest[] }> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const parsed = JSON.parse(body) as Omit<RecordedRequest, 'authorization'>;
      requests.push({ authorization: request.headers.authorization, ...parsed });
      const data = { registerFlow: { created, flowVersion: { id: `fv-${requests.length}`, number: requests.length } } };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  onCleanup(() => new Promise<void>((closed) => server.close(() => closed())));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}/graphql`, requests };
}

/** Runs the CLI with the test's FLUXO_* settings only, none inherited. */
function fluxo(args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLUXO_')));
  return execa(process.execPath, [cliPath, ...args], {
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    extendEnv: false,
    env: { ...inherited, ...env },
  });
}

describe('fluxo register', () => {
  it('uploads each bundle content-addressed and registers every exported flow with its settings', async () => {
    const api = await recordingApi(true);
    const storage = await tempDir();
    const result = await fluxo(
      ['register', 'examples/sleep.ts', 'examples/parameters.ts', '--project', 'staging', '--storage', pathToFileURL(storage).href],
      { FLUXO_API: api.url, FLUXO_TOKEN: 'developer-token' },
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual(['registered fail-always v1', 'registered long-sleep v2', 'registered typed-parameters v3']);

    const bundles = await readdir(join(storage, 'bundles'));
    expect(bundles).toHaveLength(2);
    const inputs = api.requests.map((request) => request.variables.input);
    expect(api.requests.every((request) => request.authorization === 'Bearer developer-token' && request.query.includes('registerFlow'))).toBe(true);
    for (const input of inputs) {
      const bytes = await readFile(fileURLToPath(String(input.storageUri)));
      expect(input.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(input.size).toBe(bytes.byteLength);
      expect(input.storageUri).toBe(pathToFileURL(join(storage, 'bundles', `${String(input.sha256)}.mjs`)).href);
    }
    expect(inputs[0]?.storageUri).toBe(inputs[1]?.storageUri);
    expect(inputs.map(({ name, entrypoint, project }) => `${project}/${name}=${entrypoint}`)).toEqual([
      'staging/fail-always=failAlways',
      'staging/long-sleep=longSleep',
      'staging/typed-parameters=typedParameters',
    ]);
    expect(inputs[2]).toMatchObject({
      defaultLabels: [],
      retries: 0,
      retryDelaySeconds: 10,
      timeoutSeconds: null,
      description: 'The municipalities with the highest GDP in a year, and where one city ranks',
      parameterSchema: {
        type: 'object',
        additionalProperties: false,
        properties: { year: { type: 'integer', minimum: 2002, maximum: 2011, default: 2010 } },
      },
    });
  });

  it('reports unchanged flows, replaces their labels with --labels and takes a plain directory as storage', async () => {
    const api = await recordingApi(false);
    const storage = await tempDir();
    const result = await fluxo(['register', 'examples/retry.ts', '--project', 'production', '--labels', 'rj, smtr', '--storage', storage, '--json'], {
      FLUXO_API: api.url,
      FLUXO_TOKEN: 't',
    });
    expect(result.exitCode).toBe(0);
    expect(api.requests[0]?.variables.input.defaultLabels).toEqual(['rj', 'smtr']);
    const [registered] = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(registered).toMatchObject({ name: 'flaky-retry', exportName: 'flakyRetry', created: false, version: 1, flowVersionId: 'fv-1' });
    expect(String(registered?.storageUri)).toMatch(new RegExp(`^${pathToFileURL(storage).href}/bundles/[0-9a-f]{64}\\.mjs$`));

    const text = await fluxo(['register', 'examples/retry.ts', '--project', 'production', '--storage', storage], { FLUXO_API: api.url, FLUXO_TOKEN: 't' });
    expect(text.stdout).toBe('unchanged flaky-retry v2');
  });

  it.each([
    [['register', 'examples/nope.ts'], '[BAD_USER_INPUT] no flow module at examples/nope.ts'],
    [['register', 'examples/retry.ts', 'examples/data/LICENSE.basedosdados'], '[BAD_USER_INPUT] cannot bundle examples/data/LICENSE.basedosdados'],
    [['register', 'examples/retry.ts', '<no-flows>'], 'no-flows.ts exports no fluxo flow'],
  ])('exits 2 and uploads nothing for %j', async (args, message) => {
    const api = await recordingApi(true);
    const storage = await tempDir();
    const scratch = await tempDir();
    await writeFile(join(scratch, 'no-flows.ts'), 'export const answer = 42;\n');
    const paths = args.map((arg) => (arg === '<no-flows>' ? join(scratch, 'no-flows.ts') : arg));
    const result = await fluxo([...paths, '--project', 'production', '--storage', storage], { FLUXO_API: api.url, FLUXO_TOKEN: 't' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(api.requests).toEqual([]);
    expect(await readdir(storage)).toEqual([]);
  });

  it.each([
    [['register', 'examples/retry.ts', '--project', 'p'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, 'no code storage'],
    [['register', 'examples/retry.ts', '--storage', '/tmp'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, "required option '--project <name>' not specified"],
    [['register', 'examples/retry.ts', '--project', 'p', '--storage', 's3://bucket'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, 'code storage scheme "s3:" is not supported'],
  ])('exits 2 for %j', async (args, env, message) => {
    const result = await fluxo(args, env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
