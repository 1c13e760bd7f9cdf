// `fluxo dev`: the whole hybrid model on one machine, on the embedded default. Starts the server,
// the auth proxy and one agent as separate processes (as in production), registers the example
// flows, runs each once, writes <data-dir>/dev.json, and keeps running until Ctrl-C. The agent's
// data path is the embedded default too: a file:// lake and a DuckDB warehouse under the data dir,
// and the example dbt project (examples/dbt/br_ibge_pib) when dbt can be installed (Python).
import { Command } from 'commander';
import { execa } from 'execa';
import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createToken } from '../../auth-proxy/tokens.js';
import { GraphQLClient } from '../../client/graphql-client.js';
import { FluxoError } from '../../common/errors.js';
import { isFinalState } from '../../contract/states.js';
import type {
  CreateFlowRunInput,
  DevCreateFlowRunMutation,
  DevCreateFlowRunMutationVariables,
  DevRunLogsQuery,
  DevRunLogsQueryVariables,
  DevRunStateQuery,
  DevRunStateQueryVariables,
} from '../../schema/generated/operations.js';
import { initKeys, loadPrivateSigningKey } from '../../common/keys.js';
import { assertReachable, resolveRunAs } from '../../agent/run-as.js';
import { cliEntry, spawnDaemon, type DaemonProcess } from '../daemon-process.js';
import { serveExampleData } from '../dev/serve-example-data.js';

const examplesDir = fileURLToPath(new URL('../../../examples', import.meta.url));
const scriptsDir = fileURLToPath(new URL('../../../scripts', import.meta.url));

/** The example flows `fluxo dev` registers. */
const EXAMPLE_MODULES = ['municipios.ts', 'retry.ts', 'parameters.ts', 'sleep.ts', 'br_ibge_pib.ts'];

interface DevOptions {
  dataDir: string;
  port: string;
  tenant: string;
  runExamples: boolean;
  exitAfterExamples: boolean;
  verbose: boolean;
}


/** The example runs `fluxo dev` creates, with parameters that work offline. */
function exampleRuns(dataUrl: string, dataDir: string, outputDir: string): { flowName: string; parameters: Record<string, unknown> }[] {
  return [
    { flowName: 'municipios', parameters: { url: `${dataUrl}/municipios.json`, outputDir } },
    { flowName: 'flaky-retry', parameters: {} },
    { flowName: 'typed-parameters', parameters: { dataDir } },
    { flowName: 'br-ibge-pib', parameters: { dataUrl } },
  ];
}

/**
 * The agent's work dir and the examples' output directory. As root, the agent runs flows as its
 * run user, who must reach the work dir and write the output: under the data dir when the run user
 * can traverse it, else in a fresh directory under the temp dir (a data dir in /root, which is 0700).
 */
async function agentPlaces(dataDir: string): Promise<{ agentDir: string; outputDir: string }> {
  const runAs = resolveRunAs(undefined);
  let base = dataDir;
  if (runAs) {
    try {
      assertReachable(join(dataDir, 'agent'), runAs, 'x', 'the run user');
    } catch {
      base = await mkdtemp(join(tmpdir(), 'fluxo-dev-'));
      await chmod(base, 0o711);
      process.stdout.write(`the run user ${runAs.user} cannot reach ${dataDir}: the agent works in ${base}\n`);
    }
  }
  const outputDir = join(base, 'output');
  await mkdir(outputDir, { recursive: true });
  if (runAs) await chown(outputDir, runAs.uid, runAs.gid);
  return { agentDir: join(base, 'agent'), outputDir };
}

/**
 * Flows run as another user and must not read the server's state: its database (every tenant's
 * runs and logs; SQLite gives its -wal and -shm files the database's mode) and every tenant's
 * bundles stay the owner's. The keys directory is 0700 already.
 */
async function closeToFlows(dataDir: string): Promise<void> {
  for (const name of ['fluxo.db', 'fluxo.db-wal', 'fluxo.db-shm']) await chmod(join(dataDir, name), 0o600).catch(() => undefined);
  await mkdir(join(dataDir, 'storage'), { recursive: true, mode: 0o700 });
  await chmod(join(dataDir, 'storage'), 0o700);
}

/**
 * The agent's data settings on the embedded default: the lake and the DuckDB warehouse under the
 * data dir, DuckDB's spatial extension (fetched once from PyPI by a Node script), and dbt with the
 * example project when it can be installed (a Python virtualenv). Without Python the example
 * pipeline builds its dbt model from the model's SQL instead, and says so in its log.
 */
