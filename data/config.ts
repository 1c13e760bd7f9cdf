// The agent's (and `fluxo run`'s) data settings: an optional JSON file (`--data-config FILE`,
// FLUXO_DATA_CONFIG), then environment variables, then flags, each overriding the one before. Every
// value is checked at start, so a typo stops the agent with a message naming the setting instead
// of failing a run hours later (DATA_CONFIG_INVALID; never at run time).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, type DataSettings, type DbtSettings, type GoogleSettings } from './contract.js';

/** Where the settings come from. */
export interface DataSettingsSources {
  /** The JSON file (`--data-config FILE`); falls back to `env.FLUXO_DATA_CONFIG`. */
  dataConfigFile?: string | undefined;
  /** The environment (FLUXO_LAKE, FLUXO_WAREHOUSE, FLUXO_DBT_PROJECT, FLUXO_DBT_PROFILES_DIR, FLUXO_DBT_BIN, FLUXO_DUCKDB_SPATIAL, GOOGLE_APPLICATION_CREDENTIALS). */
  env: NodeJS.ProcessEnv | Record<string, string | undefined>;
  /** Command-line flags, which win over the environment (`fluxo run --lake ... --warehouse ... --dbt-project ...`). */
  flags?: { lake?: string | undefined; warehouse?: string | undefined; dbtProject?: string | undefined };
}

/** The environment variables that override the file, and the field each sets. */
export const DATA_ENV = {
  FLUXO_LAKE: 'lake',
  FLUXO_WAREHOUSE: 'warehouse',
  FLUXO_DBT_PROJECT: 'dbt.project',
  FLUXO_DBT_PROFILES_DIR: 'dbt.profilesDir',
  FLUXO_DBT_BIN: 'dbt.executable',
  FLUXO_DUCKDB_SPATIAL: 'duckdbSpatialExtension',
  GOOGLE_APPLICATION_CREDENTIALS: 'google.credentialsFile',
} as const;

