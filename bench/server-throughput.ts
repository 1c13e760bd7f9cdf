// Server-only throughput: create -> claim -> running -> success, no child process.
//
//   npm run build && node dist/bench/server-throughput.js [--runs 3000] [--workers 8] [--database sqlite|postgres]
//     [--pg-setting synchronous_commit=off ...] [--through-proxy] [--skip-service] [--cpu-prof <dir>]
//
// Two figures: through the service (the store and its transactions, no transport), and through
// GraphQL over HTTP against a real server process with signed identities, without the proxy
// (what agents and users pay on the server; the proxy's share is measured by the proxy benchmark).
// `--database postgres` runs both on an embedded PostgreSQL (bench/postgres.ts) started for the run.
// `--through-proxy` adds a third figure: the same requests through a real `fluxo proxy start` with
// bearer tokens (EdDSA, verified by the proxy; its cache answers after a token's first request),
// which is what agents and users pay. `--cpu-prof <dir>` starts the server (and proxy) with
// `node --cpu-prof`, writing a .cpuprofile per process on exit (bench/cpu-profile-summary.ts reads them).
// Targets (DESIGN.md): >= 1,000 runs/s on SQLite, >= 500 runs/s on PostgreSQL, 2 cores.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { signIdentity, type Identity } from '../common/identity.js';
import { initKeys, keyPaths, loadIdentitySecret, loadPrivateSigningKey } from '../common/keys.js';
import { createToken } from '../auth-proxy/tokens.js';
import { cliEntry, spawnDaemon } from '../cli/daemon-process.js';
import { EventBus } from '../server/core/events.js';
import { FluxoService } from '../server/core/service.js';
import { openStore } from '../server/open-store.js';
import { backendKind, pgSettings, startBackend, type BenchBackend } from './backend.js';
import { cpuSeconds } from './proc.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '8' },
    database: { type: 'string', default: 'sqlite' },
    'pg-setting': { type: 'string', multiple: true },
    entries: { type: 'string', default: 'none' },
    'through-proxy': { type: 'boolean', default: false },
    'skip-service': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const WORKERS = Number(values.workers);
const KIND = backendKind(values.database);
const TARGET = KIND === 'sqlite' ? 1000 : 500;
// `--entries separate|batched` gives each run a task (RUNNING, SUCCESS) and five log lines, as a
// short one-task run has: `separate` sends them with setTaskRunStates and writeLogs before SUCCESS
// (six requests per run, the agent before issue 14), `batched` with SUCCESS (SetFlowRunStateInput.batch:
// four requests, as the agent does now). @default none: four requests, no entries
const ENTRIES = values.entries;
if (!['none', 'separate', 'batched'].includes(ENTRIES)) throw new Error(`--entries must be none, separate or batched, got ${ENTRIES}`);
let batchSequence = 0;
/** A one-task run's entries (a fresh batch id each time). */
const entriesOf = () => {
  const at = new Date().toISOString();
  const batchId = `bench-${process.pid}-${batchSequence++}`;
  return {
    batchId,
    taskRunStates: ['RUNNING', 'SUCCESS'].map((state) => ({ key: 'work#1', taskName: 'work', attempt: 1, state: state as 'RUNNING' | 'SUCCESS', timestamp: at })),
    logLines: Array.from({ length: 5 }, (_, i) => ({ taskRunKey: 'work#1', level: 'INFO' as const, stream: 'logger', message: `line ${i}`, timestamp: at })),
  };
};
const DAEMON_ENV: Record<string, string> = { FLUXO_LOG_LEVEL: 'info' };
/** Starts a fluxo daemon, under `node --cpu-prof` when asked (NODE_OPTIONS may not carry it). */
const startDaemon = (args: string[]) =>
  values['cpu-prof']
    ? spawnDaemon(['--cpu-prof', '--cpu-prof-dir', values['cpu-prof'], cliEntry, ...args], { env: DAEMON_ENV, executable: process.execPath })
    : spawnDaemon(args, { env: DAEMON_ENV });

const developer: Identity = { subject: 'bench', tenant: 'bench', role: 'developer' };
const agent: Identity = { subject: 'bench-agent', tenant: 'bench', role: 'agent' };
const flowInput = {
  project: 'production', name: 'noop', storageUri: 'file:///tmp/noop.mjs', sha256: '0'.repeat(64), size: 1, entrypoint: 'noop',
};

async function inWorkers(total: number, workers: number, one: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next++ < total) await one();
  }));
  return (performance.now() - started) / 1000;
}

