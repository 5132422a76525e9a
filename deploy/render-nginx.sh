#!/bin/sh
# Fills the @@NAME@@ placeholders of deploy/nginx.conf and prints the config: the one renderer used by
# deploy/replicas.sh, by the nginx service of deploy/docker-compose.replicas.yml and by test/scale/nginx.ts.
# POSIX sh + awk (the nginx image has mawk). Comment lines keep their placeholders (they document them);
# any other placeholder left unfilled is an error.
#   render-nginx.sh [TEMPLATE]   (default: nginx.conf next to this script)
# Environment (defaults in brackets):
#   NGINX_UPSTREAMS      host:port of every replica, separated by spaces (required)
#   NGINX_TEMP           folder of the pid file and temp files [/var/cache/nginx]
#   NGINX_LOGS           folder of access.log and error.log [/var/log/nginx]
#   NGINX_LISTEN         public address [8000]
#   NGINX_STATUS         internal status address [8081]
#   NGINX_WORKERS        worker_processes [1]
#   NGINX_SERVER_PARAMS  extra parameters of every server line (e.g. `resolve`) []
#   NGINX_RESOLVER       a resolver directive, e.g. `resolver 127.0.0.11 valid=10s;` []
#   NGINX_RATE_LIMIT     requests per second per client, 0 = unlimited [1000]
#   NGINX_VERSION        label answered at <status>/config_version [the time of rendering]
set -eu

template=${1:-$(dirname "$0")/nginx.conf}
[ -n "${NGINX_UPSTREAMS:-}" ] || {
  echo "render-nginx: NGINX_UPSTREAMS is empty: give the replicas' host:port" >&2
  exit 1
}
rate=${NGINX_RATE_LIMIT:-1000}
case $rate in
'' | *[!0-9]*)
  echo "render-nginx: NGINX_RATE_LIMIT: a whole number of requests per second, got '$rate'" >&2
  exit 1
  ;;
esac

params="max_fails=1 fail_timeout=2s${NGINX_SERVER_PARAMS:+ $NGINX_SERVER_PARAMS}"
limit=
if [ "$rate" -gt 0 ]; then
  limit="limit_req zone=per_client burst=$((2 * rate)) nodelay;"
else
  rate=1 # a zone needs a positive rate even when no location applies it
fi

# Values reach awk through the environment (awk -v would interpret backslashes).
R_TEMP=${NGINX_TEMP:-/var/cache/nginx} R_LOGS=${NGINX_LOGS:-/var/log/nginx} \
  R_LISTEN=${NGINX_LISTEN:-8000} R_STATUS=${NGINX_STATUS:-8081} R_WORKERS=${NGINX_WORKERS:-1} \
  R_UPSTREAMS=$NGINX_UPSTREAMS R_PARAMS=$params R_RESOLVER=${NGINX_RESOLVER:-} R_LIMIT=$limit \
  R_RATE="${rate}r/s" R_VERSION=${NGINX_VERSION:-$(date -u +%Y-%m-%dT%H:%M:%SZ)} \
  awk '
    function fill(s, key, value,   i, out) {
      out = ""
      while ((i = index(s, "@@" key "@@")) > 0) {
        out = out substr(s, 1, i - 1) value
        s = substr(s, i + length(key) + 4)
      }
      return out s
    }
    BEGIN {
      n = split(ENVIRON["R_UPSTREAMS"], upstreams, " ")
      servers = ""
      for (k = 1; k <= n; k++)
        servers = servers (k > 1 ? "\n        " : "") "server " upstreams[k] " " ENVIRON["R_PARAMS"] ";"
      count = split("TEMP LOGS LISTEN STATUS WORKERS RESOLVER RATE VERSION", names, " ")
    }
    /^[ \t]*#/ { print; next }
    {
      line = fill($0, "SERVERS", servers)
      line = fill(line, "LIMIT_REQ", ENVIRON["R_LIMIT"])
      for (k = 1; k <= count; k++) line = fill(line, names[k], ENVIRON["R_" names[k]])
      if (line ~ /@@[A-Z_]+@@/) {
        print "render-nginx: unfilled placeholder: " line > "/dev/stderr"
        failed = 1
        exit 1
      }
      print line
    }
    END { if (failed) exit 1 }
  ' "$template"