async function dataSettings(dataDir: string, say: (text: string) => void): Promise<{ lake: string; warehouse: string; dbt?: { project: string; profilesDir: string; executable: string } }> {
  const lakeDir = join(dataDir, 'lake');
  await mkdir(lakeDir, { recursive: true, mode: 0o700 });
  const settings = { lake: pathToFileURL(lakeDir).href, warehouse: `duckdb://${join(dataDir, 'warehouse.duckdb')}` };
  const spatial = await execa(process.execPath, [join(scriptsDir, 'ensure-duckdb-spatial.mjs')], { reject: false });
  if (spatial.exitCode !== 0) throw new FluxoError('INTERNAL_SERVER_ERROR', `could not install DuckDB's spatial extension:\n${spatial.stderr}`);
  const dbt = await execa('bash', [join(scriptsDir, 'ensure-dbt.sh')], { reject: false });
  if (dbt.exitCode !== 0) {
    say(`dbt could not be installed (it needs Python 3 with venv and pip), so the agent has no dbt project:\n${dbt.stderr.trim().split('\n').slice(-3).join('\n')}`);
    return settings;
  }
  const project = join(examplesDir, 'dbt', 'br_ibge_pib');
  return { ...settings, dbt: { project, profilesDir: project, executable: dbt.stdout.trim() } };
}

