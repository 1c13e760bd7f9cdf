// dbtBuild: one `dbt build` of the tenant's dbt project, and what each node did (run_results.json).
//
// Each call gets its own --target-path and --log-path in a fresh temp directory, removed afterwards:
// two runs building the same project at once (two flows, or a flow and its retry) would otherwise
// overwrite each other's compiled SQL and run_results.json, and a read-only project folder works.
// The caller decides what a failed build means: dbtBuild returns the result, and
// {@link throwUnlessSuccess} turns a failed or crashed one into a DataError.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { runCommand, type RunCommandIo } from './command.js';
import { DataError, type DbtBuildOptions, type DbtBuildResult, type DbtNodeResult, type DbtSettings } from './contract.js';

/** Lines of dbt's output remembered for messages (crashes print their reason last). */
const REMEMBERED_LINES = 200;
/** Longest excerpt of a node's error quoted in a DBT_MODELS_FAILED message. */
const NODE_MESSAGE_CHARS = 300;

/** Where dbtBuild reports to, what stops it, and what dbt's environment adds. */
export interface DbtBuildIo extends Omit<RunCommandIo, 'inheritEnv'> {
  /** Variables the profile reads with env_var() (the DuckDB path, the spatial extension file), added to the allow-listed host variables. */
  env?: Record<string, string>;
  /** The host environment the allow-listed variables are taken from. @default process.env */
  hostEnv?: NodeJS.ProcessEnv;
}

/**
 * Host variables dbt always sees (when set): what a Python program needs to run (PATH, HOME, the
 * locale, the time zone, the temp dir, the virtualenv), to reach a warehouse from behind a corporate
 * proxy (the proxy and CA variables), and Google's Application Default Credentials (dbt-bigquery's
 * `method: oauth`). `LC_*` and `DBT_*` (the operator's dbt settings) are prefixes.
 */
export const DBT_ENV_ALLOW_LIST = [
  'PATH',
  'HOME',
  'LANG',
  'LC_*',
  'TZ',
  'TMPDIR',
  'VIRTUAL_ENV',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'DBT_*',
  'GOOGLE_APPLICATION_CREDENTIALS',
] as const;

/** The agent's own credentials: never in dbt's environment, whatever a setting lists. */
export const DBT_ENV_NEVER = ['FLUXO_TOKEN', 'FLUXO_TOKEN_FILE'] as const;

/**
 * dbt's whole environment: the allow-listed host variables, those `settings.env` names, then
 * `added` (what the agent sets for the profile). A model reads its environment with env_var() into
 * tables flows query, so nothing else of the agent's environment (its token, other tenants' keys)
 * is there.
 *
 * @example
 * dbtEnvironment({ project: '/p', env: ['PGPASSWORD'] }, { PATH: '/usr/bin', PGPASSWORD: 'x', FLUXO_TOKEN: 't', AWS_SECRET: 's' }, { FLUXO_DUCKDB_PATH: '/w.duckdb' })
 * // { PATH: '/usr/bin', PGPASSWORD: 'x', FLUXO_DUCKDB_PATH: '/w.duckdb' }
 */
