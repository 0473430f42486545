#!/usr/bin/env bash
# VRP quality benchmark: builds bazaar-vrp, sets up a venv with PyVRP, OR-Tools,
# pyvroom and vrplib, then runs compare.py (one solver at a time).
# Usage: bench/vrp/run.sh [--time-limit S] [--solvers ours,pyvrp,ortools,vroom] [--instances A,B]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/vrp-target}"
(cd "$ROOT/crates/bazaar-vrp" && cargo build --release -j1 --bin vrp-solve)
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q pyvrp ortools pyvroom vrplib
fi
export VRP_SOLVE_BIN="$CARGO_TARGET_DIR/release/vrp-solve"
exec "$HERE/.venv/bin/python" "$HERE/compare.py" "$@"