/** What a br-ibge-pib run says about dbt and its report: the figures a person can check. */
async function reportLines(client: GraphQLClient, id: string): Promise<string[]> {
  const { flowRun } = await client.request<DevRunLogsQuery>(
    /* GraphQL */ `query DevRunLogs($id: ID!) { flowRun(id: $id) { logs(first: 1000) { nodes { message taskRunKey } } } }`,
    { id } satisfies DevRunLogsQueryVariables,
  );
  if (!flowRun) return [];
  return flowRun.logs.nodes.filter((line) => /^(dbt|report)#/.test(line.taskRunKey ?? '') && !/^\s*\d\d:\d\d:\d\d/.test(line.message)).map((line) => line.message);
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run server + proxy + agent on this machine (SQLite, local storage), register and run the examples')
    .option('--data-dir <dir>', 'where the database, bundles, keys and dev.json live', '.fluxo-dev')
    .option('--port <port>', 'the proxy port (the API is http://127.0.0.1:<port>/graphql)', '4000')
    .option('--tenant <tenant>', 'the tenant of the dev tokens', 'rj-escritorio')
    .option('--no-run-examples', 'register the examples without running them')
    .option('--exit-after-examples', 'stop everything once the example runs ended; exit 1 unless all succeeded', false)
    .option('--verbose', 'print every daemon log line', false)
    .action(async (options: DevOptions) => {
      const dataDir = resolve(options.dataDir);
      const keysDir = join(dataDir, 'keys');
      // Bundles live in <data-dir>/storage/<tenant>: the server and the agent are confined to it.
      const storageUri = `${pathToFileURL(join(dataDir, 'storage')).href}/{tenant}`;
      await mkdir(dataDir, { recursive: true });
      await initKeys(keysDir);
      const privateKey = await loadPrivateSigningKey(join(keysDir, 'token-signing.private.jwk.json'));
      const token = async (role: 'admin' | 'agent', subject: string) =>
        (await createToken({ tenant: options.tenant, role, subject, ttlSeconds: 30 * 86_400 }, privateKey)).token;
      const adminToken = await token('admin', 'dev-admin');
      const developerToken = (await createToken({ tenant: options.tenant, role: 'developer', subject: 'dev-developer', ttlSeconds: 30 * 86_400 }, privateKey)).token;
      const agentToken = await token('agent', 'dev-agent');

      const daemons: DaemonProcess[] = [];
      const say = (text: string): void => void process.stdout.write(`${text}\n`);
      const printer = (name: string) => (line: string) => {
        if (options.verbose) process.stdout.write(`[${name}] ${line}\n`);
        else if (/"level":(50|60)/.test(line)) process.stderr.write(`[${name}] ${line}\n`);
      };
      const stopAll = async (): Promise<void> => {
        for (const daemon of daemons.reverse()) await daemon.stop(5_000);
      };
      let data: Awaited<ReturnType<typeof serveExampleData>> | undefined;
      try {
        const server = await spawnDaemon(['server', 'start', '--port', '0', '--database', join(dataDir, 'fluxo.db'), '--keys-dir', keysDir, '--storage-root', storageUri], { onLine: printer('server') });
        daemons.push(server);
        await closeToFlows(dataDir);
        const proxy = await spawnDaemon(['proxy', 'start', '--port', options.port, '--upstream', String(server.ready.url), '--keys-dir', keysDir], { onLine: printer('proxy') });
        daemons.push(proxy);
        const apiUrl = `${String(proxy.ready.url)}/graphql`;
        // The agent's token in a 0600 file, not on its command line (readable by every process);
        // flows run as the agent's run user (fluxo-run, as dev runs as root in CI), never as root.
        const { agentDir, outputDir } = await agentPlaces(dataDir);
        const tokenFile = join(dataDir, 'agent.token');
        await writeFile(tokenFile, `${agentToken}\n`, { mode: 0o600 });
        await chmod(tokenFile, 0o600);
        // The data settings stay with the agent (docs/data.md); flows name datasets, never places.
        const dataPath = await dataSettings(dataDir, say);
        const dataConfigFile = join(dataDir, 'data.json');
        await writeFile(dataConfigFile, `${JSON.stringify(dataPath, null, 2)}\n`, { mode: 0o600 });
        const agent = await spawnDaemon(['agent', 'start', '--api', apiUrl, '--name', 'dev-agent', '--concurrency', '4', '--work-dir', agentDir, '--token-file', tokenFile, '--storage-root', storageUri.replace('{tenant}', options.tenant), '--data-config', dataConfigFile], {
          env: { FLUXO_TOKEN: '' },
          onLine: printer('agent'),
        });
        daemons.push(agent);
        say(`fluxo dev: server ${String(server.ready.url)}, proxy ${String(proxy.ready.url)}, agent ${String(agent.ready.name ?? 'dev-agent')} (${options.tenant})`);

        const registration = await execa(process.execPath, [cliEntry, 'register', ...EXAMPLE_MODULES.map((name) => join(examplesDir, name)), '--project', 'production', '--storage', storageUri], {
          env: { FLUXO_API: apiUrl, FLUXO_TOKEN: developerToken },
          reject: false,
        });
        process.stdout.write(registration.stdout ? `${registration.stdout}\n` : '');
        if (registration.exitCode !== 0) throw new FluxoError('INTERNAL_SERVER_ERROR', `registering the examples failed:\n${registration.stderr}`);

        const devInfo = { apiUrl, adminToken, developerToken, tenant: options.tenant, storage: storageUri, dataDir, lake: dataPath.lake, warehouse: dataPath.warehouse };
        await writeFile(join(dataDir, 'dev.json'), `${JSON.stringify(devInfo, null, 2)}\n`, { mode: 0o600 });
        say(`web interface: ${String(proxy.ready.url)}/ (paste adminToken or developerToken from dev.json as the Token)`);
        say(`wrote ${join(dataDir, 'dev.json')}; try:\n  export FLUXO_API=${apiUrl} FLUXO_TOKEN=$(node -p "require('${join(dataDir, 'dev.json')}').adminToken")\n  fluxo flows list`);

        let allSucceeded = true;
        if (options.runExamples) {
          data = await serveExampleData(join(examplesDir, 'data'));
          const client = new GraphQLClient({ apiUrl, token: developerToken });
          const runs = await Promise.all(
            exampleRuns(data.url, join(examplesDir, 'data'), outputDir).map(async (example) => {
              const { createFlowRun } = await client.request<DevCreateFlowRunMutation>(
                /* GraphQL */ `mutation DevCreateFlowRun($input: CreateFlowRunInput!) { createFlowRun(input: $input) { id } }`,
                { input: example satisfies CreateFlowRunInput } satisfies DevCreateFlowRunMutationVariables,
              );
              return { ...example, id: createFlowRun.id };
            }),
          );
          for (const run of runs) {
            let state: string = 'SCHEDULED';
            // The data pipeline lands 51,511 rows and runs dbt: minutes on a busy laptop, not seconds.
            const deadline = Date.now() + 600_000;
            while (!isFinalState(state) && Date.now() < deadline) {
              await new Promise((wake) => setTimeout(wake, 200));
              const { flowRun } = await client.request<DevRunStateQuery>(/* GraphQL */ `query DevRunState($id: ID!) { flowRun(id: $id) { state } }`, { id: run.id } satisfies DevRunStateQueryVariables);
              if (!flowRun) throw new FluxoError('NOT_FOUND', `example run ${run.id} disappeared from the dev server`);
              state = flowRun.state;
            }
            allSucceeded &&= state === 'SUCCESS';
            say(`run ${run.flowName} ${run.id}: ${state}`);
            if (run.flowName === 'br-ibge-pib' && state === 'SUCCESS') {
              for (const line of await reportLines(client, run.id)) say(`  ${line}`);
            }
          }
        }
        if (options.exitAfterExamples) {
          await stopAll();
          await data?.close();
          process.exit(allSucceeded ? 0 : 1);
        }
        say('fluxo dev is running; Ctrl-C stops it');
        const shutdown = async (): Promise<void> => {
          await stopAll();
          await data?.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
      } catch (error) {
        await stopAll();
        await data?.close();
        throw error;
      }
    });
}
