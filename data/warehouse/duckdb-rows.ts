// DuckDB results as the contract's rows: JSON scalars only, typed the way a flow would read them
// from BigQuery (dates ISO, integers numbers while exact, geometry as WKT).
import { DuckDBTypeId, type DuckDBResultReader, type DuckDBType } from '@duckdb/node-api';
import type { Cell, Row } from '../contract.js';

const INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.BIGNUM,
]);

const TIMESTAMP_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
]);

/** Decimals up to this many digits convert to a JS number without losing any. */
const EXACT_DECIMAL_WIDTH = 15;

/** Converts one JSON-converted DuckDB value of the given type to a Cell. */
function toCell(type: DuckDBType, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  const id = type.typeId;
  if (INTEGER_TYPES.has(id)) {
    // The JSON converter gives 64-bit and wider integers as strings; smaller ones as numbers.
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : String(value);
  }
  if (type.typeId === DuckDBTypeId.DECIMAL) return type.width <= EXACT_DECIMAL_WIDTH ? Number(value) : String(value);
  if (TIMESTAMP_TYPES.has(id) && typeof value === 'string') return value.replace(' ', 'T');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  // Lists, structs, maps, intervals: a Cell is a scalar, so they travel as JSON text.
  return JSON.stringify(value);
}

/** The reader's rows as contract rows. GEOMETRY columns must already be WKT (see geometryAsText). */
export function readerRows(reader: DuckDBResultReader): Row[] {
  const names = reader.deduplicatedColumnNames();
  const types = reader.columnTypes();
  return reader.getRowsJson().map((values) => {
    const row: Row = {};
    names.forEach((name, index) => {
      row[name] = toCell(types[index]!, values[index]);
    });
    return row;
  });
}
