#!/usr/bin/env bash
# Regenerates schema/generated/ and fails when it differs from what is committed: the TypeScript
# types and the embedded SDL must never drift from schema/fluxo.graphql.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(mktemp -d)
cp -r schema/generated/. "$before/"
npx graphql-codegen --config schema/codegen.ts --silent >/dev/null
node scripts/generate-sdl.mjs
if ! diff -r "$before" schema/generated >/dev/null; then
  diff -r "$before" schema/generated | head -40 || true
  echo "schema/generated/ is out of date with schema/fluxo.graphql: run 'npm run codegen' and commit the result" >&2
  exit 1
fi
rm -rf "$before"
echo "schema/generated/ is up to date"
