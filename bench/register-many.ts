// Registration at scale (issue 10's target: 800 flows into an empty server in < 60 s, the same
// 800 unchanged in < 10 s, on 2 cores). Generates 800 realistic flow modules (zod parameters, two
// tasks, a third of them with clocks), starts a real server + proxy, and times `registerFlowFiles`
// (what `fluxo register flows/` runs) three times:
//
//   1. into the empty server, with an empty registration cache (CI's first run);
//   2. unchanged, with the cache the first pass left (a runner that keeps ~/.cache/fluxo);
//   3. unchanged, without the cache (a fresh CI runner: everything is bundled again, nothing uploaded).
//
//   npm run build && node dist/bench/register-many.js [--modules 800]
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { registerFlowFiles, type RegistrationReport } from '../cli/register-modules.js';
import { writeFlowModules } from './flow-modules.js';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { modules: { type: 'string', default: '800' } } });
const count = Number(values.modules);

const dir = await mkdtemp(join(tmpdir(), 'fluxo-register-many-'));
const flowsDir = await writeFlowModules(dir, count);
const cacheDir = join(dir, 'cache');
const stack = await startBenchStack();
try {
  const storageDir = fileURLToPath(stack.storageUri);
  const pass = async (label: string, cache: string | false): Promise<Record<string, unknown>> => {
    const started = performance.now();
    // Seconds from the start at which each phase began: where the time goes.
    const phases: Record<string, number> = {};
    const onProgress = (phase: string): void => {
      phases[phase] ??= Number(((performance.now() - started) / 1000).toFixed(2));
    };
    const report: RegistrationReport = await registerFlowFiles(stack.client, { paths: [flowsDir], project: 'production', storage: stack.storageUri, cacheDir: cache, onProgress });
    const seconds = (performance.now() - started) / 1000;
    const failures = report.flows.filter((flow) => flow.status === 'failed');
    if (failures.length > 0) throw new Error(`${label}: ${failures.length} failed, e.g. ${JSON.stringify(failures[0])}`);
    const files = (await readdir(join(storageDir, 'bundles')).catch(() => [])).length;
    return { pass: label, seconds: Number(seconds.toFixed(2)), phasesStartAt: phases, ...report.summary, bundlesInStorage: files };
  };
  const results = [
    await pass('empty server, empty cache', cacheDir),
    await pass('unchanged, warm cache', cacheDir),
    await pass('unchanged, no cache', false),
  ];
  console.log(JSON.stringify({ modules: count, cpus: availableParallelism(), node: process.version, results }, null, 2));
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
