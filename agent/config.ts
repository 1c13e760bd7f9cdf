// The agent's settings: one validated, frozen object built from flags, environment and defaults
// (the CLI applies flag > FLUXO_* environment > default; this module applies the defaults and the
// checks). Every default works on a laptop.
import { readSecretsFile } from './flow-secrets.js';
import { readFileSync, statSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FluxoError } from '../common/errors.js';
import { LABEL_RULE, labelProblem, MAX_LABELS, NAME_RULE, nameProblem } from '../contract/names.js';
import { readDataSettings } from '../data/config.js';
import { DataError, type DataSettings } from '../data/contract.js';
import { resolveRunAs, type RunIdentity } from './run-as.js';
import { StorageRoots } from '../storage/storage-location.js';

/** What a caller may pass; strings are accepted where a flag or an environment variable feeds the value. */
export interface AgentOptions {
  /** The proxy's GraphQL URL (`https://fluxo.example/graphql`). Required. */
  apiUrl?: string | undefined;
  /** Bearer token of role `agent`. Required (or `tokenFile`); never passed to a flow's process. */
  token?: string | undefined;
  /**
   * A file holding the token (mode 0600 or stricter: no group or other bits), read once at start.
   * Wins over `token`. @default undefined
   */
  tokenFile?: string | undefined;
  /**
   * The OS user flows run as: `USER[:GROUP]`, `UID[:GID]`, a range `FIRST-LAST[:GID]` (each run its
   * own uid, what it leaves running killed when it ends), or `self` (the agent's own user, which
   * lets flows read the agent's environment and memory). An agent running as root never runs flows
   * as root: it defaults to `fluxo-run` (created when missing) and refuses root and `self`.
   * @default `fluxo-run` for a root agent, the agent's own user otherwise
   */
  runAs?: string | undefined;
  /** Name, unique within the tenant. @default the host name */
  name?: string | undefined;
  /** Routing labels (array or comma-separated). @default [] */
  labels?: readonly string[] | string | undefined;
  /** Runs at once. @default 1 */
  concurrency?: number | string | undefined;
  /** Seconds between heartbeats (the server's lease lasts longer, 30 s by default). @default 10 */
  heartbeatSeconds?: number | string | undefined;
  /** Seconds between SIGTERM and SIGKILL when a run is cancelled. @default 10 */
  cancelGraceSeconds?: number | string | undefined;
  /** Seconds a graceful stop waits for running flows before stopping them. @default 15 */
  stopTimeoutSeconds?: number | string | undefined;
  /** How long one claim request waits on the server for work (0-30000). @default 20000 */
  claimWaitMs?: number | string | undefined;
  /** Working directory: bundles are cached in `<workDir>/bundles`, runs get `<workDir>/runs/<id>`. */
  workDir?: string | undefined;
  /** Bundle cache directory. @default `<workDir>/bundles`, else `$XDG_CACHE_HOME/fluxo/bundles` or `~/.cache/fluxo/bundles` */
  cacheDir?: string | undefined;
  /** Largest bundle the agent downloads. @default 52428800 (50 MiB) */
  maxBundleBytes?: number | string | undefined;
  /** Extra environment variables (names) a flow's process receives, e.g. GOOGLE_APPLICATION_CREDENTIALS. @default [] */
  passEnv?: readonly string[] | string | undefined;
  /** The child runtime script. @default dist/sdk/runtime/child.js of this installation */
  childEntry?: string | undefined;
  /**
   * Bytes of task states and log lines the agent may keep on disk, all runs together, while the
   * server is unreachable (in `<workDir>/spool`); past it log lines are counted and dropped.
   * 0 keeps only two batches per run in memory. @default 268435456 (256 MiB)
   */
  spoolMaxBytes?: number | string | undefined;
  /**
   * Longest a run's task states and log lines wait before they are sent (PROTOCOL.md section 5);
   * what is left when the child ends rides with the final state. @default 200
   */
  flushIntervalMs?: number | string | undefined;
  /**
   * Where the agent stores task results (agent/result-storage.ts): `file:///absolute/dir` or
   * `gs://bucket[/prefix]`. Only the agent writes it; flows reach it over IPC.
   * @default `file://<workDir>/results`, else `results` next to the default bundle cache
   */
  resultStorage?: string | undefined;
  /** Port of the local `/healthz` and `/metrics` endpoint; unset: no port is opened. @default undefined */
  metricsPort?: number | string | undefined;
  /** Address that port binds to. @default 127.0.0.1 */
  metricsHost?: string | undefined;
  /**
   * PEM file of extra certificate authorities to trust for the API (a TLS-inspecting corporate
   * proxy, a private CA), on top of the public ones and NODE_EXTRA_CA_CERTS. @default undefined
   */
  caFile?: string | undefined;
  /** V8 heap limit of each flow's process in MiB (`--max-old-space-size`); 0: Node's default. @default 1024 */
  childMemoryMb?: number | string | undefined;
  /**
   * Seconds the agent keeps a child runtime started ahead of demand after the last run took one
   * (agent/warm-child.ts); 0: none, every run spawns its own. Never with a run-as uid range. @default 30
   */
  warmChildIdleSeconds?: number | string | undefined;
  /**
   * A file of `NAME=value` lines: the values of the secrets flows declare (after the tenant's stored
   * secrets). @default undefined
   */
  secretsFile?: string | undefined;
  /**
   * Names of the agent's environment variables (array or comma-separated) that may be the values of
   * declared secrets of the same name. No other variable of the agent's environment ever is: a
   * flow's author chooses the names it declares. @default []
   */
  secretsFromEnv?: readonly string[] | string | undefined;
  /**
   * Where this agent may fetch bundles from (array or comma-separated): `file:///dir` or
   * `gs://bucket[/prefix]` URIs, its tenant's roots, or the server's templates (`{tenant}` is the
   * tenant of the agent's token); it refuses every other location (reason `integrity`).
   * @default unconfined: any canonical location (docs/code-storage.md#storage-roots)
   */
  storageRoots?: readonly string[] | string | undefined;
  /**
   * The data settings file (JSON: lake, warehouse, dbt, google, duckdbSpatialExtension) for the
   * runs' fluxo/data work, which the agent does in its own process with its own credentials.
   * FLUXO_LAKE, FLUXO_WAREHOUSE, FLUXO_DBT_PROJECT (and the other variables of data/config.ts)
   * override its fields. @default none: data operations fail DATA_NOT_CONFIGURED
   */
  dataConfigFile?: string | undefined;
  /** Where the data settings' variables are read. @default process.env */
  dataEnv?: NodeJS.ProcessEnv;
  /**
   * MiB of a run's streamed files (fluxo/data csv/parquet sources) the agent keeps on its disk at
   * once; past it the request fails DATA_INVALID_ARGUMENT (a flow must not fill the agent's disk).
   * @default 4096
   */
  dataMaxUploadMib?: number | string | undefined;
}

