// The README's main job (`fluxo dev`) and the CLI following a run live over graphql-ws.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot, tempDir } from '../support/harness.js';
import { startStack } from '../support/stack.js';

describe('fluxo dev', () => {
  it('starts server, proxy and agent, registers and runs the examples, and writes dev.json', async () => {
    const dir = await tempDir();
    const dev = await execa(process.execPath, [cliPath, 'dev', '--data-dir', dir, '--port', '0', '--exit-after-examples'], { reject: false, timeout: 400_000 });
    expect(dev.exitCode, `${dev.stdout}\n${dev.stderr}`).toBe(0);
    for (const name of ['municipios', 'flaky-retry', 'typed-parameters', 'br-ibge-pib']) expect(dev.stdout).toMatch(new RegExp(`run ${name} \\S+: SUCCESS`));
    // The data pipeline on the embedded default: dbt ran the model, and the figure is the one the
    // open data gives (IBGE's 2010 GDP of the 45 municipalities within 100 km of Rio).
    expect(dev.stdout).toMatch(/dbt built .*model\.br_ibge_pib\.pib_perto_do_rio \(success\)/);
    expect(dev.stdout).toMatch(/2010: R\$\s322,6\sbi in 45 municipalities within 100 km of Rio de Janeiro/);
    const info = JSON.parse(await readFile(join(dir, 'dev.json'), 'utf8')) as Record<string, string>;
    expect(info).toMatchObject({ apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/), adminToken: expect.any(String), tenant: 'rj-escritorio' });
    expect(info).toMatchObject({ lake: pathToFileURL(join(dir, 'lake')).href, warehouse: `duckdb://${join(dir, 'warehouse.duckdb')}` });
    // Year partitions in the lake, and the partitioned production table with distances in the warehouse.
    const years = (await readdir(join(dir, 'lake', 'staging', 'br_ibge_pib', 'municipio'))).sort();
    expect(years).toEqual(Array.from({ length: 10 }, (_, i) => `ano=${2002 + i}`));
    const warehouse = await (await DuckDBInstance.create(join(dir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' })).connect();
    const [table] = (await warehouse.runAndReadAll(
      "select count(*)::integer as n, count(distinct data_particao)::integer as partitions, round(max(distancia_capital_km))::integer as farthest from br_ibge_pib.municipio",
    )).getRowObjectsJson();
    expect(table).toEqual({ n: 51_511, partitions: 10, farthest: 1475 });
    warehouse.closeSync();
    expect((await readFile(join(dir, 'output', 'municipios.csv'), 'utf8')).trim().split('\n')).toHaveLength(5572);
  }, 420_000);
});

describe('following a run from the CLI', () => {
  it('streams states and logs with --watch and exits 0 on SUCCESS, 1 otherwise', async () => {
    const stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'retry.ts'), join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    expect(registered.stdout).toMatch(/^new flaky-retry v1 /m);
    const again = await stack.cli(['register', join(repoRoot, 'examples', 'retry.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(again.stdout).toMatch(/^0 new, 1 unchanged, 0 failed$/m);
    await stack.startAgent();

    const ok = await stack.cli(['runs', 'create', 'flaky-retry', '--watch']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/RUNNING/);
    expect(ok.stdout).toMatch(/SUCCESS/);
    expect(ok.stdout).toMatch(/flaky service said/);

    const failed = await stack.cli(['runs', 'create', 'fail-always', '--watch']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/FAILED/);
    expect(`${failed.stdout}${failed.stderr}`).toMatch(/this flow always fails/);
  }, 120_000);
});
