// The data settings (data/config.ts): a JSON file, environment variables over it, flags over
// those, and every malformed value refused at start with DATA_CONFIG_INVALID naming the field and
// the forms it accepts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDataSettings } from '../../data/config.js';
import { DataError } from '../../data/contract.js';
import { tempDir } from '../support/harness.js';
import { refusalOfSync } from '../support/refusal.js';

let dir: string;
let project: string;
let profiles: string;
let keyFile: string;
let extension: string;

beforeAll(async () => {
  dir = await tempDir('fluxo-data-config-');
  project = join(dir, 'dbt');
  profiles = join(dir, 'profiles');
  await mkdir(project);
  await mkdir(profiles);
  await writeFile(join(project, 'dbt_project.yml'), "name: example\nprofile: example\n");
  await writeFile(join(profiles, 'profiles.yml'), 'example: {}\n');
  keyFile = join(dir, 'key.json');
  await writeFile(keyFile, '{}');
  extension = join(dir, 'spatial.duckdb_extension');
  await writeFile(extension, '');
});

async function configFile(value: unknown, name = `config-${Math.random().toString(36).slice(2)}.json`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('reading the settings', () => {
  it('gives {} (frozen) when nothing is configured', () => {
    const settings = readDataSettings({ env: {} });
    expect(settings).toEqual({});
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('reads every field of the file', async () => {
    const file = await configFile({
      lake: pathToFileURL(join(dir, 'lake')).href,
      warehouse: `duckdb://${join(dir, 'warehouse.duckdb')}`,
      dbt: { project, profilesDir: profiles, executable: 'dbt', target: 'dev' },
      google: { credentialsFile: keyFile, storageEndpoint: 'http://127.0.0.1:4443/', bigqueryEndpoint: 'http://127.0.0.1:9050', emulatorToken: 'x' },
      duckdbSpatialExtension: extension,
    });
    const settings = readDataSettings({ dataConfigFile: file, env: {} });
    expect(settings).toEqual({
      lake: pathToFileURL(join(dir, 'lake')).href,
      warehouse: `duckdb://${join(dir, 'warehouse.duckdb')}`,
      dbt: { project, profilesDir: profiles, executable: 'dbt', target: 'dev' },
      google: { credentialsFile: keyFile, storageEndpoint: 'http://127.0.0.1:4443', bigqueryEndpoint: 'http://127.0.0.1:9050', emulatorToken: 'x' },
      duckdbSpatialExtension: extension,
    });
    expect(Object.isFrozen(settings.dbt)).toBe(true);
    expect(Object.isFrozen(settings.google)).toBe(true);
  });

  it('finds the file through FLUXO_DATA_CONFIG', async () => {
    const file = await configFile({ lake: 'gs://rj-escritorio-lake/prod' });
    expect(readDataSettings({ env: { FLUXO_DATA_CONFIG: file } })).toEqual({ lake: 'gs://rj-escritorio-lake/prod' });
  });

  it('takes a BOM-prefixed file', async () => {
    const file = await configFile(`\uFEFF${JSON.stringify({ warehouse: 'bigquery://rj-escritorio-dev?location=US' })}`);
    expect(readDataSettings({ dataConfigFile: file, env: {} })).toEqual({ warehouse: 'bigquery://rj-escritorio-dev?location=US' });
  });

  it('lets each environment variable override its field of the file', async () => {
    const otherProject = join(dir, 'dbt2');
    await mkdir(otherProject, { recursive: true });
    await writeFile(join(otherProject, 'dbt_project.yml'), 'name: other\n');
    const file = await configFile({
      lake: 'gs://file-lake',
      warehouse: 'bigquery://file-project',
      dbt: { project, target: 'prod' },
      google: { credentialsFile: join(dir, 'missing-but-overridden.json') },
    });
    const env = {
      FLUXO_LAKE: pathToFileURL(join(dir, 'env-lake')).href,
      FLUXO_WAREHOUSE: `duckdb://${join(dir, 'env.duckdb')}`,
      FLUXO_DBT_PROJECT: otherProject,
      FLUXO_DBT_PROFILES_DIR: profiles,
      FLUXO_DBT_BIN: '/bin/sh',
      FLUXO_DUCKDB_SPATIAL: extension,
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
    };
    expect(readDataSettings({ dataConfigFile: file, env })).toEqual({
      lake: env.FLUXO_LAKE,
      warehouse: env.FLUXO_WAREHOUSE,
      dbt: { project: otherProject, profilesDir: profiles, executable: '/bin/sh', target: 'prod' },
      google: { credentialsFile: keyFile },
      duckdbSpatialExtension: extension,
    });
  });

  it('lets flags override the environment', () => {
    const settings = readDataSettings({
      env: { FLUXO_LAKE: 'gs://env-lake', FLUXO_WAREHOUSE: 'bigquery://env-project' },
      flags: { lake: 'gs://flag-lake/x', warehouse: 'bigquery://flag-project', dbtProject: project },
    });
    expect(settings).toEqual({ lake: 'gs://flag-lake/x', warehouse: 'bigquery://flag-project', dbt: { project } });
  });

  it('reads dbt.env, the host variables dbt may see', async () => {
    const file = await configFile({ dbt: { project, env: ['PGPASSWORD', ' DBT_EXTRA '] } });
    expect(readDataSettings({ dataConfigFile: file, env: {} }).dbt).toEqual({ project, env: ['PGPASSWORD', 'DBT_EXTRA'] });
  });

  it('leaves FLUXO_DUCKDB_SPATIAL waiting for a DuckDB warehouse, as FLUXO_DBT_BIN waits for a project', () => {
    expect(readDataSettings({ env: { FLUXO_DUCKDB_SPATIAL: '/nonexistent-spatial' } })).toEqual({});
    expect(readDataSettings({ env: { FLUXO_WAREHOUSE: 'bigquery://my-project', FLUXO_DUCKDB_SPATIAL: '/nonexistent-spatial' } })).toEqual({ warehouse: 'bigquery://my-project' });
  });

  it('leaves FLUXO_DBT_BIN and FLUXO_DBT_PROFILES_DIR waiting for a project (a host may set them for every process)', () => {
    expect(readDataSettings({ env: { FLUXO_DBT_BIN: '/nonexistent/dbt', FLUXO_DBT_PROFILES_DIR: '/nonexistent' } })).toEqual({});
  });

  it('ignores empty variables', () => {
    expect(readDataSettings({ env: { FLUXO_LAKE: '', FLUXO_WAREHOUSE: '  ', FLUXO_DATA_CONFIG: '' } })).toEqual({});
  });
});

describe('refusing malformed settings (DATA_CONFIG_INVALID)', () => {
  it.each([
    ['a relative file lake', { FLUXO_LAKE: 'file://lake' }, /lake \(FLUXO_LAKE, --lake\).*file:\/\/\/absolute\/dir or gs:\/\/bucket\[\/prefix\]/],
    ['a lake of another scheme', { FLUXO_LAKE: 's3://bucket' }, /lake \(FLUXO_LAKE, --lake\) "s3:\/\/bucket" has scheme s3:; use file:\/\/\/absolute\/dir or gs:\/\/bucket\[\/prefix\]/],
    ['a lake that is not a URI', { FLUXO_LAKE: '/srv/lake' }, /lake \(FLUXO_LAKE, --lake\) "\/srv\/lake" is not a URI; use file:\/\/\/absolute\/dir or gs:\/\/bucket/],
    ['a gs lake without a valid bucket', { FLUXO_LAKE: 'gs://A_B' }, /lake \(FLUXO_LAKE, --lake\) "gs:\/\/A_B" does not name a bucket/],
    ['a lake whose parent directory is missing', { FLUXO_LAKE: 'file:///nonexistent-fluxo/a/lake' }, /its parent directory \/nonexistent-fluxo\/a does not exist/],
    ['a relative DuckDB file', { FLUXO_WAREHOUSE: 'duckdb://warehouse.duckdb' }, /warehouse \(FLUXO_WAREHOUSE, --warehouse\) "duckdb:\/\/warehouse.duckdb" is not an absolute DuckDB file; use duckdb:\/\/\/absolute\/path\/file.duckdb or bigquery:\/\/project\[\?location=EU\]/],
    ['a DuckDB file in a missing directory', { FLUXO_WAREHOUSE: 'duckdb:///nonexistent-fluxo/w.duckdb' }, /the directory \/nonexistent-fluxo does not exist/],
    ['a BigQuery project that is not a project id', { FLUXO_WAREHOUSE: 'bigquery://My_Project' }, /does not name a Google Cloud project/],
    ['a BigQuery parameter other than location', { FLUXO_WAREHOUSE: 'bigquery://my-project?dataset=x' }, /unknown parameter dataset \(only \?location=…\)/],
    ['a warehouse of another scheme', { FLUXO_WAREHOUSE: 'postgres://db/x' }, /has scheme postgres:; use duckdb:\/\/\/absolute/],
    ['a relative dbt project', { FLUXO_DBT_PROJECT: 'dbt' }, /dbt.project \(FLUXO_DBT_PROJECT, --dbt-project\) "dbt" must be an absolute path/],
    ['a dbt project that does not exist', { FLUXO_DBT_PROJECT: '/nonexistent-fluxo-dbt' }, /dbt.project .* \/nonexistent-fluxo-dbt is not an existing directory/],
    ['a missing credentials file', { GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent-fluxo-key.json' }, /google.credentialsFile \(GOOGLE_APPLICATION_CREDENTIALS\) \/nonexistent-fluxo-key.json is not an existing file/],
    ['a missing spatial extension', { FLUXO_WAREHOUSE: 'duckdb:///tmp/fluxo-spatial-check.duckdb', FLUXO_DUCKDB_SPATIAL: '/nonexistent-spatial' }, /duckdbSpatialExtension \(FLUXO_DUCKDB_SPATIAL\) \/nonexistent-spatial is not an existing file/],
    ['a missing dbt executable path', { FLUXO_DBT_PROJECT: '/PROJECT', FLUXO_DBT_BIN: '/nonexistent/dbt' }, /dbt.executable \(FLUXO_DBT_BIN\) \/nonexistent\/dbt is not an existing file/],
    ['a data config file that does not exist', { FLUXO_DATA_CONFIG: '/nonexistent-fluxo.json' }, /data config file \/nonexistent-fluxo.json does not exist \(--data-config, FLUXO_DATA_CONFIG\)/],
  ])('refuses %s', (_what, env, message) => {
    const withProject = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value === '/PROJECT' ? project : value]));
    const { code, message: text } = refusalOfSync(() => readDataSettings({ env: withProject }), DataError);
    expect(code).toBe('DATA_CONFIG_INVALID');
    expect(text).toMatch(message);
  });

  it('refuses a dbt project without dbt_project.yml', () => {
    expect(refusalOfSync(() => readDataSettings({ env: { FLUXO_DBT_PROJECT: profiles } }), DataError)).toEqual({
      code: 'DATA_CONFIG_INVALID',
      message: `dbt.project (FLUXO_DBT_PROJECT, --dbt-project) ${profiles} has no dbt_project.yml: name the folder of the dbt project`,
    });
  });

  it('refuses a profiles folder without profiles.yml', () => {
    expect(refusalOfSync(() => readDataSettings({ env: { FLUXO_DBT_PROJECT: project, FLUXO_DBT_PROFILES_DIR: project } }), DataError)).toEqual({
      code: 'DATA_CONFIG_INVALID',
      message: `dbt.profilesDir (FLUXO_DBT_PROFILES_DIR) ${project} has no profiles.yml`,
    });
  });

  it('refuses a file\'s dbt settings without a project', async () => {
    const file = await configFile({ dbt: { target: 'dev' } });
    expect(refusalOfSync(() => readDataSettings({ dataConfigFile: file, env: {} }), DataError).message).toMatch(/dbt \(in .*\) has dbt.target but no dbt.project: set dbt.project \(or FLUXO_DBT_PROJECT, --dbt-project\)/);
  });

  it.each([
    ['not JSON', '{ lake: ', /is not JSON/],
    ['an array', '[]', /must hold a JSON object with the fields lake, warehouse, dbt, google, duckdbSpatialExtension/],
    ['an unknown field', { lake: 'gs://b-lake', warehose: 'bigquery://my-project' }, /unknown field warehose in data config file .* \(known: lake, warehouse, dbt, google, duckdbSpatialExtension\)/],
    ['an unknown dbt field', { dbt: { project: '/x', profiles: '/y' } }, /unknown field dbt.profiles in dbt \(in .*\) \(known: dbt.project, dbt.profilesDir, dbt.executable, dbt.target, dbt.env\)/],
    ['an unknown google field', { google: { keyFile: '/x' } }, /unknown field google.keyFile in google .*known: google.credentialsFile, google.storageEndpoint, google.bigqueryEndpoint, google.emulatorToken/],
    ['a lake that is not a string', { lake: 42 }, /lake \(in .*\) must be a non-empty string/],
    ['dbt that is not an object', { dbt: '/srv/dbt' }, /dbt \(in .*\) must be an object with the fields project, profilesDir, executable, target, env/],
    ['an endpoint that is not http', { google: { storageEndpoint: 'ftp://x' } }, /google.storageEndpoint "ftp:\/\/x" must be an http:\/\/ or https:\/\/ URL/],
    ['an emulator token without an endpoint', { google: { emulatorToken: 'x' } }, /google.emulatorToken is for emulators only: it needs google.storageEndpoint or google.bigqueryEndpoint/],
    ['dbt.env that is not a list', { dbt: { project: '/x', env: 'PGPASSWORD' } }, /dbt.env \(in .*\) must be a list of environment variable names \(host variables dbt may see\)/],
    ['dbt.env naming no variable', { dbt: { project: '/x', env: ['PG PASSWORD'] } }, /dbt.env \(in .*\): "PG PASSWORD" is not an environment variable name/],
    ['dbt.env naming the agent\'s token', { dbt: { project: '/x', env: ['FLUXO_TOKEN'] } }, /dbt.env \(in .*\): FLUXO_TOKEN carries the agent's own credentials and never reaches dbt/],
  ])('refuses a file with %s', async (_what, content, message) => {
    const file = await configFile(content);
    const { code, message: text } = refusalOfSync(() => readDataSettings({ dataConfigFile: file, env: {} }), DataError);
    expect(code).toBe('DATA_CONFIG_INVALID');
    expect(text).toMatch(message);
  });
});