async function benchService(backend: BenchBackend): Promise<number> {
  const store = openStore(await backend.fresh('service'));
  await store.migrate();
  const service = new FluxoService(store, new EventBus());
  await service.registerFlow(developer, flowInput);
  const { id: agentId } = await service.registerAgent(agent, { name: 'a', labels: [], concurrency: 1000 });
  const seconds = await inWorkers(RUNS, WORKERS, async () => {
    await service.createFlowRun(developer, { flowName: 'noop' });
    const [claim] = await service.claimFlowRuns(agent, { agentId, max: 1 });
    if (!claim) return;
    const base = { flowRunId: claim.run.id, leaseToken: claim.leaseToken };
    const running = await service.setFlowRunState(agent, { ...base, expectedVersion: claim.run.version, state: 'RUNNING' });
    const entries = ENTRIES === 'none' ? null : entriesOf();
    if (entries && ENTRIES === 'separate') {
      await service.setTaskRunStates(agent, { ...base, batchId: entries.batchId, states: entries.taskRunStates.map((s) => ({ ...s, mapIndex: null, message: null })) });
      await service.writeLogs(agent, { ...base, batchId: entries.batchId, lines: entries.logLines.map((l) => ({ ...l, timestamp: Date.parse(l.timestamp) })) });
    }
    const batch = entries && ENTRIES === 'batched'
      ? { batchId: entries.batchId, taskRunStates: entries.taskRunStates.map((s) => ({ ...s, mapIndex: null, message: null })), logLines: entries.logLines.map((l) => ({ ...l, timestamp: Date.parse(l.timestamp) })) }
      : null;
    await service.setFlowRunState(agent, { ...base, expectedVersion: running.version, state: 'SUCCESS', batch });
  });
  await store.close();
  return RUNS / seconds;
}

/** A run's figures over HTTP: runs/s, and the CPU ms per run each daemon spent (steadier than runs/s on a shared machine). */
interface HttpFigures {
  runsPerSecond: number;
  serverCpuMsPerRun: number;
  proxyCpuMsPerRun: number | null;
}

