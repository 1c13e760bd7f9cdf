// The lake in a local directory: the shared suite, plus what only a file system has (temp files,
// empty folders) and openLake's URI rules.
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../data/contract.js';
import { FileLakeStore } from '../../data/lake/file-store.js';
import { openLake } from '../../data/lake/open-lake.js';
import { tempDir } from '../support/harness.js';
import { DS, TABLE, lakeContractSuite, lakeOf, pibRows, readTable, runContext, type LakeUnderTest } from './lake-suite.js';

async function fileLake(): Promise<LakeUnderTest & { dir: string }> {
  const dir = await tempDir('fluxo-lake-');
  const store = new FileLakeStore(dir);
  return {
    dir,
    store,
    lake: lakeOf(store),
    async keys(datasetId = DS, tableId = TABLE) {
      const prefix = `staging/${datasetId}/${tableId}/`;
      return (await store.list(prefix)).map((o) => o.key.slice(prefix.length));
    },
    local: (work) => work(dir),
  };
}

describe('file:// lake', () => {
  lakeContractSuite(fileLake);

  it('openLake takes file:///abs/dir and lays the table under it', async () => {
    const dir = await tempDir('fluxo-lake-');
    const lake = openLake(pathToFileURL(dir).href + '/');
    expect(lake.root).toBe(pathToFileURL(dir).href);
    const result = await lake.write(runContext('run-1').run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    expect(result.files[0]).toBe(pathToFileURL(join(dir, 'staging', DS, TABLE, 'sigla_uf=RJ', 'run-1_w1_a1_0.parquet')).href);
    expect(await readTable(dir)).toHaveLength(6);
  });

  it.each([
    ['a relative file URI', 'file:lake'],
    ['a file URI with a host', 'file://server/lake'],
    ['an S3 bucket', 's3://bucket/lake'],
    ['a plain path', '/var/lib/fluxo/lake'],
    ['a bucket name with capitals', 'gs://My_Bucket'],
    ['a prefix with ..', 'gs://fluxo-lake/../x'],
  ])('openLake refuses %s with DATA_CONFIG_INVALID naming the accepted forms', (_what, uri) => {
    let failure: unknown;
    try {
      openLake(uri);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(DataError);
    expect(failure).toMatchObject({ code: 'DATA_CONFIG_INVALID', message: expect.stringContaining('file:///absolute/dir or gs://bucket[/prefix]') });
  });

  it('never shows a half-written file: temp names are hidden from *.parquet, and a crash’s leftovers go with the next attempt', async () => {
    const t = await fileLake();
    await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    // What a crash in the middle of copying attempt 2's file leaves behind.
    const folder = join(t.dir, 'staging', DS, TABLE, 'sigla_uf=RJ');
    await writeFile(join(folder, '.run-a_w1_a2_0.parquet.0a1b2c3d4e5f.tmp'), 'PAR1 half a file');
    expect(await readTable(t.dir)).toHaveLength(6);
    const result = await t.lake.write(runContext('run-a', 3).run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf'] });
    expect(result.deleted).toBe(3);
    expect((await readdir(folder)).sort()).toEqual(['run-a_w1_a3_0.parquet']);
    // No temp file of the write itself survives it.
    expect((await readdir(join(t.dir, 'staging', DS, TABLE), { recursive: true })).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('removes the folders of partitions it emptied', async () => {
    const t = await fileLake();
    await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010, 2011]) }, { partitionColumns: ['ano', 'sigla_uf'] });
    await t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2012], ['AC']) }, { partitionColumns: ['ano', 'sigla_uf'], mode: 'overwrite' });
    expect((await readdir(join(t.dir, 'staging', DS, TABLE), { recursive: true })).sort()).toEqual(['ano=2012', 'ano=2012/sigla_uf=AC', 'ano=2012/sigla_uf=AC/run-b_w1_a1_0.parquet']);
  });

  it('overwrite removes stray objects too, but append leaves files it does not own alone', async () => {
    const t = await fileLake();
    const folder = join(t.dir, 'staging', DS, TABLE);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'README.txt'), 'notes');
    await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, {});
    expect(await t.keys()).toEqual(['README.txt', 'run-a_w1_a1_0.parquet']);
    await t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2011]) }, { mode: 'overwrite' });
    expect(await t.keys()).toEqual(['run-b_w1_a1_0.parquet']);
  });
});