/** The validated settings. */
export interface AgentConfig {
  readonly apiUrl: string;
  readonly token: string;
  /** Who flows run as; null: the agent's own user (never when the agent is root). */
  readonly runAs: RunIdentity | null;
  /** Whether flows run as the agent's own user because nothing else was asked for (the agent warns). */
  readonly runAsSelfByDefault: boolean;
  readonly name: string;
  readonly labels: readonly string[];
  readonly concurrency: number;
  readonly heartbeatSeconds: number;
  readonly cancelGraceSeconds: number;
  readonly stopTimeoutSeconds: number;
  readonly claimWaitMs: number;
  readonly cacheDir: string;
  /** Where per-run working directories are created. */
  readonly runsDir: string;
  readonly maxBundleBytes: number;
  readonly passEnv: readonly string[];
  readonly childEntry: string | undefined;
  /** Where runs' task states and log lines wait on disk while the server is unreachable. */
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly flushIntervalMs: number;
  /** Base URI of the task-result storage (file:///… or gs://…). */
  readonly resultStorage: string;
  /** null: no health and metrics port. */
  readonly metricsPort: number | null;
  readonly metricsHost: string;
  /** Absolute path of the extra CA bundle, if any. */
  readonly caFile: string | undefined;
  /** null: no limit beyond Node's own. */
  readonly childMemoryMb: number | null;
  /** 0: no child started ahead of demand. */
  readonly warmChildIdleSeconds: number;
  /** Secret values from the secrets file, or null without one. */
  readonly secretsFromFile: ReadonlyMap<string, string> | null;
  /** Environment variables whose values may be declared secrets' values (read at each run). */
  readonly secretsFromEnv: readonly string[];
  /** Where bundles may be fetched from; not `configured`: anywhere canonical. */
  readonly storageRoots: StorageRoots;
  /** The lake, warehouse and dbt project of the runs' fluxo/data work (frozen; {} when none). */
  readonly data: Readonly<DataSettings>;
  /** MiB of a run's streamed files the agent keeps at once. */
  readonly dataMaxUploadMib: number;
}

