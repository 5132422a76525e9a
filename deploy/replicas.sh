#!/usr/bin/env bash
# The scale-out stack as bare processes on one machine, no Docker and no network: Redis (the shared online
# feature state, AOF on), PostgreSQL (the shared decision log), N `skipwise serve` replicas and nginx in front,
# optionally Prometheus scraping every replica. Everything lives under one state folder (default out/replicas/):
# data, logs, pid files, secrets. Run from anywhere; paths are taken relative to the current folder.
#
#   deploy/replicas.sh start --bundle out/demo/bundle --data out/demo/delivery [--replicas 3]
#   deploy/replicas.sh status | reload | stop        [--state out/replicas]
#
# `deploy/replicas.sh --help` lists every option.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$ROOT/deploy

usage() {
  cat <<'EOF'
Usage: deploy/replicas.sh [start|stop|status|reload] [options] [-- extra `skipwise serve` flags]

  start    start Redis, PostgreSQL, load the bundle's feature state into Redis (once: a state already there,
           with what the replicas learned, is kept), N replicas and nginx; print the URLs
  stop     stop everything this state folder runs (nginx, replicas, Prometheus, Redis, PostgreSQL); data kept
  status   what runs, with pids and URLs
  reload   POST /admin/reload on every replica (same bundle folder, or --bundle <dir>), one after the other

Options (defaults in brackets):
  --state DIR          state folder: data, logs, pids, secrets [out/replicas]
  --bundle DIR         bundle to serve [$SKIPWISE_BUNDLE, else out/demo/bundle, written by `npm run demo`]
  --data DIR           delivery the bundle was trained on (its catalogue) [$SKIPWISE_DATA, else out/demo/delivery]
  --replicas N         number of `skipwise serve` replicas [3]
  --port P             nginx's public port; its status port (stub_status) is P+1 [8000]
  --replica-port P     first replica's port; replica i listens on P+i-1 [8101]
  --redis-port P       [6390]
  --postgres-port P    [5440]
  --redis-fsync MODE   always | everysec: AOF fsync of Redis [always: an acknowledged event's learning is
                       on disk before Redis answers; everysec loses up to 1 s of learning on a crash]
  --replace-state      load the bundle's snapshot into Redis even if a state is there (discards what was learned)
  --rate-limit N       requests per second per client at nginx, 0 = unlimited [1000 = the replicas' default
                       60000/min; the replicas themselves run with --rate-limit 0: behind nginx they only see
                       nginx's address]
  --nginx-workers N    nginx worker processes [1]
  --prometheus         also run Prometheus (Debian `prometheus`) on --prometheus-port with deploy/rules.yml
  --prometheus-port P  [9090]
  --experiment FILE    A/B experiment config passed to every replica
  --timeout S          longest wait for any one component to be ready, seconds [180]
  -h, --help           this help

Secrets: <state>/secrets/ (mode 700) is written by deploy/make-secrets.sh on the first start: skipwise_api_key
(x-api-key of /admin/reload; the replicas read it with SKIPWISE_API_KEY_FILE), redis_password,
postgres_password. Passwords reach the replicas in their environment (SKIPWISE_REDIS, SKIPWISE_DB), never argv.
EOF
}

command_name=start
case "${1:-}" in
start | stop | status | reload)
  command_name=$1
  shift
  ;;
-h | --help)
  usage
  exit 0
  ;;
esac

STATE=out/replicas
BUNDLE=${SKIPWISE_BUNDLE:-out/demo/bundle}
DATA=${SKIPWISE_DATA:-out/demo/delivery}
BUNDLE_GIVEN=0
REPLICAS=3
PORT=8000
REPLICA_PORT=8101
REDIS_PORT=6390
POSTGRES_PORT=5440
REDIS_FSYNC=always
REPLACE_STATE=0
RATE_LIMIT=1000
NGINX_WORKERS=1
PROMETHEUS=0
PROMETHEUS_PORT=9090
EXPERIMENT=
TIMEOUT=180
EXTRA=()

die() {
  echo "replicas: $*" >&2
  exit 1
}
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }
need_int() { [[ $2 =~ ^[0-9]+$ ]] || die "$1: expected a whole number, got '$2'"; }

