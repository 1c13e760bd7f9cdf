#!/usr/bin/env bash
# The full test suite: build, check that generated artifacts match their sources, run every test.
# `npm ci && npm test` on a fresh machine with Node 20 is all it takes (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== system packages the tests use"
# libfaketime skews an agent's clock in the fault tests (Debian package faketime); shellcheck is
# what actionlint runs over the GitHub Action's scripts (test/ci).
missing=()
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing+=(faketime)
command -v shellcheck >/dev/null || missing+=(shellcheck)
# Debian's Chromium, driven by playwright-core in test/ui (a browser is never downloaded).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq "${missing[@]}") >/dev/null
  else
    echo "the tests need ${missing[*]}: run 'apt-get install ${missing[*]}' as root" >&2
  fi
fi

echo "== checking import boundaries between the folders (docs/architecture.md)"
node scripts/check-boundaries.mjs

echo "== checking generated artifacts (schema types, embedded SDL)"
bash scripts/check-generated.sh

echo "== building"
npx tsc -p tsconfig.json
# The web interface (ui/ into dist/ui): test/ui drives it in Chromium.
npx tsc -p ui/tsconfig.json
npx vite build --config ui/vite.config.ts --logLevel warn

echo "== ensuring fake-gcs-server (GCS emulator for test/storage)"
FLUXO_FAKE_GCS_BIN="$(bash scripts/ensure-fake-gcs.sh)"; export FLUXO_FAKE_GCS_BIN

echo "== ensuring DuckDB's spatial extension (the DuckDB warehouse and the BigQuery emulator load it)"
FLUXO_DUCKDB_SPATIAL="$(node scripts/ensure-duckdb-spatial.mjs)"; export FLUXO_DUCKDB_SPATIAL

echo "== ensuring the BigQuery emulator (bqemulator, for test/data/bigquery-warehouse)"
FLUXO_BQEMULATOR_BIN="$(bash scripts/ensure-bigquery-emulator.sh)"; export FLUXO_BQEMULATOR_BIN

echo "== ensuring dbt (dbt-core + dbt-duckdb, for test/data/dbt)"
FLUXO_DBT_BIN="$(bash scripts/ensure-dbt.sh)"; export FLUXO_DBT_BIN

echo "== ensuring actionlint (lints the GitHub Action and the example workflow in test/ci)"
FLUXO_ACTIONLINT_BIN="$(bash scripts/ensure-actionlint.sh)"; export FLUXO_ACTIONLINT_BIN

echo "== running tests"
npx vitest run "$@"
