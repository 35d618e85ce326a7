#!/usr/bin/env bash
# Starts and stops the servers the tests and the demo use: private instances on 127.0.0.1, data
# under target/services/ (PostgreSQL's under /var/tmp: see pg_home), stopped by the pid they were
# started with.
#
#   scripts/services.sh up [SERVICE...]  install what is missing, start (all, or pg pg_replica
#                                        pgbouncer valkey opensearch neo4j qdrant), print
#                                        nothing but progress
#   scripts/services.sh env              print `export VAR=...` lines for the servers
#   scripts/services.sh down             stop what `up` started, and nothing else
#   scripts/services.sh reset            stop every server of ours and delete the data
#
# `down` stops only the servers an `up` of the same session started: a server that was already
# running when `up` ran is left alone. The session is the file TENANT_STORE_SERVICES_SESSION
# names (scripts/test.sh and demo.sh give each run its own), target/services/started otherwise.
#
# The emulators come from PyPI at pinned versions, into a virtual environment under
# target/services/venv (python3-venv is installed when missing); nothing goes into the system
# Python. Every address can point at a real deployment instead: set the variable printed by `env`
# yourself and do not run `up`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/target/services"
pg_port="${TENANT_STORE_PG_PORT:-54329}"
# PostgreSQL's files live outside the checkout: the server runs as the `postgres` user, which
# must reach its data directory, and a checkout in a private home (root's is mode 700) is out of
# its reach; the home stays as it is. One directory per checkout (a hash of its path), so two
# checkouts never share a cluster; `reset` removes it with the rest.
pg_home="${TENANT_STORE_PG_HOME:-/var/tmp/tenant-store-pg-$(printf '%s' "$root" | sha256sum | cut -c1-12)}"
pg_data="$pg_home/data"
pg_sock="$pg_home/sock"
pg_log="$pg_home/server.log"
# Test-only passwords for a loopback-only private cluster.
pg_super_pw="ts_super_pw"
pg_owner_pw="ts_owner_pw"
pg_app_pw="ts_app_pw"

# A streaming-replication hot standby of that cluster (`pg_basebackup`), beside it.
pgr_port="${TENANT_STORE_PG_REPLICA_PORT:-54330}"
pgr_data="$pg_home/replica"
pgr_log="$pg_home/replica.log"

# PgBouncer from Debian's packages, in transaction mode, in front of that cluster: the pooler
# users of managed platforms reach PostgreSQL through. Its files live beside the cluster's.
pgb_port="${TENANT_STORE_PGBOUNCER_PORT:-56432}"
pgb_dir="$pg_home/pgbouncer"

vk_port="${TENANT_STORE_VALKEY_PORT:-56379}"
# Cluster bus ports are these plus 10000, so they must stay at or below 55535.
vk_cluster_ports=(46380 46381 46382)
vk_dir="$state/valkey"

os_port="${TENANT_STORE_OPENSEARCH_PORT:-59200}"
os_dir="$state/opensearch"

neo_bolt_port="${TENANT_STORE_NEO4J_PORT:-57687}"
neo_http_port=52480
neo_dir="$state/arcadedb"
neo_pw="arcadedb_pw"

qd_port="${TENANT_STORE_QDRANT_PORT:-56334}"
qd_dir="$state/qdrant"
qd_src="$root/tools/qdrant-test-server"
# Built into the workspace's target directory: one directory to find and to clean, and the
# dependencies both builds resolve alike are built once.
qd_bin="$root/target/debug/qdrant-test-server"

venv="$state/venv"
# The emulators, pinned: a new release cannot change what the tests run against.
osmem_pin="osmem-server==0.1.6"
arcadedb_pin="arcadedb-embedded==26.10.2.post1"
# Neo4j's own Python driver: `up` returns once a Bolt handshake and a query succeed.
bolt_driver_pin="neo4j==5.28.2"
session="${TENANT_STORE_SERVICES_SESSION:-$state/started}"

log() { printf 'services: %s\n' "$*" >&2; }

# Records that this session started SERVICE, so `down` stops it.
started() { mkdir -p "$(dirname "$session")"; echo "$1" >> "$session"; }

# True when this session started SERVICE.
ours() { [ -f "$session" ] && grep -qx "$1" "$session"; }