while [ $# -gt 0 ]; do
  case "$1" in
  --state) need_value "$@"; STATE=$2; shift 2 ;;
  --bundle) need_value "$@"; BUNDLE=$2; BUNDLE_GIVEN=1; shift 2 ;;
  --data) need_value "$@"; DATA=$2; shift 2 ;;
  --replicas) need_value "$@"; need_int "$1" "$2"; REPLICAS=$2; shift 2 ;;
  --port) need_value "$@"; need_int "$1" "$2"; PORT=$2; shift 2 ;;
  --replica-port) need_value "$@"; need_int "$1" "$2"; REPLICA_PORT=$2; shift 2 ;;
  --redis-port) need_value "$@"; need_int "$1" "$2"; REDIS_PORT=$2; shift 2 ;;
  --postgres-port) need_value "$@"; need_int "$1" "$2"; POSTGRES_PORT=$2; shift 2 ;;
  --redis-fsync)
    need_value "$@"
    [[ $2 == always || $2 == everysec ]] || die "--redis-fsync: always or everysec, got '$2'"
    REDIS_FSYNC=$2
    shift 2
    ;;
  --replace-state) REPLACE_STATE=1; shift ;;
  --rate-limit) need_value "$@"; need_int "$1" "$2"; RATE_LIMIT=$2; shift 2 ;;
  --nginx-workers) need_value "$@"; need_int "$1" "$2"; NGINX_WORKERS=$2; shift 2 ;;
  --prometheus) PROMETHEUS=1; shift ;;
  --prometheus-port) need_value "$@"; need_int "$1" "$2"; PROMETHEUS_PORT=$2; shift 2 ;;
  --experiment) need_value "$@"; EXPERIMENT=$2; shift 2 ;;
  --timeout) need_value "$@"; need_int "$1" "$2"; TIMEOUT=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  --) shift; EXTRA=("$@"); break ;;
  *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ "$REPLICAS" -ge 1 ] || die "--replicas must be at least 1"

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
LOGS=$STATE/logs
RUN=$STATE/run
SECRETS=$STATE/secrets
STATUS_PORT=$((PORT + 1))
AS_ROOT=0
[ "$(id -u)" = 0 ] && AS_ROOT=1
SKIPWISE=("$(command -v node)" "$ROOT/bin/skipwise.js")

# --- helpers ----------------------------------------------------------------------------------------------

alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_of PIDFILE: the pid in it, or nothing (a process may remove its own pid file as it exits).
pid_of() { cat "$1" 2>/dev/null || true; }

# wait_gone PID SECONDS: waits for PID to exit (SIGKILL after SECONDS).
wait_gone() {
  local waited=0
  [ -n "$1" ] || return 0
  while kill -0 "$1" 2>/dev/null; do
    if [ "$waited" -ge $(($2 * 10)) ]; then
      echo "replicas: pid $1 still running after $2 s: SIGKILL" >&2
      kill -KILL "$1" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# stop_pid NAME PIDFILE SIGNAL SECONDS
stop_pid() {
  local pid
  pid=$(pid_of "$2")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "replicas: stopping $1 (pid $pid)"
    kill "-$3" "$pid" 2>/dev/null || true
    wait_gone "$pid" "$4"
  fi
  rm -f "$2"
}

# The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<version>/bin).
pg_bin() {
  local newest
  newest=$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sort -V | tail -1)
  [ -n "$newest" ] || return 1
  dirname "$newest"
}

# Runs a PostgreSQL program as the postgres user when root (PostgreSQL refuses to run as root).
pg_run() {
  local program=$1
  shift
  if [ "$AS_ROOT" = 1 ]; then
    runuser -u postgres -- "$PG_BIN/$program" "$@"
  else
    "$PG_BIN/$program" "$@"
  fi
}

nginx_bin() {
  local candidate
  for candidate in /usr/sbin/nginx /usr/local/sbin/nginx; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  command -v nginx
}

secret() { tr -d '\n' <"$SECRETS/$1"; }

