// One SQL text with BigQuery-style `@name` parameters on both warehouses: the DuckDB warehouse
// rewrites them to `$name` (data/warehouse/named-params.ts) outside literals and comments; the same
// text runs on a real DuckDB file and on the BigQuery emulator.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataRunContext, Warehouse } from '../../data/contract.js';
import { BigQueryWarehouse } from '../../data/warehouse/bigquery-warehouse.js';
import { DuckDbWarehouse } from '../../data/warehouse/duckdb-warehouse.js';
import { bigQueryParamsToDuckDb } from '../../data/warehouse/named-params.js';
import { EMULATOR_TOKEN, useBigQueryEmulator } from '../support/bigquery-emulator.js';
import { tempDir } from '../support/harness.js';

const emulator = useBigQueryEmulator();
let duckdb: Warehouse;

beforeAll(async () => {
  duckdb = new DuckDbWarehouse(`duckdb://${join(await tempDir('fluxo-named-params-'), 'w.duckdb')}`);
});

afterAll(async () => {
  await duckdb?.close();
});

function run(): DataRunContext {
  return { flowRunId: 'run-p', attempt: 1, outputKey: 'run-p', taskKey: null, signal: new AbortController().signal, log: () => undefined, record: () => undefined };
}

describe('rewriting @name for DuckDB', () => {
  it.each([
    ['a parameter', 'select * from t where ano = @ano', 'select * from t where ano = $ano'],
    ['each use, next to operators and parentheses', 'select (@ano+1), @nome||@nome', 'select ($ano+1), $nome||$nome'],
    ['nothing inside a string literal', "select '@ano', 'it''s @ano' where a = @ano", "select '@ano', 'it''s @ano' where a = $ano"],
    ['nothing inside an E string with a backslash escape', "select E'\\'@ano' , @ano", "select E'\\'@ano' , $ano"],
    ['nothing inside a dollar-quoted string', 'select $$ @ano $$, $q$ @ano $q$, @ano', 'select $$ @ano $$, $q$ @ano $q$, $ano'],
    ['nothing inside quoted identifiers', 'select "@ano", `@ano` from t where x = @ano', 'select "@ano", `@ano` from t where x = $ano'],
    ['nothing inside comments', 'select @ano -- @ano\n/* @ano */ , @ano', 'select $ano -- @ano\n/* @ano */ , $ano'],
    ['a name that is not a parameter (DuckDB abs)', 'select @x, @ano', 'select @x, $ano'],
    ['a longer name starting with a parameter\'s', 'select @anos, @ano_base', 'select @anos, @ano_base'],
    ['a system variable (@@)', 'select @@ano', 'select @@ano'],
  ])('rewrites %s', (_what, sql, expected) => {
    expect(bigQueryParamsToDuckDb(sql, ['ano', 'nome'])).toBe(expected);
  });

  it('leaves a text without parameters alone (DuckDB\'s @x is abs(x))', () => {
    expect(bigQueryParamsToDuckDb('select @x from t', [])).toBe('select @x from t');
  });
});

describe('one SQL text with @name parameters', () => {
  const SQL = 'select @ano + 1 as seguinte, @nome as nome, @ano * 2 as dobro\nwhere @ano > 2000';
  const PARAMS = { ano: 2010, nome: 'Rio de Janeiro' };
  const ROWS = [{ seguinte: 2011, nome: 'Rio de Janeiro', dobro: 4020 }];

  it('runs on DuckDB', async () => {
    expect(await duckdb.query(run(), SQL, PARAMS)).toEqual(ROWS);
  });

  // Not sent to the emulator: bqemulator (itself DuckDB underneath) counts an @ano inside a literal
  // or a comment as a parameter and refuses the query; BigQuery does not.
  it('runs on DuckDB with @ano also inside a literal and a comment', async () => {
    expect(await duckdb.query(run(), "select @ano as ano, '@ano' as texto -- @ano is the year\n", { ano: 2010 })).toEqual([{ ano: 2010, texto: '@ano' }]);
  });

  it('runs on BigQuery (the emulator)', async () => {
    const bigquery = await BigQueryWarehouse.open(`bigquery://${emulator().projectId}`, { bigqueryEndpoint: emulator().endpoint, emulatorToken: EMULATOR_TOKEN });
    try {
      expect(await bigquery.query(run(), SQL, PARAMS)).toEqual(ROWS);
    } finally {
      await bigquery.close();
    }
  }, 120_000);

  it('keeps DuckDB\'s @ (abs) in a query without parameters, and a { duckdb } text as written', async () => {
    expect(await duckdb.query(run(), 'select @x as a from (select -3 as x)')).toEqual([{ a: 3 }]);
    expect(await duckdb.query(run(), { bigquery: 'select @ano as a', duckdb: 'select $ano as a' }, { ano: 7 })).toEqual([{ a: 7 }]);
  });
});
