// A `fluxo server start` process for the benchmarks, and a GraphQL client that calls it straight
// with proxy-signed identities (the proxy is not in the path: what agents and users pay on the
// server, as in server-throughput.ts).
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnDaemon } from '../cli/daemon-process.js';
import { signIdentity, type Identity } from '../common/identity.js';
import { initKeys, keyPaths, loadIdentitySecret } from '../common/keys.js';
import type { FluxoService } from '../server/core/service.js';
import type { AgentRecord } from '../server/store/records.js';

export const developer: Identity = { subject: 'bench', tenant: 'bench', role: 'developer' };
export const agentIdentity: Identity = { subject: 'bench-agent', tenant: 'bench', role: 'agent' };
export const noopFlow = {
  project: 'production', name: 'noop', storageUri: 'file:///tmp/noop.mjs', sha256: '0'.repeat(64), size: 1, entrypoint: 'noop',
};

export interface BenchServer {
  pid: number;
  /** One GraphQL request; throws on GraphQL errors. */
  call<T>(identity: Identity, query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/** Starts a server on `database` (a SQLite path or postgres:// URL) with keys in `dir`. */
export async function startBenchServer(database: string, dir: string, connections = 32): Promise<BenchServer> {
  const keysDir = join(dir, 'keys');
  await initKeys(keysDir);
  const secret = await loadIdentitySecret(keyPaths(keysDir).identitySecret);
  const server = await spawnDaemon(['server', 'start', '--port', '0', '--database', database, '--keys-dir', keysDir], { env: { FLUXO_LOG_LEVEL: 'info' } });
  const pool = new Pool(String(server.ready.url), { connections });
  const signed = new Map<string, string>();
  const headers = async (identity: Identity): Promise<Record<string, string>> => {
    // Identity headers are valid 60 s: sign a fresh one every 30 s.
    const key = `${identity.subject}:${Math.floor(Date.now() / 30_000)}`;
    let header = signed.get(key);
    if (!header) signed.set(key, (header = await signIdentity(identity, secret)));
    return { 'content-type': 'application/json', 'x-fluxo-identity': header };
  };
  return {
    pid: server.pid,
    async call<T>(identity: Identity, query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const response = await pool.request({ path: '/graphql', method: 'POST', headers: await headers(identity), body: JSON.stringify({ query, variables }) });
      const body = (await response.body.json()) as { data: T; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    },
    async stop() {
      await pool.close();
      await server.stop();
    },
  };
}

/** p50, p99 and max of a list of milliseconds, rounded to 0.01 ms. */
export function percentiles(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => +(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN).toFixed(2);
  return { p50: at(0.5), p99: at(0.99), max: at(1), n: sorted.length };
}

/**
 * Every agent claims one run per call, all at once, until none is left: the time (ms) of every
 * call that returned a run. What claim-latency.ts and claim-limits.ts measure.
 */
export async function claimUntilEmpty(service: FluxoService, agents: AgentRecord[]): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(agents.map(async (agent) => {
    for (;;) {
      const started = performance.now();
      const claims = await service.claimFlowRuns(agentIdentity, { agentId: agent.id, max: 1 });
      if (claims.length === 0) return;
      times.push(performance.now() - started);
    }
  }));
  return times;
}
