#!/usr/bin/env bash
# Runs the quickstart end to end on a fresh machine: installs and starts PostgreSQL, runs the
# demo, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh up
trap 'scripts/services.sh down' EXIT
eval "$(scripts/services.sh env)"
cargo run -q -p tenant-store-examples --bin quickstart
