// Log ingestion: lines per second stored through writeLogs.
//
//   npm run build && node dist/bench/log-ingestion.js [--database sqlite|postgres] [--lines 500000] [--batch 1000] [--writers 8]
//
// `--writers` runs are claimed and RUNNING; each writer sends batches of `--batch` lines (the
// agent relays at most 1,000 lines a batch) of ~100-byte messages to its own run, until `--lines`
// lines are stored. Two figures: through the service (the store's transactions, no transport), and
// through GraphQL over HTTP against a `fluxo server start` process (JSON parsing and validation
// of every line included). Target (DESIGN.md): >= 50,000 lines/s.
import { parseArgs } from 'node:util';
import { EventBus } from '../server/core/events.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import type { LogLineWrite } from '../server/store/store.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { agentIdentity, developer, noopFlow, startBenchServer, type BenchServer } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    lines: { type: 'string', default: '500000' },
    batch: { type: 'string', default: '1000' },
    writers: { type: 'string', default: '8' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const LINES = Number(values.lines);
const BATCH = Number(values.batch);
const WRITERS = Number(values.writers);

const lineAt = (i: number): LogLineWrite => ({
  taskRunKey: `task-${i % 10}`,
  level: i % 50 === 49 ? 'WARNING' : 'INFO',
  stream: 'logger',
  message: `batch ${i}: loaded ${(i * 7919) % 100_000} rows into br_rj_riodejaneiro_staging.registros (partition ${i % 365})`,
  timestamp: Date.now(),
});

/** Runs `writers` loops sending batches until LINES lines went out; lines/s. */
async function ingest(send: (writer: number, batch: number, lines: LogLineWrite[]) => Promise<void>): Promise<number> {
  let sent = 0;
  let batches = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async (_, writer) => {
    while (sent < LINES) {
      const count = Math.min(BATCH, LINES - sent);
      sent += count;
      const first = sent - count;
      await send(writer, batches++, Array.from({ length: count }, (_, i) => lineAt(first + i)));
    }
  }));
  return LINES / ((performance.now() - started) / 1000);
}

async function throughService(database: string): Promise<number> {
  const store = openStore(database);
  await store.migrate();
  const service = new FluxoService(store, new EventBus());
  await service.registerFlow(developer, noopFlow);
  const agent = await service.registerAgent(agentIdentity, { name: 'a', labels: [], concurrency: 1000 });
  for (let i = 0; i < WRITERS; i++) await service.createFlowRun(developer, { flowName: 'noop' });
  const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: WRITERS });
  for (const claim of claims) {
    await service.setFlowRunState(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, expectedVersion: claim.run.version, state: 'RUNNING' });
  }
  const rate = await ingest(async (writer, batch, lines) => {
    const claim = claims[writer]!;
    await service.writeLogs(agentIdentity, { flowRunId: claim.run.id, leaseToken: claim.leaseToken, batchId: `b${batch}`, lines });
  });
  await store.close();
  return rate;
}

async function overHttp(server: BenchServer): Promise<number> {
  await server.call(developer, 'mutation($i: RegisterFlowInput!) { registerFlow(input: $i) { created } }', { i: noopFlow });
  const { registerAgent } = await server.call<{ registerAgent: { id: string } }>(agentIdentity, 'mutation { registerAgent(input: { name: "a", labels: [], concurrency: 1000 }) { id } }');
  for (let i = 0; i < WRITERS; i++) await server.call(developer, 'mutation { createFlowRun(input: { flowName: "noop" }) { id } }');
  const { claimFlowRuns: claims } = await server.call<{ claimFlowRuns: { leaseToken: string; flowRun: { id: string; version: number } }[] }>(
    agentIdentity, 'mutation($id: ID!, $max: Int!) { claimFlowRuns(input: { agentId: $id, max: $max }) { leaseToken flowRun { id version } } }', { id: registerAgent.id, max: WRITERS });
  for (const claim of claims) {
    await server.call(agentIdentity, 'mutation($i: SetFlowRunStateInput!) { setFlowRunState(input: $i) { version } }',
      { i: { flowRunId: claim.flowRun.id, leaseToken: claim.leaseToken, expectedVersion: claim.flowRun.version, state: 'RUNNING' } });
  }
  const write = 'mutation($i: WriteLogsInput!) { writeLogs(input: $i) }';
  return ingest(async (writer, batch, lines) => {
    const claim = claims[writer]!;
    const wire = lines.map((l) => ({ ...l, timestamp: new Date(l.timestamp).toISOString() }));
    await server.call(agentIdentity, write, { i: { flowRunId: claim.flowRun.id, leaseToken: claim.leaseToken, batchId: `b${batch}`, lines: wire } });
  });
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
try {
  const service = await throughService(await backend.fresh('logs_service'));
  const server = await startBenchServer(await backend.fresh('logs_http'), backend.dir, WRITERS * 2);
  let http: number;
  try {
    http = await overHttp(server);
  } finally {
    await server.stop();
  }
  console.log(JSON.stringify({ benchmark: 'log-ingestion', ...backend.describe(), lines: LINES, batch: BATCH, writers: WRITERS, serviceLinesPerSecond: Math.round(service), httpLinesPerSecond: Math.round(http) }));
  console.log(`log ingestion, ${KIND}, ${LINES.toLocaleString('en')} lines in batches of ${BATCH}, ${WRITERS} writers: ${Math.round(service).toLocaleString('en')} lines/s through the service, ${Math.round(http).toLocaleString('en')} lines/s through GraphQL over HTTP (target >= 50,000)`);
} finally {
  await backend.stop();
}
