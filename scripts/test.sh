#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs and starts the servers, runs every
# test of the workspace against them, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

# A cold run writes about 9 GB, 6.5 GB of it under target/ (see .cargo/config.toml) and the
# rest PostgreSQL's data under /var/tmp (1.0 GB the primary's, 1.5 GB its streaming standby's,
# WAL included); when the disk fills, cargo
# fails outside rustc and trybuild can only report its compile_fail cases as "succeeded". Say how
# much room there is, before and after, so such a run explains itself.
disk() { echo "test.sh: $1: $(df -h --output=avail . | tail -1 | tr -d ' ') free on $(pwd)"; }
disk "before"
free_kb=$(df -k --output=avail . | tail -1)
if ((free_kb < 10 * 1024 * 1024)); then
  echo "test.sh: warning: less than 10 GB free; a cold run of the suite needs about 9 GB" >&2
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

# The PostgreSQL suites a second time, through PgBouncer in transaction mode (`Pooler::Transaction`):
# the PostgreSQL tests of contract and isolation, and rls, round_trips and hostile_sql whole but
# for three tests of what a connection is when it is a server session of its own:
# - the_gate_sets_the_context_...: hand-written statements in autocommit after a hand-written
#   COMMIT; sqlx sends a statement's Parse and Bind in two messages, which a transaction pooler
#   may hand to two server sessions outside a transaction (README, "Behind a pooler");
# - a_connection_the_server_closed_...: it terminates the backend behind a pooled connection,
#   which behind PgBouncer is PgBouncer's server connection, not ours;
# - connections_past_their_lifetime_...: it tells our connections apart by backend pid.
# A filter that matches nothing passes in cargo: a pass that runs no test fails here.
# `again VAR=value... -- <cargo test arguments>` runs one such pass.
again() { # VAR=value... -- cargo test arguments
  local out; out=$(mktemp)
  local vars=(); while [ "$1" != "--" ]; do vars+=("$1"); shift; done; shift
  env "${vars[@]}" cargo test --all-features -p tenant-store-tests "$@" 2>&1 | tee "$out"
  if grep -q '^running 0 tests' "$out"; then
    echo "test.sh: a pass with ${vars[*]} ran no test: $*" >&2; rm -f "$out"; exit 1
  fi
  rm -f "$out"
}
pooled=(TENANT_STORE_PG_URL="$TENANT_STORE_PG_POOLER_URL" TENANT_STORE_PG_POOLER=transaction)
again "${pooled[@]}" -- --test contract --test isolation postgres
again "${pooled[@]}" -- --test rls --test round_trips --test hostile_sql -- \
  --skip the_gate_sets_the_context --skip a_connection_the_server_closed \
  --skip connections_past_their_lifetime

# And with every `TenantDb` read on the streaming replica, reading its own writes
# (`DbOptions::read_replica`): the PostgreSQL tests of contract and isolation.
again TENANT_STORE_PG_READS=replica -- --test contract --test isolation postgres

# And with the native tenant check (`tenant_store::postgres::native`, built from pgext/ by
# services.sh) in place of the PL/pgSQL one in the shared database: the passes above again,
# directly (rls, round_trips and hostile_sql whole), through PgBouncer, and with reads on the
# replica. Last, since the database keeps it (a later run's first migration puts the PL/pgSQL
# check back).
native=(TENANT_STORE_PG_NATIVE=on)
again "${native[@]}" -- --test contract --test isolation postgres
again "${native[@]}" -- --test rls --test round_trips --test hostile_sql
again "${native[@]}" "${pooled[@]}" -- --test contract --test isolation postgres
again "${native[@]}" "${pooled[@]}" -- --test rls --test round_trips --test hostile_sql -- \
  --skip the_gate_sets_the_context --skip a_connection_the_server_closed \
  --skip connections_past_their_lifetime
again "${native[@]}" TENANT_STORE_PG_READS=replica -- --test contract --test isolation postgres

# The published crates build from their packaged sources alone (license files, README,
# metadata; each verified against the others through cargo's temporary registry).
cargo package --locked --allow-dirty -p tenant-store-cypher -p tenant-store-macros -p tenant-store
