// An idle agent loads only what it uses (docs/benchmarks.md, "Idle agent"): the real `fluxo agent
// start`, with a module recorder (fixtures/record-modules.mjs) loaded by `node --import`, after
// registering, long-polling and running a flow. Memory itself is measured by
// bench/idle-agent.ts, never here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRun, waitForFinal } from '../e2e/queries.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { repoRoot, tempDir } from '../support/harness.js';
import { startResilienceStack } from './support/resilience-stack.js';

const recorder = pathToFileURL(join(repoRoot, 'test', 'agent', 'fixtures', 'record-modules.mjs')).href;

/** Packages of node_modules the process loaded (`@scope/name` or `name`). */
async function loadedPackages(dir: string, pid: number): Promise<{ packages: Set<string>; files: string[] }> {
  const files = (await readFile(join(dir, `${pid}.txt`), 'utf8')).split('\n').filter(Boolean);
  const packages = new Set(files.flatMap((file) => /node_modules\/(@[^/]+\/[^/]+|[^/@][^/]*)\//.exec(file)?.[1] ?? []));
  return { packages, files };
}

const HEAVY = ['execa', 'undici', 'pino', '@duckdb/node-api', '@google-cloud/storage', '@google-cloud/bigquery', 'graphql-ws', 'ws', 'prom-client'];

describe('an idle agent', () => {
  it('has not loaded execa, undici, pino, DuckDB, the Google clients or the WebSocket client; a run adds only the WebSocket client', async () => {
    const { stack, developer } = await startResilienceStack();
    const dir = await tempDir('fluxo-modules-');
    const agent = await stack.startAgent({
      name: 'lean',
      // Empty proxy variables: the test's own environment must not pick the client's path.
      env: { NODE_OPTIONS: `--import=${recorder}`, FLUXO_TEST_MODULES_DIR: dir, HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '' },
    });
    const idle = await loadedPackages(dir, agent.pid);
    // The recorder saw the agent itself (so an empty list would not pass by accident).
    expect(idle.files.some((file) => file.endsWith('/dist/agent/agent.js'))).toBe(true);
    expect(HEAVY.filter((name) => idle.packages.has(name))).toEqual([]);

    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: 10 } });
    expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    // Holding a run opens the pushed-cancellation subscription (agent/lease-signals.ts): graphql-ws and ws, nothing else.
    const afterRun = await loadedPackages(dir, agent.pid);
    expect(HEAVY.filter((name) => afterRun.packages.has(name))).toEqual(['graphql-ws', 'ws']);
  });

  it('loads undici only when a proxy variable is set', async () => {
    const { stack, developer } = await startResilienceStack();
    const proxy = await startForwardProxy();
    const dir = await tempDir('fluxo-modules-');
    const agent = await stack.startAgent({
      name: 'proxied',
      env: { NODE_OPTIONS: `--import=${recorder}`, FLUXO_TEST_MODULES_DIR: dir, HTTPS_PROXY: proxy.url, https_proxy: proxy.url, HTTP_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: '' },
    });
    const id = await createRun(developer, { flowName: 'paced', parameters: { lines: 10 } });
    expect(await waitForFinal(developer, id)).toMatchObject({ state: 'SUCCESS' });
    expect((await loadedPackages(dir, agent.pid)).packages.has('undici')).toBe(true);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
  });
});
