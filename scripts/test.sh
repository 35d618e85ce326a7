#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts the servers, runs every
# test of the workspace against them, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# A cold run writes about 7.6 GB, 6.5 GB of it under target/ (see .cargo/config.toml) and the
# rest PostgreSQL's data under /var/tmp; when the disk fills, cargo
# fails outside rustc and trybuild can only report its compile_fail cases as "succeeded". Say how
# much room there is, before and after, so such a run explains itself.
disk() { echo "test.sh: $1: $(df -h --output=avail . | tail -1 | tr -d ' ') free on $(pwd)"; }
disk "before"
free_kb=$(df -k --output=avail . | tail -1)
if ((free_kb < 9 * 1024 * 1024)); then
  echo "test.sh: warning: less than 9 GB free; a cold run of the suite needs about 7.6 GB" >&2
fi

# A run of the whole suite gains little from incremental state (about 0.8 GB on a cold run);
# `CARGO_INCREMENTAL=1 scripts/test.sh` keeps it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# This run's own session: `down` stops what this `up` started and nothing that was running
# before. The trap comes first: a server that fails to start must not leave the others running.
TENANT_STORE_SERVICES_SESSION=$(mktemp)
export TENANT_STORE_SERVICES_SESSION
trap 'scripts/services.sh down; disk "after"' EXIT
scripts/services.sh up
eval "$(scripts/services.sh env)"
cargo test --workspace --all-features "$@"
# The published crates build from their packaged sources alone (license files, README,
# metadata; each verified against the others through cargo's temporary registry).
cargo package --locked --allow-dirty -p tenant-store-cypher -p tenant-store-macros -p tenant-store
