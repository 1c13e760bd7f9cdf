// Schedule-to-start latency: from the moment a run is due (created, due now) to the moment its
// user code starts in a child process, with server, proxy and agent as separate processes.
//
//   npm run build && node dist/bench/schedule-to-start.js [--runs 100] [--interval-ms 100]
//
// Target (DESIGN.md): p50 <= 30 ms, p99 <= 150 ms at moderate load. All processes share one
// machine clock, so the child's wall-clock stamp and the server's createdAt compare directly.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { createToken } from '../auth-proxy/tokens.js';
import { GraphQLClient } from '../client/graphql-client.js';
import { initKeys, loadPrivateSigningKey } from '../common/keys.js';
import { cliEntry, spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, 'interval-ms': { type: 'string', default: '100' } } });
const RUNS = Number(values.runs);
const INTERVAL = Number(values['interval-ms']);
const stampFlow = fileURLToPath(new URL('../../bench/flows/stamp.ts', import.meta.url));

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-'));
const daemons: DaemonProcess[] = [];
try {
  const keysDir = join(dir, 'keys');
  await initKeys(keysDir);
  const key = await loadPrivateSigningKey(join(keysDir, 'token-signing.private.jwk.json'));
  const token = async (role: 'developer' | 'agent') => (await createToken({ tenant: 'bench', role }, key)).token;
  const env = { FLUXO_LOG_LEVEL: 'warn' };
  const server = await spawnDaemon(['server', 'start', '--port', '0', '--database', join(dir, 'fluxo.db'), '--keys-dir', keysDir], { env: { FLUXO_LOG_LEVEL: 'info' } });
  daemons.push(server);
  const proxy = await spawnDaemon(['proxy', 'start', '--port', '0', '--upstream', String(server.ready.url), '--keys-dir', keysDir], { env: { FLUXO_LOG_LEVEL: 'info' } });
  daemons.push(proxy);
  const apiUrl = `${String(proxy.ready.url)}/graphql`;
  const registered = await execa(process.execPath, [cliEntry, 'register', stampFlow, '--project', 'production', '--storage', pathToFileURL(join(dir, 'storage')).href], {
    env: { ...env, FLUXO_API: apiUrl, FLUXO_TOKEN: await token('developer') },
  });
  void registered;
  daemons.push(await spawnDaemon(['agent', 'start', '--api', apiUrl, '--name', 'bench', '--concurrency', '4', '--work-dir', join(dir, 'agent')], {
    env: { FLUXO_LOG_LEVEL: 'info', FLUXO_TOKEN: await token('agent') },
  }));
  const client = new GraphQLClient({ apiUrl, token: await token('developer') });
  // One warm-up run fills the agent's bundle cache: the figure is about steady state.
  const create = async (file: string) =>
    (await client.request<{ createFlowRun: { id: string; createdAt: string } }>(
      'mutation($parameters: JSON) { createFlowRun(input: { flowName: "stamp", parameters: $parameters }) { id createdAt } }',
      { parameters: { file } },
    )).createFlowRun;
  const waitForFile = async (file: string): Promise<number> => {
    for (let i = 0; i < 3000; i++) {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text) return Number(text);
      await new Promise((wake) => setTimeout(wake, 5));
    }
    throw new Error(`no stamp in ${file}`);
  };
  await create(join(dir, 'warmup'));
  await waitForFile(join(dir, 'warmup'));
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const file = join(dir, `stamp-${i}`);
    const run = await create(file);
    pending.push(waitForFile(file).then((startedAt) => void latencies.push(startedAt - Date.parse(run.createdAt))));
    await new Promise((wake) => setTimeout(wake, INTERVAL));
  }
  await Promise.all(pending);
  await client.close();
  latencies.sort((a, b) => a - b);
  const result = { benchmark: 'schedule-to-start', runs: RUNS, intervalMs: INTERVAL, p50Ms: Math.round(percentile(latencies, 50)), p99Ms: Math.round(percentile(latencies, 99)), maxMs: Math.round(latencies.at(-1)!) };
  console.log(JSON.stringify(result));
  console.log(`schedule-to-start latency, ${RUNS} runs one every ${INTERVAL} ms: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (target p50 <= 30, p99 <= 150)`);
} finally {
  for (const daemon of daemons.reverse()) await daemon.stop(3_000);
  await rm(dir, { recursive: true, force: true });
}
