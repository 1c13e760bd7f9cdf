// DuckDB's spatial extension for the embedded warehouse: where the file is, and the macros that let
// BigQuery GIS SQL run on DuckDB unchanged.
//
// The extension is not on npm and must match the embedded DuckDB's exact version, so
// scripts/ensure-duckdb-spatial.mjs fetches it once (scripts/test.sh, or by hand on an agent host).
// Nothing here downloads: an agent at run time may have no internet, and a run must not stall on
// a 30 MB fetch.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DataError, type DataSettings } from './contract.js';

/** The DuckDB version @duckdb/node-api embeds; the extension file is built for it alone. */
export const DUCKDB_VERSION = 'v1.5.5';

/** Where scripts/ensure-duckdb-spatial.mjs caches the extension (`$FLUXO_CACHE_DIR`, else `$XDG_CACHE_HOME/fluxo`, else `~/.cache/fluxo`). */
export function cachedSpatialExtensionPath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.FLUXO_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fluxo');
  return join(cacheRoot, 'duckdb', DUCKDB_VERSION, 'spatial.duckdb_extension');
}

/**
 * The spatial extension file to LOAD: `settings.duckdbSpatialExtension`, else `$FLUXO_DUCKDB_SPATIAL`,
 * else the cached one. Fails DATA_NOT_CONFIGURED when the file is not there.
 * @example spatialExtensionPath({ warehouse: 'duckdb:///srv/dw.duckdb' }) // '/root/.cache/fluxo/duckdb/v1.5.5/spatial.duckdb_extension'
 */
export function spatialExtensionPath(settings: Pick<DataSettings, 'duckdbSpatialExtension'>, env: NodeJS.ProcessEnv = process.env): string {
  const path = settings.duckdbSpatialExtension ?? (env.FLUXO_DUCKDB_SPATIAL || cachedSpatialExtensionPath(env));
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    // missing: reported below
  }
  if (!isFile) {
    throw new DataError(
      'DATA_NOT_CONFIGURED',
      `DuckDB's spatial extension is not installed: ${path} does not exist. Run \`node scripts/ensure-duckdb-spatial.mjs\` ` +
        `(it caches the ${DUCKDB_VERSION} extension from PyPI's duckdb-extension-spatial wheel), or point the data setting ` +
        `duckdbSpatialExtension or FLUXO_DUCKDB_SPATIAL at a spatial.duckdb_extension built for DuckDB ${DUCKDB_VERSION}`,
    );
  }
  return path;
}

/**
 * Macros that give BigQuery's GEOGRAPHY functions their BigQuery meaning on DuckDB's GEOMETRY, so
 * `ST_DISTANCE(ST_GEOGPOINT(lon, lat), ponto)` is one text for both warehouses. Created as TEMP
 * macros on each warehouse connection: the .duckdb file stays plain for dbt and other readers.
 *
 * - `ST_GEOGPOINT(lon, lat)`: a point, x = longitude (BigQuery's argument order; WKT `POINT(lon lat)`).
 * - `ST_GEOGFROMTEXT(wkt)`: ST_GeomFromText.
 * - `ST_DISTANCE(a, b)`: metres on the sphere between two lon/lat POINTS, like BigQuery on
 *   GEOGRAPHY. It shadows DuckDB's planar ST_Distance (degrees on lon/lat data, a silent wrong answer
 *   for ported SQL); other shapes fail (ST_Distance_Sphere takes points only). DuckDB's planar
 *   distance stays available as ST_Distance_GEOS.
 * - `ST_DWITHIN(a, b, metres)`: ST_DISTANCE(a, b) <= metres, likewise for points.
 *
 * DuckDB's ST_Distance_Sphere itself takes points in [latitude, longitude] order (hence the flip);
 * ST_X, ST_Y, ST_ASTEXT, ST_CONTAINS, ST_INTERSECTS exist under the same names already (planar).
 */
export const BIGQUERY_GIS_MACROS: readonly string[] = [
  'CREATE OR REPLACE TEMP MACRO ST_GEOGPOINT(lon, lat) AS ST_Point(lon, lat)',
  // The cast: ST_GeomFromText refuses an untyped macro parameter when the macro is created.
  'CREATE OR REPLACE TEMP MACRO ST_GEOGFROMTEXT(wkt) AS ST_GeomFromText(CAST(wkt AS VARCHAR))',
  'CREATE OR REPLACE TEMP MACRO ST_DISTANCE(a, b) AS ST_Distance_Sphere(ST_FlipCoordinates(a), ST_FlipCoordinates(b))',
  'CREATE OR REPLACE TEMP MACRO ST_DWITHIN(a, b, metres) AS ST_Distance_Sphere(ST_FlipCoordinates(a), ST_FlipCoordinates(b)) <= metres',
];
