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
  variables: { inputs?: Record<string, unknown>[]; sha256?: string[] };
}

/**
 * An HTTP endpoint that records the GraphQL requests it gets, answers `knownBundles` with nothing
 * known and `registerFlows` with numbered versions (`created` as given): it checks what the CLI
 * sends, not how the server stores it (test/sdk/register-bulk.test.ts does that).
 */
async function recordingApi(created: boolean): Promise<{ url: string; requests: RecordedRequest[]; inputs: () => Record<string, unknown>[] }> {
  const requests: RecordedRequest[] = [];
  let versions = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const parsed = JSON.parse(body) as Omit<RecordedRequest, 'authorization'>;
      requests.push({ authorization: request.headers.authorization, ...parsed });
      const data = parsed.query.includes('knownBundles')
        ? { knownBundles: [] }
        : { registerFlows: (parsed.variables.inputs ?? []).map(() => ({ created, flowVersion: { id: `fv-${++versions}`, number: versions }, error: null })) };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  onCleanup(() => new Promise<void>((closed) => server.close(() => closed())));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const inputs = () => requests.filter((r) => r.query.includes('registerFlows')).flatMap((r) => r.variables.inputs ?? []);
  return { url: `http://127.0.0.1:${address.port}/graphql`, requests, inputs };
}

/** Runs the CLI with the test's FLUXO_* settings only, none inherited. */
async function fluxo(args: string[], env: Record<string, string> = {}) {
  const cache = await tempDir('fluxo-cache-');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FLUXO_')));
  return execa(process.execPath, [cliPath, ...args], {
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    extendEnv: false,
    env: { ...inherited, FLUXO_CACHE_DIR: cache, ...env },
  });
}