# The virtual environment's Python, made (and python3-venv installed) on first use.
venv_python() {
  if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      log "installing python3-venv from Debian's packages"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    log "creating a Python virtual environment in $venv"
    python3 -m venv "$venv" >&2
  fi
  printf '%s' "$venv/bin/python"
}

# Installs the pinned PACKAGE into the virtual environment unless it is there.
pip_install() { # package==version
  local py; py=$(venv_python)
  if ! "$py" -m pip show -q "${1%%==*}" >/dev/null 2>&1 \
      || [ "$("$py" -m pip show "${1%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" != "${1##*==}" ]; then
    log "installing $1 from PyPI into $venv"
    "$py" -m pip install -q --disable-pip-version-check "$1" >&2
  fi
}

# True when something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Readiness is a real request answered, not an open port: a server can accept connections
# long before it serves them (a JVM loading, an index being opened).
# curl sends the readiness requests below (HTTP/2 for gRPC: Debian's curl has it).
install_curl() {
  if ! command -v curl >/dev/null; then
    log "installing curl from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq curl >/dev/null
  fi
}
# True when an HTTP GET of URL succeeds.
answers_http() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
# True when Qdrant's gRPC health check on 127.0.0.1:PORT answers with status 0.
answers_grpc_health() {
  printf '\0\0\0\0\0' | curl -s --http2-prior-knowledge --max-time 2 -o /dev/null -D - \
    -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- \
    "http://127.0.0.1:$1/qdrant.Qdrant/HealthCheck" 2>/dev/null | grep -q '^grpc-status: 0'
}
# True when a Bolt handshake, the login and `RETURN 1` on 127.0.0.1:PORT succeed.
answers_bolt() {
  "$(venv_python)" - "$1" "$neo_pw" <<'PY' 2>/dev/null
import sys
from neo4j import GraphDatabase
uri = f"bolt://127.0.0.1:{sys.argv[1]}"
with GraphDatabase.driver(uri, auth=("root", sys.argv[2]), connection_timeout=2) as driver:
    records, _, _ = driver.execute_query("RETURN 1 AS one", database_="graph")
    assert records[0]["one"] == 1
PY
}

# True when the pid recorded in FILE is a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process whose pid is recorded in FILE (SIGTERM, waits up to 10 s), then removes FILE.
stop_pid() { # file name
  if pid_alive "$1"; then
    local pid; pid=$(cat "$1")
    log "stopping $2 (pid $pid)"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}

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
  install_native "$major"
}

# The native tenant check (pgext/, see tenant_store::postgres::native), which tests/tests/native.rs
# turns on in a database of its own: built against this server's headers and copied into its
# library folder. The headers' package may upgrade the server's, which a running server must not
# meet (its next library load would not match it): then the build waits for a later `up`.
install_native() {
  local bin; bin=$(pg_bin)
  if [ ! -f "$("$bin/pg_config" --includedir-server)/postgres.h" ]; then
    if pg_running; then
      log "not building pgext/ while PostgreSQL runs (its headers' package may upgrade the server); run \`$0 down\` then \`$0 up pg\`"
      return 0
    fi
    log "installing postgresql-server-dev-$1 for pgext/"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "postgresql-server-dev-$1" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq "postgresql-server-dev-$1" >/dev/null; }
  fi
  make -s -C "$root/pgext" PG_CONFIG="$bin/pg_config" install >/dev/null
}

# From `/`: the postgres user may not be able to enter the checkout (a private home).
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_running() {
  [ -f "$pg_data/postmaster.pid" ] && kill -0 "$(head -n 1 "$pg_data/postmaster.pid")" 2>/dev/null
}

pg_up() {
  install_pg
  local bin; bin=$(pg_bin)
  mkdir -p "$pg_home" "$pg_sock"
  chown -R postgres: "$pg_home"
  chmod 700 "$pg_home"
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    log "initdb into $pg_data"
    printf '%s\n' "$pg_super_pw" > "$pg_home/pwfile"
    chown postgres: "$pg_home/pwfile"
    as_postgres "$bin/initdb" -D "$pg_data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      --pwfile="$pg_home/pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pg_home/pwfile"
  fi
  if pg_running; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port"
  else
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    started pg
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
  -- Owns the key table and the functions that verify signed tenant contexts; nobody logs in
  -- as it. The owner (who applies the migrations) is a member, the application is not.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tenant_store_definer') THEN
    CREATE ROLE tenant_store_definer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE;
    GRANT tenant_store_definer TO ts_owner;
  END IF;
END \$\$;
SELECT 'CREATE DATABASE tenant_store OWNER ts_owner'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tenant_store') \gexec
SQL
  # The application role may create nothing: no objects in any schema, no temporary tables
  # (either could shadow a tenant table or leave state on a pooled connection), no large objects
  # (state every session of the role shares). It may signal no other backend (ending a pool's
  # connections steers the next transaction onto a chosen one). The start-up audit checks each.
  as_postgres psql -q -h "$pg_sock" -p "$pg_port" -U postgres -d tenant_store -v ON_ERROR_STOP=1 \
    -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO ts_owner;
        REVOKE TEMPORARY ON DATABASE tenant_store FROM PUBLIC;
        REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint),
          pg_catalog.pg_cancel_backend(integer), pg_catalog.lo_creat(integer),
          pg_catalog.lo_create(oid), pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;"
}