const TOP_FIELDS = ['lake', 'warehouse', 'dbt', 'google', 'duckdbSpatialExtension'] as const;
const DBT_FIELDS = ['project', 'profilesDir', 'executable', 'target', 'env'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The agent's credentials: no dbt.env may list them. */
const NEVER_TO_DBT = new Set(['FLUXO_TOKEN', 'FLUXO_TOKEN_FILE']);
const GOOGLE_FIELDS = ['credentialsFile', 'storageEndpoint', 'bigqueryEndpoint', 'emulatorToken'] as const;

const LAKE_FORMS = 'file:///absolute/dir or gs://bucket[/prefix]';
const WAREHOUSE_FORMS = 'duckdb:///absolute/path/file.duckdb or bigquery://project[?location=EU]';
/** GCS bucket names (the dotted form included). */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
/** Google Cloud project ids (emulators accept the same). */
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const LOCATION = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

/**
 * Reads, merges and validates the data settings; the result is frozen. Nothing configured gives
 * `{}` (every data operation then fails DATA_NOT_CONFIGURED naming what to set).
 *
 * @throws DataError DATA_CONFIG_INVALID naming the field and the forms it accepts.
 * @example
 * const settings = readDataSettings({ dataConfigFile: '/etc/fluxo/data.json', env: process.env });
 * // { lake: 'file:///srv/lake', warehouse: 'duckdb:///srv/warehouse.duckdb' }
 */
export function readDataSettings(sources: DataSettingsSources): Readonly<DataSettings> {
  const { env } = sources;
  const file = nonEmpty(sources.dataConfigFile) ?? nonEmpty(env.FLUXO_DATA_CONFIG);
  const raw = file === undefined ? {} : readFile(file);
  const where = (field: string): string => (file === undefined ? field : `${field} (in ${file})`);

  const settings: DataSettings = {};
  const lake = nonEmpty(sources.flags?.lake) ?? nonEmpty(env.FLUXO_LAKE) ?? optionalString(raw, 'lake', where);
  if (lake !== undefined) settings.lake = checkLake(lake);
  const warehouse = nonEmpty(sources.flags?.warehouse) ?? nonEmpty(env.FLUXO_WAREHOUSE) ?? optionalString(raw, 'warehouse', where);
  if (warehouse !== undefined) settings.warehouse = checkWarehouse(warehouse);

  const fileDbt = objectField(raw, 'dbt', DBT_FIELDS, where);
  const dbt: Partial<DbtSettings> = {};
  const project = nonEmpty(sources.flags?.dbtProject) ?? nonEmpty(env.FLUXO_DBT_PROJECT) ?? optionalString(fileDbt, 'project', (f) => where(`dbt.${f}`));
  const profilesDir = nonEmpty(env.FLUXO_DBT_PROFILES_DIR) ?? optionalString(fileDbt, 'profilesDir', (f) => where(`dbt.${f}`));
  const executable = nonEmpty(env.FLUXO_DBT_BIN) ?? optionalString(fileDbt, 'executable', (f) => where(`dbt.${f}`));
  const target = optionalString(fileDbt, 'target', (f) => where(`dbt.${f}`));
  const dbtEnv = envNames(fileDbt.env, where('dbt.env'));
  if (project !== undefined) {
    dbt.project = checkDbtProject(project);
    if (profilesDir !== undefined) dbt.profilesDir = checkProfilesDir(profilesDir);
    if (executable !== undefined) dbt.executable = checkExecutable(executable);
    if (target !== undefined) dbt.target = target;
    if (dbtEnv !== undefined) dbt.env = dbtEnv;
    settings.dbt = Object.freeze(dbt as DbtSettings);
  } else if (Object.keys(fileDbt).length > 0) {
    // FLUXO_DBT_BIN and FLUXO_DBT_PROFILES_DIR alone wait for a project (a host may set them for
    // every process); a file's dbt object without one is a mistake in that file.
    throw invalid(`${where('dbt')} has ${Object.keys(fileDbt).map((k) => `dbt.${k}`).join(', ')} but no dbt.project: set dbt.project (or FLUXO_DBT_PROJECT, --dbt-project) to the absolute path of the folder with dbt_project.yml`);
  }

  const fileGoogle = objectField(raw, 'google', GOOGLE_FIELDS, where);
  const google: GoogleSettings = {};
  const credentialsFile = nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS) ?? optionalString(fileGoogle, 'credentialsFile', (f) => where(`google.${f}`));
  if (credentialsFile !== undefined) google.credentialsFile = checkExistingFile('google.credentialsFile (GOOGLE_APPLICATION_CREDENTIALS)', credentialsFile, 'a service-account key file (JSON)');
  for (const field of ['storageEndpoint', 'bigqueryEndpoint'] as const) {
    const value = optionalString(fileGoogle, field, (f) => where(`google.${f}`));
    if (value !== undefined) google[field] = checkEndpoint(`google.${field}`, value);
  }
  const token = optionalString(fileGoogle, 'emulatorToken', (f) => where(`google.${f}`));
  if (token !== undefined) {
    if (google.storageEndpoint === undefined && google.bigqueryEndpoint === undefined) {
      throw invalid('google.emulatorToken is for emulators only: it needs google.storageEndpoint or google.bigqueryEndpoint');
    }
    google.emulatorToken = token;
  }
  if (Object.keys(google).length > 0) settings.google = Object.freeze(google);

  // Like FLUXO_DBT_BIN without a project: FLUXO_DUCKDB_SPATIAL alone waits for a DuckDB warehouse (a
  // host may set it for every process, and an agent on BigQuery never opens the file); the file's
  // own field is checked whatever the warehouse, as a mistake in that file.
  const fileSpatial = optionalString(raw, 'duckdbSpatialExtension', where);
  const onDuckDb = settings.warehouse?.startsWith('duckdb:') ?? false;
  const spatial = (onDuckDb ? nonEmpty(env.FLUXO_DUCKDB_SPATIAL) : undefined) ?? fileSpatial;
  if (spatial !== undefined) settings.duckdbSpatialExtension = checkExistingFile('duckdbSpatialExtension (FLUXO_DUCKDB_SPATIAL)', spatial, 'the spatial.duckdb_extension file matching DuckDB 1.5.5');
  return Object.freeze(settings);
}

