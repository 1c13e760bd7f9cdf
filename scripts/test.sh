#!/usr/bin/env bash
# The full test suite: build, check that generated artifacts match their sources, run every test.
# `npm ci && npm test` on a fresh machine with Node 20 is all it takes (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== checking generated artifacts (schema types, embedded SDL)"
bash scripts/check-generated.sh

echo "== building"
npx tsc -p tsconfig.json

echo "== running tests"
npx vitest run "$@"
