// How fast a flow's file crosses from its child process to the agent (fluxo/data `data-file`
// chunks of 1 MiB, base64 over IPC, written to the agent's temp copy): the real child runtime and
// spawnFlowRun, with a data handler that only checks the copy's size (no lake, no DuckDB), so the
// figure is the transport's alone.
//
//   npm run build && node dist/bench/data-stream.js [--mib 256] [--rounds 3]
import { stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnFlowRun } from '../agent/spawn-flow-run.js';
import { bundleFlowModule } from '../cli/bundle.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const mib = Number(values.mib);
const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-stream-'));
try {
  const bundlePath = join(dir, 'flow.mjs');
  await writeFile(bundlePath, (await bundleFlowModule(fileURLToPath(new URL('../../bench/flows/data-stream.ts', import.meta.url)))).bytes);
  for (let round = 0; round < Number(values.rounds); round++) {
    let received = 0;
    let flowSays = '';
    const child = spawnFlowRun({
      flowRunId: `bench-${round}`,
      attempt: 1,
      bundlePath,
      entrypoint: 'dataStream',
      parameters: { mib },
      cwd: dir,
      timeoutMs: null,
      cancelGraceMs: 1_000,
      onLog: (event) => {
        if (event.stream === 'stdout') flowSays = event.message;
      },
      data: async (_operation, args) => {
        received = (await stat((args.source as { csv: { path: string } }).csv.path)).size;
        return { rows: 0 };
      },
    });
    const outcome = await child.outcome;
    if (outcome.result?.ok !== true) throw new Error(`the flow failed: ${JSON.stringify(outcome)}`);
    const { ms } = JSON.parse(flowSays) as { ms: number };
    console.log(`round ${round + 1}: ${(received / 1024 / 1024).toFixed(0)} MiB in ${ms.toFixed(0)} ms = ${(received / 1024 / 1024 / (ms / 1000)).toFixed(0)} MiB/s (child read, base64, IPC, agent write)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