/** `dbt.env`: a list of variable names, never the agent's credentials. */
function envNames(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) {
    throw invalid(`${where} must be a list of environment variable names (host variables dbt may see), e.g. ["PGPASSWORD"]`);
  }
  const names = [...new Set((value as string[]).map((name) => name.trim()))];
  for (const name of names) {
    if (!ENV_NAME.test(name)) throw invalid(`${where}: ${JSON.stringify(name)} is not an environment variable name (letters, digits, underscores)`);
    if (NEVER_TO_DBT.has(name)) throw invalid(`${where}: ${name} carries the agent's own credentials and never reaches dbt`);
  }
  return names;
}

/** The file's JSON object, with unknown top-level fields refused. */
function readFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw invalid(`data config file ${path} does not exist (--data-config, FLUXO_DATA_CONFIG)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid(`cannot read data config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw invalid(`data config file ${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`data config file ${path} must hold a JSON object with the fields ${TOP_FIELDS.join(', ')}`);
  }
  refuseUnknown(value as Record<string, unknown>, TOP_FIELDS, '', path);
  return value as Record<string, unknown>;
}

function refuseUnknown(object: Record<string, unknown>, known: readonly string[], prefix: string, file: string): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw invalid(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => prefix + k).join(', ')} in data config file ${file} (known: ${known.map((k) => prefix + k).join(', ')})`);
  }
}

function objectField(raw: Record<string, unknown>, field: 'dbt' | 'google', known: readonly string[], where: (field: string) => string): Record<string, unknown> {
  const value = raw[field];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${where(field)} must be an object with the fields ${known.join(', ')}`);
  const object = value as Record<string, unknown>;
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw invalid(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${field}.${k}`).join(', ')} in ${where(field)} (known: ${known.map((k) => `${field}.${k}`).join(', ')})`);
  return object;
}

function optionalString(object: Record<string, unknown>, field: string, where: (field: string) => string): string | undefined {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${where(field)} must be a non-empty string`);
  return value.trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** `file:///abs` (the directory is created by the lake when missing) or `gs://bucket[/prefix]`. */
function checkLake(value: string): string {
  const url = parseUrl('lake (FLUXO_LAKE, --lake)', value, LAKE_FORMS);
  if (url.protocol === 'file:') {
    if ((url.hostname !== '' && url.hostname !== 'localhost') || url.pathname.length <= 1 || url.search || url.hash) {
      throw invalid(`lake (FLUXO_LAKE, --lake) "${value}" is not an absolute file:// directory; use ${LAKE_FORMS}`);
    }
    const dir = fileURLToPath(url);
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw invalid(`lake (FLUXO_LAKE, --lake) ${dir} exists and is not a directory`);
    if (!existsSync(dir) && !existsSync(dirname(dir))) throw invalid(`lake (FLUXO_LAKE, --lake) ${dir}: its parent directory ${dirname(dir)} does not exist`);
    return value;
  }
  if (url.protocol === 'gs:') {
    if (!BUCKET.test(url.hostname) || url.search || url.hash || url.username || url.port) {
      throw invalid(`lake (FLUXO_LAKE, --lake) "${value}" does not name a bucket; use ${LAKE_FORMS}`);
    }
    return value.replace(/\/+$/, '');
  }
  throw invalid(`lake (FLUXO_LAKE, --lake) "${value}" has scheme ${url.protocol}; use ${LAKE_FORMS}`);
}

