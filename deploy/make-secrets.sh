#!/bin/sh
# Writes the secrets deploy/docker-compose.yml needs, each a random 64-hex-digit string, into deploy/secrets/
# (or the folder given as $1). Existing secrets are kept, so it is safe to run again.
#   skipwise_api_key        x-api-key for POST /admin/reload (mode 600: the service container runs as root)
#   grafana_admin_password  Grafana's admin password (user admin)
#   redis_password          the replica stack's Redis password (docker-compose.replicas.yml, replicas.sh; 600:
#                           read as root before Redis starts)
#   postgres_password       the replica stack's PostgreSQL password of user skipwise (644: the postgres image
#                           reads it as uid 999)
# The folder is mode 700, so no other host user can read any file. Compose secrets are bind mounts that keep
# the host file's owner and mode, and Grafana runs as uid 472, so its password file must be world-readable
# (644) to be readable in its container: the 700 folder keeps it private on the host.
set -eu

dir=${1:-$(dirname "$0")/secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

random_hex() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 32
  else
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
    echo
  fi
}

# make_secret NAME MODE
make_secret() {
  path=$dir/$1
  if [ -d "$path" ]; then
    # docker creates a folder where a bind-mounted file is missing
    echo "make-secrets: $path is a directory (left by docker when the file was missing); remove it and rerun" >&2
    exit 1
  fi
  if [ -s "$path" ]; then
    echo "make-secrets: kept $path"
  else
    tmp=$(mktemp "$dir/.$1.XXXXXX")
    random_hex >"$tmp"
    chmod "$2" "$tmp"
    mv -f "$tmp" "$path"
    echo "make-secrets: wrote $path"
  fi
}

make_secret skipwise_api_key 600
make_secret grafana_admin_password 644
make_secret redis_password 600
make_secret postgres_password 644
