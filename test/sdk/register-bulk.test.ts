// `fluxo register` of a repository against a real stack (server + proxy processes, SQLite, file://
// code storage): directories, globs and files; one broken module among good ones; the same
// modules registered again (nothing uploaded, no version created); batches retried through a
// hop that answers 503 or 429; --schedules reaching the server.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeFlowModules } from '../../bench/flow-modules.js';
import { bundleFlowModule, bundleFlowModules } from '../../cli/bundle.js';
import type { RegistrationReport } from '../../cli/register-modules.js';
import { onCleanup, repoRoot, tempDir } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';

/** Modules of the "same repository twice" test: 800 took too long for a test on 2 cores; bench/register-many.ts runs 800. */
const MODULES = 200;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});

/** `fluxo register` with a private registration cache (a fresh one unless given). */
async function register(args: string[], { cacheDir, api, role = 'developer' }: { cacheDir?: string; api?: string; role?: 'developer' | 'ci' } = {}) {
  const env: Record<string, string> = { FLUXO_CACHE_DIR: cacheDir ?? (await tempDir('fluxo-cache-')) };
  if (api) env.FLUXO_API = api;
  return stack.cli(['register', ...args, '--storage', stack.storageUri], { env, role });
}

function reportOf(stdout: string): RegistrationReport {
  return JSON.parse(stdout) as RegistrationReport;
}

async function bundlesInStorage(): Promise<number> {
  return (await readdir(join(fileURLToPath(stack.storageUri), 'bundles')).catch(() => [])).length;
}

/** A flows repository (package.json, node_modules link) with `count` generated modules. */
async function repository(count: number, from = 0): Promise<{ dir: string; flowsDir: string }> {
  const dir = await tempDir('fluxo-flows-');
  return { dir, flowsDir: await writeFlowModules(dir, count, from) };
}

const flowModule = (name: string) => `import { flow } from 'fluxo';\nexport const f = flow('${name}', async () => '${name}');\n`;

