// What a dbt model can read of the agent's environment (data/dbt.ts dbtEnvironment): the real dbt
// (scripts/ensure-dbt.sh) builds, through the agent's data service (data/service.ts) on a DuckDB
// file, a model that selects env_var() of variables planted in this process's environment.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataRunContext } from '../../data/contract.js';
import { dbtEnvironment } from '../../data/dbt.js';
import { createDataService, type DataService } from '../../data/service.js';
import { dbtExecutable } from '../support/dbt.js';
import { tempDir } from '../support/harness.js';

const PLANTED = {
  FLUXO_TOKEN: 'the-agent-token',
  FLUXO_TOKEN_FILE: '/etc/fluxo/token',
  SECRET_X: 'another-tenants-key',
  ALLOWED_Y: 'listed-by-the-operator',
  DBT_FLUXO_TEST_Z: 'a-dbt-setting',
} as const;

const MODEL = `select
  '{{ env_var("FLUXO_TOKEN", "absent") }}' as token,
  '{{ env_var("FLUXO_TOKEN_FILE", "absent") }}' as token_file,
  '{{ env_var("SECRET_X", "absent") }}' as secret_x,
  '{{ env_var("ALLOWED_Y", "absent") }}' as allowed_y,
  '{{ env_var("DBT_FLUXO_TEST_Z", "absent") }}' as dbt_z,
  '{{ env_var("FLUXO_DUCKDB_PATH", "absent") }}' <> 'absent' as has_duckdb_path
`;

let service: DataService;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  const executable = await dbtExecutable();
  const dir = await tempDir('fluxo-dbt-env-');
  const project = join(dir, 'project');
  await mkdir(join(project, 'models'), { recursive: true });
  await writeFile(join(project, 'dbt_project.yml'), "name: ambiente\nversion: '1.0.0'\nconfig-version: 2\nprofile: ambiente\nmodel-paths: [models]\nmodels:\n  ambiente:\n    +materialized: table\n");
  await writeFile(
    join(project, 'profiles.yml'),
    "ambiente:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ env_var('FLUXO_DUCKDB_PATH') }}\"\n      schema: ambiente\n      threads: 1\n      extensions: []\n      settings:\n        autoinstall_known_extensions: false\n        autoload_known_extensions: false\n",
  );
  await writeFile(join(project, 'models', 'ambiente.sql'), MODEL);
  for (const [name, value] of Object.entries(PLANTED)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  service = createDataService({ warehouse: `duckdb://${join(dir, 'w.duckdb')}`, dbt: { project, executable, env: ['ALLOWED_Y'] } });
}, 300_000);

afterAll(async () => {
  await service?.close();
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function runContext(): DataRunContext {
  return { flowRunId: 'run-env', attempt: 1, outputKey: 'run-env', taskKey: null, signal: new AbortController().signal, log: () => undefined, record: () => undefined };
}

describe("dbt's environment", () => {
  it("hides the agent's token and unlisted variables from a model; shows listed ones, DBT_* and the profile's", async () => {
    const data = service.forRun(runContext());
    const result = await data.dbtBuild({ select: 'ambiente' });
    expect(result).toMatchObject({ outcome: 'success', failure: null });
    expect(await data.query('select * from ambiente.ambiente')).toEqual([
      { token: 'absent', token_file: 'absent', secret_x: 'absent', allowed_y: 'listed-by-the-operator', dbt_z: 'a-dbt-setting', has_duckdb_path: true },
    ]);
  }, 120_000);

  it('is the allow-list, the listed names and what the agent adds, nothing else', () => {
    const host = { PATH: '/usr/bin', HOME: '/home/a', LC_ALL: 'C.UTF-8', VIRTUAL_ENV: '/venv', DBT_PROFILES_DIR: '/p', ...PLANTED, AWS_SECRET_ACCESS_KEY: 's' };
    expect(dbtEnvironment({ env: ['ALLOWED_Y', 'FLUXO_TOKEN'] }, host, { FLUXO_DUCKDB_PATH: '/w.duckdb', FLUXO_TOKEN: '' })).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/a',
      LC_ALL: 'C.UTF-8',
      VIRTUAL_ENV: '/venv',
      DBT_PROFILES_DIR: '/p',
      DBT_FLUXO_TEST_Z: 'a-dbt-setting',
      ALLOWED_Y: 'listed-by-the-operator',
      FLUXO_DUCKDB_PATH: '/w.duckdb',
    });
  });
});
