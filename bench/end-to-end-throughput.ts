// End-to-end runs/s with one child process per run, against bare `node bundle.mjs` spawns of the
// same bundle at the same parallelism on the same machine.
//
//   npm run build && node dist/bench/end-to-end-throughput.js [--runs 300] [--concurrency 4]
//
// Target (DESIGN.md): fluxo >= 0.8 x the bare spawn rate.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '4' } } });
const RUNS = Number(values.runs);
const CONCURRENCY = Number(values.concurrency);
const noopFlow = fileURLToPath(new URL('../../bench/flows/noop.ts', import.meta.url));

async function bareSpawns(bundle: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < RUNS) await execa(process.execPath, [bundle]);
  }));
  return RUNS / ((performance.now() - started) / 1000);
}

const stack = await startBenchStack();
try {
  await stack.register(noopFlow);
  const bundles = join(fileURLToPath(stack.storageUri), 'bundles');
  const bundle = join(bundles, (await readdir(bundles))[0]!);
  const bare = await bareSpawns(bundle);

  await stack.startAgent(['--concurrency', String(CONCURRENCY)]);
  const create = () => stack.client.request('mutation { createFlowRun(input: { flowName: "noop" }) { id } }');
  // Warm the agent's bundle cache, then queue every run at once and time until all succeeded.
  await create();
  const countSuccess = async () =>
    (await stack.client.request<{ flowRuns: { nodes: unknown[] } }>('{ flowRuns(filter: { states: [SUCCESS] }, first: 500) { nodes { id } } }')).flowRuns.nodes.length;
  while ((await countSuccess()) < 1) await new Promise((wake) => setTimeout(wake, 20));
  const started = performance.now();
  for (let i = 0; i < RUNS; i += 50) await Promise.all(Array.from({ length: Math.min(50, RUNS - i) }, create));
  while ((await countSuccess()) < RUNS + 1) await new Promise((wake) => setTimeout(wake, 20));
  const fluxo = RUNS / ((performance.now() - started) / 1000);

  const result = { benchmark: 'end-to-end-throughput', runs: RUNS, concurrency: CONCURRENCY, fluxoRunsPerSecond: +fluxo.toFixed(1), bareSpawnsPerSecond: +bare.toFixed(1), ratio: +(fluxo / bare).toFixed(2) };
  console.log(JSON.stringify(result));
  console.log(`end to end, ${RUNS} runs at concurrency ${CONCURRENCY}: ${result.fluxoRunsPerSecond} runs/s vs ${result.bareSpawnsPerSecond} bare spawns/s = ${result.ratio} (target >= 0.8)`);
} finally {
  await stack.stop();
}
