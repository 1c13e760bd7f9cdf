// What an idle agent costs its host: resident memory, CPU over a quiet period, child processes.
//
//   npm run build && node dist/bench/idle-agent.js [--seconds 30]
//
// Target (DESIGN.md): <= 50 MB RSS, ~0 CPU, no child processes.
import { readdir, readFile } from 'node:fs/promises';
import { cpuSeconds } from './proc.js';
import { parseArgs } from 'node:util';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const SECONDS = Number(values.seconds);

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

const stack = await startBenchStack();
try {
  const agent = await stack.startAgent();
  // Let start-up settle (module loading, first long-poll) before measuring.
  await new Promise((wake) => setTimeout(wake, 5_000));
  const cpuBefore = cpuSeconds(agent.pid);
  const samples: number[] = [];
  for (let i = 0; i < SECONDS; i++) {
    samples.push(await rssMb(agent.pid));
    await new Promise((wake) => setTimeout(wake, 1_000));
  }
  const cpu = (cpuSeconds(agent.pid) - cpuBefore) / SECONDS;
  const result = {
    benchmark: 'idle-agent',
    seconds: SECONDS,
    rssMbMax: +Math.max(...samples).toFixed(1),
    rssMbMean: +(samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(1),
    cpuPercent: +(cpu * 100).toFixed(2),
    childProcesses: await children(agent.pid),
  };
  console.log(JSON.stringify(result));
  console.log(`idle agent over ${SECONDS} s: RSS max ${result.rssMbMax} MB, CPU ${result.cpuPercent} %, ${result.childProcesses} child processes (target <= 50 MB, ~0 CPU, none)`);
} finally {
  await stack.stop();
}
