#!/usr/bin/env bash
# fluxo and Prefect 3 side by side, on this machine, in one sitting (docs/benchmarks.md).
#
#   bench/peers/prefect3/run.sh [--runs N] [--latency-runs L] [--rounds R] [--quick] [--no-build]
#
# Installs Prefect 3 from PyPI into ~/.cache/fluxo/venvs/prefect3 (once), starts `prefect server`
# on SQLite on 127.0.0.1 (a free port, PREFECT_HOME in a temporary directory, analytics off), and
# serves a one-task and a 40-task flow with `serve(..., limit=4)` (flows.py); drive.py then runs the
# workload: L spaced runs for schedule-to-start, N runs at once for runs/s, R 40-task runs for the
# per-task overhead. It does this twice: with Prefect's default runner poll (10 s) and with
# PREFECT_RUNNER_POLL_FREQUENCY=1. Then fluxo's equivalent (fluxo-side.ts, bench/flows/prefect-peer.ts)
# through a real server, proxy and agent at concurrency 4, and prints both with their ratio.
# Defaults: N=40, L=10, R=3 (Prefect completes ~0.25 runs/s here, so N=40 takes minutes);
# --quick: N=12, L=3, R=1.
set -euo pipefail

RUNS=40 LATENCY_RUNS=10 ROUNDS=3 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --latency-runs) LATENCY_RUNS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --quick) RUNS=12 LATENCY_RUNS=3 ROUNDS=1; shift ;;
    --no-build) BUILD=0; shift ;;
    *) echo "usage: $0 [--runs N] [--latency-runs L] [--rounds R] [--quick] [--no-build]" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${FLUXO_PREFECT_VENV:-$HOME/.cache/fluxo/venvs/prefect3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fluxo-prefect3-XXXXXX")"
PIDS=()

# Every process started here leads its own process group (setsid), so a flow run's subprocess
# goes with its runner. TERM first; the runner waits for its runs, so KILL what is left after 10 s.
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_group() {
  local pid="$1"
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$pid" 2>/dev/null || true
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2

if [ ! -x "$VENV/bin/prefect" ]; then
  echo "installing Prefect 3 into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "prefect>=3,<4"
fi
PY="$VENV/bin/python"
echo "Prefect $("$PY" -c 'import prefect; print(prefect.__version__)')" >&2

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PREFECT_HOME="$WORK/prefect-home"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_API_DATABASE_CONNECTION_URL="sqlite+aiosqlite:///$WORK/prefect.db"

setsid "$VENV/bin/prefect" server start --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
for i in $(seq 180); do
  curl -sf "$PREFECT_API_URL/health" >/dev/null && break
  [ "$i" = 180 ] && { echo "Prefect server not healthy after 180 s:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
  sleep 1
done
echo "Prefect server on $PREFECT_API_URL (SQLite)" >&2

prefect_row() {
  local name="$1" poll="$2" pid
  # From its own directory: the deployments' entrypoint is flows.py relative to it.
  cd "$HERE"
  PREFECT_RUNNER_POLL_FREQUENCY="$poll" setsid "$PY" flows.py >"$WORK/serve-$name.log" 2>&1 &
  pid="$!"
  cd "$ROOT"
  PIDS+=("$pid")
  for i in $(seq 120); do
    grep -q "deployments" "$WORK/serve-$name.log" 2>/dev/null && break
    [ "$i" = 120 ] && { echo "serve did not start:" >&2; tail -20 "$WORK/serve-$name.log" >&2; exit 1; }
    sleep 1
  done
  echo "Prefect, runner poll $poll s: $RUNS runs ..." >&2
  "$PY" "$HERE/drive.py" --runs "$RUNS" --latency-runs "$LATENCY_RUNS" --rounds "$ROUNDS" --stamp-dir "$WORK/stamps-$name" >"$WORK/prefect-$name.json"
  cat "$WORK/prefect-$name.json" >&2
  stop_group "$pid"
}
prefect_row default 10
prefect_row poll-1s 1

if [ "$BUILD" = 1 ]; then
  # Others' type errors must not stop the benchmark: tsc emits anyway, and the file is checked below.
  (cd "$ROOT" && npx tsc -p tsconfig.json >/dev/null 2>&1) || true
fi
[ -f "$ROOT/dist/bench/peers/prefect3/fluxo-side.js" ] || { echo "dist/bench/peers/prefect3/fluxo-side.js missing: run npm run build" >&2; exit 1; }
echo "fluxo: $RUNS runs ..." >&2
(cd "$ROOT" && node dist/bench/peers/prefect3/fluxo-side.js --runs "$RUNS" --latency-runs "$LATENCY_RUNS" --rounds "$ROUNDS") >"$WORK/fluxo.json"
cat "$WORK/fluxo.json" >&2

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "N=$RUNS runs at concurrency 4, L=$LATENCY_RUNS spaced runs (1 s apart) for schedule-to-start, R=$ROUNDS 40-task runs"
"$PY" "$HERE/table.py" "$WORK/fluxo.json" "default poll (10 s)=$WORK/prefect-default.json" "1 s poll=$WORK/prefect-poll-1s.json"