pg_down() {
  if pg_running; then
    local pid; pid=$(head -n 1 "$pg_data/postmaster.pid")
    log "stopping PostgreSQL (pid $pid)"
    as_postgres "$(pg_bin)/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
  fi
}

pgr_running() {
  [ -f "$pgr_data/postmaster.pid" ] && kill -0 "$(head -n 1 "$pgr_data/postmaster.pid")" 2>/dev/null
}

# True when the standby answers a query and says it is one.
answers_as_standby() {
  PGPASSWORD="$pg_app_pw" PGCONNECT_TIMEOUT=2 psql -qtA -h 127.0.0.1 -p "$pgr_port" -U ts_app \
    -d tenant_store -c 'SELECT pg_is_in_recovery()' 2>/dev/null | grep -qx t
}

# The primary keeps the WAL the standby has not received in this slot, so a standby that was
# stopped while the primary ran on catches up when it starts again.
pgr_slot=tenant_store_replica
primary_sql() { as_postgres psql -qtA -h "$pg_sock" -p "$pg_port" -U postgres -d postgres -c "$1"; }

pgr_up() {
  pg_running || { log "the replica needs PostgreSQL: start pg first"; exit 1; }
  local bin; bin=$(pg_bin)
  local has_slot
  has_slot=$(primary_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$pgr_slot'")
  if [ -f "$pgr_data/PG_VERSION" ] && [ "$has_slot" = 0 ]; then
    # Made before the slot, or the primary is new: the WAL it needs may be gone.
    log "the replica has no replication slot on the primary: taking a fresh base backup"
    pgr_down
    rm -rf "$pgr_data"
  fi
  if [ ! -f "$pgr_data/PG_VERSION" ]; then
    log "pg_basebackup of the primary into $pgr_data"
    primary_sql "SELECT pg_drop_replication_slot('$pgr_slot') FROM pg_replication_slots
                 WHERE slot_name = '$pgr_slot'" >/dev/null
    # -R: standby.signal and the primary's address (with the password) for streaming;
    # -C -S: the slot, created with the backup.
    as_postgres env PGPASSWORD="$pg_super_pw" "$bin/pg_basebackup" -h 127.0.0.1 -p "$pg_port" \
      -U postgres -D "$pgr_data" -R -X stream -c fast -C -S "$pgr_slot"
  fi
  if pgr_running; then
    log "the PostgreSQL replica already running on 127.0.0.1:$pgr_port"
  else
    log "starting the PostgreSQL replica (hot standby) on 127.0.0.1:$pgr_port"
    started pg_replica
    as_postgres "$bin/pg_ctl" -D "$pgr_data" -l "$pgr_log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $pgr_port -k $pg_sock -c max_connections=200 -c fsync=off -c hot_standby=on" >/dev/null
  fi
  for _ in $(seq 100); do answers_as_standby && return 0; sleep 0.1; done
  log "the replica did not answer as a standby on 127.0.0.1:$pgr_port; see $pgr_log"; exit 1
}

pgr_down() {
  if pgr_running; then
    local pid; pid=$(head -n 1 "$pgr_data/postmaster.pid")
    log "stopping the PostgreSQL replica (pid $pid)"
    as_postgres "$(pg_bin)/pg_ctl" -D "$pgr_data" -m fast -w stop >/dev/null
  fi
}

install_pgbouncer() {
  if ! command -v pgbouncer >/dev/null; then
    log "installing PgBouncer from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    # The package would start a system-wide PgBouncer on 6432; only ours may run. A
    # policy-rc.d that refuses every start is the standard way to say so (kept if present).
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; own_policy=1
    fi
    apt-get update -qq
    apt-get install -y -qq pgbouncer >/dev/null
    if [ -n "$own_policy" ]; then rm -f "$policy"; fi
  fi
}

# True when the application role's `SELECT 1` through PgBouncer answers.
answers_pgbouncer() {
  PGPASSWORD="$pg_app_pw" PGCONNECT_TIMEOUT=2 psql -qtA -h 127.0.0.1 -p "$pgb_port" -U ts_app \
    -d tenant_store -c 'SELECT 1' 2>/dev/null | grep -qx 1
}

pgb_up() {
  pg_running || { log "PgBouncer needs PostgreSQL: start pg first"; exit 1; }
  install_pgbouncer
  mkdir -p "$pgb_dir"
  # Every database of the cluster (the tests' scratch databases too), pooled per transaction;
  # plain passwords in the user list let PgBouncer answer SCRAM itself.
  cat > "$pgb_dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $pgb_dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; sqlx sends it at start-up; PgBouncer 1.18 refuses start-up parameters it does not track.
ignore_startup_parameters = extra_float_digits
logfile = $pgb_dir/pgbouncer.log
pidfile = $pgb_dir/pid
INI
  printf '"ts_app" "%s"\n"ts_owner" "%s"\n"postgres" "%s"\n' \
    "$pg_app_pw" "$pg_owner_pw" "$pg_super_pw" > "$pgb_dir/userlist.txt"
  chown -R postgres: "$pgb_dir"
  chmod 600 "$pgb_dir/userlist.txt"
  if pid_alive "$pgb_dir/pid"; then
    log "PgBouncer already running on 127.0.0.1:$pgb_port"
  else
    log "starting PgBouncer (transaction mode) on 127.0.0.1:$pgb_port"
    started pgbouncer
    as_postgres pgbouncer -d "$pgb_dir/pgbouncer.ini"
  fi
  for _ in $(seq 100); do answers_pgbouncer && return 0; sleep 0.1; done
  log "PgBouncer did not answer on 127.0.0.1:$pgb_port; see $pgb_dir/pgbouncer.log"; exit 1
}

pgb_down() { stop_pid "$pgb_dir/pid" PgBouncer; }

install_valkey() {
  if ! command -v valkey-server >/dev/null || ! command -v valkey-cli >/dev/null; then
    log "installing Valkey from Debian's bookworm-backports"
    export DEBIAN_FRONTEND=noninteractive
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
      cat > /etc/apt/sources.list.d/bookworm-backports.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    apt-get update -qq
    apt-get install -y -qq -t bookworm-backports valkey-server valkey-tools >/dev/null
  fi
  local major
  major=$(valkey-server --version | sed -E 's/.*v=([0-9]+)\..*/\1/')
  if [ "$major" -lt 8 ]; then
    log "Valkey $major found; 8 or newer is required"; exit 1
  fi
}


vk_start() { # dir port [extra args...]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  if pid_alive "$dir/valkey.pid"; then return 0; fi
  started valkey
  # No persistence: the test data lives and dies with the process.
  valkey-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
    --pidfile "$dir/valkey.pid" --logfile "$dir/valkey.log" --save "" --appendonly no "$@"
  for _ in $(seq 50); do
    valkey-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "Valkey on port $port did not start; see $dir/valkey.log"; exit 1
}

vk_up() {
  install_valkey
  log "starting Valkey on 127.0.0.1:$vk_port and a 3-master cluster on ${vk_cluster_ports[*]}"
  vk_start "$vk_dir/single" "$vk_port"
  local nodes=()
  for p in "${vk_cluster_ports[@]}"; do
    vk_start "$vk_dir/cluster-$p" "$p" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000
    nodes+=("127.0.0.1:$p")
  done
  if ! valkey-cli -p "${vk_cluster_ports[0]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    valkey-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
    for _ in $(seq 100); do
      valkey-cli -p "${vk_cluster_ports[0]}" cluster info | grep -q 'cluster_state:ok' && return 0
      sleep 0.1
    done
    log "the Valkey cluster did not become ready"; exit 1
  fi
}

vk_down() {
  local dir
  for dir in "$vk_dir"/*/; do
    [ -d "$dir" ] || continue
    stop_pid "$dir/valkey.pid" Valkey
    # Cluster membership is rebuilt on the next `up`.
    rm -f "$dir/nodes.conf"
  done
}

os_bin() {
  "$(venv_python)" -c 'import os, osmem_server; print(os.path.join(os.path.dirname(osmem_server.__file__), "bin", "osmem-server"))' 2>/dev/null
}

os_up() {
  # No OpenSearch distribution is reachable here: osmem-server is an OpenSearch REST emulator
  # (one static binary, from PyPI). TENANT_STORE_OPENSEARCH_URL can point the tests at a real cluster.
  pip_install "$osmem_pin"
  install_curl
  mkdir -p "$os_dir"
  if pid_alive "$os_dir/pid"; then return 0; fi
  started opensearch
  log "starting the OpenSearch emulator on 127.0.0.1:$os_port"
  "$(os_bin)" -addr "127.0.0.1:$os_port" -no-stdin-watch -no-ja </dev/null >"$os_dir/server.log" 2>&1 &
  echo $! > "$os_dir/pid"
  for _ in $(seq 100); do
    answers_http "http://127.0.0.1:$os_port/" && return 0
    sleep 0.1
  done
  log "the OpenSearch emulator did not answer; see $os_dir/server.log"; exit 1
}

os_down() { stop_pid "$os_dir/pid" "the OpenSearch emulator"; }

arcadedb_home() {
  "$(venv_python)" -c 'import os, arcadedb_embedded; print(os.path.dirname(arcadedb_embedded.__file__))' 2>/dev/null
}

neo_up() {
  # No Neo4j package is reachable here. ArcadeDB speaks Bolt and Cypher (Neo4j 5 compatible);
  # its PyPI wheel ships the server jars and a Java runtime. TENANT_STORE_NEO4J_URL can point the
  # tests at a real Neo4j instead.
  pip_install "$arcadedb_pin"
  pip_install "$bolt_driver_pin"
  mkdir -p "$neo_dir"
  if pid_alive "$neo_dir/pid"; then return 0; fi
  started neo4j
  local home; home=$(arcadedb_home)
  log "starting ArcadeDB with Bolt on 127.0.0.1:$neo_bolt_port"
  # `exec` so the recorded pid is the JVM's, and no shell is left holding the caller's output.
  # `command.timeout`: the server-side bound on one query (2 s), so a query a client gave up on
  # does not go on loading the server (Neo4j: `db.transaction.timeout`; see runtime neo4j docs).
  (cd "$neo_dir" && exec "$home/jre/bin/java" -Xmx768m -cp "$home/jars/*" \
    -Darcadedb.server.rootPath="$neo_dir" \
    -Darcadedb.server.databaseDirectory="$neo_dir/databases" \
    -Darcadedb.server.rootPassword="$neo_pw" \
    -Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin \
    -Darcadedb.bolt.host=127.0.0.1 -Darcadedb.bolt.port="$neo_bolt_port" \
    -Darcadedb.server.httpIncomingHost=127.0.0.1 -Darcadedb.server.httpIncomingPort="$neo_http_port" \
    "-Darcadedb.server.defaultDatabases=graph[root]" \
    -Darcadedb.command.timeout=2000 \
    com.arcadedb.server.ArcadeDBServer </dev/null >"$neo_dir/server.log" 2>&1) &
  echo $! > "$neo_dir/pid"
  for _ in $(seq 120); do
    port_open "$neo_bolt_port" && answers_bolt "$neo_bolt_port" && return 0
    sleep 0.5
  done
  log "ArcadeDB did not answer a Bolt query; see $neo_dir/server.log"; exit 1
}

neo_down() { stop_pid "$neo_dir/pid" ArcadeDB; }

qd_up() {
  # No Qdrant server is reachable here: tools/qdrant-test-server serves Qdrant's gRPC API over
  # qdrant-edge (Qdrant's engine as a library). Built once (a few minutes), then reused.
  # TENANT_STORE_QDRANT_URL can point the tests at a real Qdrant instead.
  install_curl
  log "building the Qdrant test server (tools/qdrant-test-server)"
  cargo build --quiet --locked --manifest-path "$qd_src/Cargo.toml" --target-dir "$root/target"
  mkdir -p "$qd_dir"
  if pid_alive "$qd_dir/pid"; then return 0; fi
  started qdrant
  log "starting the Qdrant test server on 127.0.0.1:$qd_port"
  "$qd_bin" --listen "127.0.0.1:$qd_port" --data "$qd_dir/data" </dev/null >"$qd_dir/server.log" 2>&1 &
  echo $! > "$qd_dir/pid"
  for _ in $(seq 100); do
    answers_grpc_health "$qd_port" && return 0
    sleep 0.1
  done
  log "the Qdrant test server did not answer its health check; see $qd_dir/server.log"; exit 1
}

qd_down() { stop_pid "$qd_dir/pid" "the Qdrant test server"; }

env_lines() {
  cat <<ENV
export TENANT_STORE_PG_URL=postgres://ts_app:$pg_app_pw@127.0.0.1:$pg_port/tenant_store
export TENANT_STORE_PG_OWNER_URL=postgres://ts_owner:$pg_owner_pw@127.0.0.1:$pg_port/tenant_store
export TENANT_STORE_PG_SUPER_URL=postgres://postgres:$pg_super_pw@127.0.0.1:$pg_port/tenant_store
export TENANT_STORE_PG_POOLER_URL=postgres://ts_app:$pg_app_pw@127.0.0.1:$pgb_port/tenant_store
export TENANT_STORE_PG_REPLICA_URL=postgres://ts_app:$pg_app_pw@127.0.0.1:$pgr_port/tenant_store
export TENANT_STORE_VALKEY_URL=redis://127.0.0.1:$vk_port
export TENANT_STORE_VALKEY_CLUSTER_URLS=redis://127.0.0.1:${vk_cluster_ports[0]},redis://127.0.0.1:${vk_cluster_ports[1]},redis://127.0.0.1:${vk_cluster_ports[2]}
export TENANT_STORE_OPENSEARCH_URL=http://127.0.0.1:$os_port
export TENANT_STORE_NEO4J_URL=bolt://127.0.0.1:$neo_bolt_port
export TENANT_STORE_NEO4J_USER=root
export TENANT_STORE_NEO4J_PASSWORD=$neo_pw
export TENANT_STORE_NEO4J_DATABASE=graph
export TENANT_STORE_QDRANT_URL=http://127.0.0.1:$qd_port
ENV
}

all=(pg pg_replica pgbouncer valkey opensearch neo4j qdrant)

up_one() {
  case "$1" in
    pg) pg_up ;; pg_replica) pgr_up ;; pgbouncer) pgb_up ;; valkey) vk_up ;;
    opensearch) os_up ;; neo4j) neo_up ;; qdrant) qd_up ;;
    *) echo "unknown service: $1 (one of ${all[*]})" >&2; exit 2 ;;
  esac
}

down_all() { qd_down; neo_down; os_down; vk_down; pgb_down; pgr_down; pg_down; }

case "${1:-}" in
  up)
    shift
    for svc in "${@:-${all[@]}}"; do up_one "$svc"; done ;;
  down)
    # Only what this session's `up` started, in the reverse order.
    for svc in qdrant neo4j opensearch valkey pgbouncer pg_replica pg; do
      if ours "$svc"; then
        case "$svc" in
          pg) pg_down ;; pg_replica) pgr_down ;; pgbouncer) pgb_down ;; valkey) vk_down ;; opensearch) os_down ;; neo4j) neo_down ;; qdrant) qd_down ;;
        esac
      fi
    done
    rm -f "$session" ;;
  env) env_lines ;;
  reset) down_all; log "removing $state and $pg_home"; rm -rf "$state" "$pg_home" ;;
  *) echo "usage: $0 up [${all[*]}]|down|env|reset" >&2; exit 2 ;;
esac