export function dbtEnvironment(settings: Pick<DbtSettings, 'env'>, hostEnv: NodeJS.ProcessEnv, added: Record<string, string> = {}): Record<string, string> {
  const exact = new Set<string>([...DBT_ENV_ALLOW_LIST.filter((name) => !name.endsWith('*')), ...(settings.env ?? [])]);
  const prefixes = DBT_ENV_ALLOW_LIST.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
  const never = new Set<string>(DBT_ENV_NEVER);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(hostEnv)) {
    if (value === undefined || never.has(name)) continue;
    if (exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  for (const [name, value] of Object.entries(added)) if (!never.has(name)) env[name] = value;
  return env;
}

/** A build's result, plus what dbt printed last (for a message when it crashed). */
export interface DbtBuildReport extends DbtBuildResult {
  /** dbt's last output lines, timestamps dropped: from `Encountered an error:` on when it says so, else the last few. */
  lastLines: string[];
  durationMs: number;
}

/**
 * Runs `dbt build` on the project in `settings` and reads what each node did.
 *
 * Outcome: `success` (exit 0; also when the selection matched nothing and dbt wrote no results),
 * `failed` (exit 1: nodes failed; `failed` names them), `crashed` (any other exit code, or exit 1
 * without run_results.json). It does not throw for a failed or crashed build: see
 * {@link throwUnlessSuccess}. It throws DataError DATA_INVALID_ARGUMENT for malformed options,
 * DATA_NOT_FOUND for a project without dbt_project.yml, DATA_CANCELLED when `io.signal` aborts
 * (dbt's process tree is killed), DBT_CRASHED when dbt cannot start or dies by a signal.
 *
 * @example
 * const result = await dbtBuild({ project: '/srv/dbt/br_ibge_pib' }, { select: 'pib_perto_do_rio', vars: { raio_km: 50 } },
 *   { signal, onLine: (stream, line) => log('INFO', line), env: { FLUXO_DUCKDB_PATH: '/srv/dw.duckdb' } });
 * throwUnlessSuccess(result); // DBT_MODELS_FAILED naming the failed models, or DBT_CRASHED
 */
export async function dbtBuild(settings: DbtSettings, options: DbtBuildOptions, io: DbtBuildIo): Promise<DbtBuildReport> {
  validateSettings(settings);
  validateOptions(options);
  const work = await mkdtemp(join(tmpdir(), 'fluxo-dbt-'));
  const lines: string[] = [];
  const onLine = (stream: 'stdout' | 'stderr', line: string): void => {
    lines.push(line);
    if (lines.length > REMEMBERED_LINES) lines.shift();
    io.onLine(stream, line);
  };
  const executable = settings.executable ?? 'dbt';
  try {
    const paths = { targetPath: join(work, 'target'), logPath: join(work, 'logs') };
    let exitCode: number;
    let durationMs: number;
    try {
      ({ exitCode, durationMs } = await runCommand(executable, dbtBuildArgs(settings, options, paths), {
        cwd: settings.project,
        env: dbtEnvironment(settings, io.hostEnv ?? process.env, {
          ...io.env,
          // dbt phones home on every command unless told not to; an agent may have no internet.
          DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
          DBT_USE_COLORS: 'false',
        }),
        // Every exit code is dbt's answer (0, 1, 2): the outcome below says what it means.
        okExitCodes: Array.from({ length: 256 }, (_, code) => code),
      }, { signal: io.signal, onLine, inheritEnv: false }));
    } catch (error) {
      // Not starting, or a death by signal, is a crash of dbt; a cancellation stays one.
      if (error instanceof DataError && error.code === 'COMMAND_FAILED') {
        throw new DataError('DBT_CRASHED', `dbt build did not finish: ${error.message}${executable === 'dbt' ? ' (set the dbt executable in the data settings if dbt is not on PATH)' : ''}`);
      }
      throw error;
    }
    const runResults = await readRunResults(join(paths.targetPath, 'run_results.json'));
    const nodes = runResults ?? [];
    const failed = nodes.filter((node) => node.status === 'error' || node.status === 'fail').map((node) => node.uniqueId);
    const outcome: DbtBuildResult['outcome'] = exitCode === 0 ? 'success' : exitCode === 1 && runResults !== null ? 'failed' : 'crashed';
    return { outcome, exitCode, nodes, failed, lastLines: lastLines(lines), durationMs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** {@link dbtBuild} under the name data/service.ts imports. */
export const runDbtBuild = dbtBuild;

/**
 * Throws unless the build succeeded: DataError DBT_MODELS_FAILED naming each failed node and the
 * start of its error, or DBT_CRASHED with dbt's last error lines.
 *
 * @example
 * throwUnlessSuccess(await dbtBuild(settings, {}, io));
 * // DataError DBT_MODELS_FAILED: dbt build failed: 1 of 4 nodes failed: model.br_ibge_pib.pib_quebrado (Runtime Error … Binder Error: Referenced column "nada" not found …); 1 skipped
 */
export function throwUnlessSuccess(result: DbtBuildResult & { lastLines?: string[] }): void {
  if (result.outcome === 'success') return;
  const said = result.lastLines?.length ? `: ${result.lastLines.join(' ')}` : '';
  if (result.outcome === 'crashed') {
    throw new DataError('DBT_CRASHED', `dbt build crashed (exit code ${result.exitCode})${said}`);
  }
  const byId = new Map(result.nodes.map((node) => [node.uniqueId, node]));
  if (result.failed.length === 0) {
    throw new DataError('DBT_MODELS_FAILED', `dbt build failed (exit code ${result.exitCode}) but reported no failed node${said}`);
  }
  const named = result.failed.map((id) => {
    const excerpt = excerptOf(byId.get(id)?.message ?? null);
    return excerpt ? `${id} (${excerpt})` : id;
  });
  const skipped = result.nodes.filter((node) => node.status === 'skipped').length;
  throw new DataError(
    'DBT_MODELS_FAILED',
    `dbt build failed: ${result.failed.length} of ${result.nodes.length} nodes failed: ${named.join('; ')}${skipped ? `; ${skipped} skipped` : ''}`,
  );
}

/**
 * dbt's arguments for one build (`paths` absolute: dbt resolves relative ones against the project).
 * @example dbtBuildArgs({ project: '/p' }, { select: 'a+' }, { targetPath: '/tmp/x/target', logPath: '/tmp/x/logs' })
 * // ['build', '--project-dir', '/p', '--profiles-dir', '/p', '--target-path', '/tmp/x/target', '--log-path', '/tmp/x/logs', '--no-use-colors', '--no-partial-parse', '--select', 'a+']
 */
export function dbtBuildArgs(settings: DbtSettings, options: DbtBuildOptions, paths: { targetPath: string; logPath: string }): string[] {
  const args = ['build', '--project-dir', settings.project, '--profiles-dir', settings.profilesDir ?? settings.project];
  // Partial parsing reuses target/partial_parse.msgpack, which a fresh target path never has.
  args.push('--target-path', paths.targetPath, '--log-path', paths.logPath, '--no-use-colors', '--no-partial-parse');
  const target = options.target ?? settings.target;
  if (target !== undefined) args.push('--target', target);
  if (options.select !== undefined) args.push('--select', options.select);
  if (options.exclude !== undefined) args.push('--exclude', options.exclude);
  if (options.vars !== undefined) args.push('--vars', JSON.stringify(options.vars));
  if (options.fullRefresh) args.push('--full-refresh');
  return args;
}

/**
 * The nodes of a run_results.json document (dbt's run-results schema v4–v6).
 * @example parseRunResults(JSON.parse(text)) // [{ uniqueId: 'model.p.m', status: 'success', rows: null, … }]
 */
export function parseRunResults(document: unknown): DbtNodeResult[] {
  const results = (document as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new Error('run_results.json has no results list');
  return results.map((raw: RawNodeResult): DbtNodeResult => {
    const timing = Array.isArray(raw.timing) ? raw.timing : [];
    const starts = timing.map((step) => step.started_at).filter((at): at is string => typeof at === 'string').sort();
    const ends = timing.map((step) => step.completed_at).filter((at): at is string => typeof at === 'string').sort();
    const rows = raw.adapter_response?.rows_affected;
    return {
      uniqueId: String(raw.unique_id),
      status: String(raw.status),
      // Adapters that do not count (dbt-duckdb) say nothing; some say -1.
      rows: typeof rows === 'number' && rows >= 0 ? rows : null,
      executionTime: typeof raw.execution_time === 'number' ? raw.execution_time : 0,
      message: typeof raw.message === 'string' ? raw.message : null,
      startedAt: starts[0] ?? null,
      completedAt: ends.at(-1) ?? null,
    };
  });
}

interface RawNodeResult {
  unique_id?: unknown;
  status?: unknown;
  execution_time?: unknown;
  message?: unknown;
  adapter_response?: { rows_affected?: unknown } | null;
  timing?: { started_at?: unknown; completed_at?: unknown }[];
}

/** The nodes, or null when dbt wrote no (readable) run_results.json. */
async function readRunResults(path: string): Promise<DbtNodeResult[] | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    return parseRunResults(JSON.parse(text));
  } catch {
    // A half-written file (dbt killed while writing) counts as none.
    return null;
  }
}

/** dbt's last words: from its last `Encountered an error:` on, else its last 5 non-empty lines. */
function lastLines(lines: readonly string[]): string[] {
  const plain = lines.map((line) => line.replace(/^\d\d:\d\d:\d\d(\.\d+)?\s+/, '').trim()).filter((line) => line !== '');
  const at = plain.findLastIndex((line) => line.startsWith('Encountered an error'));
  return at === -1 ? plain.slice(-5) : plain.slice(at + 1, at + 11);
}

/** The first two non-empty lines of a node's message, on one line and clipped. */
function excerptOf(message: string | null): string {
  if (!message) return '';
  const text = message.split('\n').map((line) => line.trim()).filter(Boolean).slice(0, 2).join(' ');
  return text.length > NODE_MESSAGE_CHARS ? `${text.slice(0, NODE_MESSAGE_CHARS - 1)}…` : text;
}

function validateSettings(settings: DbtSettings): void {
  const notConfigured = (message: string): never => {
    throw new DataError('DATA_NOT_CONFIGURED', `dbt: ${message}`);
  };
  if (typeof settings?.project !== 'string' || !isAbsolute(settings.project)) notConfigured(`the project must be an absolute path, got ${JSON.stringify(settings?.project)}`);
  if (settings.profilesDir !== undefined && (typeof settings.profilesDir !== 'string' || !isAbsolute(settings.profilesDir))) {
    notConfigured(`profilesDir must be an absolute path, got ${JSON.stringify(settings.profilesDir)}`);
  }
  if (!existsSync(join(settings.project, 'dbt_project.yml'))) {
    throw new DataError('DATA_NOT_FOUND', `dbt: the project ${settings.project} has no dbt_project.yml (is the dbt project setting, FLUXO_DBT_PROJECT, its folder?)`);
  }
}

function validateOptions(options: DbtBuildOptions): void {
  const invalid = (message: string): never => {
    throw new DataError('DATA_INVALID_ARGUMENT', `dbtBuild: ${message}`);
  };
  if (typeof options !== 'object' || options === null) invalid('options must be an object');
  for (const name of ['select', 'exclude', 'target'] as const) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') invalid(`${name} must be a non-empty string`);
    // One argument on dbt's command line: a line break or NUL cannot be passed, and a leading dash
    // would read as another flag (dbt's selectors never start with one).
    if (/[\n\r\0]/.test(value)) invalid(`${name} must be one line, got ${JSON.stringify(value)}`);
    if (value.trimStart().startsWith('-')) invalid(`${name} must not start with "-", got ${JSON.stringify(value)}`);
  }
  if (options.fullRefresh !== undefined && typeof options.fullRefresh !== 'boolean') invalid('fullRefresh must be true or false');
  if (options.vars !== undefined) {
    if (!isPlainObject(options.vars)) invalid('vars must be an object of JSON values');
    const problem = jsonProblem(options.vars, 'vars', new Set());
    if (problem) invalid(problem);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Why `value` would not survive JSON.stringify unchanged, or null. */
function jsonProblem(value: unknown, path: string, ancestors: Set<unknown>): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} is ${value}, which JSON cannot hold`;
  if (typeof value !== 'object') return `${path} is a ${typeof value}, which JSON cannot hold`;
  if (!Array.isArray(value) && !isPlainObject(value)) return `${path} is a ${value.constructor?.name ?? 'non-plain object'}, not a JSON value`;
  if (ancestors.has(value)) return `${path} refers to itself`;
  ancestors.add(value);
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [`[${index}]`, item]) : Object.entries(value).map(([key, item]) => [`.${key}`, item]);
  for (const [key, item] of entries) {
    const problem = jsonProblem(item, `${path}${key}`, ancestors);
    if (problem) return problem;
  }
  ancestors.delete(value);
  return null;
}