export const AGENT_DEFAULTS = {
  concurrency: 1,
  heartbeatSeconds: 10,
  cancelGraceSeconds: 10,
  stopTimeoutSeconds: 15,
  claimWaitMs: 20_000,
  maxBundleBytes: 50 * 1024 * 1024,
  spoolMaxBytes: 256 * 1024 * 1024,
  flushIntervalMs: 200,
  metricsHost: '127.0.0.1',
  childMemoryMb: 1024,
  warmChildIdleSeconds: 30,
  dataMaxUploadMib: 4096,
} as const;

/** Variables a flow's process always gets (when the agent has them). Nothing else leaks through. */
export const CHILD_ENV_ALLOW_LIST = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables an operator may not hand to flows with `passEnv`: they carry the agent's own credentials. */
const NEVER_PASSED = new Set(['FLUXO_TOKEN', 'FLUXO_API']);

/**
 * Applies defaults and validates. Throws FluxoError BAD_USER_INPUT naming the setting, or
 * TOKEN_MISSING when no token was given.
 *
 * @example resolveAgentConfig({ apiUrl: 'http://127.0.0.1:4000/graphql', token, labels: 'smtr,gpu' })
 */
export function resolveAgentConfig(options: AgentOptions): AgentConfig {
  const apiUrl = requireApiUrl(options.apiUrl);
  const runAs = resolveRunAs(options.runAs);
  const token = options.tokenFile ? readTokenFile(resolve(options.tokenFile), runAs) : options.token;
  if (!token) throw new FluxoError('TOKEN_MISSING', 'no token: pass --token-file or set FLUXO_TOKEN (create one with `fluxo token create --role agent`)');
  const name = options.name?.trim() || hostname();
  // The server's rules (contract/names.ts): a name or label it would refuse at registration is refused here, at start.
  if (nameProblem(name) !== null) throw bad('name', `"${name}" is not a valid agent name (${NAME_RULE})`);
  const labels = [...new Set(list(options.labels))];
  if (labels.length > MAX_LABELS) throw bad('labels', `at most ${MAX_LABELS} labels, got ${labels.length}`);
  for (const label of labels) {
    if (labelProblem(label) !== null) throw bad('labels', `"${label}" is not a valid label (${LABEL_RULE})`);
  }
  const passEnv = [...new Set(list(options.passEnv))];
  for (const variable of passEnv) {
    if (!ENV_NAME.test(variable)) throw bad('passEnv', `"${variable}" is not an environment variable name`);
    if (NEVER_PASSED.has(variable)) throw bad('passEnv', `${variable} carries the agent's own credentials and is never passed to flows`);
  }
  const secretsFromEnv = [...new Set(list(options.secretsFromEnv))];
  for (const variable of secretsFromEnv) {
    if (!ENV_NAME.test(variable)) throw bad('secretsFromEnv', `"${variable}" is not an environment variable name`);
    if (NEVER_PASSED.has(variable)) throw bad('secretsFromEnv', `${variable} carries the agent's own credentials and is never a flow's secret`);
  }
  const workDir = options.workDir ? resolve(options.workDir) : undefined;
  const cacheDir = options.cacheDir ? resolve(options.cacheDir) : workDir ? join(workDir, 'bundles') : defaultCacheDir();
  const runsDir = workDir ? join(workDir, 'runs') : join(tmpdir(), 'fluxo-runs');
  // Without a work dir, one spool directory per agent name: a restarted agent delivers what its previous process left there (late-delivery.ts).
  const spoolDir = workDir ? join(workDir, 'spool') : join(tmpdir(), 'fluxo-spool', name);
  const metricsPort = options.metricsPort === undefined || options.metricsPort === '' ? null : integer('metricsPort', options.metricsPort, 0, 0, 65_535);
  const metricsHost = options.metricsHost?.trim() || AGENT_DEFAULTS.metricsHost;
  const caFile = options.caFile ? resolve(options.caFile) : undefined;
  const childMemoryMb = integer('childMemoryMb', options.childMemoryMb, AGENT_DEFAULTS.childMemoryMb, 0, 1_048_576);
  if (childMemoryMb > 0 && childMemoryMb < 16) throw bad('childMemoryMb', `childMemoryMb must be 0 (no limit) or at least 16, got "${options.childMemoryMb}"`);
  if (options.childEntry !== undefined && !isAbsolute(options.childEntry)) throw bad('childEntry', `"${options.childEntry}" must be an absolute path`);

  return Object.freeze({
    apiUrl,
    token,
    runAs,
    runAsSelfByDefault: runAs === null && !options.runAs?.trim(),
    name,
    labels: Object.freeze(labels),
    concurrency: runUidsCover(runAs, integer('concurrency', options.concurrency, AGENT_DEFAULTS.concurrency, 1, 1_000)),
    heartbeatSeconds: number('heartbeatSeconds', options.heartbeatSeconds, AGENT_DEFAULTS.heartbeatSeconds, 0.05, 3_600),
    cancelGraceSeconds: number('cancelGraceSeconds', options.cancelGraceSeconds, AGENT_DEFAULTS.cancelGraceSeconds, 0, 3_600),
    stopTimeoutSeconds: number('stopTimeoutSeconds', options.stopTimeoutSeconds, AGENT_DEFAULTS.stopTimeoutSeconds, 0, 86_400),
    claimWaitMs: integer('claimWaitMs', options.claimWaitMs, AGENT_DEFAULTS.claimWaitMs, 0, 30_000),
    cacheDir,
    runsDir,
    maxBundleBytes: integer('maxBundleBytes', options.maxBundleBytes, AGENT_DEFAULTS.maxBundleBytes, 1, 2 ** 31 - 1),
    passEnv: Object.freeze(passEnv),
    childEntry: options.childEntry,
    spoolDir,
    spoolMaxBytes: integer('spoolMaxBytes', options.spoolMaxBytes, AGENT_DEFAULTS.spoolMaxBytes, 0, Number.MAX_SAFE_INTEGER),
    flushIntervalMs: integer('flushIntervalMs', options.flushIntervalMs, AGENT_DEFAULTS.flushIntervalMs, 10, 60_000),
    resultStorage: resultStorageOf(options.resultStorage, workDir ? join(workDir, 'results') : join(dirname(cacheDir), 'results')),
    metricsPort,
    metricsHost,
    caFile,
    childMemoryMb: childMemoryMb === 0 ? null : childMemoryMb,
    warmChildIdleSeconds: number('warmChildIdleSeconds', options.warmChildIdleSeconds, AGENT_DEFAULTS.warmChildIdleSeconds, 0, 86_400),
    secretsFromFile: options.secretsFile ? readSecretsFile(resolve(options.secretsFile)) : null,
    secretsFromEnv: Object.freeze(secretsFromEnv),
    storageRoots: agentStorageRoots(list(options.storageRoots)),
    data: agentDataSettings(options),
    dataMaxUploadMib: integer('dataMaxUploadMib', options.dataMaxUploadMib, AGENT_DEFAULTS.dataMaxUploadMib, 1, 1_048_576),
  });
}

