// What the auth proxy adds per request, and how many verified requests it forwards per core.
//
//   npm run build && node dist/bench/proxy-overhead.js [--requests 2000] [--clients 32] [--seconds 8] [--fresh-tokens 12000]
//
// Server and proxy run as separate processes (as in production, logging at info); this process
// plays the clients over keep-alive connections. A small query (`{ viewer { tenant role } }`, no
// database read) goes
//   - straight to the server, with an identity header signed here (what the server alone costs),
//   - through the proxy, with a bearer token (what a client pays).
// Latency: the two alternate, one request at a time, so both see the same machine. Throughput: N
// concurrent clients through one proxy process for a fixed time, once with one token (the
// verifier's cache answers after the first request) and once with a fresh token per request (a
// full EdDSA signature check each time); "per core" divides by the proxy's CPU time from /proc.
// Rate limits are off: this measures the proxy, not a policy.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { createToken } from '../auth-proxy/tokens.js';
import { spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';
import { signIdentity, type Identity } from '../common/identity.js';
import { initKeys, keyPaths, loadIdentitySecret, loadPrivateSigningKey } from '../common/keys.js';
import { percentiles } from './bench-server.js';
import { cpuSeconds } from './proc.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '8' },
    'fresh-tokens': { type: 'string', default: '12000' },
  },
});
const REQUESTS = Number(values.requests);
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const FRESH_TOKENS = Number(values['fresh-tokens']);
const BODY = JSON.stringify({ query: '{ viewer { tenant role } }' });
const identity: Identity = { subject: 'bench', tenant: 'bench', role: 'viewer' };

/** p50 and p99 of a list of milliseconds, rounded to 0.01 ms. */
function p50AndP99(samples: number[]): { p50: number; p99: number } {
  const { p50, p99 } = percentiles(samples);
  return { p50, p99 };
}

async function send(pool: Pool, headers: Record<string, string>): Promise<void> {
  const response = await pool.request({ path: '/graphql', method: 'POST', headers, body: BODY });
  const text = await response.body.text();
  if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
}

/** Requests through `pool` from CLIENTS concurrent loops for SECONDS (or until `headers` runs out); count, elapsed s and proxy CPU s. */
async function saturate(pool: Pool, proxy: DaemonProcess, headers: () => Record<string, string> | undefined) {
  const cpuBefore = cpuSeconds(proxy.pid);
  const started = performance.now();
  let completed = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        if (performance.now() - started > SECONDS * 1000) return;
        const next = headers();
        if (!next) return;
        await send(pool, next);
        completed += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { completed, elapsed, proxyCpu: cpuSeconds(proxy.pid) - cpuBefore };
}

const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-proxy-'));
const daemons: DaemonProcess[] = [];
try {
  const keysDir = join(dir, 'keys');
  await initKeys(keysDir);
  const secret = await loadIdentitySecret(keyPaths(keysDir).identitySecret);
  const privateKey = await loadPrivateSigningKey(keyPaths(keysDir).privateSigningKey);
  const env = { FLUXO_LOG_LEVEL: 'info' };
  const server = await spawnDaemon(['server', 'start', '--port', '0', '--database', join(dir, 'fluxo.db'), '--keys-dir', keysDir], { env });
  daemons.push(server);
  const proxy = await spawnDaemon(['proxy', 'start', '--port', '0', '--upstream', String(server.ready.url), '--keys-dir', keysDir, '--rate-limit-token', '0', '--rate-limit-tenant', '0'], { env });
  daemons.push(proxy);

  const mint = async () => (await createToken({ tenant: identity.tenant, role: identity.role, subject: identity.subject, ttlSeconds: 3600 }, privateKey)).token;
  const viaProxy = { 'content-type': 'application/json', authorization: `Bearer ${await mint()}` };
  // Identity headers live a minute; re-signed every 30 s for a long run.
  let direct = { 'content-type': 'application/json', 'x-fluxo-identity': await signIdentity(identity, secret) };
  let signedAt = performance.now();
  const directHeaders = async () => {
    if (performance.now() - signedAt > 30_000) {
      direct = { ...direct, 'x-fluxo-identity': await signIdentity(identity, secret) };
      signedAt = performance.now();
    }
    return direct;
  };

  const serverPool = new Pool(String(server.ready.url), { connections: CLIENTS });
  const proxyPool = new Pool(String(proxy.ready.url), { connections: CLIENTS });

  // Latency, one request at a time, alternating.
  for (let index = 0; index < 200; index += 1) {
    await send(serverPool, await directHeaders());
    await send(proxyPool, viaProxy);
  }
  const straight: number[] = [];
  const proxied: number[] = [];
  for (let index = 0; index < REQUESTS; index += 1) {
    let started = performance.now();
    await send(serverPool, await directHeaders());
    straight.push(performance.now() - started);
    started = performance.now();
    await send(proxyPool, viaProxy);
    proxied.push(performance.now() - started);
  }

  // Throughput: one token, then a fresh token per request.
  const cached = await saturate(proxyPool, proxy, () => viaProxy);
  const tokens: string[] = [];
  for (let index = 0; index < FRESH_TOKENS; index += 1) tokens.push(await mint());
  const fresh = await saturate(proxyPool, proxy, () => {
    const token = tokens.pop();
    return token === undefined ? undefined : { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  });
  await serverPool.close();
  await proxyPool.close();

  const ms = (value: number) => value.toFixed(2);
  const result = {
    benchmark: 'proxy-overhead',
    cores: cpus().length,
    loadAverage: loadavg().map((value) => Number(value.toFixed(2))),
    requests: REQUESTS,
    clients: CLIENTS,
    latencyMs: {
      straight: p50AndP99(straight),
      proxied: p50AndP99(proxied),
    },
    throughput: {
      cachedToken: { requestsPerSecond: Math.round(cached.completed / cached.elapsed), perProxyCpuSecond: Math.round(cached.completed / cached.proxyCpu) },
      freshTokens: { requests: fresh.completed, requestsPerSecond: Math.round(fresh.completed / fresh.elapsed), perProxyCpuSecond: Math.round(fresh.completed / fresh.proxyCpu) },
    },
  };
  console.log(JSON.stringify(result));
  const { latencyMs: l, throughput: t } = result;
  console.log(`
| path | p50 | p99 |
|---|---|---|
| straight to the server (signed identity header) | ${ms(l.straight.p50)} ms | ${ms(l.straight.p99)} ms |
| through the proxy (bearer token) | ${ms(l.proxied.p50)} ms | ${ms(l.proxied.p99)} ms |
| **added by the proxy** | **${ms(l.proxied.p50 - l.straight.p50)} ms** | ${ms(l.proxied.p99 - l.straight.p99)} ms |

| through one proxy process, ${CLIENTS} clients | requests/s | per proxy CPU-second |
|---|---|---|
| one token (verification cached) | ${t.cachedToken.requestsPerSecond} | ${t.cachedToken.perProxyCpuSecond} |
| a fresh token per request (EdDSA verified each time) | ${t.freshTokens.requestsPerSecond} | ${t.freshTokens.perProxyCpuSecond} |

${result.cores} cores, load average ${result.loadAverage.join(' / ')} at the end.`);
} finally {
  for (const daemon of daemons.reverse()) await daemon.stop(3_000);
  await rm(dir, { recursive: true, force: true });
}
