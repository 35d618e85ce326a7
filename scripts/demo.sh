#!/usr/bin/env bash
# The quickstart end to end on a fresh machine: installs and starts the five servers it uses
# (PostgreSQL, Valkey, the OpenSearch emulator, ArcadeDB for Neo4j, the Qdrant test server),
# runs two tenants through every backend, and stops what it started, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\ndemo: %s\n' "$*"; }
timed() { # what command...
  local what=$1 start=$SECONDS; shift
  step "$what"
  "$@"
  printf 'demo: %s took %ss\n' "$what" $((SECONDS - start))
}

# This run's own session: `down` stops exactly what this `up` started. The trap is set before
# anything starts, so a failure half way leaves nothing running.
TENANT_STORE_SERVICES_SESSION=$(mktemp)
export TENANT_STORE_SERVICES_SESSION
trap 'step "stopping what this demo started"; scripts/services.sh down' EXIT

timed "installing and starting the servers" scripts/services.sh up pg valkey opensearch neo4j qdrant
eval "$(scripts/services.sh env)"
timed "building the quickstart" cargo build -q -p tenant-store-examples --bin quickstart
timed "running the quickstart" cargo run -q -p tenant-store-examples --bin quickstart