/** The data settings, checked now: a typo stops the agent at start, not a run hours later. */
function agentDataSettings(options: AgentOptions): Readonly<DataSettings> {
  try {
    return readDataSettings({ dataConfigFile: options.dataConfigFile, env: options.dataEnv ?? process.env });
  } catch (error) {
    if (error instanceof DataError) throw bad('dataConfig', `${error.code}: ${error.message}`, error);
    throw error;
  }
}

/** Roots as the server takes them; `{tenant}` is filled with the agent's tenant once it registered. */
function agentStorageRoots(entries: string[]): StorageRoots {
  try {
    return StorageRoots.parse(entries);
  } catch (error) {
    throw bad('storageRoots', (error as Error).message, error);
  }
}

function requireApiUrl(value: string | undefined): string {
  if (!value) throw bad('apiUrl', 'no API URL: pass --api or set FLUXO_API (the proxy GraphQL URL, e.g. http://127.0.0.1:4000/graphql)');
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw bad('apiUrl', `"${value}" is not a URL`, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('apiUrl', `"${value}" must be an http:// or https:// URL`);
  return url.href;
}

/** A run-as range must hold a uid for every run at once. */
function runUidsCover(runAs: RunIdentity | null, concurrency: number): number {
  if (runAs?.lastUid !== undefined && runAs.lastUid - runAs.uid + 1 < concurrency) {
    throw bad('runAs', `run-as: the range ${runAs.user} has ${runAs.lastUid - runAs.uid + 1} uids for a concurrency of ${concurrency}: each run needs its own`);
  }
  return concurrency;
}

/**
 * Reads the token from a file no one else may read: group and other bits must be clear (as ssh
 * insists for keys), and it must not belong to the run user. Its first line, trimmed.
 */
function readTokenFile(path: string, runAs: RunIdentity | null): string {
  let text: string;
  try {
    const info = statSync(path);
    if (!info.isFile()) throw bad('tokenFile', `token file ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw bad('tokenFile', `token file ${path} is readable by group or others (mode 0${(info.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    if (runAs && info.uid >= runAs.uid && info.uid <= (runAs.lastUid ?? runAs.uid)) throw bad('tokenFile', `token file ${path} belongs to the run user ${runAs.user}, who could read it; chown it to the agent's user`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof FluxoError) throw error;
    throw bad('tokenFile', `cannot read token file ${path}: ${(error as Error).message}`, error);
  }
  return text.split('\n')[0]!.trim();
}

/** The result storage URI: file:///absolute or gs://bucket[/prefix]; a default directory becomes a file:// URI. */
function resultStorageOf(value: string | undefined, defaultDir: string): string {
  const uri = value?.trim() || pathToFileURL(defaultDir).href;
  let url: URL;
  try {
    url = new URL(uri);
  } catch (error) {
    throw bad('resultStorage', `"${uri}" is not a URI (use file:///absolute/dir or gs://bucket/prefix)`, error);
  }
  if (url.protocol === 'gs:' && url.hostname !== '') return uri;
  if (url.protocol === 'file:' && (url.hostname === '' || url.hostname === 'localhost') && url.pathname.length > 1) return uri;
  throw bad('resultStorage', `"${uri}" is not a file:///absolute/dir or gs://bucket/prefix URI`);
}

function defaultCacheDir(): string {
  // A root agent's home is closed to the run user (/root is 0700): cache where daemons do.
  if (process.geteuid?.() === 0 && !process.env.XDG_CACHE_HOME) return '/var/cache/fluxo/bundles';
  const base = process.env.XDG_CACHE_HOME && isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'fluxo', 'bundles');
}

function list(value: readonly string[] | string | undefined): string[] {
  const items = typeof value === 'string' ? value.split(',') : (value ?? []);
  return items.map((item) => item.trim()).filter(Boolean);
}

function number(setting: string, value: number | string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw bad(setting, `${setting} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function integer(setting: string, value: number | string | undefined, fallback: number, min: number, max: number): number {
  const parsed = number(setting, value, fallback, min, max);
  if (!Number.isInteger(parsed)) throw bad(setting, `${setting} must be a whole number from ${min} to ${max}, got "${value}"`);
  return parsed;
}

function bad(setting: string, message: string, cause?: unknown): FluxoError {
  return new FluxoError('BAD_USER_INPUT', message, { cause, details: { setting } });
}
