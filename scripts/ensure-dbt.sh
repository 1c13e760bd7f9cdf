#!/usr/bin/env bash
# Makes sure dbt (dbt-core with the dbt-duckdb adapter) is installed, and prints the path of its
# executable on stdout; everything else goes to stderr.
#
# It goes into its own virtualenv under a cache directory, so the system Python is left alone.
# The pins are the ones that install offline (RECIPES.md): dbt-core 1.11+ pulls
# dbt-core-experimental-parser, whose build downloads a wheel from the internet and fails here;
# duckdb is pinned to the version of @duckdb/node-api and of the spatial extension file, so one
# extension file serves both. Used by scripts/test.sh:
#   FLUXO_DBT_BIN="$(bash scripts/ensure-dbt.sh)"; export FLUXO_DBT_BIN
#
# Environment: PYTHON (default python3), DBT_PACKAGES (default the pinned set below),
# FLUXO_CACHE_DIR (default $XDG_CACHE_HOME/fluxo, else ~/.cache/fluxo).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
PACKAGES="${DBT_PACKAGES:-dbt-core~=1.10.0 dbt-duckdb~=1.9.0 duckdb==1.5.5}"
CACHE="${FLUXO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxo}"
VENV="$CACHE/venvs/dbt"
DBT="$VENV/bin/dbt"
# dbt phones home on every command unless told not to; nothing here may reach the network.
export DBT_SEND_ANONYMOUS_USAGE_STATS=false

# Installed and answering: the same pins give the same versions, so a second run is a no-op.
installed() {
  [ -x "$DBT" ] || return 1
  "$VENV/bin/python" - "$PACKAGES" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for spec in sys.argv[1].split():
    req = Requirement(spec)
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

if ! installed; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "ensure-dbt: $PYTHON not found; install Python 3 with venv and pip (Debian: apt-get install python3-venv), or install '$PACKAGES' yourself and set FLUXO_DBT_BIN to its dbt executable" >&2
    exit 1
  fi
  echo "ensure-dbt: installing $PACKAGES with pip into $VENV" >&2
  # shellcheck disable=SC2086 # PACKAGES is a list of requirement specifiers
  if ! { "$PYTHON" -m venv "$VENV" >&2 && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PACKAGES >&2; }; then
    echo "ensure-dbt: could not install $PACKAGES (is PyPI reachable, and are python3-venv and pip installed?); install them by hand into a virtualenv, then set FLUXO_DBT_BIN to its dbt executable" >&2
    exit 1
  fi
  if ! installed; then
    echo "ensure-dbt: $PACKAGES installed into $VENV, but $DBT is missing or the versions do not match" >&2
    exit 1
  fi
fi

# Not `dbt --version`: it asks PyPI for the latest release on every call.
if ! "$VENV/bin/python" -c 'import dbt.cli.main, dbt.adapters.duckdb' >/dev/null 2>&1; then
  echo "ensure-dbt: dbt or its duckdb adapter does not import in $VENV; remove $VENV and run this script again" >&2
  exit 1
fi
echo "$DBT"