/** `duckdb:///abs/file.duckdb` (its directory must exist) or `bigquery://project[?location=X]`. */
function checkWarehouse(value: string): string {
  const url = parseUrl('warehouse (FLUXO_WAREHOUSE, --warehouse)', value, WAREHOUSE_FORMS);
  if (url.protocol === 'duckdb:') {
    // duckdb:///abs parses with an empty host and the absolute path.
    if (url.host !== '' || !url.pathname.startsWith('/') || url.pathname.length <= 1 || url.pathname.endsWith('/') || url.search || url.hash) {
      throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) "${value}" is not an absolute DuckDB file; use ${WAREHOUSE_FORMS}`);
    }
    const path = decodeURIComponent(url.pathname);
    if (!existsSync(dirname(path))) throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) ${path}: the directory ${dirname(path)} does not exist`);
    if (existsSync(path) && !statSync(path).isFile()) throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) ${path} exists and is not a file`);
    return value;
  }
  if (url.protocol === 'bigquery:') {
    if (!PROJECT.test(url.hostname) || (url.pathname !== '' && url.pathname !== '/') || url.hash || url.username || url.port) {
      throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) "${value}" does not name a Google Cloud project (6-30 lowercase letters, digits, hyphens); use ${WAREHOUSE_FORMS}`);
    }
    const unknown = [...url.searchParams.keys()].filter((key) => key !== 'location');
    if (unknown.length > 0) throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) "${value}": unknown parameter ${unknown.join(', ')} (only ?location=…)`);
    const location = url.searchParams.get('location');
    if (location !== null && !LOCATION.test(location)) throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) "${value}": "${location}" is not a BigQuery location (US, EU, southamerica-east1, …)`);
    return value;
  }
  throw invalid(`warehouse (FLUXO_WAREHOUSE, --warehouse) "${value}" has scheme ${url.protocol}; use ${WAREHOUSE_FORMS}`);
}

function checkDbtProject(path: string): string {
  const dir = checkExistingDir('dbt.project (FLUXO_DBT_PROJECT, --dbt-project)', path, 'the dbt project folder');
  if (!existsSync(`${dir}/dbt_project.yml`)) throw invalid(`dbt.project (FLUXO_DBT_PROJECT, --dbt-project) ${dir} has no dbt_project.yml: name the folder of the dbt project`);
  return dir;
}

function checkProfilesDir(path: string): string {
  const dir = checkExistingDir('dbt.profilesDir (FLUXO_DBT_PROFILES_DIR)', path, 'the folder with profiles.yml');
  if (!existsSync(`${dir}/profiles.yml`)) throw invalid(`dbt.profilesDir (FLUXO_DBT_PROFILES_DIR) ${dir} has no profiles.yml`);
  return dir;
}

/** A bare name is looked up on PATH when dbt runs; a path must be absolute and exist. */
function checkExecutable(value: string): string {
  if (!value.includes('/')) return value;
  return checkExistingFile('dbt.executable (FLUXO_DBT_BIN)', value, 'the dbt executable, or a bare name found on PATH');
}

function checkExistingDir(field: string, path: string, what: string): string {
  if (!isAbsolute(path)) throw invalid(`${field} "${path}" must be an absolute path (${what})`);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw invalid(`${field} ${path} is not an existing directory (${what})`);
  return path.replace(/\/+$/, '') || '/';
}

function checkExistingFile(field: string, path: string, what: string): string {
  if (!isAbsolute(path)) throw invalid(`${field} "${path}" must be an absolute path (${what})`);
  if (!existsSync(path) || !statSync(path).isFile()) throw invalid(`${field} ${path} is not an existing file (${what})`);
  return path;
}

function checkEndpoint(field: string, value: string): string {
  const url = parseUrl(field, value, 'http(s)://host:port');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`${field} "${value}" must be an http:// or https:// URL`);
  return value.replace(/\/+$/, '');
}

function parseUrl(field: string, value: string, forms: string): URL {
  try {
    return new URL(value);
  } catch {
    throw invalid(`${field} "${value}" is not a URI; use ${forms}`);
  }
}

function invalid(message: string): DataError {
  return new DataError('DATA_CONFIG_INVALID', message);
}
