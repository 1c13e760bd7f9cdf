// Per-task cost of stored task results, end to end (child → agent → result storage → server):
// one run of N trivial tasks whose results are JSON (each stored by the agent in its file://
// result storage, packed: agent/result-pack.ts) against one whose results are not (nothing
// stored), several rounds, time from the run's RUNNING to its SUCCESS divided by N. The target
// (DESIGN.md) is <= 0.5 ms per task.
//
//   npm run build && node dist/bench/task-results.js [--tasks 2000] [--rounds 3]
import { chmod } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchStack } from './stack.js';

const flows = fileURLToPath(new URL('../../bench/flows/many-tasks.ts', import.meta.url));
const { values } = parseArgs({ options: { tasks: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const tasks = Number(values.tasks);
const rounds = Number(values.rounds);

const stack = await startBenchStack();
try {
  await stack.register(flows);
  // As root, flows run as another user, who must traverse to the agent's work directory.
  await chmod(stack.dir, 0o711);
  await stack.startAgent();
  const perTask: Record<string, number[]> = { 'many-json': [], 'many-not-json': [] };
  for (let round = 0; round < rounds; round++) {
    for (const flowName of Object.keys(perTask)) {
      const { createFlowRun } = await stack.client.request<{ createFlowRun: { id: string } }>(
        'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
        { input: { flowName, parameters: { tasks } } },
      );
      for (;;) {
        const { flowRun } = await stack.client.request<{ flowRun: { state: string; startedAt: string | null; endedAt: string | null } }>(
          'query($id: ID!) { flowRun(id: $id) { state startedAt endedAt } }',
          { id: createFlowRun.id },
        );
        if (flowRun.endedAt && flowRun.startedAt) {
          if (flowRun.state !== 'SUCCESS') throw new Error(`${flowName} ended ${flowRun.state}`);
          perTask[flowName]!.push((Date.parse(flowRun.endedAt) - Date.parse(flowRun.startedAt)) / tasks);
          break;
        }
        await sleep(100);
      }
    }
  }
  const median = (times: number[]) => [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  for (const [flowName, times] of Object.entries(perTask)) {
    console.log(`${flowName === 'many-json' ? 'results stored    ' : 'nothing stored    '} ms per task: median ${median(times).toFixed(3)} (rounds: ${times.map((t) => t.toFixed(3)).join(', ')})`);
  }
  // Rounds alternate between the two flows, so a busy machine weighs on both alike; the difference is what storing costs.
  const paired = perTask['many-json']!.map((t, i) => t - perTask['many-not-json']![i]!);
  console.log(`storing a result adds ms per task: median ${median(paired).toFixed(3)} (paired rounds: ${paired.map((t) => t.toFixed(3)).join(', ')}); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await stack.stop();
}
