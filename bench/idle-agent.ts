// What an idle agent costs its host: resident memory, CPU over a quiet period, child processes;
// next to a bare `node` process measured in the same sitting (the target is relative to it), and
// again after the agent has run a few flows (modules a run loads stay loaded).
//
//   npm run build && node dist/bench/idle-agent.js [--seconds 30] [--runs 5] [--binary dist/bin/fluxo-agent]
//
// Target (DESIGN.md): bare Node + 10 MB RSS, ~0 CPU, no child processes.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createToken } from '../auth-proxy/tokens.js';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { loadPrivateSigningKey } from '../common/keys.js';
import { cpuSeconds } from './proc.js';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, runs: { type: 'string', default: '5' }, binary: { type: 'string' } } });
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const noopFlow = fileURLToPath(new URL('../../bench/flows/noop.ts', import.meta.url));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function children(pid: number): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) count++;
  }
  return count;
}

interface Sample {
  rssMbMax: number;
  rssMbMean: number;
  cpuPercent: number;
  childProcesses: number;
}

/** RSS every second for SECONDS, CPU over the same time, then the child processes. */
async function sample(pid: number): Promise<Sample> {
  const cpuBefore = cpuSeconds(pid);
  const samples: number[] = [];
  for (let i = 0; i < SECONDS; i++) {
    samples.push(await rssMb(pid));
    await sleep(1_000);
  }
  return {
    rssMbMax: +Math.max(...samples).toFixed(1),
    rssMbMean: +(samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(1),
    cpuPercent: +(((cpuSeconds(pid) - cpuBefore) / SECONDS) * 100).toFixed(2),
    childProcesses: await children(pid),
  };
}

/** A bare `node` with a timer, the baseline: what any Node agent costs before its own code. */
async function bareNode(): Promise<Sample> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await sleep(2_000);
    return await sample(child.pid!);
  } finally {
    child.kill('SIGKILL');
  }
}

const bare = await bareNode();
const stack = await startBenchStack();
const report: Record<string, unknown> = { benchmark: 'idle-agent', seconds: SECONDS, bareNode: bare };
try {
  let agent: DaemonProcess;
  if (values.binary) {
    const key = await loadPrivateSigningKey(join(stack.dir, 'keys', 'token-signing.private.jwk.json'));
    const { token } = await createToken({ tenant: 'bench', role: 'agent' }, key);
    agent = await spawnDaemon(['start', '--api', stack.apiUrl, '--name', 'bench-binary', '--work-dir', join(stack.dir, 'bench-binary')], {
      executable: values.binary,
      env: { FLUXO_TOKEN: token, FLUXO_LOG_LEVEL: 'info' },
    });
  } else {
    agent = await stack.startAgent();
  }
  try {
    // Let start-up settle (module loading, first long-poll) before measuring.
    await sleep(5_000);
    report.idle = await sample(agent.pid);
    if (RUNS > 0) {
      await stack.register(noopFlow);
      for (let i = 0; i < RUNS; i++) {
        const { createFlowRun } = await stack.client.request<{ createFlowRun: { id: string } }>(
          'mutation($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }',
          { input: { flowName: 'noop' } },
        );
        for (;;) {
          const { flowRun } = await stack.client.request<{ flowRun: { state: string; endedAt: string | null } }>('query($id: ID!) { flowRun(id: $id) { state endedAt } }', { id: createFlowRun.id });
          if (flowRun.endedAt) break;
          await sleep(100);
        }
      }
      // Past the warm child's idle time (30 s by default), so the agent is idle again: no children.
      await sleep(35_000);
      report.afterRuns = { runs: RUNS, ...(await sample(agent.pid)) };
    }
  } finally {
    await agent.stop(3_000);
  }
  console.log(JSON.stringify(report));
  const line = (name: string, s: Sample) =>
    `${name}: RSS max ${s.rssMbMax} MB (bare node + ${(s.rssMbMax - bare.rssMbMax).toFixed(1)} MB), CPU ${s.cpuPercent} %, ${s.childProcesses} child processes`;
  console.log(`bare node over ${SECONDS} s: RSS max ${bare.rssMbMax} MB`);
  console.log(line(`idle ${values.binary ? 'binary agent' : 'agent'}`, report.idle as Sample));
  if (report.afterRuns) console.log(line(`idle again after ${RUNS} runs`, report.afterRuns as Sample));
  console.log('target: bare node + 10 MB, ~0 CPU, no child processes');
} finally {
  await stack.stop();
}
