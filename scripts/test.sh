#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts the servers, runs every
# test of the workspace against them, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh up
trap 'scripts/services.sh down' EXIT
eval "$(scripts/services.sh env)"
cargo test --workspace --all-features "$@"
