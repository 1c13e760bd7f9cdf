// A fluxo stack for benchmarks: server, proxy and agents as separate processes, like production.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { createToken } from '../auth-proxy/tokens.js';
import { GraphQLClient } from '../client/graphql-client.js';
import { initKeys, loadPrivateSigningKey } from '../common/keys.js';
import { cliEntry, spawnDaemon, type DaemonProcess } from '../cli/daemon-process.js';

export interface BenchStack {
  dir: string;
  apiUrl: string;
  storageUri: string;
  client: GraphQLClient;
  register(path: string): Promise<void>;
  startAgent(args?: string[]): Promise<DaemonProcess>;
  stop(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'fluxo-bench-'));
  // A root agent runs flows as fluxo-run, which must traverse to its run directory (agent/run-as.ts).
  await chmod(dir, 0o711);
  const daemons: DaemonProcess[] = [];
  const keysDir = join(dir, 'keys');
  await initKeys(keysDir);
  const key = await loadPrivateSigningKey(join(keysDir, 'token-signing.private.jwk.json'));
  const token = async (role: 'developer' | 'agent') => (await createToken({ tenant: 'bench', role }, key)).token;
  const env = { FLUXO_LOG_LEVEL: 'info' };
  const server = await spawnDaemon(['server', 'start', '--port', '0', '--database', join(dir, 'fluxo.db'), '--keys-dir', keysDir], { env });
  daemons.push(server);
  // Rate limits are a policy, not a cost: off, so the benchmarks measure throughput (docs/auth-proxy.md).
  const proxy = await spawnDaemon(['proxy', 'start', '--port', '0', '--upstream', String(server.ready.url), '--keys-dir', keysDir, '--rate-limit-token', '0', '--rate-limit-tenant', '0'], { env });
  daemons.push(proxy);
  const apiUrl = `${String(proxy.ready.url)}/graphql`;
  const storageUri = pathToFileURL(join(dir, 'storage')).href;
  const developerToken = await token('developer');
  const agentToken = await token('agent');
  const client = new GraphQLClient({ apiUrl, token: developerToken });
  let agents = 0;
  return {
    dir,
    apiUrl,
    storageUri,
    client,
    async register(path) {
      await execa(process.execPath, [cliEntry, 'register', path, '--project', 'production', '--storage', storageUri], {
        env: { FLUXO_API: apiUrl, FLUXO_TOKEN: developerToken },
      });
    },
    async startAgent(args = []) {
      const name = `bench-${++agents}`;
      const agent = await spawnDaemon(['agent', 'start', '--api', apiUrl, '--name', name, '--work-dir', join(dir, name), ...args], {
        env: { ...env, FLUXO_TOKEN: agentToken },
      });
      daemons.push(agent);
      return agent;
    },
    async stop() {
      await client.close();
      for (const daemon of daemons.reverse()) await daemon.stop(3_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
