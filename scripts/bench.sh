#!/usr/bin/env bash
# Runs every benchmark against private servers and rewrites BENCHMARKS.md.
#   scripts/bench.sh           full run
#   scripts/bench.sh --quick   smoke run (short slices, small sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
# The trap comes first: a server that fails to start must not leave the others running.
trap 'scripts/services.sh down' EXIT
scripts/services.sh up
eval "$(scripts/services.sh env)"
cargo run --release -q -p tenant-store-bench -- "$@"
