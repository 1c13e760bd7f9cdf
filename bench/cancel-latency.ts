// Cancel latency: from the moment a user asks to cancel a running run (cancelFlowRun through the
// proxy) to the moment its child process is gone AND the run is stored CANCELLED (both, whichever
// comes last), with server, proxy and agent as separate processes, like `fluxo dev`.
//
//   npm run build && node dist/bench/cancel-latency.js [--runs 20] [--heartbeat-seconds 10]
//
// Target (DESIGN.md): p99 <= 1 s. The child's end is seen by polling kill(pid, 0) every 2 ms; the
// stored state by a flowRunStateChanged subscription through the proxy (pushed, so no poll delay).
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'heartbeat-seconds': { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const HEARTBEAT = values['heartbeat-seconds']!;
const holdFlow = fileURLToPath(new URL('../../bench/flows/hold.ts', import.meta.url));

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const pause = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const stack = await startBenchStack();
try {
  await stack.register(holdFlow);
  // Like /tmp: an agent started as root runs flows as fluxo-run (agent/run-as.ts), which writes its pid here.
  await chmod(stack.dir, 0o1777);
  await stack.startAgent(['--concurrency', '4', '--heartbeat-seconds', HEARTBEAT]);
  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const file = join(stack.dir, `hold-${i}`);
    const { createFlowRun } = await stack.client.request<{ createFlowRun: { id: string } }>(
      'mutation($parameters: JSON) { createFlowRun(input: { flowName: "hold", parameters: $parameters }) { id } }',
      { parameters: { file } },
    );
    let pid = 0;
    for (let tries = 0; !pid; tries++) {
      if (tries > 6000) throw new Error(`run ${createFlowRun.id} never started`);
      pid = Number(await readFile(file, 'utf8').catch(() => '')) || 0;
      if (!pid) await pause(5);
    }
    // Stored CANCELLED, heard through the proxy as soon as the server commits it.
    let storedAt = 0;
    const stored = new Promise<void>((resolve, reject) => {
      const stop = stack.client.subscribe<{ flowRunStateChanged: { flowRun: { state: string } } }>(
        'subscription($id: ID!) { flowRunStateChanged(id: $id) { flowRun { state } } }',
        { id: createFlowRun.id },
        {
          onData: (data) => {
            if (data.flowRunStateChanged.flowRun.state !== 'CANCELLED') return;
            storedAt = performance.now();
            stop();
            resolve();
          },
          onError: reject,
        },
      );
    });
    // Let the subscription's first event (RUNNING) arrive, so opening it is not counted.
    await pause(50);
    const requestedAt = performance.now();
    await stack.client.request('mutation($id: ID!) { cancelFlowRun(id: $id) { state } }', { id: createFlowRun.id });
    while (alive(pid)) await pause(2);
    const goneAt = performance.now();
    await stored;
    latencies.push(Math.max(goneAt, storedAt) - requestedAt);
  }
  latencies.sort((a, b) => a - b);
  const result = { benchmark: 'cancel-latency', runs: RUNS, heartbeatSeconds: Number(HEARTBEAT), p50Ms: Math.round(percentile(latencies, 50)), p99Ms: Math.round(percentile(latencies, 99)), maxMs: Math.round(latencies.at(-1)!) };
  console.log(JSON.stringify(result));
  console.log(`cancel requested -> child gone and CANCELLED stored, ${RUNS} runs, heartbeat ${HEARTBEAT} s: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms (target p99 <= 1000)`);
} finally {
  await stack.stop();
}
