// Does a dead notification receiver slow state writes? setFlowRunState p50/p99 through the
// service, with the notifier running in the same process (as on the leader), for four receivers:
// none (no rules), healthy (N rules to a local receiver answering 204 at once: the cost of the
// rules themselves), refused (N rules to a closed port) and hanging (N rules to a server that
// accepts connections and never answers, so every attempt waits for its 10 s timeout). A dead
// receiver should cost state writes nothing beyond what a healthy one costs.
//
//   npm run build && node dist/bench/notifications.js [--database sqlite|postgres] [--runs 2200] [--rules 20] [--workers 4]
//
// Each run is claimed, then set RUNNING and FAILED (no retries): every FAILED is an event each
// rule must deliver. The first 200 runs are a warm-up (untimed, then 3 s for the notifier to get
// busy); the rest are timed. The notifier passes every 100 ms with a 100 ms backoff, so the dead
// receivers are hammered throughout the measurement.
import { spawn } from 'node:child_process';
import { createServer as createNetServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.js';
import { EventBus } from '../server/core/events.js';
import { TenantSecrets } from '../server/core/secrets.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import { startNotifier } from '../server/services/notifier.js';
import { backendKind, pgSettings, startBackend } from './backend.js';
import { agentIdentity, developer, noopFlow, percentiles } from './bench-server.js';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '2200' },
    rules: { type: 'string', default: '20' },
    workers: { type: 'string', default: '4' },
    'pg-setting': { type: 'string', multiple: true },
  },
});
const KIND = backendKind(values.database);
const RUNS = Number(values.runs);
const RULES = Number(values.rules);
const WORKERS = Number(values.workers);
const WARMUP = 200;
const HEALTHY_RECEIVER = `require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(204).end()); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

/** A TCP server that accepts and never answers, a port nothing listens on, and a healthy HTTP receiver. */
async function receiversForBench(): Promise<{ healthy: string; hanging: string; refused: string; close(): void }> {
  // The healthy receiver in its own process, so it answers whatever this one is doing.
  const ok = spawn(process.execPath, ['-e', HEALTHY_RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const okPort = await new Promise<number>((resolve) => ok.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closed = createNetServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const refusedPort = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  return {
    healthy: `http://127.0.0.1:${okPort}/hook`,
    hanging: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    refused: `http://127.0.0.1:${refusedPort}/hook`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
      ok.kill();
    },
  };
}

async function measure(database: string, url: string | null): Promise<{ times: number[]; deliveries: number; attempts: number }> {
  const store = openStore(database);
  await store.migrate();
  const events = new EventBus();
  const service = new FluxoService(store, events);
  const logger = createLogger('bench', 'error');
  const notifier = startNotifier(store, events, { secrets: new TenantSecrets(store.secrets, null), logger, intervalMs: 100, backoffMs: [100, 100, 100, 100, 100] });
  await service.registerFlow(developer, noopFlow);
  for (let i = 0; url !== null && i < RULES; i++) {
    await store.notifications.createRule(developer.tenant, { flowId: null, on: ['FAILED'], channel: i % 2 ? 'SLACK' : 'WEBHOOK', url: `${url}?rule=${i}`, signingSecret: null, createdBy: 'bench' });
  }
  const agent = await service.registerAgent(agentIdentity, { name: 'a', labels: [], concurrency: 1000 });
  for (let i = 0; i < RUNS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, RUNS - i) }, () => service.createFlowRun(developer, { flowName: 'noop' })));
  }
  const claims: Awaited<ReturnType<typeof service.claimFlowRuns>> = [];
  for (;;) {
    const batch = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 100 });
    if (batch.length === 0) break;
    claims.push(...batch);
  }
  const times: number[] = [];
  let next = 0;
  const finish = async (upto: number, timed: boolean): Promise<void> => {
    await Promise.all(Array.from({ length: WORKERS }, async () => {
      while (next < upto) {
        const claim = claims[next++]!;
        const lease = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
        let started = performance.now();
        const running = await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: claim.run.version, state: 'RUNNING' });
        if (timed) times.push(performance.now() - started);
        started = performance.now();
        await service.setFlowRunState(agentIdentity, { ...lease, expectedVersion: running.version, state: 'FAILED', reason: 'exit-code', message: 'bench' });
        if (timed) times.push(performance.now() - started);
        // Yield to I/O between runs, as a server does between requests: the notifier's sends and
        // their answers interleave with the writes (SQLite calls are synchronous).
        await new Promise((resolve) => setImmediate(resolve));
      }
    }));
  };
  // Warm-up: the first runs' deliveries put the notifier to work (hanging sends in flight, refused
  // ones retrying every 100 ms) before the timed writes start.
  await finish(WARMUP, false);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await finish(claims.length, true);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  // Count what the notifier did meanwhile.
  let deliveries = 0;
  let attempts = 0;
  let after: string | null = null;
  do {
    const page = await store.notifications.listDeliveries(developer.tenant, { failed: false }, { first: 500, after });
    deliveries += page.nodes.length;
    attempts += page.nodes.reduce((sum, d) => sum + d.attempts, 0);
    after = page.hasNextPage ? page.endCursor : null;
  } while (after);
  await notifier.stop();
  await store.close();
  return { times, deliveries, attempts };
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
const receivers = await receiversForBench();
try {
  const results: Record<string, unknown> = {};
  for (const [name, url] of [['none', null], ['healthy', receivers.healthy], ['refused', receivers.refused], ['hanging', receivers.hanging], ['none-again', null]] as const) {
    const { times, deliveries, attempts } = await measure(await backend.fresh(`notify_${name.replace("-", "_")}`), url);
    results[name] = { setFlowRunStateMs: percentiles(times), rules: url === null ? 0 : RULES, deliveries, attempts };
    console.log(JSON.stringify({ receiver: name, ...(results[name] as object) }));
  }
  console.log(JSON.stringify({ bench: 'notifications', runs: RUNS, workers: WORKERS, ...backend.describe(), results }, null, 2));
} finally {
  receivers.close();
  await backend.stop();
}
