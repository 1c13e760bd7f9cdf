// `fluxo agent start`: the agent daemon (agent/agent.ts) behind flags and FLUXO_* variables.
// Precedence: flag, then environment variable, then the default of agent/config.ts.
import type { Command } from 'commander';
import { startAgent } from './agent.js';
import { resolveAgentConfig } from './config.js';
import { AgentEventEmitter } from './events.js';
import { logAgentEvents } from './log-events.js';
import { FluxoError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { failWith } from '../client/exit-codes.js';

interface AgentStartOptions {
  api?: string;
  token?: string;
  tokenFile?: string;
  runAs?: string;
  name?: string;
  labels?: string;
  concurrency?: string;
  workDir?: string;
  heartbeatSeconds?: string;
  cancelGraceSeconds?: string;
  stopTimeoutSeconds?: string;
  passEnv?: string;
  secretsFile?: string;
  secretsFromEnv?: string;
  spoolMaxBytes?: string;
  flushIntervalMs?: string;
  resultStorage?: string;
  metricsPort?: string;
  metricsHost?: string;
  caFile?: string;
  childMemoryMb?: string;
  warmChildIdleSeconds?: string;
  storageRoot?: string[];
  dataConfig?: string;
  dataMaxUploadMib?: string;
}

/** Adds `fluxo agent start`. */
export function registerAgentCommand(program: Command): void {
  const agent = program.command('agent').description('run an agent: claims flow runs by label and executes them in child processes');
  agent
    .command('start')
    .description('register with the server and run claimed flow runs until stopped (SIGTERM/SIGINT stop gracefully; a second signal stops at once)')
    .option('--api <url>', 'the proxy GraphQL URL (env FLUXO_API)', process.env.FLUXO_API)
    // No default from FLUXO_TOKEN here: a value on the command line is refused (runAgent), the variable is not.
    .option('--token <jwt>', 'refused: a command line is readable by every process of the host (/proc/<pid>/cmdline); use FLUXO_TOKEN or --token-file')
    .option('--token-file <path>', 'file holding the agent token (role agent), mode 0600, read at start (env FLUXO_TOKEN_FILE; else env FLUXO_TOKEN); never passed to flows', process.env.FLUXO_TOKEN_FILE)
    .option('--run-as <user[:group]>', 'OS user flows run as: USER[:GROUP], UID[:GID], FIRST-LAST[:GID] (a uid of its own per run), or self (env FLUXO_RUN_AS; default: fluxo-run when the agent is root, created if missing; never root)', process.env.FLUXO_RUN_AS)
    .option('--name <name>', 'agent name, unique in the tenant (env FLUXO_AGENT_NAME; default: host name)', process.env.FLUXO_AGENT_NAME)
    .option('--labels <a,b>', 'routing labels (env FLUXO_AGENT_LABELS)', process.env.FLUXO_AGENT_LABELS)
    .option('--concurrency <n>', 'flow runs at once (env FLUXO_AGENT_CONCURRENCY; default 1)', process.env.FLUXO_AGENT_CONCURRENCY)
    .option('--work-dir <dir>', 'bundle cache and run directories (env FLUXO_AGENT_WORK_DIR; default ~/.cache/fluxo and the temp dir)', process.env.FLUXO_AGENT_WORK_DIR)
    .option('--heartbeat-seconds <n>', 'seconds between lease renewals (default 10)', process.env.FLUXO_AGENT_HEARTBEAT_SECONDS)
    .option('--cancel-grace-seconds <n>', 'seconds between SIGTERM and SIGKILL on cancel (default 10)', process.env.FLUXO_AGENT_CANCEL_GRACE_SECONDS)
    .option('--stop-timeout-seconds <n>', 'on SIGTERM, seconds to let running flows finish (default 15)', process.env.FLUXO_AGENT_STOP_TIMEOUT_SECONDS)
    .option('--pass-env <NAMES>', 'extra environment variables flows receive, comma-separated (env FLUXO_AGENT_PASS_ENV)', process.env.FLUXO_AGENT_PASS_ENV)
    .option('--spool-max-bytes <n>', 'bytes of run states and logs kept on disk while the server is unreachable, all runs together (env FLUXO_AGENT_SPOOL_MAX_BYTES; default 268435456)', process.env.FLUXO_AGENT_SPOOL_MAX_BYTES)
    .option('--flush-interval-ms <n>', "longest a run's task states and logs wait before they are sent; what is left at the end rides with the final state (env FLUXO_AGENT_FLUSH_INTERVAL_MS; default 200)", process.env.FLUXO_AGENT_FLUSH_INTERVAL_MS)
    .option('--result-storage <uri>', 'where the agent stores task results: file:///dir or gs://bucket/prefix; flows never write it (env FLUXO_RESULT_STORAGE; default file://<work dir>/results)', process.env.FLUXO_RESULT_STORAGE)
    .option('--metrics-port <n>', 'serve /healthz and /metrics on this local port (env FLUXO_AGENT_METRICS_PORT; default: off)', process.env.FLUXO_AGENT_METRICS_PORT)
    .option('--metrics-host <addr>', 'address the metrics port binds (env FLUXO_AGENT_METRICS_HOST; default 127.0.0.1)', process.env.FLUXO_AGENT_METRICS_HOST)
    .option('--ca-file <path>', 'extra CA certificates (PEM) to trust for the API and proxies (env FLUXO_CA_FILE)', process.env.FLUXO_CA_FILE)
    .option('--child-memory-mb <n>', "heap limit of each flow's process in MiB, 0 for Node's default (env FLUXO_AGENT_CHILD_MEMORY_MB; default 1024)", process.env.FLUXO_AGENT_CHILD_MEMORY_MB)
    .option('--warm-child-idle-seconds <n>', "keep a flow process started ahead of demand while runs arrive, ended after this many seconds without one; 0: off (env FLUXO_AGENT_WARM_CHILD_IDLE_SECONDS; default 30)", process.env.FLUXO_AGENT_WARM_CHILD_IDLE_SECONDS)
    .option('--secrets-file <path>', 'NAME=value lines: values of the secrets flows declare, after those the tenant stored (env FLUXO_AGENT_SECRETS_FILE)', process.env.FLUXO_AGENT_SECRETS_FILE)
    .option('--secrets-from-env <NAMES>', "this agent's environment variables, comma-separated, that may be the values of declared secrets of the same name; no other variable ever is (env FLUXO_AGENT_SECRETS_FROM_ENV)", process.env.FLUXO_AGENT_SECRETS_FROM_ENV)
    .option(
      '--data-config <file>',
      "data settings for the runs' fluxo/data work, JSON with lake, warehouse, dbt, google; FLUXO_LAKE, FLUXO_WAREHOUSE, FLUXO_DBT_PROJECT override its fields (env FLUXO_DATA_CONFIG; default: none)",
      process.env.FLUXO_DATA_CONFIG,
    )
    .option('--data-max-upload-mib <n>', "MiB of a run's streamed files (fluxo/data csv/parquet sources) kept on the agent's disk at once; past it the request fails (env FLUXO_DATA_MAX_UPLOAD_MIB; default 4096)", process.env.FLUXO_DATA_MAX_UPLOAD_MIB)
    .option(
      '--storage-root <uri>',
      "where bundles may be fetched from, repeatable: this agent's tenant's file:///dir or gs://bucket/prefix; other locations fail the run (reason integrity) (env FLUXO_AGENT_STORAGE_ROOTS, comma-separated; default: unconfined)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .action(async (options: AgentStartOptions) => {
      try {
        await runAgent(options);
      } catch (error) {
        failWith(error);
      }
    });
}

