// Schedule-to-start latency: from the moment a run is due (created, due now) to the moment its
// user code starts in a child process, with server, proxy and agent as separate processes.
//
//   npm run build && node dist/bench/schedule-to-start.js [--runs 100] [--interval-ms 100] [--flow zod|plain]
//
// --flow zod (the default) runs bench/flows/stamp.ts, whose parameters are a zod schema: importing
// its ~750 kB bundle is most of a warm start. --flow plain runs stamp-plain.ts (no zod), which
// shows what fluxo itself adds.
//
// Target (DESIGN.md): p50 <= 30 ms, p99 <= 150 ms at moderate load. All processes share one
// machine clock, so the child's wall-clock stamp and the server's createdAt compare directly.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100' }, 'interval-ms': { type: 'string', default: '100' }, flow: { type: 'string', default: 'zod' } } });
if (values.flow !== 'zod' && values.flow !== 'plain') throw new Error(`--flow must be zod or plain, not ${values.flow}`);
const FLOW = values.flow === 'zod' ? { file: 'stamp.ts', name: 'stamp' } : { file: 'stamp-plain.ts', name: 'stamp-plain' };
const RUNS = Number(values.runs);
const INTERVAL = Number(values['interval-ms']);
const stampFlow = fileURLToPath(new URL(`../../bench/flows/${FLOW.file}`, import.meta.url));

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const stack = await startBenchStack();
try {
  await stack.register(stampFlow);
  await stack.startAgent(['--concurrency', '4']);
  // The flow may run as another user (a root agent runs flows as fluxo-run): a directory it can write.
  const stamps = join(stack.dir, 'stamps');
  await mkdir(stamps);
  await chmod(stamps, 0o1777);
  const create = async (file: string) =>
    (await stack.client.request<{ createFlowRun: { id: string; createdAt: string } }>(
      'mutation($flowName: String!, $parameters: JSON) { createFlowRun(input: { flowName: $flowName, parameters: $parameters }) { id createdAt } }',
      { flowName: FLOW.name, parameters: { file } },
    )).createFlowRun;
  const waitForFile = async (file: string): Promise<number> => {
    for (let i = 0; i < 3000; i++) {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text) return Number(text);
      await new Promise((wake) => setTimeout(wake, 5));
    }
    throw new Error(`no stamp in ${file}`);
  };
  // One warm-up run fills the agent's bundle cache: the figure is about steady state.
  await create(join(stamps, 'warmup'));
  await waitForFile(join(stamps, 'warmup'));
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const file = join(stamps, `stamp-${i}`);
    const run = await create(file);
    pending.push(waitForFile(file).then((startedAt) => void latencies.push(startedAt - Date.parse(run.createdAt))));
    await new Promise((wake) => setTimeout(wake, INTERVAL));
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const result = { benchmark: 'schedule-to-start', flow: FLOW.name, runs: RUNS, intervalMs: INTERVAL, p50Ms: Math.round(percentile(latencies, 50)), p99Ms: Math.round(percentile(latencies, 99)), maxMs: Math.round(latencies.at(-1)!) };
  console.log(JSON.stringify(result));
  console.log(`schedule-to-start latency, flow ${FLOW.name}, ${RUNS} runs one every ${INTERVAL} ms: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (target p50 <= 30, p99 <= 150)`);
} finally {
  await stack.stop();
}
