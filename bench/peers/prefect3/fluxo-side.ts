// fluxo's side of the Prefect 3 side-by-side benchmark: the phases of bench/peers/prefect3/drive.py
// against a real server, proxy and agent (concurrency 4) as separate processes (bench/stack.ts).
//
//   npm run build && node dist/bench/peers/prefect3/fluxo-side.js [--runs 40] [--latency-runs 10] [--interval-ms 1000] [--rounds 3]
//
// latency     L runs of the one-task flow, one every INTERVAL, each waited for: createdAt (the run
//             is due at once) -> the flow's first act, and the run's startedAt -> endedAt alone;
// throughput  N runs of the one-task flow created at once, first create -> last SUCCESS;
// tasks       R runs of the 40-task flow one after another, startedAt -> endedAt.
// Per-task overhead is (median 40-task run - median 1-task run) / 39. Prints one JSON object.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchStack } from '../../stack.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    'latency-runs': { type: 'string', default: '10' },
    'interval-ms': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
});
const RUNS = Number(values.runs);
const LATENCY_RUNS = Number(values['latency-runs']);
const INTERVAL = Number(values['interval-ms']);
const ROUNDS = Number(values.rounds);
const flows = fileURLToPath(new URL('../../../../bench/flows/prefect-peer.ts', import.meta.url));
const TERMINAL = ['SUCCESS', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'CRASHED'];

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const median = (values: number[]): number => percentile(values, 50);

interface Run { id: string; state: string; stateReason: string | null; stateMessage: string | null; createdAt: string; startedAt: string | null; endedAt: string | null }

const stack = await startBenchStack();
try {
  await stack.register(flows);
  // As root, flows run as another user, who must traverse to the agent's work directory and
  // write its stamps.
  await chmod(stack.dir, 0o711);
  const stamps = join(stack.dir, 'stamps');
  await mkdir(stamps);
  await chmod(stamps, 0o777);
  await stack.startAgent(['--concurrency', '4']);
  const create = async (flowName: string, file: string): Promise<Run> =>
    (await stack.client.request<{ createFlowRun: Run }>(
      'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id state stateReason stateMessage createdAt startedAt endedAt } }',
      { input: { flowName, parameters: { file } } },
    )).createFlowRun;
  const finished = async (id: string): Promise<Run> => {
    for (;;) {
      const { flowRun } = await stack.client.request<{ flowRun: Run }>('query($id: ID!) { flowRun(id: $id) { id state stateReason stateMessage createdAt startedAt endedAt } }', { id });
      if (TERMINAL.includes(flowRun.state)) {
        if (flowRun.state !== 'SUCCESS') throw new Error(`run ${id} ended ${flowRun.state} (${flowRun.stateReason}): ${flowRun.stateMessage}`);
        return flowRun;
      }
      await sleep(20);
    }
  };
  const stampOf = async (file: string): Promise<number> => {
    for (let i = 0; i < 6000; i++) {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (text) return Number(text);
      await sleep(5);
    }
    throw new Error(`no stamp in ${file}`);
  };
  const duration = (run: Run) => Date.parse(run.endedAt!) - Date.parse(run.startedAt!);

  // One warm-up run fills the agent's bundle cache, as Prefect's warm-up warms its runner.
  await finished((await create('one-task', join(stamps, 'warmup'))).id);

  const latencies: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const file = join(stamps, `latency-${i}`);
    const run = await create('one-task', file);
    latencies.push((await stampOf(file)) - Date.parse(run.createdAt));
    single.push(duration(await finished(run.id)));
    await sleep(INTERVAL);
  }

  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) ids.push((await create('one-task', join(stamps, `run-${i}`))).id);
  for (const id of ids) await finished(id);
  const seconds = (performance.now() - started) / 1000;

  const forty: number[] = [];
  for (let i = 0; i < ROUNDS; i++) forty.push(duration(await finished((await create('forty-tasks', join(stamps, `forty-${i}`))).id)));

  const oneMs = median(single);
  const fortyMs = median(forty);
  console.log(JSON.stringify({
    runs: RUNS,
    runsPerSecond: RUNS / seconds,
    latencyRuns: LATENCY_RUNS,
    scheduleToStartP50Ms: percentile(latencies, 50),
    scheduleToStartP99Ms: percentile(latencies, 99),
    oneTaskRunMs: oneMs,
    fortyTaskRunMs: fortyMs,
    perTaskMs: (fortyMs - oneMs) / 39,
    fortyTaskRoundsMs: forty,
  }));
} finally {
  await stack.stop();
}
