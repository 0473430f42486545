#!/usr/bin/env bash
# VRP quality benchmark: builds bazaar-vrp, sets up a venv with PyVRP, OR-Tools,
# pyvroom and vrplib, then runs compare.py (one solver at a time).
# Usage: bench/vrp/run.sh [--time-limit S] [--solvers ours,pyvrp,ortools,vroom] [--instances A,B]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# vrp-solve is `bazaar solve` without the rest of the application (the same
# bazaar_vrp::solve_instance_file), quicker to build.
(cd "$ROOT" && cargo build --release -p bazaar-vrp --bin vrp-solve)
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ ! -x "$HERE/.venv/bin/python" ]; then
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install -q pyvrp==0.14.1 ortools==9.15.6755 pyvroom==1.15.2 vrplib==2.2.0
fi
export VRP_SOLVE_BIN="$CARGO_TARGET_DIR/release/vrp-solve"
exec "$HERE/.venv/bin/python" "$HERE/compare.py" "$@"
