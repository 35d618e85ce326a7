#!/usr/bin/env bash
# Starts and stops the servers the tests and the demo use: private instances on 127.0.0.1, data
# under target/services/, stopped by the pid they were started with.
#
#   scripts/services.sh up     install what is missing, start, print nothing but progress
#   scripts/services.sh env    print `export VAR=...` lines for the running servers
#   scripts/services.sh down   stop what `up` started
#   scripts/services.sh reset  stop and delete the data (a fresh cluster on the next `up`)
#
# Every address can point at a real deployment instead: set the variable printed by `env` yourself
# and do not run `up`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/target/services"
pg_port="${TENANT_STORE_PG_PORT:-54329}"
pg_data="$state/pg/data"
pg_sock="$state/pg/sock"
pg_log="$state/pg/server.log"
# Test-only passwords for a loopback-only private cluster.
pg_super_pw="ts_super_pw"
pg_owner_pw="ts_owner_pw"
pg_app_pw="ts_app_pw"

log() { printf 'services: %s\n' "$*" >&2; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && printf '%s' "$dir"
}

install_pg() {
  if [ -z "$(pg_bin)" ]; then
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  fi
  local major
  major=$("$(pg_bin)/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')
  if [ "$major" -lt 15 ]; then
    log "PostgreSQL $major found; 15 or newer is required"; exit 1
  fi
}

as_postgres() { runuser -u postgres -- "$@"; }

pg_running() {
  [ -f "$pg_data/postmaster.pid" ] && kill -0 "$(head -n 1 "$pg_data/postmaster.pid")" 2>/dev/null
}

pg_up() {
  install_pg
  local bin; bin=$(pg_bin)
  mkdir -p "$state/pg" "$pg_sock"
  chown -R postgres: "$state/pg"
  # The postgres user must be able to reach the data directory through the checkout.
  chmod o+x "$root" "$root/target" "$state" 2>/dev/null || true
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    log "initdb into $pg_data"
    printf '%s\n' "$pg_super_pw" > "$state/pg/pwfile"
    chown postgres: "$state/pg/pwfile"
    as_postgres "$bin/initdb" -D "$pg_data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --pwfile="$state/pg/pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$state/pg/pwfile"
  fi
  if pg_running; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port"
  else
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    as_postgres "$bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_sock -c max_connections=200 -c fsync=off" >/dev/null
  fi
  # Roles: the tables' owner (runs migrations), a NOLOGIN group the migrations grant to, and the
  # application's login role: member of the group only, not owner, no BYPASSRLS, no superuser.
  as_postgres psql -q -h "$pg_sock" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ts_owner') THEN
    CREATE ROLE ts_owner LOGIN PASSWORD '$pg_owner_pw';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenant_store_app') THEN
    CREATE ROLE tenant_store_app NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ts_app') THEN
    CREATE ROLE ts_app LOGIN PASSWORD '$pg_app_pw' NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB IN ROLE tenant_store_app;
  END IF;
END \$\$;
SELECT 'CREATE DATABASE tenant_store OWNER ts_owner'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tenant_store') \gexec
SQL
  as_postgres psql -q -h "$pg_sock" -p "$pg_port" -U postgres -d tenant_store -v ON_ERROR_STOP=1 \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO ts_owner;"
}

pg_down() {
  if pg_running; then
    local pid; pid=$(head -n 1 "$pg_data/postmaster.pid")
    log "stopping PostgreSQL (pid $pid)"
    as_postgres "$(pg_bin)/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
  fi
}

env_lines() {
  cat <<ENV
export TENANT_STORE_PG_URL=postgres://ts_app:$pg_app_pw@127.0.0.1:$pg_port/tenant_store
export TENANT_STORE_PG_OWNER_URL=postgres://ts_owner:$pg_owner_pw@127.0.0.1:$pg_port/tenant_store
export TENANT_STORE_PG_SUPER_URL=postgres://postgres:$pg_super_pw@127.0.0.1:$pg_port/tenant_store
ENV
}

case "${1:-}" in
  up) pg_up ;;
  down) pg_down ;;
  env) env_lines ;;
  reset) pg_down; log "removing $state/pg"; rm -rf "$state/pg" ;;
  *) echo "usage: $0 up|down|env|reset" >&2; exit 2 ;;
esac
