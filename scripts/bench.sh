#!/usr/bin/env bash
# Runs every benchmark against private servers and rewrites BENCHMARKS.md.
#   scripts/bench.sh           full run
#   scripts/bench.sh --quick   smoke run (short slices, small sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh up
trap 'scripts/services.sh down' EXIT
eval "$(scripts/services.sh env)"
cargo run --release -q -p tenant-store-bench -- "$@"