async function runAgent(options: AgentStartOptions): Promise<void> {
  if (options.token !== undefined) {
    // Scrubbing argv (process.title) does not reliably clear /proc/<pid>/cmdline, and the launcher
    // (a shell, sudo, systemd) keeps its own copy: refuse rather than pretend.
    throw new FluxoError('BAD_USER_INPUT', '--token puts the token in /proc/<pid>/cmdline, readable by every process of the host (flows included); pass it in FLUXO_TOKEN or --token-file (mode 0600)', { details: { setting: 'token' } });
  }
  const config = resolveAgentConfig({
    apiUrl: options.api,
    token: process.env.FLUXO_TOKEN,
    tokenFile: options.tokenFile || undefined,
    runAs: options.runAs,
    name: options.name,
    labels: options.labels,
    concurrency: options.concurrency,
    workDir: options.workDir,
    heartbeatSeconds: options.heartbeatSeconds,
    cancelGraceSeconds: options.cancelGraceSeconds,
    stopTimeoutSeconds: options.stopTimeoutSeconds,
    passEnv: options.passEnv,
    spoolMaxBytes: options.spoolMaxBytes,
    flushIntervalMs: options.flushIntervalMs,
    resultStorage: options.resultStorage,
    metricsPort: options.metricsPort,
    metricsHost: options.metricsHost,
    caFile: options.caFile,
    childMemoryMb: options.childMemoryMb,
    warmChildIdleSeconds: options.warmChildIdleSeconds,
    secretsFile: options.secretsFile,
    secretsFromEnv: options.secretsFromEnv,
    storageRoots: options.storageRoot ?? process.env.FLUXO_AGENT_STORAGE_ROOTS,
    dataConfigFile: options.dataConfig,
    dataMaxUploadMib: options.dataMaxUploadMib,
  });
  const logger = createLogger('agent');
  const events = new AgentEventEmitter();
  logAgentEvents(events, logger);

  // A signal during registration gives up; after it, the first signal stops gracefully and a
  // second one stops at once.
  const registering = new AbortController();
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;

  if (config.metricsPort !== null) {
    // Before registering: /healthz answers 503 ("not registered yet") while the server is out of reach.
    // Loaded only when asked for: prom-client costs an idle agent ~10 MB it does not otherwise need.
    const [{ AgentMetrics }, { startHealthServer }] = await Promise.all([import('./metrics.js'), import('./health-server.js')]);
    const metrics = new AgentMetrics(events, { staleAfterMs: 3 * config.heartbeatSeconds * 1000, spoolBytes: () => agent?.spoolBytes ?? 0 });
    const where = `${config.metricsHost}:${config.metricsPort}`;
    const server = await startHealthServer({ port: config.metricsPort, host: config.metricsHost, metrics }).catch((error: unknown) => {
      throw new FluxoError('BAD_USER_INPUT', `cannot serve metrics on ${where}: ${(error as Error).message}`, { cause: error, details: { setting: 'metricsPort' } });
    });
    logger.info({ url: server.url, endpoints: ['/healthz', '/metrics'] }, 'metrics listening');
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (!agent) {
      registering.abort();
      logger.info({ signal }, 'stopping before registration');
      process.exit(0);
    }
    logger.info({ signal, immediate: signals > 1 }, signals > 1 ? 'stopping now' : 'stopping: waiting for running flows');
    void agent.stop(signals > 1 ? { timeoutMs: 0 } : {});
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  if (!config.storageRoots.configured) logger.warn('no storage roots (--storage-root): bundles are fetched from any file:/// or gs:// location the server names');
  logger.info({ apiUrl: config.apiUrl, name: config.name, labels: config.labels, concurrency: config.concurrency, cacheDir: config.cacheDir, storageRoots: config.storageRoots.describe(), data: { lake: config.data.lake ?? null, warehouse: config.data.warehouse ?? null, dbtProject: config.data.dbt?.project ?? null } }, 'registering');
  if (config.runAs) logger.info({ user: config.runAs.user, uid: config.runAs.uid, gid: config.runAs.gid }, 'flows run as another user');
  else if (config.runAsSelfByDefault) logger.warn({ uid: process.geteuid?.() }, "flows run as the agent's own user: their code can read the agent's token (its environment and memory); start the agent as root (flows then run as fluxo-run) or give --run-as, or silence this with --run-as self");
  agent = await startAgent(config, { events, signal: registering.signal });
  logger.info({ agentId: agent.agentId, name: config.name, labels: config.labels }, 'ready');

  await agent.done;
  process.exit(0);
}
