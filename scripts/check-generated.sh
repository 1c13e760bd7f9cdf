#!/usr/bin/env bash
# Regenerates every generated output (schema/generated/: the contract types, the embedded SDL and
# operations.ts, the types of the CLI's, client's and agent's GraphQL documents; server/graphql/generated/:
# the resolver signatures) and fails when one differs from what is committed: nothing generated may
# drift from schema/fluxo.graphql or from the documents in the sources.
set -euo pipefail
cd "$(dirname "$0")/.."
outputs=(schema/generated server/graphql/generated)
before=$(mktemp -d)
for dir in "${outputs[@]}"; do
  mkdir -p "$before/$dir"
  cp -r "$dir/." "$before/$dir/"
done
npx graphql-codegen --config schema/codegen.ts --silent >/dev/null
node scripts/generate-sdl.mjs
drift=0
for dir in "${outputs[@]}"; do
  if ! diff -r "$before/$dir" "$dir" >/dev/null; then
    diff -r "$before/$dir" "$dir" | head -40 || true
    echo "$dir/ is out of date with schema/fluxo.graphql or the GraphQL documents in cli/, client/, agent/: run 'npm run codegen' and commit the result" >&2
    drift=1
  fi
done
rm -rf "$before"
[ "$drift" -eq 0 ] || exit 1
echo "${outputs[*]} are up to date"
