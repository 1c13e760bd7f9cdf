// A real fluxo stack for end-to-end tests: server, auth proxy and agents as separate processes
// (the built CLI), with keys in a temporary directory and tokens minted for any tenant and role.
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { createToken } from '../../auth-proxy/tokens.js';
import { GraphQLClient } from '../../client/graphql-client.js';
import type { Role } from '../../common/identity.js';
import { initKeys, loadPrivateSigningKey } from '../../common/keys.js';
import { cliPath, onCleanup, repoRoot, tempDir } from './harness.js';
import { startDaemon, type Daemon } from './daemon.js';

export interface Stack {
  dir: string;
  keysDir: string;
  storageUri: string;
  server: Daemon;
  proxy: Daemon;
  /** The proxy's GraphQL URL. */
  apiUrl: string;
  /** The server's own URL (not behind the proxy). */
  serverUrl: string;
  token(role: Role, tenant?: string, ttlSeconds?: number): Promise<string>;
  client(role: Role, tenant?: string): Promise<GraphQLClient>;
  startAgent(options?: StartAgentOptions): Promise<Daemon>;
  /** Runs `fluxo ...args` with the API and a token of `role` in the environment. */
  cli(args: string[], options?: { role?: Role; tenant?: string; env?: Record<string, string> }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The database every server of the stack uses (a SQLite file unless `database` was given). */
  database: string;
  /** The arguments `fluxo server start` gets, for a server on `port` (0: a free one). */
  serverArgs(port?: number): string[];
  /**
   * Starts another server replica on the stack's database (PostgreSQL), and a proxy in front of
   * it unless `proxy: false`. `serverPort` restarts a replica on the port it had.
   */
  startReplica(options?: { serverPort?: number; proxy?: boolean }): Promise<Replica>;
}

/** A server and the proxy in front of it (the stack's first ones, or another replica). */
export interface Replica {
  server: Daemon;
  proxy: Daemon | null;
  serverUrl: string;
  /** The proxy's GraphQL URL (null without a proxy). */
  apiUrl: string | null;
}

export interface StackOptions {
  /** @default 30 */
  leaseSeconds?: number;
  /** A database URL or path for the server(s). @default a SQLite file in the stack's directory */
  database?: string;
  /** More arguments for every `fluxo server start` of the stack. @default [] */
  serverArgs?: string[];
  /** More arguments for the stack's `fluxo proxy start` (e.g. a short `--service-token-cache-seconds`). @default [] */
  proxyArgs?: string[];
}

export interface StartAgentOptions {
  name?: string;
  labels?: string[];
  concurrency?: number;
  tenant?: string;
  extraArgs?: string[];
  /**
   * Run the `fluxo-agent` single executable instead of `fluxo agent start`: `true` for
   * {@link agentBinaryPath} (built by `npm run build:agent-binary`), or the path of a copy. @default false
   */
  binary?: boolean | string;
  /** Extra environment variables of the agent process (on top of the test's own). @default {} */
  env?: Record<string, string>;
  /** The GraphQL URL the agent talks to (another replica's proxy). @default the stack's proxy */
  apiUrl?: string;
}

export const TENANT = 'rj-escritorio';

/** The agent as a single executable (scripts/build-agent-binary.mjs). */
export const agentBinaryPath = join(repoRoot, 'dist', 'bin', 'fluxo-agent');

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await tempDir('fluxo-stack-');
  // Like /tmp (sticky, world-writable): agents started as root run flows as the unprivileged user
  // fluxo-run (agent/run-as.ts), and test flows write their witness files here. Keys stay in keys/ (0700).
  await chmod(dir, 0o1777);
  const keysDir = join(dir, 'keys');
  await initKeys(keysDir);
  const privateKey = await loadPrivateSigningKey(join(keysDir, 'token-signing.private.jwk.json'));
  const database = options.database ?? join(dir, 'fluxo.db');
  const serverArgs = (port = 0): string[] => [
    'server', 'start', '--port', String(port), '--database', database, '--keys-dir', keysDir,
    '--lease-seconds', String(options.leaseSeconds ?? 30), '--reaper-interval-ms', '200', ...(options.serverArgs ?? []),
  ];
  const server = await startDaemon(serverArgs());
  const serverUrl = String(server.ready.url);
  const proxy = await startDaemon(['proxy', 'start', '--port', '0', '--upstream', serverUrl, '--keys-dir', keysDir, ...(options.proxyArgs ?? [])]);
  const apiUrl = `${String(proxy.ready.url)}/graphql`;
  const token = async (role: Role, tenant = TENANT, ttlSeconds = 3600) =>
    (await createToken({ tenant, role, subject: `${role}-test@${tenant}`, ttlSeconds }, privateKey)).token;
  const clients: GraphQLClient[] = [];
  onCleanup(async () => {
    for (const client of clients) await client.close();
  });
  let agentCount = 0;
  return {
    dir,
    keysDir,
    storageUri: pathToFileURL(join(dir, 'storage')).href,
    server,
    proxy,
    apiUrl,
    serverUrl,
    token,
    async client(role, tenant) {
      const client = new GraphQLClient({ apiUrl, token: await token(role, tenant) });
      clients.push(client);
      return client;
    },
    database,
    serverArgs,
    async startReplica({ serverPort = 0, proxy: withProxy = true } = {}) {
      const replica = await startDaemon(serverArgs(serverPort));
      const url = String(replica.ready.url);
      const front = withProxy ? await startDaemon(['proxy', 'start', '--port', '0', '--upstream', url, '--keys-dir', keysDir]) : null;
      return { server: replica, proxy: front, serverUrl: url, apiUrl: front ? `${String(front.ready.url)}/graphql` : null };
    },
    async startAgent({ name = `agent-${++agentCount}`, labels = [], concurrency = 4, tenant = TENANT, extraArgs = [], binary = false, env = {}, apiUrl: agentApiUrl = apiUrl } = {}) {
      const args = ['start', '--api', agentApiUrl, '--name', name, '--labels', labels.join(','), '--concurrency', String(concurrency), '--work-dir', join(dir, name), ...extraArgs];
      // In the environment, never on the command line (/proc/<pid>/cmdline is world-readable); `env` may replace it.
      const agentEnv = { FLUXO_TOKEN: await token('agent', tenant), ...env };
      if (binary === false) return startDaemon(['agent', ...args], { env: agentEnv });
      return startDaemon(args, { env: agentEnv, executable: binary === true ? agentBinaryPath : binary });
    },
    async cli(args, { role = 'developer', tenant = TENANT, env = {} } = {}) {
      const result = await execa(process.execPath, [cliPath, ...args], {
        env: { FLUXO_API: apiUrl, FLUXO_TOKEN: await token(role, tenant), ...env },
        reject: false,
        timeout: 120_000,
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
  };
}