describe('fluxo register', () => {
  it('uploads each bundle content-addressed and registers every exported flow with its settings in one batch', async () => {
    const api = await recordingApi(true);
    const storage = await tempDir();
    const result = await fluxo(
      ['register', 'examples/sleep.ts', 'examples/parameters.ts', '--project', 'staging', '--storage', pathToFileURL(storage).href],
      { FLUXO_API: api.url, FLUXO_TOKEN: 'developer-token' },
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'new fail-always v1 (examples/sleep.ts)',
      'new long-sleep v2 (examples/sleep.ts)',
      'new typed-parameters v3 (examples/parameters.ts)',
      '3 new, 0 unchanged, 0 failed',
    ]);

    const bundles = await readdir(join(storage, 'bundles'));
    expect(bundles).toHaveLength(2);
    expect(api.requests.every((request) => request.authorization === 'Bearer developer-token')).toBe(true);
    expect(api.requests.map((request) => (request.query.includes('knownBundles') ? 'knownBundles' : 'registerFlows'))).toEqual(['knownBundles', 'registerFlows']);
    expect(api.requests[0]?.variables.sha256).toHaveLength(2);
    const inputs = api.inputs();
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
    expect(inputs[2]).not.toHaveProperty('scheduleState');
  });

  it('reports unchanged flows in the --json shape, replaces their labels with --labels and takes a plain directory as storage', async () => {
    const api = await recordingApi(false);
    const storage = await tempDir();
    const result = await fluxo(['register', 'examples/retry.ts', '--project', 'production', '--labels', 'rj, smtr', '--storage', storage, '--json'], {
      FLUXO_API: api.url,
      FLUXO_TOKEN: 't',
    });
    expect(result.exitCode).toBe(0);
    expect(api.inputs()[0]?.defaultLabels).toEqual(['rj', 'smtr']);
    const report = JSON.parse(result.stdout) as { summary: Record<string, number>; flows: Record<string, unknown>[] };
    expect(report.summary).toEqual({ new: 0, unchanged: 1, failed: 0, skipped: 0, uploaded: 1 });
    expect(report.flows).toEqual([
      {
        path: 'examples/retry.ts',
        name: 'flaky-retry',
        exportName: 'flakyRetry',
        status: 'unchanged',
        version: 1,
        flowVersionId: 'fv-1',
        storageUri: expect.stringMatching(new RegExp(`^${pathToFileURL(storage).href}/bundles/[0-9a-f]{64}\\.mjs$`)),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        size: expect.any(Number),
        error: null,
      },
    ]);

    const text = await fluxo(['register', 'examples/retry.ts', '--project', 'production', '--storage', storage], { FLUXO_API: api.url, FLUXO_TOKEN: 't' });
    expect(text.stdout).toBe('0 new, 1 unchanged, 0 failed');
  });

  it('sends each clock, the missed-run policy and --schedules paused as the schedule state', async () => {
    const api = await recordingApi(true);
    const result = await fluxo(['register', 'test/fixtures/flows/scheduled.ts', '--project', 'staging', '--schedules', 'paused', '--storage', await tempDir()], {
      FLUXO_API: api.url,
      FLUXO_TOKEN: 't',
    });
    expect(result.exitCode).toBe(0);
    expect(api.inputs()[0]).toMatchObject({
      name: 'daily-extract',
      scheduleState: 'PAUSED',
      missedRuns: 'SKIP',
      schedules: [
        { cron: '0 3 * * *', timezone: 'America/Sao_Paulo', parameters: { agency: 'smtr' }, labels: ['rj-smtr'] },
        { everySeconds: 21_600, parameters: { agency: 'cor' }, labels: ['rj-cor'] },
      ],
    });
  });

  // Deliberately not all-or-nothing any more (issue 10): in a repository of hundreds of flows, one
  // broken module must not hold back the others; it is reported and the exit code says so.
  it.each([
    [['register', 'examples/retry.ts', 'examples/nope.ts'], 'failed examples/nope.ts: [BAD_USER_INPUT] no flow module at examples/nope.ts'],
    [['register', 'examples/retry.ts', 'examples/data/LICENSE.basedosdados'], 'failed examples/data/LICENSE.basedosdados: [BAD_USER_INPUT] cannot bundle examples/data/LICENSE.basedosdados'],
    [['register', 'examples/retry.ts', '<no-flows>'], 'no-flows.ts exports no fluxo flow'],
  ])('registers the good modules, reports the failure and exits 8 for %j', async (args, message) => {
    const api = await recordingApi(true);
    const storage = await tempDir();
    const scratch = await tempDir();
    await writeFile(join(scratch, 'no-flows.ts'), 'export const answer = 42;\n');
    const paths = args.map((arg) => (arg === '<no-flows>' ? join(scratch, 'no-flows.ts') : arg));
    const result = await fluxo([...paths, '--project', 'production', '--storage', storage], { FLUXO_API: api.url, FLUXO_TOKEN: 't' });
    expect(result.exitCode).toBe(8);
    expect(result.stdout).toContain(message);
    expect(result.stdout.split('\n').at(-1)).toBe('1 new, 0 unchanged, 1 failed');
    expect(api.inputs().map((input) => input.name)).toEqual(['flaky-retry']);
    expect(await readdir(join(storage, 'bundles'))).toHaveLength(1);
  });

  it.each([
    [['register', 'examples/retry.ts', '--project', 'p'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, 'no code storage'],
    [['register', 'examples/retry.ts', '--storage', '/tmp'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, "required option '--project <name>' not specified"],
    [['register', 'examples/retry.ts', '--project', 'p', '--storage', 's3://bucket'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, 'code storage scheme "s3:" is not supported'],
    [['register', 'examples/retry.ts', '--project', 'p', '--storage', '/tmp', '--schedules', 'on'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, '[BAD_USER_INPUT] --schedules must be active or paused, not "on"'],
    [['register', 'examples/retry.ts', '--project', 'p', '--storage', '/tmp', '--concurrency', '0'], { FLUXO_API: 'http://127.0.0.1:9/graphql', FLUXO_TOKEN: 't' }, '[BAD_USER_INPUT] --concurrency must be an integer from 1 to 64'],
  ])('exits 2 for %j', async (args, env, message) => {
    const result = await fluxo(args, env);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
