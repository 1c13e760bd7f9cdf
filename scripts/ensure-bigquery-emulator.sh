#!/usr/bin/env bash
# Makes sure the BigQuery emulator (bqemulator, the REST API the BigQuery warehouse tests run the
# real @google-cloud/bigquery client against) is installed, and prints the path of its executable on
# stdout; everything else goes to stderr.
#
# It lives in its own virtualenv, ~/.cache/fluxo/venvs/bqemulator (FLUXO_CACHE_DIR overrides
# ~/.cache/fluxo), pinned as RECIPES.md says: bqemulator 1.4.0 with DuckDB 1.5.5 (the version whose
# spatial extension we cache). The emulator refuses to start without DuckDB's spatial extension (it
# would download it), so scripts/ensure-duckdb-spatial.mjs puts the file in
# ~/.duckdb/extensions/v1.5.5/linux_amd64/ first. Used by scripts/test.sh:
#   FLUXO_BQEMULATOR_BIN="$(bash scripts/ensure-bigquery-emulator.sh)"; export FLUXO_BQEMULATOR_BIN
#
# Environment: PYTHON (default python3), BQEMULATOR_PACKAGES (default the pins below).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
read -r -a PACKAGES <<<"${BQEMULATOR_PACKAGES:-bqemulator==1.4.0 duckdb==1.5.5 numpy}"
CACHE="${FLUXO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxo}"
VENV="$CACHE/venvs/bqemulator"
BIN="$VENV/bin/bqemulator"

# The spatial extension first: without it the emulator exits at start, which would look like a
# broken install.
node scripts/ensure-duckdb-spatial.mjs >/dev/null

# Installed and of the pinned versions? (A venv from another pin is rebuilt rather than patched.)
installed() {
  [ -x "$BIN" ] || return 1
  "$VENV/bin/python" - "${PACKAGES[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if want and have != want:
        sys.exit(1)
PY
}

if ! installed; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "ensure-bigquery-emulator: $PYTHON not found; install Python 3 (with venv and pip), then run this script again" >&2
    exit 1
  fi
  echo "ensure-bigquery-emulator: installing ${PACKAGES[*]} into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! "$PYTHON" -m venv "$VENV" >&2; then
    echo "ensure-bigquery-emulator: cannot create a virtualenv with $PYTHON -m venv (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2; then
    echo "ensure-bigquery-emulator: could not install ${PACKAGES[*]}; by hand: $PYTHON -m venv $VENV && $VENV/bin/pip install ${PACKAGES[*]}" >&2
    exit 1
  fi
  if ! installed; then
    echo "ensure-bigquery-emulator: $VENV has no working bqemulator after the install" >&2
    exit 1
  fi
fi
echo "$BIN"
