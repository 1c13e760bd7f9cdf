// dbt and DuckDB's spatial extension for the tests that run real dbt builds: the dbt executable
// scripts/test.sh found (FLUXO_DBT_BIN), else the one scripts/ensure-dbt.sh installs; the extension
// file FLUXO_DUCKDB_SPATIAL names, else the one scripts/ensure-duckdb-spatial.mjs caches. Never
// skips: without them the test fails saying what to install.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './harness.js';
import { locateTool } from './tool-process.js';

let dbt: Promise<string> | undefined;
let spatial: Promise<string> | undefined;

/** The dbt executable (dbt-core 1.10 with dbt-duckdb 1.9). */
export function dbtExecutable(): Promise<string> {
  // A first install takes about 30 s (pip); later calls answer in a few seconds.
  dbt ??= locateTool({
    name: 'dbt (required for the dbt tests)',
    envVar: 'FLUXO_DBT_BIN',
    script: 'ensure-dbt.sh',
    hint: "run scripts/ensure-dbt.sh (pip install 'dbt-core~=1.10.0' 'dbt-duckdb~=1.9.0' 'duckdb==1.5.5' into a virtualenv), or set FLUXO_DBT_BIN",
  });
  return dbt;
}

/** DuckDB 1.5.5's spatial extension file (`spatial.duckdb_extension`). */
export function spatialExtensionFile(): Promise<string> {
  spatial ??= locateSpatial();
  return spatial;
}

async function locateSpatial(): Promise<string> {
  const given = process.env.FLUXO_DUCKDB_SPATIAL;
  if (given) {
    if (!existsSync(given)) throw new Error(`FLUXO_DUCKDB_SPATIAL=${given} does not exist; run node scripts/ensure-duckdb-spatial.mjs, or unset it`);
    return given;
  }
  const script = join(repoRoot, 'scripts', 'ensure-duckdb-spatial.mjs');
  const ensured = existsSync(script) ? await execa(process.execPath, [script], { reject: false, timeout: 300_000 }) : null;
  const path = ensured ? String(ensured.stdout).trim().split('\n').pop() ?? '' : '';
  if (!ensured || ensured.exitCode !== 0 || !path || !existsSync(path)) {
    throw new Error(
      `DuckDB's spatial extension is required: run node scripts/ensure-duckdb-spatial.mjs, or set FLUXO_DUCKDB_SPATIAL to a spatial.duckdb_extension for DuckDB v1.5.5 (pip download --no-deps duckdb-extension-spatial==1.5.5, unzip the wheel)${ensured ? `:\n${String(ensured.stderr)}` : ''}`,
    );
  }
  return path;
}
