// One suite for every lake adapter (file:// and gs://, STYLE.md "one suite, every adapter"): layout,
// date partitions, modes, idempotent retries and reruns, crash healing, cancellation and bad input.
// The table is always read back whole with DuckDB's Hive reader, the way a staging table sees it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DataRunContext, DataSource, Lake, LakeWriteMode, LakeWriteOptions, Materialization, Row } from '../../data/contract.js';
import { sqlString, withMemoryDuckDB } from '../../data/lake/duckdb-memory.js';
import type { LakeStore } from '../../data/lake/lake-store.js';
import { StoreLake, type StoreLakeOptions } from '../../data/lake/store-lake.js';

export const DS = 'br_ibge_pib';
export const TABLE = 'municipio';

/** A lake to test, fresh for each test. */
export interface LakeUnderTest {
  /** The adapter's store; `lakeOf` wraps it (or a wrapper of it) in a Lake. */
  store: LakeStore;
  lake: Lake;
  /** Table keys (relative to the table), sorted. */
  keys(datasetId?: string, tableId?: string): Promise<string[]>;
  /** Runs `work` on a local folder holding the lake's `staging/…` objects (the lake itself, or a download). */
  local<T>(work: (dir: string) => Promise<T>): Promise<T>;
}

export function lakeOf(store: LakeStore, options: StoreLakeOptions = {}): Lake {
  return new StoreLake(store, options);
}

/** A run context that keeps what the lake records and logs. */
export function runContext(
  outputKey: string,
  attempt = 1,
  flowRunId = outputKey,
  signal: DataRunContext['signal'] = new AbortController().signal,
): { run: DataRunContext; records: Materialization[]; logs: string[] } {
  const records: Materialization[] = [];
  const logs: string[] = [];
  const run: DataRunContext = {
    flowRunId,
    attempt,
    outputKey,
    taskKey: 'land#1',
    signal,
    log: (level, message) => logs.push(`${level} ${message}`),
    record: (materialization) => records.push(materialization),
  };
  return { run, records, logs };
}

/** Three municipalities per state and year; numbers as JS numbers, as a flow hands them over. */
export function pibRows(years: number[], ufs = ['RJ', 'SP']): Row[] {
  return years.flatMap((ano) => ufs.flatMap((uf) => [1, 2, 3].map((i) => ({ ano, sigla_uf: uf, id_municipio: `${uf}${i}`, pib: ano * 10 + i }))));
}

const BY_YEAR: LakeWriteOptions = { datePartition: { column: 'ano' } };

/** Every row of a table as text (partition keys too), through DuckDB's Hive reader. */
export async function readTable(dir: string, format: 'parquet' | 'csv' = 'parquet', datasetId = DS, tableId = TABLE): Promise<Row[]> {
  const glob = sqlString(join(dir, 'staging', datasetId, tableId, '**', `*.${format}`));
  return withMemoryDuckDB(async (db) => {
    const [found] = await db.rows(`select count(*) as n from glob(${glob})`);
    if (Number(found?.n) === 0) return [];
    const reader =
      format === 'parquet'
        ? `read_parquet(${glob}, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)`
        : `read_csv(${glob}, hive_partitioning = true, hive_types_autocast = false, union_by_name = true, all_varchar = true, header = true)`;
    return (await db.rows(`select * from ${reader}`)) as Row[];
  });
}

async function tableRows(t: LakeUnderTest, format: 'parquet' | 'csv' = 'parquet'): Promise<Row[]> {
  return t.local((dir) => readTable(dir, format));
}

/** The store with some methods replaced (a crash, a cancellation at a chosen point). */
export function wrapStore(store: LakeStore, overrides: Partial<Pick<LakeStore, 'put' | 'delete'>>): LakeStore {
  return {
    root: store.root,
    tracksOwners: store.tracksOwners,
    uriOf: (key) => store.uriOf(key),
    list: (prefix) => store.list(prefix),
    put: overrides.put ?? ((path, key, options) => store.put(path, key, options)),
    delete: overrides.delete ?? ((object) => store.delete(object)),
    withLocalCopy: (key, work) => store.withLocalCopy(key, work),
    prune: (prefix) => store.prune(prefix),
  };
}

