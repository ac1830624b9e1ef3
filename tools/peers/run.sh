#!/usr/bin/env bash
# Peers: install what is missing, build the release binary, run the check, time everything.
# Usage: tools/peers/run.sh [--no-timing]   (from anywhere; CARGO_TARGET_DIR is honoured)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

missing=()
"$PY" -c "import numpy" 2>/dev/null || missing+=(numpy)
"$PY" -c "import numba" 2>/dev/null || missing+=(numba)
"$PY" -c "import jax, jaxlib" 2>/dev/null || missing+=(jax jaxlib)
if ((${#missing[@]})); then
    echo "== pip install ${missing[*]}"
    "$PY" -m pip install "${missing[@]}"
fi

echo "== cargo build --release (target: $CARGO_TARGET_DIR)"
(cd "$ROOT" && cargo build --release)
BIN="$CARGO_TARGET_DIR/release/stdp-flow"

echo "== check (n = 200, M = 2000, seed 1)"
"$PY" "$HERE/check.py" --bin "$BIN"

if [[ "${1:-}" != "--no-timing" ]]; then
    echo "== timing (best of 3, alternating)"
    "$PY" "$HERE/compare.py" --bin "$BIN"
fi
