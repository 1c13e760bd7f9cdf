// End-to-end runs/s with one child process per run, against bare `node bundle.mjs` spawns of the
// same bundle at the same parallelism on the same machine. Each round measures, in one sitting,
// the bare spawns, an agent with warm children (agent/warm-child.ts, the default) and one without
// (`--warm-child-idle-seconds 0`: every run spawns its child cold), so a busy machine's load
// weighs on all three alike.
//
//   npm run build && node dist/bench/end-to-end-throughput.js [--runs 200] [--concurrency 4] [--rounds 1]
//
// Target (issue 14): fluxo with warm children >= 1.0 x the bare spawn rate.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { startBenchStack, type BenchStack } from './stack.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '4' }, rounds: { type: 'string', default: '1' } } });
const RUNS = Number(values.runs);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
if (!(RUNS > 0 && RUNS < 500)) throw new Error(`--runs must be from 1 to 499 (one page of unfinished runs), got ${values.runs}`);
const noopFlow = fileURLToPath(new URL('../../bench/flows/noop.ts', import.meta.url));

async function bareSpawns(bundle: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < RUNS) await execa(process.execPath, [bundle]);
  }));
  return RUNS / ((performance.now() - started) / 1000);
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

/** Runs not yet in a final state (one phase's: --runs must stay under the page size of 500). */
async function unfinished(stack: BenchStack): Promise<number> {
  const { flowRuns } = await stack.client.request<{ flowRuns: { nodes: unknown[] } }>(
    '{ flowRuns(filter: { states: [SCHEDULED, SUBMITTED, RUNNING, RETRYING, CANCELLING] }, first: 500) { nodes { id } } }',
  );
  return flowRuns.nodes.length;
}

/** One agent's runs/s: it runs one warm-up run (its bundle cache), then RUNS queued at once, timed until none is left. */
async function agentRate(stack: BenchStack, args: string[]): Promise<number> {
  const agent = await stack.startAgent(['--concurrency', String(CONCURRENCY), ...args]);
  try {
    const create = () => stack.client.request('mutation { createFlowRun(input: { flowName: "noop" }) { id } }');
    await create();
    while ((await unfinished(stack)) > 0) await sleep(20);
    const started = performance.now();
    for (let i = 0; i < RUNS; i += 50) await Promise.all(Array.from({ length: Math.min(50, RUNS - i) }, create));
    while ((await unfinished(stack)) > 0) await sleep(20);
    return RUNS / ((performance.now() - started) / 1000);
  } finally {
    await agent.stop(3_000);
  }
}

const stack = await startBenchStack();
try {
  await stack.register(noopFlow);
  const bundles = join(fileURLToPath(stack.storageUri), 'bundles');
  const bundle = join(bundles, (await readdir(bundles))[0]!);
  for (let round = 1; round <= ROUNDS; round++) {
    const bare = await bareSpawns(bundle);
    const warm = await agentRate(stack, []);
    const cold = await agentRate(stack, ['--warm-child-idle-seconds', '0']);
    const { flowRuns } = await stack.client.request<{ flowRuns: { nodes: unknown[] } }>('{ flowRuns(filter: { states: [FAILED, CRASHED, CANCELLED, TIMED_OUT] }, first: 10) { nodes { id } } }');
    if (flowRuns.nodes.length > 0) throw new Error(`${flowRuns.nodes.length}+ runs did not succeed`);
    const result = {
      benchmark: 'end-to-end-throughput',
      round,
      runs: RUNS,
      concurrency: CONCURRENCY,
      bareSpawnsPerSecond: +bare.toFixed(1),
      warmRunsPerSecond: +warm.toFixed(1),
      coldRunsPerSecond: +cold.toFixed(1),
      warmRatio: +(warm / bare).toFixed(2),
      coldRatio: +(cold / bare).toFixed(2),
    };
    console.log(JSON.stringify(result));
    console.log(
      `end to end, ${RUNS} runs at concurrency ${CONCURRENCY}: warm children ${result.warmRunsPerSecond} runs/s (${result.warmRatio} x), ` +
        `cold spawns ${result.coldRunsPerSecond} runs/s (${result.coldRatio} x), bare node ${result.bareSpawnsPerSecond} spawns/s (target warm >= 1.0 x)`,
    );
  }
} finally {
  await stack.stop();
}