async function benchHttp(backend: BenchBackend, throughProxy: boolean): Promise<HttpFigures> {
  // The server runs in its own process, as in production; this process plays the clients.
  const name = throughProxy ? 'proxied' : 'http';
  const keysDir = join(backend.dir, `keys-${name}`);
  await initKeys(keysDir);
  const secret = await loadIdentitySecret(keyPaths(keysDir).identitySecret);
  const server = await startDaemon(['server', 'start', '--port', '0', '--database', await backend.fresh(name), '--keys-dir', keysDir]);
  // Rate limits are a policy, not a cost: off, as in bench/stack.ts.
  const proxy = throughProxy
    ? await startDaemon(['proxy', 'start', '--port', '0', '--upstream', String(server.ready.url), '--keys-dir', keysDir, '--rate-limit-token', '0', '--rate-limit-tenant', '0'])
    : undefined;
  const signingKey = throughProxy ? await loadPrivateSigningKey(keyPaths(keysDir).privateSigningKey) : undefined;
  const pool = new Pool(String((proxy ?? server).ready.url), { connections: WORKERS * 2 });
  // Identity headers live a minute (common/identity.ts); a slow run outlasts that, so they are re-signed every 30 s.
  const signed = new Map<Identity, { header: Record<string, string>; at: number }>();
  const headersOf = async (identity: Identity): Promise<Record<string, string>> => {
    let entry = signed.get(identity);
    if (signingKey && !entry) {
      // A bearer token lives an hour: one per identity, as an agent or a CLI session holds one.
      const { token } = await createToken({ tenant: identity.tenant, role: identity.role, subject: identity.subject, ttlSeconds: 3600 }, signingKey);
      entry = { header: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, at: Infinity };
      signed.set(identity, entry);
    }
    if (!entry || performance.now() - entry.at > 30_000) {
      entry = { header: { 'content-type': 'application/json', 'x-fluxo-identity': await signIdentity(identity, secret) }, at: performance.now() };
      signed.set(identity, entry);
    }
    return entry.header;
  };
  const call = async <T>(identity: Identity, query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await pool.request({ path: '/graphql', method: 'POST', headers: await headersOf(identity), body: JSON.stringify({ query, variables }) });
    const body = (await response.body.json()) as { data: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  await call(developer, 'mutation($i: RegisterFlowInput!) { registerFlow(input: $i) { created } }', { i: flowInput });
  const { registerAgent } = await call<{ registerAgent: { id: string } }>(agent, 'mutation { registerAgent(input: { name: "a", labels: [], concurrency: 1000 }) { id } }', {});
  const setState = 'mutation($i: SetFlowRunStateInput!) { setFlowRunState(input: $i) { version } }';
  const serverCpu = cpuSeconds(server.pid);
  const proxyCpu = proxy ? cpuSeconds(proxy.pid) : 0;
  const seconds = await inWorkers(RUNS, WORKERS, async () => {
    await call(developer, 'mutation { createFlowRun(input: { flowName: "noop" }) { id } }', {});
    const { claimFlowRuns } = await call<{ claimFlowRuns: { leaseToken: string; flowRun: { id: string; version: number } }[] }>(
      agent, 'mutation($id: ID!) { claimFlowRuns(input: { agentId: $id, max: 1 }) { leaseToken flowRun { id version } } }', { id: registerAgent.id });
    const claim = claimFlowRuns[0];
    if (!claim) return;
    const base = { flowRunId: claim.flowRun.id, leaseToken: claim.leaseToken };
    const r = await call<{ setFlowRunState: { version: number } }>(agent, setState, { i: { ...base, expectedVersion: claim.flowRun.version, state: 'RUNNING' } });
    const entries = ENTRIES === 'none' ? null : entriesOf();
    if (entries && ENTRIES === 'separate') {
      await call(agent, 'mutation($i: SetTaskRunStatesInput!) { setTaskRunStates(input: $i) }', { i: { ...base, batchId: entries.batchId, states: entries.taskRunStates } });
      await call(agent, 'mutation($i: WriteLogsInput!) { writeLogs(input: $i) }', { i: { ...base, batchId: entries.batchId, lines: entries.logLines } });
    }
    await call(agent, setState, { i: { ...base, expectedVersion: r.setFlowRunState.version, state: 'SUCCESS', ...(entries && ENTRIES === 'batched' ? { batch: entries } : {}) } });
  });
  const figures = {
    runsPerSecond: RUNS / seconds,
    serverCpuMsPerRun: ((cpuSeconds(server.pid) - serverCpu) * 1000) / RUNS,
    proxyCpuMsPerRun: proxy ? ((cpuSeconds(proxy.pid) - proxyCpu) * 1000) / RUNS : null,
  };
  await pool.close();
  await proxy?.stop();
  await server.stop();
  return figures;
}

const backend = await startBackend(KIND, { pgSettings: pgSettings(values['pg-setting']) });
if (ENTRIES !== 'none') console.log(`entries per run: a task's two states and five log lines, ${ENTRIES === 'batched' ? 'riding with SUCCESS (4 requests per run)' : 'in setTaskRunStates and writeLogs (6 requests per run)'}`);
try {
  const service = values['skip-service'] ? null : await benchService(backend);
  const http = await benchHttp(backend, false);
  const proxied = values['through-proxy'] ? await benchHttp(backend, true) : null;
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const ms = (value: number | null | undefined) => (value == null ? null : Number(value.toFixed(3)));
  console.log(JSON.stringify({
    benchmark: 'server-throughput', ...backend.describe(), runs: RUNS, workers: WORKERS, load,
    serviceRunsPerSecond: service === null ? null : Math.round(service),
    httpRunsPerSecond: Math.round(http.runsPerSecond), httpServerCpuMsPerRun: ms(http.serverCpuMsPerRun),
    proxiedRunsPerSecond: proxied === null ? null : Math.round(proxied.runsPerSecond),
    proxiedServerCpuMsPerRun: ms(proxied?.serverCpuMsPerRun), proxiedProxyCpuMsPerRun: ms(proxied?.proxyCpuMsPerRun),
  }));
  const cpu = (figures: HttpFigures) =>
    `server ${figures.serverCpuMsPerRun.toFixed(2)}${figures.proxyCpuMsPerRun === null ? '' : ` + proxy ${figures.proxyCpuMsPerRun.toFixed(2)}`} CPU ms/run`;
  console.log(
    `server-only throughput, ${KIND}, ${RUNS} runs, ${WORKERS} workers, load ${load}: ${service === null ? '-' : service.toFixed(0)} runs/s through the service, ` +
      `${http.runsPerSecond.toFixed(0)} runs/s through GraphQL over HTTP (${cpu(http)})` +
      `${proxied === null ? '' : `, ${proxied.runsPerSecond.toFixed(0)} runs/s through the proxy (${cpu(proxied)})`} (target >= ${TARGET.toLocaleString('en')})`,
  );
} finally {
  await backend.stop();
}
