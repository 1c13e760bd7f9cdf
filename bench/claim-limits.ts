// What concurrency limits cost a claim: the same backlog claimed through the service with no
// limit (the one-statement claim), with a tenant limit and with a flow limit that never fill (so
// every claim takes the limited path: on PostgreSQL the per-tenant advisory lock and run-by-run
// checks), and behind a blocked queue (a flow with limit 1 whose backlog sits ahead of another
// flow's runs: how long a claim takes to read past it).
//
//   npm run build && node dist/bench/claim-limits.js [--database sqlite|postgres] [--runs 1000] [--agents 8]
//
// Claimed runs are never ended, so the flow limit (at most 1,000) must hold the whole backlog: --runs 1000 at most.
import { parseArgs } from 'node:util';
import { EventBus } from '../server/core/events.js';
import { setConcurrencyLimit } from '../server/core/limits.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { agentIdentity, claimUntilEmpty, developer, noopFlow, percentiles } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '1000' },
    agents: { type: 'string', default: '8' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const RUNS = Number(values.runs);
const AGENTS = Number(values.agents);
if (!(RUNS >= 1 && RUNS <= 1000)) throw new TypeError('--runs must be 1 to 1000 (the largest flow limit)');
const tenantAdmin = { ...developer, role: 'tenant-admin' as const };

type Mode = 'none' | 'tenant' | 'flow' | 'blocked';

async function backlog(database: string, mode: Mode): Promise<number[]> {
  const store = openStore(database);
  await store.migrate();
  const service = new FluxoService(store, new EventBus());
  await service.registerFlow(developer, { ...noopFlow, ...(mode === 'flow' ? { concurrencyLimit: 1000 } : {}) });
  if (mode === 'tenant') await setConcurrencyLimit(store, tenantAdmin, 'tenant', 10_000);
  if (mode === 'blocked') {
    // 1,000 runs of a flow with limit 1 (one of them holding its slot), ahead of the backlog by priority.
    await service.registerFlow(developer, { ...noopFlow, name: 'single', concurrencyLimit: 1 });
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, () => service.createFlowRun(developer, { flowName: 'single', priority: 10 })));
    }
    const holder = await service.registerAgent(agentIdentity, { name: 'holder', labels: [], concurrency: 1 });
    await service.claimFlowRuns(agentIdentity, { agentId: holder.id, max: 1 });
  }
  const agents = await Promise.all(Array.from({ length: AGENTS }, (_, i) => service.registerAgent(agentIdentity, { name: `a${i}`, labels: [], concurrency: 1000 })));
  for (let i = 0; i < RUNS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, RUNS - i) }, () => service.createFlowRun(developer, { flowName: 'noop' })));
  }
  const times = await claimUntilEmpty(service, agents);
  await store.close();
  if (times.length !== RUNS) throw new Error(`${mode}: claimed ${times.length} of ${RUNS} runs`);
  return times;
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
try {
  const results: Record<string, ReturnType<typeof percentiles>> = {};
  for (const mode of ['none', 'tenant', 'flow', 'blocked'] as const) results[mode] = percentiles(await backlog(await backend.fresh(`claim_limits_${mode}`), mode));
  console.log(JSON.stringify({ benchmark: 'claim-limits', ...backend.describe(), runs: RUNS, agents: AGENTS, ...results }));
  const what: Record<Mode, string> = {
    none: 'no limit (one-statement claim)',
    tenant: 'tenant limit 10,000 (never full)',
    flow: 'flow limit 1,000 (never full)',
    blocked: 'behind 1,000 blocked runs of a limit-1 flow',
  };
  console.log(`claim with limits, ${KIND}, ${AGENTS} agents, backlog of ${RUNS}:`);
  for (const mode of Object.keys(what) as Mode[]) {
    const p = results[mode]!;
    console.log(`  ${what[mode].padEnd(46)} p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`);
  }
} finally {
  await backend.stop();
}