/** An HTTP hop in front of the proxy whose `rule` may answer a request itself instead of forwarding it. */
async function faultyHop(rule: (body: string, seen: number) => { status: number; headers?: Record<string, string>; body: string } | 'pass') {
  const upstream = new URL(stack.apiUrl);
  const requests: { body: string; at: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ body, at: Date.now() });
      const verdict = rule(body, requests.length);
      if (verdict !== 'pass') {
        res.writeHead(verdict.status, { 'content-type': 'application/json', ...verdict.headers }).end(verdict.body);
        return;
      }
      const forwarded = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forwarded.on('error', () => req.socket.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  onCleanup(() => new Promise<void>((closed) => {
    server.closeAllConnections();
    server.close(() => closed());
  }));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/graphql`, registerRequests: () => requests.filter((r) => r.body.includes('registerFlows')) };
}

describe('fluxo register against a real server', () => {
  it('registers what directories, globs and files name, and skips modules without flows that a walk found', async () => {
    const { dir, flowsDir } = await repository(3);
    await writeFile(join(flowsDir, 'group-0', 'helpers.ts'), 'export const table = (name: string) => `dataset.${name}`;\n');
    await writeFile(join(flowsDir, 'group-0', 'helpers.test.ts'), flowModule('a-test-not-a-flow'));
    await writeFile(join(flowsDir, 'group-0', 'types.d.ts'), 'export type X = number;\n');
    await mkdir(join(flowsDir, '.drafts'));
    await writeFile(join(flowsDir, '.drafts', 'draft.ts'), flowModule('a-draft'));
    await mkdir(join(dir, 'extra'));
    await writeFile(join(dir, 'extra', 'one.ts'), flowModule('globbed-one'));
    await writeFile(join(dir, 'extra', 'two.mjs'), flowModule('globbed-two'));
    await writeFile(join(dir, 'extra', 'notes.md'), '# not a module\n');

    const result = await register([relative(repoRoot, flowsDir), `${relative(repoRoot, dir)}/extra/*`, 'examples/retry.ts', '--project', 'bulk-paths', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = reportOf(result.stdout);
    expect(report.summary).toEqual({ new: 6, unchanged: 0, failed: 0, skipped: 1, uploaded: 6 });
    expect(report.flows.map((flow) => flow.name).sort()).toEqual(['flaky-retry', 'generated-0', 'generated-1', 'generated-2', 'globbed-one', 'globbed-two']);
    expect(report.flows.every((flow) => flow.status === 'new' && flow.version === 1 && flow.error === null)).toBe(true);
    const client = await stack.client('viewer');
    const { flows } = await client.request<{ flows: { nodes: { name: string }[] } }>('query { flows(project: "bulk-paths") { nodes { name } } }');
    expect(flows.nodes.map((flow) => flow.name).sort()).toEqual(['flaky-retry', 'generated-0', 'generated-1', 'generated-2', 'globbed-one', 'globbed-two']);
  });

  it('registers the good modules beside a broken one, lists each failure with its reason and exits 8', async () => {
    const { flowsDir } = await repository(2);
    await writeFile(join(flowsDir, 'group-0', 'syntax.ts'), "import { flow } from 'fluxo';\nexport const broken = flow('broken', async () => {\n");
    await writeFile(join(flowsDir, 'group-0', 'throws.ts'), "import { flow } from 'fluxo';\nthrow new Error('no DATABASE_URL at import time');\nexport const f = flow('throws', async () => 1);\n");
    const path = relative(repoRoot, flowsDir);

    const text = await register([path, '--project', 'bulk-broken']);
    expect(text.exitCode).toBe(8);
    const lines = text.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('2 new, 0 unchanged, 2 failed');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^failed ${path}/group-0/syntax\\.ts: \\[BAD_USER_INPUT\\] cannot bundle `)));
    expect(lines).toContainEqual(expect.stringContaining('flows/group-0/syntax.ts:3:1: Unexpected end of file'));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^failed ${path}/group-0/throws\\.ts: \\[BAD_USER_INPUT\\] cannot load .*no DATABASE_URL at import time`)));

    const json = await register([path, '--project', 'bulk-broken', '--json']);
    expect(json.exitCode).toBe(8);
    const report = reportOf(json.stdout);
    expect(report.summary).toEqual({ new: 0, unchanged: 2, failed: 2, skipped: 0, uploaded: 0 });
    expect(report.flows.filter((flow) => flow.status === 'failed')).toEqual([
      expect.objectContaining({ path: `${path}/group-0/syntax.ts`, name: null, exportName: null, version: null, sha256: null, error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('cannot bundle') } }),
      expect.objectContaining({ path: `${path}/group-0/throws.ts`, name: null, error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('no DATABASE_URL at import time') } }),
    ]);
  });

  it('fails only the module that exits or throws from a timer while loading, not the ones loaded after it on the same thread', async () => {
    const { flowsDir } = await repository(3, 500);
    // Sorted before the generated flows, so with one loader thread they are loaded first.
    await writeFile(join(flowsDir, 'group-5', 'a-exits.ts'), "import { flow } from 'fluxo';\nprocess.exit(3);\nexport const f = flow('exits', async () => 1);\n");
    await writeFile(join(flowsDir, 'group-5', 'b-late-throw.ts'), "import { flow } from 'fluxo';\nsetTimeout(() => { throw new Error('late'); }, 5);\nexport const f = flow('late-throw', async () => 1);\n");
    const result = await register([relative(repoRoot, flowsDir), '--project', 'bulk-threads', '--concurrency', '1', '--json']);
    expect(result.exitCode).toBe(8);
    const report = reportOf(result.stdout);
    // The generated flows, loaded on the same thread after the culprits, all register.
    expect(report.flows.filter((flow) => flow.status === 'new' && flow.name !== 'late-throw')).toHaveLength(3);
    const failed = report.flows.filter((flow) => flow.status === 'failed');
    expect(failed[0]).toEqual(expect.objectContaining({ path: expect.stringMatching(/a-exits\.ts$/), error: { code: 'BAD_USER_INPUT', message: expect.stringContaining('ended its thread (exit code 3)') } }));
    // The timer's throw lands after its module loaded (registered) or, on a busy machine, while the
    // loader still works on that module (then it is that module's failure): never another's.
    expect(failed.slice(1)).toEqual(
      failed.length === 2 ? [expect.objectContaining({ path: expect.stringMatching(/b-late-throw\.ts$/), error: expect.objectContaining({ message: expect.stringContaining('late') }) })] : [],
    );
  });

  it(`registers ${MODULES} modules, then again unchanged (cache or not) without uploading or creating anything`, { timeout: 300_000 }, async () => {
    // Indices no other test uses: a digest another project of the tenant records is not uploaded again.
    const { flowsDir } = await repository(MODULES, 1000);
    const cacheDir = await tempDir('fluxo-cache-');
    const path = relative(repoRoot, flowsDir);
    const before = await bundlesInStorage();

    const first = await register([path, '--project', 'bulk-many', '--json'], { cacheDir });
    expect(first.exitCode).toBe(0);
    expect(reportOf(first.stdout).summary).toEqual({ new: MODULES, unchanged: 0, failed: 0, skipped: 0, uploaded: MODULES });
    expect(await bundlesInStorage()).toBe(before + MODULES);

    const versions = async () => {
      const client = await stack.client('viewer');
      const { flows } = await client.request<{ flows: { nodes: { latestVersion: { number: number } }[] } }>('query { flows(project: "bulk-many", first: 500) { nodes { latestVersion { number } } } }');
      return flows.nodes.map((flow) => flow.latestVersion.number);
    };
    expect(await versions()).toEqual(Array.from({ length: MODULES }, () => 1));

    // Warm cache: nothing bundled or loaded; no cache (a fresh CI runner): everything bundled again, to the same bytes.
    for (const again of [['--json'], ['--json', '--no-cache']]) {
      const result = await register([path, '--project', 'bulk-many', ...again], { cacheDir });
      expect(result.exitCode).toBe(0);
      const report = reportOf(result.stdout);
      expect(report.summary).toEqual({ new: 0, unchanged: MODULES, failed: 0, skipped: 0, uploaded: 0 });
      expect(report.flows.every((flow) => flow.status === 'unchanged' && flow.version === 1)).toBe(true);
      expect(await bundlesInStorage()).toBe(before + MODULES);
      expect(await versions()).toEqual(Array.from({ length: MODULES }, () => 1));
    }
  });

  it('bundles a batch byte for byte as bundleFlowModule bundles each module alone', { timeout: 120_000 }, async () => {
    const { flowsDir } = await repository(5);
    const paths = [
      ...['retry.ts', 'sleep.ts', 'parameters.ts', 'municipios.ts'].map((name) => join(repoRoot, 'examples', name)),
      ...(await readdir(join(flowsDir, 'group-0'))).map((name) => join(flowsDir, 'group-0', name)),
      join(repoRoot, 'test/fixtures/flows/scheduled.ts'),
    ];
    const batch = await bundleFlowModules(paths);
    expect(batch).toHaveLength(paths.length);
    for (const result of batch) {
      if ('error' in result) throw result.error;
      expect(result.bundle.sha256).toBe((await bundleFlowModule(result.path)).sha256);
    }
  });

  it('retries a batch answered 503 and succeeds', async () => {
    let failed = 0;
    const hop = await faultyHop((body) => (body.includes('registerFlows') && failed++ === 0 ? { status: 503, body: 'upstream restarting' } : 'pass'));
    const result = await register(['examples/retry.ts', '--project', 'bulk-503', '--json'], { api: hop.url });
    expect(result.exitCode).toBe(0);
    expect(reportOf(result.stdout).summary).toMatchObject({ new: 1, failed: 0 });
    expect(hop.registerRequests()).toHaveLength(2);
  });

  it('waits the Retry-After of a 429 before sending the batch again', async () => {
    let refused = 0;
    const hop = await faultyHop((body) =>
      body.includes('registerFlows') && refused++ === 0
        ? { status: 429, headers: { 'retry-after': '2' }, body: JSON.stringify({ errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED' } }] }) }
        : 'pass',
    );
    const result = await register(['examples/retry.ts', '--project', 'bulk-429', '--json'], { api: hop.url });
    expect(result.exitCode).toBe(0);
    expect(reportOf(result.stdout).summary).toMatchObject({ new: 1, failed: 0 });
    const [refusedAt, retriedAt] = hop.registerRequests().map((r) => r.at);
    expect(retriedAt! - refusedAt!).toBeGreaterThanOrEqual(1900);
  });

  it('gives up on a batch after 5 attempts: its flows fail with the reason and the exit code is 8', { timeout: 60_000 }, async () => {
    const hop = await faultyHop((body) => (body.includes('registerFlows') ? { status: 502, body: 'bad gateway' } : 'pass'));
    const result = await register(['examples/retry.ts', '--project', 'bulk-502', '--json'], { api: hop.url });
    expect(result.exitCode).toBe(8);
    expect(hop.registerRequests()).toHaveLength(5);
    expect(reportOf(result.stdout).flows).toEqual([
      expect.objectContaining({ name: 'flaky-retry', status: 'failed', error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('HTTP 502') } }),
    ]);
  });

  it('starts a new schedule paused with --schedules paused', async () => {
    const result = await register(['test/fixtures/flows/scheduled.ts', '--project', 'bulk-staging', '--schedules', 'paused', '--json']);
    expect(result.exitCode).toBe(0);
    const client = await stack.client('viewer');
    const { flow } = await client.request<{ flow: { schedule: { state: string } | null } }>('query { flow(project: "bulk-staging", name: "daily-extract") { schedule { state } } }');
    expect(flow.schedule).toEqual({ state: 'PAUSED' });
  });

  it('works with a ci token, the role a GitHub Action holds', async () => {
    const result = await register(['examples/sleep.ts', '--project', 'bulk-ci', '--json'], { role: 'ci' });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(reportOf(result.stdout).flows.map(({ name, status, version }) => ({ name, status, version }))).toEqual([
      { name: 'fail-always', status: 'new', version: 1 },
      { name: 'long-sleep', status: 'new', version: 1 },
    ]);
  });

  it('refuses a --schedules value other than active or paused', async () => {
    const result = await register(['examples/retry.ts', '--project', 'bulk-bad', '--schedules', 'later']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('[BAD_USER_INPUT] --schedules must be active or paused, not "later"');
  });
});