function uniqueRows(rows: Row[]): number {
  return new Set(rows.map((row) => `${row.ano}/${row.id_municipio}`)).size;
}

export function lakeContractSuite(setup: () => Promise<LakeUnderTest>): void {
  describe('layout', () => {
    it('writes Hive partitions, date keys first, and names files <outputKey>_<writeKey>_a<attempt>_<n>', async () => {
      const t = await setup();
      const { run, records } = runContext('0190a1b2-0000-7000-8000-000000000001', 2);
      const result = await t.lake.write(run, DS, TABLE, { rows: pibRows([2010, 2011]) }, { ...BY_YEAR, partitionColumns: ['sigla_uf'], writeKey: 'pib' });
      const partitions = [2010, 2011].flatMap((y) => ['RJ', 'SP'].map((uf) => `ano_particao=${y}/mes_particao=1/data_particao=${y}-01-01/sigla_uf=${uf}`));
      expect(result.partitions).toEqual(partitions);
      expect(result.rows).toBe(12);
      expect(result.deleted).toBe(0);
      expect(result.uri).toBe(t.lake.tableUri(DS, TABLE));
      expect(result.uri).toBe(`${t.lake.root}/staging/${DS}/${TABLE}`);
      expect(result.files).toEqual(partitions.map((p) => `${result.uri}/${p}/0190a1b2-0000-7000-8000-000000000001_pib_a2_0.parquet`));
      expect(await t.keys()).toEqual(partitions.map((p) => `${p}/0190a1b2-0000-7000-8000-000000000001_pib_a2_0.parquet`));
      expect(result.bytes).toBeGreaterThan(0);
      expect(records).toEqual([{ kind: 'lake', dataset: DS, table: TABLE, partitions, rows: 12, bytes: result.bytes, uri: result.uri, mode: 'append' }]);
      expect(await t.lake.partitions(DS, TABLE)).toEqual(partitions);
      expect(await t.lake.columns(DS, TABLE)).toEqual({
        dataColumns: ['ano', 'id_municipio', 'pib'],
        partitionKeys: ['ano_particao', 'mes_particao', 'data_particao', 'sigla_uf'],
        format: 'parquet',
      });
    });

    it('keeps every column as text: numbers as JS prints them, booleans, and null as null', async () => {
      const t = await setup();
      const rows: Row[] = [
        { ano: 2002, pib: 0.1, capital: true, nome: 'Niterói', vazio: null },
        { ano: 2002, pib: 1234567890123, capital: false, nome: "D'Ávila", vazio: '' },
      ];
      await t.lake.write(runContext('run-1').run, DS, TABLE, { rows }, {});
      const back = await tableRows(t);
      expect(back).toEqual([
        { ano: '2002', pib: '0.1', capital: 'true', nome: 'Niterói', vazio: null },
        { ano: '2002', pib: '1234567890123', capital: 'false', nome: "D'Ávila", vazio: '' },
      ]);
      expect(await t.lake.columns(DS, TABLE)).toEqual({ dataColumns: ['ano', 'pib', 'capital', 'nome', 'vazio'], partitionKeys: [], format: 'parquet' });
      expect(await t.lake.partitions(DS, TABLE)).toEqual([]);
    });

    it('drops partition columns from the files; the folders carry them', async () => {
      const t = await setup();
      await t.lake.write(runContext('run-1').run, DS, TABLE, { rows: pibRows([2010]) }, { partitionColumns: ['sigla_uf', 'ano'] });
      const [first] = await t.keys();
      expect(first).toMatch(/^sigla_uf=RJ\/ano=2010\/run-1_w1_a1_0\.parquet$/);
      const columns = await t.local((dir) =>
        withMemoryDuckDB(async (db) =>
          (await db.rows(`select column_name from (describe select * from read_parquet(${sqlString(join(dir, 'staging', DS, TABLE, first!))}, hive_partitioning = false))`)).map((r) => r.column_name),
        ),
      );
      expect(columns).toEqual(['id_municipio', 'pib']);
      const back = await tableRows(t);
      expect(back).toHaveLength(6);
      expect(back.every((row) => row.sigla_uf !== undefined && row.ano === '2010')).toBe(true);
    });

    it('derives ano/mes/data_particao from dates and years, and writes null keys to Hive’s default partition', async () => {
      const t = await setup();
      const rows: Row[] = [
        { dia: '2010-03-15', v: 'a' },
        { dia: '2011-12-01T10:00:00Z', v: 'b' },
        { dia: 2012, v: 'c' },
        { dia: '2013', v: 'd' },
        { dia: null, v: 'e' },
      ];
      const result = await t.lake.write(runContext('run-1').run, DS, TABLE, { rows }, { datePartition: { column: 'dia', granularity: 'month' } });
      expect(result.partitions).toEqual([
        'ano_particao=2010/mes_particao=3/data_particao=2010-03-01',
        'ano_particao=2011/mes_particao=12/data_particao=2011-12-01',
        'ano_particao=2012/mes_particao=1/data_particao=2012-01-01',
        'ano_particao=2013/mes_particao=1/data_particao=2013-01-01',
        'ano_particao=__HIVE_DEFAULT_PARTITION__/mes_particao=__HIVE_DEFAULT_PARTITION__/data_particao=__HIVE_DEFAULT_PARTITION__',
      ]);
      const back = await tableRows(t);
      expect(back.find((row) => row.v === 'e')).toMatchObject({ dia: null, ano_particao: null, data_particao: null });
      expect(back.find((row) => row.v === 'b')).toMatchObject({ dia: '2011-12-01T10:00:00Z', ano_particao: '2011', mes_particao: '12', data_particao: '2011-12-01' });

      const yearly = await t.lake.write(runContext('run-2').run, DS, 'anual', { rows: rows.slice(0, 2) }, { datePartition: { column: 'dia', granularity: 'year' } });
      expect(yearly.partitions).toEqual(['ano_particao=2010', 'ano_particao=2011']);
    });

    it('splits a large partition over files numbered from 0', async () => {
      const t = await setup();
      const lake = lakeOf(t.store, { rowsPerFile: 5 });
      const result = await lake.write(runContext('run-1').run, DS, TABLE, { rows: pibRows([2010, 2011, 2012], ['RJ']) }, {});
      expect(result.files.map((f) => f.split('/').pop())).toEqual(['run-1_w1_a1_0.parquet', 'run-1_w1_a1_1.parquet']);
      expect(await tableRows(t)).toHaveLength(9);
    });

    it('writes CSV with a header when asked, and reads CSV and Parquet sources', async () => {
      const t = await setup();
      const work = await mkdtemp(join(tmpdir(), 'fluxo-lake-src-'));
      try {
        const csv = join(work, 'pib.csv');
        const parquet = join(work, 'pib.parquet');
        await withMemoryDuckDB(async (db) => {
          await db.rows(`copy (select 2002.0::double as ano, 'RJ' as sigla_uf, 1.5::double as pib, 7::integer as n) to ${sqlString(parquet)} (format parquet)`);
          await db.rows(`copy (select '2003' as ano, 'SP' as sigla_uf, '10' as pib, '8' as n) to ${sqlString(csv)} (format csv, header true, delimiter ';')`);
        });
        await t.lake.write(runContext('run-1').run, DS, 'pq', { parquet: { path: parquet } }, { partitionColumns: ['sigla_uf'] });
        await t.lake.write(runContext('run-1').run, DS, 'tx', { csv: { path: csv }, delimiter: ';' }, { format: 'csv', partitionColumns: ['sigla_uf'] });
        expect(await t.local((dir) => readTable(dir, 'parquet', DS, 'pq'))).toEqual([{ ano: '2002', pib: '1.5', n: '7', sigla_uf: 'RJ' }]);
        expect(await t.local((dir) => readTable(dir, 'csv', DS, 'tx'))).toEqual([{ ano: '2003', pib: '10', n: '8', sigla_uf: 'SP' }]);
        expect(await t.keys(DS, 'tx')).toEqual(['sigla_uf=SP/run-1_w1_a1_0.csv']);
        expect(await t.lake.columns(DS, 'tx')).toEqual({ dataColumns: ['ano', 'pib', 'n'], partitionKeys: ['sigla_uf'], format: 'csv' });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  });

  describe('modes', () => {
    it('append keeps other runs’ files; overwrite replaces the table; overwrite-partitions only the partitions written', async () => {
      const t = await setup();
      await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      await t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2011, 2012]) }, { ...BY_YEAR, mode: 'append' });
      expect(await tableRows(t)).toHaveLength(24);

      const partial = await t.lake.write(runContext('run-c').run, DS, TABLE, { rows: pibRows([2011], ['RJ']) }, { ...BY_YEAR, mode: 'overwrite-partitions' });
      expect(partial.deleted).toBe(2);
      const afterPartial = await tableRows(t);
      expect(afterPartial.filter((r) => r.ano === '2011')).toHaveLength(3);
      expect(afterPartial).toHaveLength(6 + 3 + 6);

      const all = await t.lake.write(runContext('run-d').run, DS, TABLE, { rows: pibRows([2015], ['AC']) }, { ...BY_YEAR, mode: 'overwrite' });
      expect(all.deleted).toBe(3);
      expect(await tableRows(t)).toHaveLength(3);
      expect(await t.lake.partitions(DS, TABLE)).toEqual(['ano_particao=2015/mes_particao=1/data_particao=2015-01-01']);
    });

    it('refuses to mix formats or partition keys in one table unless it overwrites', async () => {
      const t = await setup();
      await t.lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010]) }, BY_YEAR);
      await expect(t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2011]) }, { ...BY_YEAR, format: 'csv' })).rejects.toMatchObject({
        code: 'DATA_INVALID_ARGUMENT',
        message: expect.stringContaining('holds parquet files'),
      });
      await expect(t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2011]) }, { partitionColumns: ['ano'] })).rejects.toMatchObject({
        code: 'DATA_INVALID_ARGUMENT',
        message: expect.stringContaining('partitioned by [ano_particao, mes_particao, data_particao]'),
      });
      expect(await tableRows(t)).toHaveLength(6);
      await t.lake.write(runContext('run-b').run, DS, TABLE, { rows: pibRows([2011]) }, { partitionColumns: ['ano'], format: 'csv', mode: 'overwrite' });
      expect(await t.lake.columns(DS, TABLE)).toMatchObject({ partitionKeys: ['ano'], format: 'csv' });
    });
  });

  describe('retries and reruns never duplicate rows', () => {
    const modes: LakeWriteMode[] = ['append', 'overwrite', 'overwrite-partitions'];
    it.each(modes)('%s: the same attempt again, the next attempt, a rerun and its retry leave each row once', async (mode) => {
      const t = await setup();
      // Another run's rows in a partition this output never writes.
      await t.lake.write(runContext('other').run, DS, TABLE, { rows: pibRows([2009]) }, BY_YEAR);
      const source: DataSource = { rows: pibRows([2010, 2011]) };
      const expected = mode === 'overwrite' ? 12 : 18;
      const tries = [
        runContext('run-a', 1),
        runContext('run-a', 1), // the same attempt again (the agent lost the answer)
        runContext('run-a', 2), // a flow-level retry
        runContext('run-a', 1, 'run-b'), // a rerun of run-a: a new run id, the same outputKey
        runContext('run-a', 2, 'run-b'), // and its retry
      ];
      for (const [i, { run }] of tries.entries()) {
        const result = await t.lake.write(run, DS, TABLE, source, { ...BY_YEAR, mode });
        expect(result.rows).toBe(12);
        const rows = await tableRows(t);
        expect({ i, rows: rows.length, unique: uniqueRows(rows) }).toEqual({ i, rows: expected, unique: expected });
      }
      const keys = await t.keys();
      expect(keys.filter((k) => k.includes('run-a_'))).toEqual([
        'ano_particao=2010/mes_particao=1/data_particao=2010-01-01/run-a_w1_a2_0.parquet',
        'ano_particao=2011/mes_particao=1/data_particao=2011-01-01/run-a_w1_a2_0.parquet',
      ]);
    });

    it('a retry that writes fewer files or fewer partitions removes the ones it no longer writes', async () => {
      const t = await setup();
      const lake = lakeOf(t.store, { rowsPerFile: 4 });
      await lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      expect(await t.keys()).toHaveLength(4);
      const retry = await lake.write(runContext('run-a').run, DS, TABLE, { rows: pibRows([2010], ['RJ']) }, BY_YEAR);
      expect(retry.deleted).toBe(3);
      expect(await t.keys()).toEqual(['ano_particao=2010/mes_particao=1/data_particao=2010-01-01/run-a_w1_a1_0.parquet']);
      expect(await tableRows(t)).toHaveLength(3);
    });

    it('two writes of one run to a table (two writeKeys) both stay, each idempotent', async () => {
      const t = await setup();
      for (const attempt of [1, 2]) {
        await t.lake.write(runContext('run-a', attempt).run, DS, TABLE, { rows: pibRows([2010]) }, { ...BY_YEAR, writeKey: 'w1' });
        await t.lake.write(runContext('run-a', attempt).run, DS, TABLE, { rows: pibRows([2011]) }, { ...BY_YEAR, writeKey: 'w1_a2' });
      }
      expect(await tableRows(t)).toHaveLength(12);
    });

    it('a crash between writing the new files and deleting the old is healed by the next attempt', async () => {
      const t = await setup();
      await t.lake.write(runContext('run-a', 1).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      const crashing = lakeOf(
        wrapStore(t.store, {
          delete: async () => {
            throw new Error('agent killed');
          },
        }),
      );
      await expect(crashing.write(runContext('run-a', 2).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR)).rejects.toThrow('agent killed');
      expect(await tableRows(t)).toHaveLength(24); // both attempts' files: what a reader sees until the next attempt
      const healed = await t.lake.write(runContext('run-a', 3).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      expect(healed.deleted).toBe(4);
      const rows = await tableRows(t);
      expect([rows.length, uniqueRows(rows)]).toEqual([12, 12]);
    });
  });

  describe('cancellation', () => {
    it('a cancelled run writes nothing (DATA_CANCELLED)', async () => {
      const t = await setup();
      const controller = new AbortController();
      controller.abort();
      const { run, records } = runContext('run-a', 1, 'run-a', controller.signal);
      await expect(t.lake.write(run, DS, TABLE, { rows: pibRows([2010]) }, BY_YEAR)).rejects.toMatchObject({ name: 'DataError', code: 'DATA_CANCELLED' });
      expect(await t.keys()).toEqual([]);
      expect(records).toEqual([]);
    });

    it('a cancellation while DuckDB prepares the files writes nothing', async () => {
      const t = await setup();
      const controller = new AbortController();
      const { run, records } = runContext('run-a', 1, 'run-a', controller.signal);
      const writing = t.lake.write(run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      controller.abort();
      await expect(writing).rejects.toMatchObject({ name: 'DataError', code: 'DATA_CANCELLED' });
      expect(await t.keys()).toEqual([]);
      expect(records).toEqual([]);
    });

    it('a cancellation between files stops the write; the next attempt replaces what it left', async () => {
      const t = await setup();
      const controller = new AbortController();
      const lake = lakeOf(
        wrapStore(t.store, {
          put: async (path, key, options) => {
            const put = await t.store.put(path, key, options);
            controller.abort();
            return put;
          },
        }),
      );
      const { run, records } = runContext('run-a', 1, 'run-a', controller.signal);
      await expect(lake.write(run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR)).rejects.toMatchObject({ code: 'DATA_CANCELLED' });
      expect(await t.keys()).toHaveLength(1);
      expect(records).toEqual([]);
      await t.lake.write(runContext('run-a', 2).run, DS, TABLE, { rows: pibRows([2010, 2011]) }, BY_YEAR);
      expect(await t.keys()).toHaveLength(2);
      expect(await tableRows(t)).toHaveLength(12);
    });
  });

  describe('bad input', () => {
    const row = { ano: '2010', uf: 'RJ', pib: '1' };
    const cases: [string, string, string, DataSource, LakeWriteOptions, string][] = [
      ['a dataset name with a dash', 'br-ibge', TABLE, { rows: [row] }, {}, '"br-ibge"'],
      ['a table name starting with a digit', DS, '1municipio', { rows: [row] }, {}, '"1municipio"'],
      ['a column name with spaces', DS, TABLE, { rows: [{ 'pib (R$)': 1 }] }, {}, '"pib (R$)"'],
      ['a column twice, by case', DS, TABLE, { rows: [{ pib: 1, PIB: 2 }] }, {}, '"PIB" appears twice'],
      ['a reserved column name', DS, TABLE, { rows: [{ rowid: 1, pib: 2 }] }, {}, '"rowid" has a reserved name'],
      ['a cell that is an object', DS, TABLE, { rows: [{ pib: { v: 1 } as never }] }, {}, 'column "pib"'],
      ['a missing partition column', DS, TABLE, { rows: [row] }, { partitionColumns: ['sigla_uf'] }, 'partition column "sigla_uf" is not a column'],
      ['a partition value with a slash', DS, TABLE, { rows: [row, { ...row, uf: 'R/J' }] }, { partitionColumns: ['uf'] }, '"uf" has the value "R/J"'],
      ['a partition value with =', DS, TABLE, { rows: [{ ...row, uf: 'a=b' }] }, { partitionColumns: ['uf'] }, '"uf" has the value "a=b"'],
      ['a partition value ..', DS, TABLE, { rows: [{ ...row, uf: '..' }] }, { partitionColumns: ['uf'] }, '"uf" has the value ".."'],
      ['an empty partition value', DS, TABLE, { rows: [{ ...row, uf: '' }] }, { partitionColumns: ['uf'] }, '"uf" has the value ""'],
      ['a partition value with a newline', DS, TABLE, { rows: [{ ...row, uf: 'R\nJ' }] }, { partitionColumns: ['uf'] }, 'control character'],
      ['a date that is not one', DS, TABLE, { rows: [row, { ...row, ano: 'ontem' }] }, BY_YEAR, '"ontem"'],
      ['a month 13', DS, TABLE, { rows: [{ ...row, ano: '2010-13-01' }] }, BY_YEAR, '"2010-13-01"'],
      ['a date column that does not exist', DS, TABLE, { rows: [row] }, { datePartition: { column: 'dia' } }, '"dia" is not a column'],
      ['a partition column that datePartition adds', DS, TABLE, { rows: [row] }, { ...BY_YEAR, partitionColumns: ['ano_particao'] }, '"ano_particao"'],
      ['an unknown mode', DS, TABLE, { rows: [row] }, { mode: 'upsert' as never }, '"upsert"'],
      ['an unknown format', DS, TABLE, { rows: [row] }, { format: 'orc' as never }, '"orc"'],
      ['a writeKey with a slash', DS, TABLE, { rows: [row] }, { writeKey: 'w/1' }, '"w/1"'],
      ['only partition columns', DS, TABLE, { rows: [{ uf: 'RJ' }] }, { partitionColumns: ['uf'] }, 'at least one data column'],
    ];
    it.each(cases)('refuses %s with DATA_INVALID_ARGUMENT and writes nothing', async (_what, datasetId, tableId, source, options, named) => {
      const t = await setup();
      const { run, records } = runContext('run-a');
      const failure = await t.lake.write(run, datasetId, tableId, source, options).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: 'DataError', code: 'DATA_INVALID_ARGUMENT' });
      expect((failure as Error).message).toContain(named);
      expect(await t.store.list('staging/')).toEqual([]);
      expect(records).toEqual([]);
    });

    it('refuses a CSV it cannot read with DATA_INVALID_ARGUMENT', async () => {
      const t = await setup();
      await expect(t.lake.write(runContext('run-a').run, DS, TABLE, { csv: { path: '/nonexistent/pib.csv' } }, {})).rejects.toMatchObject({
        code: 'DATA_INVALID_ARGUMENT',
        message: expect.stringContaining('CSV source cannot be read'),
      });
    });
  });

  describe('reads', () => {
    it('answers null columns and no partitions for a table that was never written', async () => {
      const t = await setup();
      expect(await t.lake.columns(DS, 'nada')).toBeNull();
      expect(await t.lake.partitions(DS, 'nada')).toEqual([]);
    });

    it('an empty write removes the earlier attempt’s files and writes none', async () => {
      const t = await setup();
      await t.lake.write(runContext('run-a', 1).run, DS, TABLE, { rows: pibRows([2010]) }, BY_YEAR);
      const result = await t.lake.write(runContext('run-a', 2).run, DS, TABLE, { rows: [] }, BY_YEAR);
      expect(result).toMatchObject({ files: [], rows: 0, deleted: 1, partitions: [] });
      expect(await tableRows(t)).toEqual([]);
    });
  });
}
