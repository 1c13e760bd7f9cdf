// `fluxo tables list | show` through the real CLI, proxy and server processes, with lineage an
// agent recorded through its own API client (agent/agent-api.ts) under a real lease.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AgentApi } from '../../agent/agent-api.js';
import { repoRoot } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';

interface TableJson {
  dataset: string;
  table: string;
  kind: string;
  lastWrite: { rows: number | null; partitions: string[]; flowRun: { id: string } };
  partitions?: { partition: string; lastWrite: { flowRun: { id: string } } }[];
  history?: { flowRun: { id: string }; attempt: number; taskRunKey: string | null }[];
}

function json<T>(result: { exitCode: number; stdout: string; stderr: string }): T {
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe('fluxo tables', () => {
  let stack: Stack;
  const runs: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    const registered = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'hello.ts'), '--project', 'production', '--storage', stack.storageUri]);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const developer = await stack.client('developer');
    const api = new AgentApi(await stack.client('agent'));
    const { id: agentId } = await api.registerAgent({ name: 'lineage-agent', labels: [], concurrency: 4 });
    // Two runs of the pipeline: the second rewrites one partition of the first and adds one.
    const writes = [
      { partitions: ['2010-01-01', '2011-01-01'], rows: 100 },
      { partitions: ['2011-01-01', '2012-01-01'], rows: 150 },
    ];
    for (const [i, write] of writes.entries()) {
      const { createFlowRun } = await developer.request<{ createFlowRun: { id: string } }>(`mutation { createFlowRun(input: { project: "production", flowName: "hello" }) { id } }`);
      const [claim] = await api.claimFlowRuns({ agentId, max: 1, waitMs: 5000 });
      expect(claim?.flowRun.id).toBe(createFlowRun.id);
      expect(claim?.outputKey).toBe(createFlowRun.id);
      runs.push(createFlowRun.id);
      const lease = { flowRunId: createFlowRun.id, leaseToken: claim!.leaseToken };
      const items = [
        { kind: 'LAKE' as const, taskRunKey: 'land#1', dataset: 'br_ibge_pib', table: 'municipio', partitions: write.partitions.map((p) => `ano=${p.slice(0, 4)}`), rows: write.rows, bytes: 4096, uri: 'file:///lake/staging/br_ibge_pib/municipio', mode: 'overwrite-partitions' },
        { kind: 'STAGING' as const, dataset: 'br_ibge_pib', table: 'municipio', partitions: [], uri: 'duckdb:///w.duckdb#br_ibge_pib_staging.municipio' },
        { kind: 'TABLE' as const, taskRunKey: 'materialize#1', dataset: 'br_ibge_pib', table: 'municipio', partitions: write.partitions, rows: write.rows, uri: 'duckdb:///w.duckdb#br_ibge_pib.municipio', mode: 'replace-partitions' },
        ...(i === 1 ? [{ kind: 'PUBLISH' as const, dataset: 'br_ibge_pib', table: '', partitions: [], uri: 'file:///public/br_ibge_pib' }] : []),
      ];
      expect(await api.recordMaterializations({ ...lease, batchId: `b-${i}`, items })).toBe(items.length);
      // The agent retried a batch whose answer it lost: recorded once.
      expect(await api.recordMaterializations({ ...lease, batchId: `b-${i}`, items })).toBe(0);
    }
  }, 90_000);

  it('lists each table once with its latest write, by dataset and table, staging tables as <dataset>_staging.<table>', async () => {
    const result = await stack.cli(['tables', 'list']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TABLE\s+KIND\s+LAST RUN\s+WRITTEN\s+ROWS\s+PARTITIONS$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
      ['br_ibge_pib', 'publish', runs[1], expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/), '-', '0'],
      ['br_ibge_pib.municipio', 'lake', runs[1], expect.any(String), '150', '2'],
      ['br_ibge_pib_staging.municipio', 'staging', runs[1], expect.any(String), '-', '0'],
      ['br_ibge_pib.municipio', 'table', runs[1], expect.any(String), '150', '2'],
    ]);
    const tables = json<TableJson[]>(await stack.cli(['tables', 'list', '--kind', 'table', '--dataset', 'br_ibge_pib', '--json']));
    expect(tables).toEqual([expect.objectContaining({ dataset: 'br_ibge_pib', table: 'municipio', kind: 'TABLE' })]);
    expect(json<TableJson[]>(await stack.cli(['tables', 'list', '--dataset', 'other', '--json']))).toEqual([]);
  });

  it('shows each partition with the run that last wrote it, and the history', async () => {
    const result = await stack.cli(['tables', 'show', 'br_ibge_pib.municipio', '--kind', 'table']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^table:\s+br_ibge_pib\.municipio$/m);
    expect(result.stdout).toMatch(new RegExp(`^last run:\\s+${runs[1]}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^2012-01-01\\s+${runs[1]}\\s+\\S+ \\S+\\s+150$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^2011-01-01\\s+${runs[1]}\\s+\\S+ \\S+\\s+150$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^2010-01-01\\s+${runs[0]}\\s+\\S+ \\S+\\s+100$`, 'm'));
    expect(result.stdout.indexOf('2012-01-01')).toBeLessThan(result.stdout.indexOf('2010-01-01'));
    expect(result.stdout).toMatch(new RegExp(`\\s${runs[1]}\\s+1\\s+materialize#1\\s+150\\s+2\\s+replace-partitions$`, 'm'));

    const [table] = json<TableJson[]>(await stack.cli(['tables', 'show', 'br_ibge_pib.municipio', '--kind', 'table', '--json']));
    expect(table!.partitions!.map((p) => [p.partition, p.lastWrite.flowRun.id])).toEqual([['2012-01-01', runs[1]], ['2011-01-01', runs[1]], ['2010-01-01', runs[0]]]);
    expect(table!.history!.map((h) => h.flowRun.id)).toEqual([runs[1], runs[0]]);
  });

  it('shows every kind a name can be, takes the staging spelling, and a published dataset by its name', async () => {
    expect(json<TableJson[]>(await stack.cli(['tables', 'show', 'br_ibge_pib.municipio', '--json'])).map((t) => t.kind)).toEqual(['LAKE', 'STAGING', 'TABLE']);
    const staging = json<TableJson[]>(await stack.cli(['tables', 'show', 'br_ibge_pib_staging.municipio', '--json']));
    expect(staging.map((t) => [t.dataset, t.table, t.kind])).toEqual([['br_ibge_pib', 'municipio', 'STAGING']]);
    const shown = await stack.cli(['tables', 'show', 'br_ibge_pib_staging.municipio']);
    expect(shown.stdout).toMatch(/^table:\s+br_ibge_pib_staging\.municipio$/m);
    expect(shown.stdout).toContain('(not partitioned)');
    expect(json<TableJson[]>(await stack.cli(['tables', 'show', 'br_ibge_pib', '--json'])).map((t) => t.kind)).toEqual(['PUBLISH']);
  });

  it.each([
    [['tables', 'show', 'br-ibge.municipio'], /dataset "br-ibge" must be 1-128 letters/],
    [['tables', 'show', 'a.b.c'], /give DATASET\.TABLE/],
    [['tables', 'show', 'br_ibge_pib', '--kind', 'table'], /give DATASET\.TABLE for --kind table/],
    [['tables', 'show', 'br_ibge_pib.municipio', '--kind', 'view'], /--kind must be one of lake, staging, table, publish; got "view"/],
    [['tables', 'list', '--kind', 'views'], /--kind must be one of/],
    [['tables', 'list', '--dataset', '1x'], /--dataset "1x" must be/],
  ])('refuses %j with a usage error (exit 2)', async (args, message) => {
    const result = await stack.cli(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: \[BAD_USER_INPUT\] /);
    expect(result.stderr).toMatch(message);
  });

  it('exits 4 for a table no run wrote, and shows another tenant nothing', async () => {
    const missing = await stack.cli(['tables', 'show', 'br_ibge_pib.nada']);
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('[NOT_FOUND] no run of your tenant recorded br_ibge_pib.nada (lake, staging, table)');
    const foreign = await stack.cli(['tables', 'list'], { tenant: 'rj-smtr' });
    expect(foreign.exitCode, foreign.stderr).toBe(0);
    expect(foreign.stdout).toBe('');
    expect(foreign.stderr).toContain('no tables yet');
    expect((await stack.cli(['tables', 'show', 'br_ibge_pib.municipio'], { tenant: 'rj-smtr' })).exitCode).toBe(4);
  });
});
