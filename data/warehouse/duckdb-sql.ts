// Small SQL-text helpers shared by the DuckDB warehouse's modules.
import { COLUMN_NAME_PATTERN, DATA_NAME_PATTERN, DataError, type Sql } from '../contract.js';

/** A quoted identifier. Names are validated first; quoting keeps a reserved word (`order`) usable. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Throws DATA_INVALID_ARGUMENT unless `name` follows BigQuery's naming rule (so one name works on both warehouses). */
export function checkName(what: string, name: unknown, pattern: RegExp = DATA_NAME_PATTERN): asserts name is string {
  if (typeof name !== 'string' || !pattern.test(name)) {
    throw new DataError(
      'DATA_INVALID_ARGUMENT',
      `${what} ${JSON.stringify(name)} is not a valid name: use letters, digits and underscores, starting with a letter or an underscore, at most 128 characters`,
    );
  }
}

/** Throws DATA_INVALID_ARGUMENT unless `name` is a valid column name. */
export function checkColumn(what: string, name: unknown): asserts name is string {
  checkName(what, name, COLUMN_NAME_PATTERN);
}

/** The DuckDB text of a Sql, without trailing semicolons (it is wrapped as a subquery). */
export function duckDbText(sql: Sql): string {
  const text = typeof sql === 'string' ? sql : sql?.duckdb;
  if (typeof text !== 'string' || text.trim() === '') {
    throw new DataError('DATA_INVALID_ARGUMENT', 'sql must be a non-empty string, or { bigquery, duckdb } with a non-empty duckdb text');
  }
  return text.trim().replace(/(;\s*)+$/, '');
}
