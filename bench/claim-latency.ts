// Claim latency: how long claimFlowRuns takes to hand an agent a due run.
//
//   npm run build && node dist/bench/claim-latency.js [--database sqlite|postgres] [--runs 2000] [--agents 8] [--wake-runs 200]
//
// Three figures, each p50/p99/max:
// - backlog, through the service: `--runs` due runs (labels smtr, escritorio or none) queued at
//   once, `--agents` agents with matching labels claiming one run per call, all at the same time,
//   until the queue is empty; the time of every call that returned a run;
// - the same through GraphQL over HTTP against a `fluxo server start` process;
// - wake-up over HTTP: agents long-poll (waitMs 20 s) on an empty queue while one run is created
//   every 20 ms; the time from sending createFlowRun to an agent holding the run.
import { parseArgs } from 'node:util';
import { EventBus } from '../server/core/events.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { agentIdentity, claimUntilEmpty, developer, noopFlow, percentiles, startBenchServer, type BenchServer } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '8' },
    'wake-runs': { type: 'string', default: '200' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const RUNS = Number(values.runs);
const AGENTS = Number(values.agents);
const WAKE_RUNS = Number(values['wake-runs']);
const LABELS = [['smtr'], ['escritorio'], []];
const labelsOf = (i: number): string[] => LABELS[i % LABELS.length]!;

async function backlogThroughService(database: string): Promise<number[]> {
  const store = openStore(database);
  await store.migrate();
  const service = new FluxoService(store, new EventBus());
  await service.registerFlow(developer, noopFlow);
  const agents = await Promise.all(Array.from({ length: AGENTS }, (_, i) => service.registerAgent(agentIdentity, { name: `a${i}`, labels: labelsOf(i), concurrency: 1000 })));
  for (let i = 0; i < RUNS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, RUNS - i) }, (_, j) => service.createFlowRun(developer, { flowName: 'noop', labels: labelsOf(i + j) })));
  }
  const times = await claimUntilEmpty(service, agents);
  await store.close();
  if (times.length !== RUNS) throw new Error(`claimed ${times.length} of ${RUNS} runs`);
  return times;
}

const CLAIM = 'mutation($id: ID!, $wait: Int) { claimFlowRuns(input: { agentId: $id, max: 1, waitMs: $wait }) { flowRun { id } } }';
const CREATE = 'mutation($labels: [String!]) { createFlowRun(input: { flowName: "noop", labels: $labels }) { id } }';

async function registerAgents(server: BenchServer, prefix: string): Promise<string[]> {
  return Promise.all(Array.from({ length: AGENTS }, async (_, i) =>
    (await server.call<{ registerAgent: { id: string } }>(agentIdentity, 'mutation($n: String!, $l: [String!]!) { registerAgent(input: { name: $n, labels: $l, concurrency: 1000 }) { id } }',
      { n: `${prefix}${i}`, l: labelsOf(i) })).registerAgent.id));
}

async function backlogOverHttp(server: BenchServer): Promise<number[]> {
  const agents = await registerAgents(server, 'h');
  for (let i = 0; i < RUNS; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, RUNS - i) }, (_, j) => server.call(developer, CREATE, { labels: labelsOf(i + j) })));
  }
  const times: number[] = [];
  await Promise.all(agents.map(async (id) => {
    for (;;) {
      const started = performance.now();
      const { claimFlowRuns } = await server.call<{ claimFlowRuns: unknown[] }>(agentIdentity, CLAIM, { id, wait: 0 });
      if (claimFlowRuns.length === 0) return;
      times.push(performance.now() - started);
    }
  }));
  if (times.length !== RUNS) throw new Error(`claimed ${times.length} of ${RUNS} runs over HTTP`);
  return times;
}

async function wakeOverHttp(server: BenchServer): Promise<number[]> {
  const agents = await registerAgents(server, 'w');
  const sentAt = new Map<string, number>();
  const claimedAt = new Map<string, number>();
  let creating = true;
  const polling = agents.map(async (id) => {
    while (creating || claimedAt.size < sentAt.size) {
      const { claimFlowRuns } = await server.call<{ claimFlowRuns: { flowRun: { id: string } }[] }>(agentIdentity, CLAIM, { id, wait: creating ? 20_000 : 200 });
      const now = performance.now();
      for (const claim of claimFlowRuns) claimedAt.set(claim.flowRun.id, now);
    }
  });
  // Let every agent's long-poll reach the server first.
  await new Promise((wake) => setTimeout(wake, 500));
  for (let i = 0; i < WAKE_RUNS; i++) {
    const started = performance.now();
    const { createFlowRun } = await server.call<{ createFlowRun: { id: string } }>(developer, CREATE, { labels: labelsOf(i) });
    sentAt.set(createFlowRun.id, started);
    await new Promise((wake) => setTimeout(wake, 20));
  }
  creating = false;
  await Promise.all(polling);
  return [...sentAt].map(([id, at]) => claimedAt.get(id)! - at);
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
try {
  const service = percentiles(await backlogThroughService(await backend.fresh('claim_service')));
  const server = await startBenchServer(await backend.fresh('claim_http'), backend.dir, AGENTS * 2 + 4);
  let http;
  let wake;
  try {
    await server.call(developer, 'mutation($i: RegisterFlowInput!) { registerFlow(input: $i) { created } }', { i: noopFlow });
    http = percentiles(await backlogOverHttp(server));
    wake = percentiles(await wakeOverHttp(server));
  } finally {
    await server.stop();
  }
  console.log(JSON.stringify({ benchmark: 'claim-latency', ...backend.describe(), runs: RUNS, agents: AGENTS, wakeRuns: WAKE_RUNS, service, http, wake }));
  const line = (what: string, p: { p50: number; p99: number; max: number }): string => `  ${what.padEnd(44)} p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`;
  console.log(`claim latency, ${KIND}, ${AGENTS} agents:\n${line(`backlog of ${RUNS}, through the service`, service)}\n${line(`backlog of ${RUNS}, GraphQL over HTTP`, http)}\n${line('create -> claimed, long-poll over HTTP', wake)}`);
} finally {
  await backend.stop();
}