# http_wait SECONDS URL...: every URL answers 2xx (polled; node's fetch, no curl needed). Gives up early when a
# pid listed in $WATCH_PIDS has exited.
http_wait() {
  local seconds=$1
  shift
  node -e '
    const [seconds, ...urls] = process.argv.slice(1);
    const deadline = Date.now() + Number(seconds) * 1000;
    const ok = (u) => fetch(u).then((r) => r.ok, () => false);
    const watched = (process.env.WATCH_PIDS ?? "").split(" ").filter(Boolean).map(Number);
    const gone = (pid) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    (async () => {
      let pending = urls;
      while (pending.length > 0) {
        const dead = watched.filter(gone);
        if (dead.length > 0) {
          console.error(`replicas: exited before ready: pid ${dead.join(", ")}`);
          process.exit(1);
        }
        const results = await Promise.all(pending.map(ok));
        pending = pending.filter((_, i) => !results[i]);
        if (pending.length === 0) return;
        if (Date.now() > deadline) {
          console.error(`replicas: not ready within ${seconds} s: ${pending.join(" ")}`);
          process.exit(1);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  ' "$seconds" "$@"
}

replica_port() { echo $((REPLICA_PORT + $1 - 1)); }

# Replicas of the last start (their ports), so stop/status/reload need no --replicas.
read_replicas() {
  if [ -f "$STATE/replicas.env" ]; then
    # shellcheck disable=SC1091
    . "$STATE/replicas.env"
  fi
}

# --- stop / status / reload ---------------------------------------------------------------------------------

do_stop() {
  read_replicas
  # SIGQUIT: graceful (answers what is in flight, then exits).
  stop_pid nginx "$RUN/nginx.pid" QUIT 15
  local pidfile pid pids=()
  for pidfile in "$RUN"/replica-*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(pid_of "$pidfile")
    rm -f "$pidfile"
    # SIGTERM: the replica drains, closes its decision log and exits (--shutdown-timeout-ms, 10 s).
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "replicas: stopping $(basename "$pidfile" .pid) (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in ${pids[@]+"${pids[@]}"}; do wait_gone "$pid" 30; done
  stop_pid prometheus "$RUN/prometheus.pid" TERM 30
  # Redis flushes its AOF on SIGTERM.
  stop_pid redis "$RUN/redis.pid" TERM 30
  if [ -f "$STATE/postgres/data/postmaster.pid" ] && PG_BIN=$(pg_bin); then
    if pg_run pg_ctl -D "$STATE/postgres/data" status >/dev/null 2>&1; then
      echo "replicas: stopping postgres"
      pg_run pg_ctl -D "$STATE/postgres/data" -m fast -w -t 60 stop >/dev/null
    fi
  fi
  echo "replicas: stopped (data kept in $STATE)"
}

do_status() {
  read_replicas
  local name pidfile
  for name in redis prometheus nginx; do
    pidfile=$RUN/$name.pid
    if alive "$pidfile"; then echo "$name: running (pid $(pid_of "$pidfile"))"; else echo "$name: stopped"; fi
  done
  if [ -f "$STATE/postgres/data/postmaster.pid" ] && PG_BIN=$(pg_bin) &&
    pg_run pg_ctl -D "$STATE/postgres/data" status >/dev/null 2>&1; then
    echo "postgres: running (pid $(head -1 "$STATE/postgres/data/postmaster.pid"))"
  else
    echo "postgres: stopped"
  fi
  for pidfile in "$RUN"/replica-*.pid; do
    [ -e "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then echo "$name: running (pid $(pid_of "$pidfile"))"; else echo "$name: stopped"; fi
  done
  if [ -f "$STATE/urls" ]; then
    echo "--- addresses of the last start:"
    cat "$STATE/urls"
  fi
}

do_reload() {
  read_replicas
  [ -n "${REPLICA_URLS:-}" ] || die "no replicas started from $STATE"
  local body='null'
  if [ "$BUNDLE_GIVEN" = 1 ]; then
    body=$(node -e 'console.log(JSON.stringify({ bundle: require("node:path").resolve(process.argv[1]) }))' "$BUNDLE")
  fi
  # One replica after the other: the others keep answering meanwhile (and nginx passes over a refused one).
  # shellcheck disable=SC2086
  node -e '
    const { readFileSync } = require("node:fs");
    const [keyFile, body, ...urls] = process.argv.slice(1);
    const key = readFileSync(keyFile, "utf8").trim();
    (async () => {
      let failed = 0;
      for (const url of urls) {
        const r = await fetch(`${url}/admin/reload`, {
          method: "POST",
          headers: { "x-api-key": key, ...(body === "null" ? {} : { "content-type": "application/json" }) },
          body: body === "null" ? undefined : body,
        }).catch((e) => ({ ok: false, status: 0, text: async () => String(e) }));
        const text = await r.text();
        console.log(`${url}: ${r.status} ${text}`);
        if (!r.ok) failed++;
      }
      process.exit(failed > 0 ? 1 : 0);
    })();
  ' "$SECRETS/skipwise_api_key" "$body" $REPLICA_URLS
}

# --- start --------------------------------------------------------------------------------------------------

start_redis() {
  local dir=$STATE/redis
  mkdir -p "$dir"
  chmod 700 "$dir"
  # requirepass in a private config file, not in argv (ps).
  (
    umask 077
    cat >"$dir/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
protected-mode yes
dir $dir
daemonize yes
pidfile $RUN/redis.pid
logfile $LOGS/redis.log
# The online feature state: every learned event is in the append-only file ($REDIS_FSYNC), no RDB snapshots.
appendonly yes
appendfsync $REDIS_FSYNC
save ""
requirepass $(secret redis_password)
EOF
  )
  echo "replicas: starting redis on 127.0.0.1:$REDIS_PORT (AOF, appendfsync $REDIS_FSYNC)"
  redis-server "$dir/redis.conf"
  local waited=0
  until REDISCLI_AUTH=$(secret redis_password) redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    [ "$waited" -lt $((TIMEOUT * 10)) ] || die "redis did not answer within $TIMEOUT s: see $LOGS/redis.log"
    [ "$waited" -lt 20 ] || alive "$RUN/redis.pid" || die "redis exited: see $LOGS/redis.log"
    sleep 0.1
    waited=$((waited + 1))
  done
}

start_postgres() {
  PG_BIN=$(pg_bin) || die "PostgreSQL is not installed (Debian package postgresql)"
  local dir=$STATE/postgres
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ "$AS_ROOT" = 1 ]; then
    chown postgres: "$dir"
    runuser -u postgres -- test -x "$dir" ||
      die "the postgres user cannot reach $dir: give --state a folder whose parents it can enter"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "replicas: initdb $dir/data"
    local pwfile=$dir/pwfile
    (umask 077 && secret postgres_password >"$pwfile")
    [ "$AS_ROOT" = 1 ] && chown postgres: "$pwfile"
    # Superuser skipwise; password (SCRAM) over TCP, the only way in (no Unix socket is opened).
    pg_run initdb -D "$dir/data" -U skipwise --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=peer \
      -E UTF8 >"$LOGS/initdb.log" 2>&1 || {
      rm -f "$pwfile"
      die "initdb failed: see $LOGS/initdb.log"
    }
    rm -f "$pwfile"
  fi
  echo "replicas: starting postgres on 127.0.0.1:$POSTGRES_PORT"
  local log=$dir/postgres.log
  pg_run pg_ctl -D "$dir/data" -l "$log" -w -t "$TIMEOUT" \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200" \
    start >/dev/null || die "postgres did not start: see $log"
  ln -sf "$log" "$LOGS/postgres.log"
  if ! PGPASSWORD=$(secret postgres_password) psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U skipwise -d postgres -Atqc \
    "select 1 from pg_database where datname = 'skipwise'" | grep -q 1; then
    PGPASSWORD=$(secret postgres_password) "$PG_BIN/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U skipwise skipwise
  fi
}

load_state() {
  local args=(state load --bundle "$BUNDLE" --data "$DATA" --redis "$REDIS_URL")
  [ "$REPLACE_STATE" = 1 ] && args+=(--replace)
  echo "replicas: skipwise state load (bundle $BUNDLE)"
  local out status=0
  out=$("${SKIPWISE[@]}" "${args[@]}" 2>&1) || status=$?
  # The command names the Redis URL, password included: not in the output.
  out=${out//$(secret redis_password)/***}
  if [ "$status" = 0 ]; then
    echo "$out" | tail -1
  elif grep -q "already holds feature state" <<<"$out"; then
    echo "replicas: Redis already holds a feature state: kept, with what the replicas learned (--replace-state to start over)"
  else
    echo "$out" >&2
    die "skipwise state load failed"
  fi
}

start_replicas() {
  local i port env
  REPLICA_URLS=
  for i in $(seq 1 "$REPLICAS"); do
    port=$(replica_port "$i")
    env=(
      SKIPWISE_BUNDLE="$BUNDLE"
      SKIPWISE_DATA="$DATA"
      SKIPWISE_DB="$DB_URL"
      SKIPWISE_REDIS="$REDIS_URL"
      SKIPWISE_HOST=127.0.0.1
      SKIPWISE_PORT="$port"
      SKIPWISE_API_KEY_FILE="$SECRETS/skipwise_api_key"
      SKIPWISE_RATE_LIMIT=0
    )
    [ -n "$EXPERIMENT" ] && env+=(SKIPWISE_EXPERIMENT="$EXPERIMENT")
    echo "replicas: starting replica-$i on 127.0.0.1:$port"
    # setsid: its own session, so the terminal's ^C or hang-up (SIGHUP = reload for skipwise) do not reach it.
    env -u SKIPWISE_API_KEY "${env[@]}" setsid "${SKIPWISE[@]}" serve ${EXTRA[@]+"${EXTRA[@]}"} \
      >"$LOGS/replica-$i.log" 2>&1 </dev/null &
    echo $! >"$RUN/replica-$i.pid"
    REPLICA_URLS="$REPLICA_URLS http://127.0.0.1:$port"
  done
  cat >"$STATE/replicas.env" <<EOF
REPLICA_URLS="${REPLICA_URLS# }"
EOF
  local urls=() pids=""
  for i in $(seq 1 "$REPLICAS"); do
    urls+=("http://127.0.0.1:$(replica_port "$i")/ready")
    pids="$pids $(pid_of "$RUN/replica-$i.pid")"
  done
  if ! WATCH_PIDS=$pids http_wait "$TIMEOUT" "${urls[@]}"; then
    for i in $(seq 1 "$REPLICAS"); do
      alive "$RUN/replica-$i.pid" || { echo "--- replica-$i exited:" >&2; tail -20 "$LOGS/replica-$i.log" >&2; }
    done
    die "replicas not ready"
  fi
}

render_nginx() {
  local upstreams="" i
  for i in $(seq 1 "$REPLICAS"); do upstreams="$upstreams 127.0.0.1:$(replica_port "$i")"; done
  NGINX_UPSTREAMS=${upstreams# } NGINX_TEMP=$STATE/nginx NGINX_LOGS=$LOGS NGINX_LISTEN=127.0.0.1:$PORT \
    NGINX_STATUS=127.0.0.1:$STATUS_PORT NGINX_WORKERS=$NGINX_WORKERS NGINX_RATE_LIMIT=$RATE_LIMIT \
    NGINX_SERVER_PARAMS="" NGINX_RESOLVER="" NGINX_VERSION="replicas.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    sh "$DEPLOY/render-nginx.sh" "$DEPLOY/nginx.conf" >"$STATE/nginx/nginx.conf"
}

start_nginx() {
  local bin
  bin=$(nginx_bin) || die "nginx is not installed (Debian package nginx)"
  mkdir -p "$STATE/nginx"
  render_nginx
  # The pid file is the template's (<state>/nginx/nginx.pid); `user root;` as root, else workers run as nobody.
  local globals=""
  [ "$AS_ROOT" = 1 ] && globals="user root;"
  local args=(-p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" -e "$LOGS/error.log")
  [ -n "$globals" ] && args+=(-g "$globals")
  "$bin" "${args[@]}" -t -q || die "nginx refused $STATE/nginx/nginx.conf"
  echo "replicas: starting nginx on 127.0.0.1:$PORT (status 127.0.0.1:$STATUS_PORT)"
  "$bin" "${args[@]}"
  ln -sf "$STATE/nginx/nginx.pid" "$RUN/nginx.pid"
  http_wait "$TIMEOUT" "http://127.0.0.1:$PORT/ready" || die "nginx not ready: see $LOGS/error.log"
}

start_prometheus() {
  command -v prometheus >/dev/null || die "--prometheus: prometheus is not installed (Debian package prometheus)"
  local dir=$STATE/prometheus i targets=""
  mkdir -p "$dir/tsdb"
  for i in $(seq 1 "$REPLICAS"); do targets="$targets\"127.0.0.1:$(replica_port "$i")\", "; done
  cat >"$dir/prometheus.yml" <<EOF
# Written by deploy/replicas.sh from deploy/prometheus.replicas.yml: every replica is its own target.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $DEPLOY/rules.yml
scrape_configs:
  - job_name: skipwise
    metrics_path: /metrics
    scrape_interval: 5s
    static_configs:
      - targets: [${targets%, }]
        labels:
          service: skipwise
EOF
  echo "replicas: starting prometheus on 127.0.0.1:$PROMETHEUS_PORT"
  setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$LOGS/prometheus.log" 2>&1 </dev/null &
  echo $! >"$RUN/prometheus.pid"
  http_wait "$TIMEOUT" "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" || die "prometheus not ready: see $LOGS/prometheus.log"
}

do_start() {
  [ -d "$BUNDLE" ] || die "no bundle at $BUNDLE: give --bundle <dir> (skipwise train writes one; npm run demo writes out/demo/bundle)"
  [ -d "$DATA" ] || die "no delivery at $DATA: give --data <dir>, the delivery the bundle was trained on"
  BUNDLE=$(cd "$BUNDLE" && pwd)
  DATA=$(cd "$DATA" && pwd)
  [ -z "$EXPERIMENT" ] || EXPERIMENT=$(cd "$(dirname "$EXPERIMENT")" && pwd)/$(basename "$EXPERIMENT")
  command -v redis-server >/dev/null || die "redis-server is not installed (Debian package redis-server)"
  command -v node >/dev/null || die "node is not on PATH"
  local pidfile
  for pidfile in "$RUN"/*.pid; do
    [ -e "$pidfile" ] || continue
    alive "$pidfile" && die "$(basename "$pidfile" .pid) already runs from $STATE: deploy/replicas.sh stop --state $STATE first"
  done
  local p ports=("$PORT" "$STATUS_PORT" "$REDIS_PORT" "$POSTGRES_PORT")
  for i in $(seq 1 "$REPLICAS"); do ports+=("$(replica_port "$i")"); done
  [ "$PROMETHEUS" = 1 ] && ports+=("$PROMETHEUS_PORT")
  for p in "${ports[@]}"; do
    port_open "$p" && die "port $p is taken (see --help for the port options)"
  done

  mkdir -p "$LOGS" "$RUN"
  sh "$DEPLOY/make-secrets.sh" "$SECRETS" >/dev/null
  REDIS_URL="redis://:$(secret redis_password)@127.0.0.1:$REDIS_PORT"
  DB_URL="postgres://skipwise:$(secret postgres_password)@127.0.0.1:$POSTGRES_PORT/skipwise"

  # A start that fails half-way (any error, or die) stops what it started.
  trap 'status=$?; if [ "$status" != 0 ]; then echo "replicas: start failed: stopping what was started" >&2; do_stop >&2; fi' EXIT
  start_redis
  start_postgres
  load_state
  start_replicas
  start_nginx
  if [ "$PROMETHEUS" = 1 ]; then start_prometheus; fi
  trap - EXIT

  {
    echo "service     http://127.0.0.1:$PORT  (nginx over $REPLICAS replicas; OpenAPI at /docs)"
    for i in $(seq 1 "$REPLICAS"); do
      echo "replica-$i   http://127.0.0.1:$(replica_port "$i")  (/metrics, /ready, /admin/reload with x-api-key)"
    done
    echo "nginx       http://127.0.0.1:$STATUS_PORT/nginx_status"
    [ "$PROMETHEUS" = 1 ] && echo "prometheus  http://127.0.0.1:$PROMETHEUS_PORT"
    echo "redis       127.0.0.1:$REDIS_PORT (password: $SECRETS/redis_password)"
    echo "postgres    127.0.0.1:$POSTGRES_PORT database skipwise, user skipwise (password: $SECRETS/postgres_password)"
    echo "api key     $SECRETS/skipwise_api_key"
    echo "logs        $LOGS"
  } >"$STATE/urls"
  cat "$STATE/urls"
  echo "stop with: deploy/replicas.sh stop --state $STATE"
}

case "$command_name" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
reload) do_reload ;;
esac
